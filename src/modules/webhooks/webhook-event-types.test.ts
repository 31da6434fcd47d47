import { WEBHOOK_EVENT_TYPES, isWebhookEventType, webhookEventTypeFor } from './webhook-event-types.js';

describe('audit actions → webhook event types', () => {
  it('every event type is its own audit action', () => {
    for (const t of WEBHOOK_EVENT_TYPES) expect(webhookEventTypeFor(t)).toBe(t);
  });
  it('maps the aliases', () => {
    expect(webhookEventTypeFor('user.manager_backfilled')).toBe('user.updated');
    expect(webhookEventTypeFor('bulk_job.completed')).toBe('bulk_job.finished');
  });
  it('ignores everything else', () => {
    for (const a of [
      'user.erased',
      'api_key.created',
      'scim_credential.generated',
      'custom_attribute.declared',
      'webhook_subscription.created',
      'toString',
      '__proto__',
    ]) {
      expect(webhookEventTypeFor(a)).toBeNull();
    }
    expect(isWebhookEventType('user.created')).toBe(true);
    expect(isWebhookEventType('user.erased')).toBe(false);
  });
});
