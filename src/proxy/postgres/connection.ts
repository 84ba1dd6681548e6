import type net from 'node:net';
import { errorMessage } from '../../core/errors.js';
import { resolveSecretRef } from '../../core/secret-ref.js';
import type { Credential, Decision, Identity, Target } from '../../policy/model.js';
import type { QueryLog } from '../../recorder/query-log.js';
import type { ProxyContext } from '../context.js';
import { sendCancel, type CancelRouter } from './cancel-router.js';
import { negotiate, NegotiationError, type NegotiationState } from './negotiation.js';
import {
  authenticationOk,
  authenticationSasl,
  authenticationSaslContinue,
  authenticationSaslFinal,
  backendKeyData,
  errorResponse,
  negotiateProtocolVersion,
  parameterStatus,
  readyForQuery,
  type ErrorFields,
} from './protocol/backend-serializer.js';
import { SqlState } from './protocol/codes.js';
import { AUTH_TYPES, type FrontendMessage } from './protocol/frontend-messages.js';
import { FrontendParser, FrontendProtocolError } from './protocol/frontend-parser.js';
import { MalformedMessage, MessageReader } from './protocol/message-reader.js';
import { mockSalt, ScramProtocolError, ScramServer } from './scram-server.js';
import { PostgresBridge } from './session.js';
import { ClientGone, type SocketReader } from './socket-reader.js';
import { readClientRequest, StartupRequestError, type ClientRequest } from './startup-options.js';
import { recordStartupRefusal } from './startup-refusal.js';
import { StatementTracker } from './statement-tracker.js';
import type { GatewayTls } from './tls-context.js';
import { connectUpstream, type UpstreamConnection } from './upstream.js';
import type { ViolationReporter } from './violations.js';

export interface ConnectionDeps {
  context: ProxyContext;
  tls: GatewayTls;
  queryLog: QueryLog;
  cancel: CancelRouter;
  violations: ViolationReporter;
  /** Key for the salts of identities that do not exist (see mockSalt). */
  mockSecret: Buffer;
  /** The connection has authenticated (or given up): it no longer counts against the startup limit. */
  onStartupDone: () => void;
  onSessionStart: (sessionId: string, bridge: PostgresBridge) => void;
  onSessionEnd: (sessionId: string) => void;
  metric: (result: string) => void;
}

class StartupTimeout extends Error {}

/** Refusals during startup: sent as a FATAL ErrorResponse, then the connection closes. */
class Refusal extends Error {
  constructor(readonly fields: Omit<ErrorFields, 'severity'>) {
    super(fields.message);
  }
}

/**
 * One client connection, accept to close: negotiation (TLS), the startup packet, SCRAM
 * authentication against the identity's tokens, the access decision, the upstream login
 * with the target's credentials, then the bridge until either side ends.
 */
