import { defineEntity, p } from '@mikro-orm/core';

export interface EmailValue {
  value: string;
  type?: string;
  primary?: boolean;
  display?: string;
}
export interface PhoneValue {
  value: string;
  type?: string;
  primary?: boolean;
  display?: string;
}
export interface AddressValue {
  formatted?: string;
  streetAddress?: string;
  locality?: string;
  region?: string;
  postalCode?: string;
  country?: string;
  type?: string;
  primary?: boolean;
}
export type CustomValues = Record<string, string | number | boolean | Array<string | number | boolean>>;

/**
 * A person in a tenant's directory. Relations (team, manager) are plain ids: the graph is walked with
 * batched loaders and recursive SQL, never by lazy-loading entity references one at a time.
 */
export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    userName: p.string(),
    externalId: p.string().nullable(),
    givenName: p.string().nullable(),
    familyName: p.string().nullable(),
    middleName: p.string().nullable(),
    formattedName: p.string().nullable(),
    honorificPrefix: p.string().nullable(),
    honorificSuffix: p.string().nullable(),
    displayName: p.string().nullable(),
    nickName: p.string().nullable(),
    profileUrl: p.string().nullable(),
    title: p.string().nullable(),
    userType: p.string().nullable(),
    preferredLanguage: p.string().nullable(),
    locale: p.string().nullable(),
    timezone: p.string().nullable(),
    active: p.boolean().default(true),
    emails: p.json<EmailValue[]>(),
    phoneNumbers: p.json<PhoneValue[]>(),
    addresses: p.json<AddressValue[]>(),
    employeeNumber: p.string().nullable(),
    costCenter: p.string().nullable(),
    organization: p.string().nullable(),
    division: p.string().nullable(),
    teamId: p.uuid().nullable(),
    managerId: p.uuid().nullable(),
    managerRef: p.string().nullable(),
    custom: p.json<CustomValues>(),
    version: p.integer().version(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    deactivatedAt: p.datetime().nullable(),
    deletedAt: p.datetime().nullable(),
    erasedAt: p.datetime().nullable(),
  },
});
export class User extends UserSchema.class {}
UserSchema.setClass(User);
