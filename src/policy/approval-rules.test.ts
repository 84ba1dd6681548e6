import { describe, expect, it } from 'vitest';
import { mayAnswer, mayRevoke, mayViewRequest, planRequest, type RequestActor, type RequestAsk, type RequestFacts } from './approval-rules.js';
import type { Identity, Role, TargetRef } from './model.js';
import { roleSpecSchema } from './resource-schemas.js';

const now = new Date('2026-06-01T12:00:00Z');
const person = (name: string, roles: string[] = []): Identity => ({ id: `idn_${name}`, name, kind: 'human', owner: null, roles });
const alice = person('alice', ['prod-root']);
const bob = person('bob', ['approvers']);
const carol = person('carol', ['approvers']);
const dave = person('dave', ['ops']);
const bot: Identity = { id: 'idn_bot', name: 'deploy-bot', kind: 'bot', owner: 'alice', roles: ['prod-root'] };
const approverBot: Identity = { id: 'idn_ab', name: 'auto-approver', kind: 'bot', owner: 'bob', roles: ['approvers'] };

const request = (fields: Partial<RequestFacts> = {}): RequestFacts => ({
  id: 'req_1',
  state: 'pending',
  identity: { name: 'alice', kind: 'human', owner: null },
  requestedBy: 'alice',
  approvalsRequired: 1,
  approverRoles: ['approvers'],
  approvedBy: [],
  ...fields,
});
const botRequest = request({ identity: { name: 'deploy-bot', kind: 'bot', owner: 'alice' }, requestedBy: 'alice' });

describe('mayAnswer (separation of duties)', () => {
  const cases: Array<[string, RequestFacts, Identity, 'approve' | 'deny', Record<string, unknown>]> = [
    ['an approver approves: complete at 1 of 1', request(), bob, 'approve', { ok: true, approvals: 1, complete: true }],
    ['the requester never approves their own request', request(), person('alice', ['approvers']), 'approve', { ok: false, reason: expect.stringContaining('own request') }],
    ['the requester never denies it either', request(), person('alice', ['approvers']), 'deny', { ok: false }],
    ["a bot's owner does not approve the bot's request", botRequest, person('alice', ['approvers']), 'approve', { ok: false }],
    [
      "…even when the bot asked for itself",
      request({ identity: { name: 'deploy-bot', kind: 'bot', owner: 'erin' }, requestedBy: 'deploy-bot' }),
      person('erin', ['approvers']),
      'approve',
      { ok: false, reason: "erin owns the bot deploy-bot: a bot's owner does not approve or deny its requests" },
    ],
    ['the bot itself does not approve', botRequest, { ...bot, roles: ['approvers'] }, 'approve', { ok: false, reason: expect.stringContaining('bots never approve') }],
    ['bots never approve anything', request(), approverBot, 'approve', { ok: false, reason: expect.stringContaining('bots never approve') }],
    ["another approver approves a bot's request", botRequest, bob, 'approve', { ok: true, complete: true }],
    ['an identity without an approver role', request(), dave, 'approve', { ok: false, reason: expect.stringContaining('holds none of the roles') }],
    ['two needed: the first counts 1 of 2', request({ approvalsRequired: 2 }), bob, 'approve', { ok: true, approvals: 1, complete: false }],
    ['two needed: a second approver completes it', request({ approvalsRequired: 2, approvedBy: ['bob'] }), carol, 'approve', { ok: true, approvals: 2, complete: true }],
    ['the same approver twice counts once', request({ approvalsRequired: 2, approvedBy: ['bob'] }), bob, 'approve', { ok: false, reason: expect.stringContaining('1 more approval needed') }],
    ['an approver may deny', request(), bob, 'deny', { ok: true, complete: false }],
    ['only pending requests are answered', request({ state: 'approved' }), carol, 'approve', { ok: false, reason: 'request req_1 is approved, not pending' }],
  ];
  it.each(cases)('%s', (_name, facts, approver, answer, expected) => {
    expect(mayAnswer(facts, approver, answer)).toMatchObject(expected);
  });
});

describe('mayRevoke', () => {
  const admin: RequestActor = { kind: 'os', name: 'os:root@gw' };
  const as = (identity: Identity): RequestActor => ({ kind: 'identity', identity });
  const cases: Array<[string, RequestFacts, RequestActor, boolean]> = [
    ['the requester', request({ state: 'approved' }), as(alice), true],
    ['an approver', request({ state: 'approved' }), as(carol), true],
    ['an admin on the gateway host', request({ state: 'approved' }), admin, true],
    ['the bot it is for', request({ ...botRequest, state: 'approved' }), as(bot), true],
    ['someone else', request({ state: 'approved' }), as(dave), false],
    ['a bot holding an approver role', request({ state: 'approved' }), as(approverBot), false],
    ['a pending request can be withdrawn', request(), as(alice), true],
    ['an expired one cannot be revoked', request({ state: 'expired' }), admin, false],
  ];
  it.each(cases)('%s', (_name, facts, actor, ok) => {
    expect(mayRevoke(facts, actor).ok).toBe(ok);
  });
});