export async function serveConnection(raw: net.Socket, deps: ConnectionDeps): Promise<void> {
  const { context } = deps;
  const clientAddr = raw.remoteAddress ? `${raw.remoteAddress}:${raw.remotePort}` : null;
  raw.setNoDelay(true);
  raw.on('error', () => undefined);
  const state: NegotiationState = { socket: raw, reader: null };
  let timedOut = false;
  const startupTimer = setTimeout(() => {
    timedOut = true;
    // Waiting for the client: stop waiting (the error is answered below). In a TLS handshake: give up.
    if (state.reader) state.reader.abort(new StartupTimeout());
    else state.socket.destroy();
  }, context.config.postgres.startupTimeoutMs);
  let startupDone = false;
  const finishStartup = () => {
    if (startupDone) return;
    startupDone = true;
    clearTimeout(startupTimer);
    deps.onStartupDone();
  };
  let claimed: string | null = null;
  try {
    const negotiated = await negotiate(raw, deps.tls.context, state);
    if (negotiated.kind === 'cancel') {
      finishStartup();
      const sessionId = await deps.cancel.route(negotiated.processId, negotiated.secretKey);
      deps.metric(sessionId ? 'cancel' : 'cancel_unknown');
      negotiated.socket.end();
      return;
    }
    const { socket, reader, secure, packet } = negotiated;
    socket.on('error', () => undefined);
    claimed = packet.parameters.get('user')?.split('/')[0] ?? null;
    const request = readRequest(packet.parameters);
    if (!secure && !context.config.postgres.allowPlaintext) {
      await context.access.recordAuthFailure({ protocol: 'postgres', clientAddr, claimed: request.identity, reason: 'plaintext connection refused: the gateway requires TLS' });
      throw new Refusal({
        code: SqlState.invalidAuthorization,
        message: 'the gateway accepts only encrypted connections',
        hint: 'connect with sslmode=require, or sslmode=verify-full and sslrootcert=<the gateway CA certificate>',
      });
    }
    if (packet.minorVersion > 0 || request.unsupportedProtocolOptions.length > 0) {
      socket.write(negotiateProtocolVersion(0, request.unsupportedProtocolOptions));
    }
    const authenticated = await authenticate(socket, reader, negotiated.rest, request, secure, clientAddr, deps);
    finishStartup();
    if (request.refused) {
      await recordStartupRefusal(context, authenticated.identity, request.refused, request.target, clientAddr);
      throw new Refusal({ code: SqlState.invalidAuthorization, message: request.refused.message, hint: request.refused.hint });
    }
    await startSession(socket, reader, authenticated, request, clientAddr, deps);
  } catch (err) {
    finishStartup();
    const socket = state.socket;
    if (err instanceof Refusal) {
      deps.metric('refused');
      socket.end(errorResponse({ severity: 'FATAL', ...err.fields }));
    } else if (err instanceof StartupTimeout || timedOut) {
      deps.metric('startup_timeout');
      const reason = `startup not completed within ${context.config.postgres.startupTimeoutMs} ms`;
      deps.violations.report({ code: 'startup_timeout', reason, clientAddr, claimed });
      if (!socket.destroyed) socket.end(errorResponse({ severity: 'FATAL', code: SqlState.protocolViolation, message: reason }));
      setTimeout(() => socket.destroy(), 1000).unref();
    } else if (err instanceof NegotiationError || err instanceof FrontendProtocolError || err instanceof ScramProtocolError || err instanceof MalformedMessage) {
      deps.metric('protocol_violation');
      const code = err instanceof FrontendProtocolError && err.code === 'too_large' ? 'message_too_large' : 'protocol_violation';
      deps.violations.report({ code, reason: err.message, clientAddr, claimed });
      if (!socket.destroyed) socket.end(errorResponse({ severity: 'FATAL', code: SqlState.protocolViolation, message: err.message }));
    } else if (err instanceof ClientGone) {
      deps.metric('client_gone');
      socket.destroy();
    } else {
      deps.metric('error');
      context.logger.error('postgres connection failed', { clientAddr, error: err });
      if (!socket.destroyed) {
        socket.end(errorResponse({ severity: 'FATAL', code: SqlState.internalError, message: 'the gateway could not serve this connection' }));
      }
    }
    if (state.socket !== raw) raw.destroy();
  }
}

function readRequest(parameters: Map<string, string>): ClientRequest {
  try {
    return readClientRequest(parameters);
  } catch (err) {
    if (err instanceof StartupRequestError) {
      const code = /replication/.test(err.message) ? SqlState.featureNotSupported : SqlState.invalidAuthorization;
      throw new Refusal({ code, message: err.message });
    }
    throw err;
  }
}

interface Authenticated {
  identity: Identity;
  credential: Credential;
}

