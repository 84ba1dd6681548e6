/**
 * `npm run fuzz:pg` — fuzzes a running gateway (`custos start`, a child process) in front of
 * a real PostgreSQL with mutated frontend streams in all three phases of a connection:
 * startup (SSLRequest, GSSENCRequest, CancelRequest, direct TLS, startup packets with
 * mutated lengths and parameters), authentication (SCRAM messages, blind or answering the
 * server's real nonce) and after a real login (mutated message streams). Each stream is
 * split at random points and sent on its own connection, many at once, while a steady
 * node-postgres session runs queries beside them and checks every answer.
 *
 * FUZZ_INPUTS (default 1000000), FUZZ_SEED (default 1), FUZZ_CONCURRENCY (default 32),
 * FUZZ_ONLY (comma-separated input numbers: replay just those), FUZZ_IDLE_MS (default 150: how
 * long a connection waits for an answer before closing its side). Inputs depend only on the
 * seed and their number, so a reported input replays with FUZZ_SEED and FUZZ_ONLY.
 * Exit 1 when the gateway crashed, the steady session was disturbed, a connection hung, or
 * the gateway answered an input with an internal error (XX000) or logged an error, or did not
 * exit 0 on SIGTERM after the run.
 */
import { formatFuzzReport, GATEWAY_INTERNAL_ERROR, runPgFuzz } from '../test/helpers/pg-fuzz.js';

const only = process.env.FUZZ_ONLY ? process.env.FUZZ_ONLY.split(',').map(Number) : undefined;
const log = (line: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const report = await runPgFuzz({
  inputs: Number(process.env.FUZZ_INPUTS ?? 1_000_000),
  seed: Number(process.env.FUZZ_SEED ?? 1),
  concurrency: Number(process.env.FUZZ_CONCURRENCY ?? 32),
  idleMs: Number(process.env.FUZZ_IDLE_MS ?? 150),
  ...(only ? { only } : {}),
  log,
});
process.stdout.write(`${formatFuzzReport(report)}\n`);
const internalErrors = (report.outcomes[GATEWAY_INTERNAL_ERROR] ?? 0) + Object.keys(report.gatewayLog).filter((line) => line.startsWith('error:')).length;
const stoppedCleanly = report.gatewayStop?.code === 0;
const failed = !stoppedCleanly || report.gatewayCrashes > 0 || report.steady.disturbed || (report.outcomes.hung ?? 0) > 0 || internalErrors > 0;
process.exitCode = failed ? 1 : 0;
