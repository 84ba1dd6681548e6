import type { SessionRow } from '../../store/repositories/sessions.js';
import type { StoryCredential, StoryIdentity, StoryStore } from './story-model.js';

/**
 * Who the story is about, as the store knows them now: kind, owner (a bot's accountable
 * human), roles, the bots a human owns, and every token with, for one minted under an
 * access request, the request and the humans who approved it. A deleted identity keeps the
 * kind and owner its last session recorded.
 */
export async function identityProfile(store: StoryStore, name: string, sessions: SessionRow[]): Promise<StoryIdentity> {
  const row = await store.resources.identityByName(name);
  const last = sessions[0];
  const bots = row?.kind === 'human' ? (await store.resources.identitiesOwnedBy(name)).map((bot) => bot.name) : [];
  const tokens = row ? await store.tokens.list({ identityName: name, includeInactive: true }) : [];
  const credentials: StoryCredential[] = [];
  for (const token of tokens) {
    const detail = token.requestId ? await store.requests.get(token.requestId) : null;
    credentials.push({
      token_id: token.id,
      created_at: token.createdAt.toISOString(),
      created_by: token.createdBy,
      expires_at: token.expiresAt?.toISOString() ?? null,
      revoked_at: token.revokedAt?.toISOString() ?? null,
      revoked_by: token.revokedBy,
      request: detail
        ? {
            id: detail.request.id,
            requested_by: detail.request.requestedBy,
            reason: detail.request.reason,
            ticket: detail.request.ticket,
            state: detail.request.state,
            approvals: detail.approvals.map((a) => ({ approver: a.approverName, decision: a.decision, reason: a.reason, at: a.at.toISOString() })),
            grant: detail.grant
              ? { id: detail.grant.id, from: detail.grant.startsAt.toISOString(), until: detail.grant.endsAt.toISOString(), state: detail.grant.state }
              : null,
          }
        : null,
    });
  }
  return {
    name,
    exists: row !== null,
    kind: row?.kind ?? last?.identityKind ?? null,
    owner: row ? row.owner : (last?.identityOwner ?? null),
    roles: row?.roles ?? [],
    bots,
    credentials,
  };
}