/** SCRAM-SHA-256 (-PLUS over TLS) against the identity's live tokens. */
async function authenticate(
  socket: net.Socket,
  reader: SocketReader,
  rest: Buffer[],
  request: ClientRequest,
  secure: boolean,
  clientAddr: string | null,
  deps: ConnectionDeps,
): Promise<Authenticated> {
  const { access } = deps.context;
  const candidates = await access.scramCandidates(request.identity);
  const scram = new ScramServer({
    salt: candidates?.salt ?? mockSalt(deps.mockSecret, request.identity),
    iterations: candidates?.iterations ?? 4096,
    verifiers: candidates?.verifiers ?? [],
    channelBinding: secure ? deps.tls.endPoint : null,
  });
  const parser = new FrontendParser({ maxMessageBytes: 16 * 1024, allowed: AUTH_TYPES });
  const messages: FrontendMessage[] = [];
  const queued = [...rest];
  const nextMessage = async (): Promise<Buffer> => {
    while (messages.length === 0) parser.parse(queued.shift() ?? (await reader.read()), (message) => messages.push(message));
    const message = messages.shift()!;
    if (message.name !== 'authResponse') throw new ClientGone('the client ended the connection during authentication');
    return message.data;
  };

  socket.write(authenticationSasl(scram.mechanisms()));
  const initial = new MessageReader(await nextMessage());
  const mechanism = initial.cstring();
  const length = initial.int32();
  const clientFirst = length < 0 ? '' : initial.bytes(length).toString('utf8');
  socket.write(authenticationSaslContinue(scram.start(mechanism, clientFirst)));
  const result = scram.finish((await nextMessage()).toString('utf8'));
  if (!result.ok) {
    let reason = candidates ? result.reason : `no identity named "${request.identity}"`;
    if (candidates) reason = scram.explain(await access.inactiveScramVerifiers(candidates.identity.id).catch(() => [])) ?? reason;
    await access.recordAuthFailure({ protocol: 'postgres', clientAddr, claimed: request.identity, reason: `SCRAM authentication failed: ${reason}` });
    throw new Refusal({
      code: SqlState.invalidPassword,
      message: `password authentication failed for identity "${request.identity}"`,
      hint: `use a live token of the identity as the password (custos token create ${request.identity}); tokens expire and can be revoked`,
    });
  }
  socket.write(authenticationSaslFinal(result.serverFinal));
  const expiresAt = candidates!.verifiers.find((verifier) => verifier.tokenId === result.tokenId)?.expiresAt ?? null;
  return { identity: candidates!.identity, credential: { id: result.tokenId, kind: 'token', expiresAt } };
}

