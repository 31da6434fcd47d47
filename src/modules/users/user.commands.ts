import { z } from 'zod';

/**
 * The one shape both transports map into. In updates, `undefined` leaves a field as it is and `null`
 * clears it; an empty string also clears (Entra's "null update" sends "" for cleared attributes).
 */
const text = (max = 1024) =>
  z
    .string()
    .max(max)
    .transform((v) => (v.trim() === '' ? null : v))
    .nullish();

const EmailInput = z.object({
  value: z
    .string()
    .trim()
    .toLowerCase()
    .min(3)
    .max(320)
    .regex(/^[^\s@]+@[^\s@]+$/, 'is not an email address'),
  type: z.string().max(64).nullish(),
  primary: z.boolean().nullish(),
  display: z.string().max(320).nullish(),
});
const PhoneInput = z.object({
  value: z.string().trim().min(1).max(64),
  type: z.string().max(64).nullish(),
  primary: z.boolean().nullish(),
  display: z.string().max(64).nullish(),
});
const AddressInput = z.object({
  formatted: z.string().max(1024).nullish(),
  streetAddress: z.string().max(1024).nullish(),
  locality: z.string().max(256).nullish(),
  region: z.string().max(256).nullish(),
  postalCode: z.string().max(64).nullish(),
  country: z.string().max(64).nullish(),
  type: z.string().max(64).nullish(),
  primary: z.boolean().nullish(),
});

export const UserFields = z.object({
  userName: z.string().trim().min(1, 'must not be empty').max(256),
  externalId: text(256),
  givenName: text(),
  familyName: text(),
  middleName: text(),
  formattedName: text(),
  honorificPrefix: text(64),
  honorificSuffix: text(64),
  displayName: text(),
  nickName: text(),
  profileUrl: text(2048),
  title: text(),
  userType: text(),
  preferredLanguage: text(64),
  locale: text(64),
  timezone: text(64),
  active: z.boolean(),
  emails: z.array(EmailInput).max(20).nullish(),
  phoneNumbers: z.array(PhoneInput).max(20).nullish(),
  addresses: z.array(AddressInput).max(10).nullish(),
  employeeNumber: text(256),
  costCenter: text(256),
  organization: text(256),
  division: text(256),
  /** A team by name, created when new (SCIM enterprise `department`). */
  department: text(200),
  /** A team by id. */
  teamId: z.string().nullish(),
  /** The manager by Roster id or externalId; kept pending when no such user exists yet. */
  manager: text(256),
  /** Custom attribute values by declared name. */
  custom: z.record(z.string(), z.unknown()),
});

export const CreateUserCommand = UserFields.partial().required({ userName: true }).extend({
  /** A caller-chosen id (imports that keep ids); generated otherwise. */
  id: z.uuid().optional(),
});
export type CreateUserCommand = z.input<typeof CreateUserCommand>;

export const UpdateUserCommand = UserFields.partial();
export type UpdateUserCommand = z.input<typeof UpdateUserCommand>;

export interface UpdateOptions {
  /** Optimistic concurrency: fail with PRECONDITION_FAILED unless the user is at this version (SCIM If-Match). */
  expectedVersion?: number;
  /** Replace custom attributes wholesale instead of merging (SCIM PUT). */
  replaceCustom?: boolean;
}
