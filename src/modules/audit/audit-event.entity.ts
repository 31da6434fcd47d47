import { defineEntity, p } from '@mikro-orm/core';

export type Door = 'graphql' | 'scim' | 'cli' | 'system';

export const AuditEventSchema = defineEntity({
  name: 'AuditEvent',
  tableName: 'audit_events',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    occurredAt: p.datetime().onCreate(() => new Date()),
    door: p.string().$type<Door>(),
    actorKind: p.string(),
    actorId: p.uuid().nullable(),
    actorLabel: p.string().nullable(),
    action: p.string(),
    targetType: p.string(),
    targetId: p.uuid().nullable(),
    changes: p.json<Record<string, { before: unknown; after: unknown }>>(),
    requestId: p.string().nullable(),
    /** The webhook event this change announces, if any: a trigger writes its outbox row (migration audit_outbox). */
    webhookType: p.string().nullable(),
  },
});
export class AuditEvent extends AuditEventSchema.class {}
AuditEventSchema.setClass(AuditEvent);
