import { viewerPlugin } from './viewer-plugin.js';
import type { WebPlugin } from './web-listener.js';

/** Route sets served on the web listener besides /healthz and /metrics. */
export const WEB_PLUGINS: WebPlugin[] = [viewerPlugin()];
