import type { Operation } from './context.js';

/** One bot in the non-human identity inventory. */
export interface BotInventoryItem {
  name: string;
  owner: string | null;
  /** Whether the owner still exists (a bot whose owner is gone is refused access). */
  ownerPresent: boolean;
  roles: string[];
  createdAt: Date;
  tokens: Array<{ id: string; createdAt: Date; expiresAt: Date | null; lastUsedAt: Date | null; requestId: string | null }>;
  openRequests: Array<{ id: string; state: string; target: string; ticket: string | null; until: Date | null }>;
  lastSession: { id: string; startedAt: Date; target: string } | null;
}

export const botOperations: Record<string, Operation> = {
  /** Every bot with its owner, roles, live tokens (age, last use), open requests and last session. */
  async 'bots.list'(context): Promise<BotInventoryItem[]> {
    const { store } = context;
    const snapshot = await store.resources.snapshot();
    const humans = new Set(snapshot.identities.filter((identity) => identity.kind === 'human').map((identity) => identity.name));
    const bots = snapshot.identities.filter((identity) => identity.kind === 'bot');
    const ids = bots.map((bot) => bot.id);
    const requests = await store.requests.openByIdentity(ids);
    const sessions = await store.requests.lastSessionOf(ids);
    const items: BotInventoryItem[] = [];
    for (const bot of bots) {
      const tokens = await store.tokens.list({ identityName: bot.name });
      const open = requests.filter((request) => request.identityId === bot.id);
      const grants = await store.requests.activeGrants(bot.id, new Date());
      items.push({
        name: bot.name,
        owner: bot.owner,
        ownerPresent: bot.owner !== null && humans.has(bot.owner),
        roles: bot.roles,
        createdAt: bot.createdAt,
        tokens: tokens.map((token) => ({ id: token.id, createdAt: token.createdAt, expiresAt: token.expiresAt, lastUsedAt: token.lastUsedAt, requestId: token.requestId })),
        openRequests: open.map((request) => ({
          id: request.id,
          state: request.state,
          target: request.target,
          ticket: request.ticket,
          until: grants.find((grant) => grant.requestId === request.id)?.endsAt ?? null,
        })),
        lastSession: sessions.find((session) => session.identityId === bot.id) ?? null,
      });
    }
    return items;
  },
};
