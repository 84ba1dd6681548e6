import type { Metrics } from '../../core/metrics.js';
import type { KubeRequestLog } from '../../recorder/kube-request-log.js';
import type { RecordingWriter } from '../../recorder/recording-writer.js';
import type { ProxyContext } from '../context.js';
import type { UpstreamPool } from './upstream-pool.js';

export interface KubeMetrics {
  /** A request answered: `code` is its status class (2xx …, 101 upgrades as 1xx) or `none`. */
  requests(code: number | null): void;
  authFailures(): void;
  recordingFailures(): void;
}

export function kubeMetrics(metrics: Metrics): KubeMetrics {
  const requests = metrics.counter('custos_kubernetes_requests_total', 'Kubernetes API requests through the gateway, by response code class');
  const classes = new Map<string, { code: string }>();
  const authFailures = metrics.counter('custos_auth_failures_total', 'Authentications that did not prove an identity, by protocol');
  const recordingFailures = metrics.counter('custos_recording_failures_total', 'Recordings that could not be written (their sessions were ended)');
  return {
    requests: (code) => {
      const label = code === null ? 'none' : `${String(code)[0]}xx`;
      let labels = classes.get(label);
      if (!labels) classes.set(label, (labels = { code: label }));
      requests(labels);
    },
    authFailures: () => authFailures({ protocol: 'kubernetes' }),
    recordingFailures: () => recordingFailures(),
  };
}

/** What every part of the Kubernetes front end is given by the listener. */
export interface KubeServices {
  context: ProxyContext;
  writer: RecordingWriter;
  requests: KubeRequestLog;
  upstreams: UpstreamPool;
  metrics: KubeMetrics;
  /** An API session with no request for this long (and none running) is closed. */
  apiSessionIdleMs: number;
}