describe('mayViewRequest', () => {
  const row = { identityName: 'deploy-bot', requestedBy: 'alice', identityOwner: 'alice', approverRoles: ['approvers'] };
  it.each([
    ['the asker', alice, true],
    ['the bot it is for', bot, true],
    ['an approver', bob, true],
    ['a bot holding an approver role', approverBot, false],
    ['someone else', dave, false],
  ] as Array<[string, Identity, boolean]>)('%s', (_name, viewer, visible) => {
    expect(mayViewRequest(row, viewer)).toBe(visible);
  });
});

describe('planRequest', () => {
  const role = (name: string, spec: Record<string, unknown>): Role => ({ name, spec: roleSpecSchema.parse(spec) });
  const prodRoot = role('prod-root', {
    targets: { env: 'prod' },
    logins: ['root'],
    dbUsers: ['app_rw'],
    requireApproval: { approvers: ['approvers'], approvals: 2, maxDuration: '2h', ticket: 'required', ticketPattern: '^(CHG|INC)-[0-9]+$' },
  });
  const loose = role('loose', { targets: { env: 'stage' }, logins: ['deploy'], requireApproval: { approvers: ['approvers'] } });
  const ops = role('ops', { targets: { env: 'prod' }, logins: ['deploy'] });
  const web1: TargetRef = { name: 'web1', protocol: 'ssh', labels: { env: 'prod' } };
  const stage: TargetRef = { name: 'stage1', protocol: 'ssh', labels: { env: 'stage' } };
  const orders: TargetRef = { name: 'orders', protocol: 'postgres', labels: { env: 'prod' } };
  const ask = (fields: Partial<RequestAsk> = {}): RequestAsk => ({
    requester: alice,
    subject: alice,
    subjectRoles: [ops, prodRoot, loose],
    target: web1,
    login: 'root',
    reason: 'disk full on /var',
    ticket: 'CHG-1234',
    durationMs: 3_600_000,
    now,
    ...fields,
  });
  const cases: Array<[string, RequestAsk, Record<string, unknown>]> = [
    ['a complete request', ask(), { ok: true, request: { role: { name: 'prod-root' }, login: 'root', ticket: 'CHG-1234', durationMs: 3_600_000 } }],
    ['the default principal of the role', ask({ login: undefined }), { ok: true, request: { login: 'root' } }],
    ['a database user on a postgres target', ask({ target: orders, login: undefined, dbUser: 'app_rw' }), { ok: true, request: { dbUser: 'app_rw', login: null } }],
    ['a reason is required', ask({ reason: '  ' }), { ok: false, reason: 'a reason is required: say why you need this access' }],
    ['the ticket the role requires', ask({ ticket: undefined }), { ok: false, reason: expect.stringContaining('requires a ticket') }],
    ['the ticket pattern', ask({ ticket: 'JIRA-1' }), { ok: false, reason: 'ticket "JIRA-1" does not match ^(CHG|INC)-[0-9]+$ (role prod-root)' }],
    ['an optional ticket may be left out', ask({ target: stage, login: 'deploy', ticket: undefined }), { ok: true, request: { ticket: null } }],
    ['at most maxDuration', ask({ durationMs: 3 * 3_600_000 }), { ok: false, reason: 'role prod-root grants at most 2h at a time; ask for 2h or less' }],
    ['no approval needed for standing access', ask({ login: 'deploy' }), { ok: false, reason: expect.stringContaining('no approval is needed') }],
    ['no role could give it', ask({ login: 'postgres' }), { ok: false, reason: expect.stringContaining('no role of alice gives login postgres on web1 with approval') }],
    ['an option of another protocol', ask({ dbUser: 'app_rw', login: undefined }), { ok: false, reason: '--db-user does not apply to web1, a ssh target (use --login)' }],
    ["for a bot one owns", ask({ subject: bot }), { ok: true }],
    ["not for someone else's bot", ask({ requester: bob, subject: bot }), { ok: false, reason: 'deploy-bot is owned by alice: only a bot\'s owner asks for access for it' }],
    ['not for another human', ask({ requester: bob, subject: alice }), { ok: false }],
    ['a start in the past', ask({ startsAt: new Date(now.getTime() - 3_600_000) }), { ok: false, reason: 'the start time is in the past' }],
  ];
  it.each(cases)('%s', (_name, given, expected) => {
    expect(planRequest(given)).toMatchObject(expected);
  });
});
