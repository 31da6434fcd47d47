import { defineEntity, p } from '@mikro-orm/core';

/** A tenant role. Over SCIM it is a Group; its members (table role_members) are changed by set-based SQL. */
export const RoleSchema = defineEntity({
  name: 'Role',
  tableName: 'roles',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    displayName: p.string(),
    externalId: p.string().nullable(),
    description: p.string().nullable(),
    version: p.integer().version(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export class Role extends RoleSchema.class {}
RoleSchema.setClass(Role);
