import type { Metrics } from './metrics.js';

/**
 * The metric families every gateway exposes, registered at start so /metrics lists them
 * (at zero) before any traffic. Protocol front ends add to them by the same names.
 */
export function registerGatewayMetrics(metrics: Metrics) {
  return {
    connections: metrics.counter('custos_connections_total', 'Client connections accepted, by protocol'),
    sessionsStarted: metrics.counter('custos_sessions_total', 'Sessions started, by protocol'),
    sessionsActive: metrics.gauge('custos_sessions_active', 'Sessions open now, by protocol'),
    authFailures: metrics.counter('custos_auth_failures_total', 'Authentications that did not prove an identity, by protocol'),
    errors: metrics.counter('custos_errors_total', 'Errors, by layer and code'),
  };
}

export type GatewayMetrics = ReturnType<typeof registerGatewayMetrics>;
