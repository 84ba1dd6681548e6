import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFuzzCase } from '../helpers/pg-fuzz-connection.js';
import type { FuzzCase } from '../helpers/pg-fuzz-inputs.js';
import { formatFuzzReport, fuzzGateway, GATEWAY_INTERNAL_ERROR, startFuzzTarget, type FuzzTarget } from '../helpers/pg-fuzz.js';

/** A SASLInitialResponse for SCRAM-SHA-256 that announces `length` bytes of data and has none. */
function saslInitialClaiming(length: number): Buffer {
  const body = Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), Buffer.alloc(4)]);
  body.writeInt32BE(length, body.length - 4);
  const header = Buffer.alloc(5);
  header.write('p');
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

/**
 * A short, seeded run of `npm run fuzz:pg`: the same inputs every time, through a running
 * gateway (a child process) to a real PostgreSQL, beside a steady session.
 */
describe('fuzzing the PostgreSQL front end of a running gateway', () => {
  let target: FuzzTarget;
  beforeAll(async () => {
    target = await startFuzzTarget();
  }, 120_000);
  afterAll(() => target?.stop());

  /** One handcrafted input after a valid startup packet. */
  const afterStartup = (description: string, bytes: Buffer): FuzzCase => ({ index: -1, phase: 'auth', before: 'startup', description, chunks: () => [bytes] });

  // Found by the fuzzer: these were answered XX000 ("the gateway could not serve this connection").
  it.each([
    ['a PasswordMessage where SCRAM expects a SASLInitialResponse', serialize.password('cus_guess')],
    ['a SASLInitialResponse whose data length says more than it holds', saslInitialClaiming(100)],
  ])('%s ends the connection with 08P01', async (_what, bytes) => {
    expect(await runFuzzCase(afterStartup(_what, bytes), target.login())).toMatchObject({ kind: 'error', code: '08P01' });
  });

  it('3000 seeded inputs: no crash, no internal error, no hung connection, the steady session undisturbed', async () => {
    const report = await fuzzGateway(target, { inputs: 3000, seed: 9, concurrency: 16 });
    const summary = formatFuzzReport(report);
    expect(report.inputsSent, summary).toBe(3000);
    expect(report.gatewayCrashes, summary).toBe(0);
    expect(report.steady.disturbed, summary).toBe(false);
    expect(report.steady.queries, summary).toBeGreaterThan(0);
    expect(report.outcomes.hung ?? 0, summary).toBe(0);
    expect(report.outcomes[GATEWAY_INTERNAL_ERROR] ?? 0, summary).toBe(0);
    expect(report.samples.loginFailed, summary).toEqual([]);
    expect(Object.keys(report.gatewayLog).filter((line) => line.startsWith('error:')), summary).toEqual([]);
    // The inputs reach every phase and mostly end as protocol violations, as they should.
    expect(Math.min(report.phases.startup, report.phases.auth, report.phases.session), summary).toBeGreaterThan(500);
    expect(report.outcomes['08P01'] ?? 0, summary).toBeGreaterThan(1000);
    expect(report.auditChain, summary).toMatch(/^audit chain intact/);
    expect(report.gatewayStop, summary).toMatchObject({ code: 0, killed: false });
  }, 600_000);
});
