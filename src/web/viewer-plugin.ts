import websocket from '@fastify/websocket';
import { parseDuration } from '../core/duration.js';
import { registerAssets } from './assets.js';
import { registerAuditRoutes } from './audit-routes.js';
import { registerAuthRoutes } from './auth-routes.js';
import { registerByteRecordingRoutes } from './byte-recording-routes.js';
import { registerKubeRequestRoutes } from './kube-requests-routes.js';
import { registerLiveTail, LIVE_PROTOCOL } from './live-tail.js';
import { registerQueryRoutes } from './queries-routes.js';
import { registerRecordingRoutes } from './recording-routes.js';
import { registerRequestRoutes } from './requests-routes.js';
import { ReplayService } from './replay/replay-service.js';
import { addSecurityHeaders } from './security-headers.js';
import { registerSessionRoutes } from './sessions-routes.js';
import { installAuthentication } from './viewer-context.js';
import { ViewLog } from './view-log.js';
import type { WebPlugin } from './web-listener.js';
import { WebSessions, type WebSessionOptions } from './web-sessions.js';

export interface ViewerPluginOptions {
  /** Sign-in limits (tests lower them). */
  sessions?: Partial<WebSessionOptions>;
  assetsDir?: string;
  /** Bytes per replay segment. */
  segmentBytes?: number;
}

/**
 * The web viewer: sign-in, the JSON API over sessions, recordings, queries and the audit
 * history, the live tail, and the built front end.
 */
export function viewerPlugin(options: ViewerPluginOptions = {}): WebPlugin {
  return async (app, deps) => {
    const { config, store, audit, access, logger, requests } = deps;
    const tls = config.web.tls;
    const sessions = new WebSessions(store, access, audit, {
      idleMs: parseDuration(config.web.sessionIdleTimeout),
      maxAgeMs: parseDuration(config.web.sessionMaxAge),
      ...options.sessions,
    });
    const views = new ViewLog(audit);
    const replay = new ReplayService({ logger, ...(options.segmentBytes ? { segmentBytes: options.segmentBytes } : {}) });
    // Dead web sessions are kept a day (for incident review), then removed.
    const purge = setInterval(() => {
      void store.webSessions.purge(new Date(Date.now() - 86_400_000)).catch((error: unknown) => logger.warn('could not purge web sessions', { error }));
    }, 3_600_000);
    purge.unref();
    app.addHook('onClose', async () => {
      clearInterval(purge);
      replay.close();
    });

    addSecurityHeaders(app, { tls });
    await app.register(websocket, {
      options: {
        maxPayload: 64 * 1024,
        handleProtocols: (protocols: Set<string>) => (protocols.has(LIVE_PROTOCOL) ? LIVE_PROTOCOL : false),
      },
    });
    installAuthentication(app, sessions, { tls });
    registerAuthRoutes(app, sessions, { tls });
    registerSessionRoutes(app, { store, config });
    registerRecordingRoutes(app, { store, config, replay, views });
    registerByteRecordingRoutes(app, { store, config, views });
    registerLiveTail(app, { store, config, views, logger, sessions });
    registerQueryRoutes(app, { store, views });
    registerKubeRequestRoutes(app, { store, views });
    registerAuditRoutes(app, { store });
    registerRequestRoutes(app, { store, requests });
    registerAssets(app, options.assetsDir);
  };
}
