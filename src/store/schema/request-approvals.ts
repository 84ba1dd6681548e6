import { pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/** Each approver's answer to an access request: one per approver and request. */
export const requestApprovals = pgTable(
  'request_approvals',
  {
    requestId: text('request_id').notNull(),
    approverId: text('approver_id').notNull(),
    approverName: text('approver_name').notNull(),
    decision: text('decision').$type<'approve' | 'deny'>().notNull(),
    reason: text('reason'),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.requestId, table.approverId] })],
);
