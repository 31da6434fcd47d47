/**
 * The event types a webhook subscription can ask for, and the audit actions that produce them. Every
 * change already records an audit event (modules/audit); an action listed here also becomes a webhook
 * event, in the same transaction.
 */
export const WEBHOOK_EVENT_TYPES = [
  'user.created',
  'user.updated',
  'user.deactivated',
  'user.reactivated',
  'user.deleted',
  'team.created',
  'team.updated',
  'team.deleted',
  'role.created',
  'role.updated',
  'role.deleted',
  'role.members_changed',
  'bulk_job.finished',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const BY_ACTION: Readonly<Record<string, WebhookEventType>> = {
  ...Object.fromEntries(WEBHOOK_EVENT_TYPES.map((t) => [t, t])),
  // A report linked to its newly provisioned manager: for the report, its managerId changed.
  'user.manager_backfilled': 'user.updated',
  // The bulk job worker's name for a job that ran to its end (bulk_job.finished is the public name).
  'bulk_job.completed': 'bulk_job.finished',
};

/** The webhook event type an audit action announces, or null (credentials, custom attributes, erasure…). */
export function webhookEventTypeFor(action: string): WebhookEventType | null {
  return Object.hasOwn(BY_ACTION, action) ? BY_ACTION[action] : null;
}

export const isWebhookEventType = (value: string): value is WebhookEventType => (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);
