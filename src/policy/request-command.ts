import type { ApprovalPolicy } from './resource-schemas.js';

export interface RequestCommandInput {
  target: string;
  login?: string;
  dbUser?: string;
  kubeGroup?: string;
  /** The bot the request is for (its owner runs the command). */
  forBot?: string;
  policy: Pick<ApprovalPolicy, 'ticket' | 'ticketPattern'>;
}

/**
 * The exact command that asks for access a role gives only with approval, as shown in a
 * denial: copy it, fill in the reason (and the ticket), run it.
 */
export function requestCommand(input: RequestCommandInput): string {
  const parts = ['custos request create', `--target ${input.target}`];
  if (input.login) parts.push(`--login ${input.login}`);
  if (input.dbUser) parts.push(`--db-user ${input.dbUser}`);
  if (input.kubeGroup) parts.push(`--kube-group ${input.kubeGroup}`);
  if (input.forBot) parts.push(`--for ${input.forBot}`);
  parts.push('--reason "…"');
  if (input.policy.ticket === 'required') parts.push('--ticket "…"');
  const command = parts.join(' ');
  if (input.policy.ticket === 'required') {
    return `${command} (a ticket is required${input.policy.ticketPattern ? `, matching ${input.policy.ticketPattern}` : ''})`;
  }
  return input.policy.ticketPattern ? `${command} (a ticket, if given, must match ${input.policy.ticketPattern})` : command;
}