async function startSession(
  socket: net.Socket,
  reader: SocketReader,
  authenticated: Authenticated,
  request: ClientRequest,
  clientAddr: string | null,
  deps: ConnectionDeps,
): Promise<void> {
  const { context, queryLog } = deps;
  const { identity, credential } = authenticated;
  const sessionId = context.lifecycle.newSessionId();

  let decision: Decision;
  let target: Target | null;
  try {
    ({ decision, target } = await context.access.authorize({
      identity,
      credential,
      targetName: request.target,
      action: { kind: 'postgres.connect', ...(request.dbUser ? { dbUser: request.dbUser } : {}) },
      protocol: 'postgres',
      clientAddr,
      sessionId,
    }));
  } catch (err) {
    context.logger.error('postgres: cannot record the access decision; refusing', { error: errorMessage(err) });
    throw new Refusal({ code: '58000', message: 'the gateway cannot record the access decision right now, so access is refused' });
  }
  if (!decision.allow || !target) {
    throw new Refusal({ code: SqlState.invalidAuthorization, message: `access to target "${request.target}" denied: ${decision.reason}` });
  }
  if (queryLog.failed) {
    throw new Refusal({ code: '57P03', message: 'the gateway cannot record statements right now, so no session can start', detail: queryLog.failed.message });
  }

  const spec = target.spec;
  const dbUser = decision.dbUser!;
  const database = spec.database ?? target.name;
  const live = context.lifecycle.open({
    id: sessionId,
    protocol: 'postgres',
    identity,
    credential,
    target: { name: target.name, address: target.address },
    action: { kind: 'postgres.connect', dbUser },
    decision,
    login: dbUser,
    database,
    clientAddr,
    details: { startupParameters: Object.fromEntries(request.forward) },
  });
  try {
    await live.opened;
  } catch {
    throw new Refusal({ code: '58000', message: 'the gateway cannot record the session right now, so access is refused' });
  }
  const refuseEnded = async (reason: string, fields: Omit<ErrorFields, 'severity'>): Promise<never> => {
    await live.close({ reason });
    throw new Refusal(fields);
  };

  let upstream: UpstreamConnection;
  try {
    const passwordRef = spec.credentials?.users?.[dbUser]?.password ?? spec.credentials?.password;
    upstream = await connectUpstream({
      address: target.address,
      tls: spec.tls ?? { mode: 'disable' },
      database,
      user: dbUser,
      password: passwordRef ? await resolveSecretRef(passwordRef) : null,
      parameters: request.forward,
      timeoutMs: Math.max(context.config.postgres.startupTimeoutMs, 5000),
    });
  } catch (err) {
    const message = errorMessage(err);
    return refuseEnded(`upstream login failed: ${message}`, {
      code: SqlState.rejectedConnection,
      message: `the gateway could not log in to target "${target.name}" as database user "${dbUser}": ${message}`,
    });
  }
  if (live.termination) {
    upstream.socket.destroy();
    return refuseEnded(live.termination.reason, { code: SqlState.adminShutdown, message: `terminating connection: ${live.termination.message}` });
  }

  const queries = queryLog.openSession({
    sessionId,
    identityId: identity.id,
    identityName: identity.name,
    target: target.name,
    database,
    dbUser,
  });
  const { maxPreparedStatements, maxPreparedBytes } = context.config.postgres;
  const tracker = new StatementTracker(queries, live.logger, { maxObjects: maxPreparedStatements, maxBytes: maxPreparedBytes });
  for (const [name, value] of upstream.parameters) tracker.setParameter(name, value);

  let key: { processId: number; secretKey: Buffer };
  try {
    key = await deps.cancel.issue(sessionId, { address: target.address, processId: upstream.processId, secretKey: upstream.secretKey });
  } catch (err) {
    upstream.socket.destroy();
    const stats = await queries.close('the session could not start');
    await live.close({ reason: `could not issue a cancel key: ${errorMessage(err)}`, stats: { queries: stats } });
    throw new Refusal({ code: '58000', message: 'the gateway could not set up the session' });
  }

  const hello = [
    authenticationOk(),
    ...upstream.parameters.map(([name, value]) => parameterStatus(name, value)),
    ...upstream.notices,
    backendKeyData(key.processId, key.secretKey),
    readyForQuery('I'),
  ];
  const pendingClientBytes = reader.detach();
  socket.write(Buffer.concat(hello));

  const bridge = new PostgresBridge({
    sessionId,
    client: socket,
    upstream: upstream.socket,
    upstreamReads: upstream.reads,
    tracker,
    queryLog,
    maxMessageBytes: context.config.postgres.maxMessageBytes,
    logger: context.logger,
    onBytes: (toClient, fromClient) => live.transferred(toClient, fromClient),
    cancelUpstream: () => sendCancel(target.address, upstream.processId, upstream.secretKey),
    onViolation: (code, reason) => deps.violations.report({ code, reason, clientAddr, identity: identity.name, sessionId }),
    pendingClientBytes,
    pendingUpstreamBytes: upstream.rest,
  });
  live.progress = () => ({ statements: queries.statements });
  deps.onSessionStart(sessionId, bridge);
  deps.metric('session');
  bridge.start();
  live.handle({
    terminate: (ending) =>
      bridge.terminate({ code: SqlState.adminShutdown, message: `terminating connection: ${ending.message}`, reason: ending.reason }),
  });
  const outcome = await bridge.done;
  deps.onSessionEnd(sessionId);

  const stats = await queries.close(outcome.reason);
  await deps.cancel.release(sessionId).catch((error) => context.logger.warn('could not remove a cancel key', { sessionId, error: errorMessage(error) }));
  await live.close({
    reason: outcome.reason,
    stats: { queries: stats, bytesFromClient: outcome.bytesFromClient, bytesFromUpstream: outcome.bytesFromUpstream, terminatedByGateway: outcome.terminatedByGateway },
  });
}
