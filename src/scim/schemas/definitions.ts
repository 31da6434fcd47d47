/**
 * The schemas Roster publishes, as data in the RFC 7643 §7 representation: exactly the JSON that
 * `GET /Schemas` serves, minus `meta` and the `schemas` array, which the HTTP layer adds.
 *
 * They are restricted to what Roster stores (RFC 7643 §8.7.1 lists more). The same definitions drive
 * the PATCH engine (`../patch/apply-patch.ts`): attribute lookup is case-insensitive against `name`,
 * and `type` / `multiValued` / `mutability` / `required` / `caseExact` decide how values are coerced and
 * which writes are refused.
 */
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER, customUserExtensionUrn } from './urns.js';

export type ScimAttributeType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'binary' | 'complex';
export type ScimMutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type ScimReturned = 'always' | 'never' | 'default' | 'request';
export type ScimUniqueness = 'none' | 'server' | 'global';

/** RFC 7643 §7 "attributes" entry. Optional members are omitted (not null) when they do not apply. */
export interface ScimAttributeDef {
  name: string;
  type: ScimAttributeType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: ScimMutability;
  returned: ScimReturned;
  uniqueness: ScimUniqueness;
  canonicalValues?: string[];
  referenceTypes?: string[];
  /** Only for `type: 'complex'`. */
  subAttributes?: ScimAttributeDef[];
}

/** RFC 7643 §7 schema resource without `meta` (added by the HTTP layer). */
export interface ScimSchemaDef {
  id: string;
  name: string;
  description: string;
  attributes: ScimAttributeDef[];
}

type AttrOptions = Partial<Omit<ScimAttributeDef, 'name' | 'type' | 'description'>>;

/** Builds an attribute with the RFC 7643 §2.2 defaults (readWrite, returned default, not required, caseExact false, uniqueness none). */
function attr(name: string, type: ScimAttributeType, description: string, options: AttrOptions = {}): ScimAttributeDef {
  const { subAttributes, canonicalValues, referenceTypes, ...rest } = options;
  return {
    name,
    type,
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...rest,
    ...(canonicalValues ? { canonicalValues } : {}),
    ...(referenceTypes ? { referenceTypes } : {}),
    ...(subAttributes ? { subAttributes } : {}),
  };
}

const primary = (what: string): ScimAttributeDef =>
  attr('primary', 'boolean', `A Boolean value indicating the 'primary' or preferred ${what}. At most one value may be true.`);

/**
 * RFC 7643 §3.1 common attributes. They belong to every resource but are not listed in any schema's
 * `attributes` (so `/Schemas` does not show them); the PATCH engine resolves them before the schema.
 */
export const COMMON_ATTRIBUTES: readonly ScimAttributeDef[] = [
  attr('id', 'string', 'Unique identifier for the resource, assigned by the service provider.', {
    caseExact: true,
    mutability: 'readOnly',
    returned: 'always',
    uniqueness: 'server',
  }),
  attr('externalId', 'string', 'Identifier of the resource as defined by the provisioning client.', {
    caseExact: true,
  }),
  attr('meta', 'complex', 'Resource metadata, maintained by the service provider.', {
    mutability: 'readOnly',
    subAttributes: [
      attr('resourceType', 'string', 'The name of the resource type of the resource.', {
        caseExact: true,
        mutability: 'readOnly',
      }),
      attr('created', 'dateTime', 'When the resource was added to the service provider.', { mutability: 'readOnly' }),
      attr('lastModified', 'dateTime', 'When the resource was last modified.', { mutability: 'readOnly' }),
      attr('location', 'reference', 'The URI of the resource.', {
        caseExact: true,
        mutability: 'readOnly',
        referenceTypes: ['uri'],
      }),
      attr('version', 'string', 'The version (ETag) of the resource.', { caseExact: true, mutability: 'readOnly' }),
    ],
  }),
];

export const CORE_USER_SCHEMA: ScimSchemaDef = {
  id: CORE_USER,
  name: 'User',
  description: 'User Account',
  attributes: [
    attr('userName', 'string', 'Unique identifier for the User, used to sign in. Roster uses the email address.', {
      required: true,
      uniqueness: 'server',
    }),
    attr('name', 'complex', "The components of the user's real name.", {
      subAttributes: [
        attr('formatted', 'string', 'The full name, formatted for display.'),
        attr('familyName', 'string', 'The family name of the User, or last name.'),
        attr('givenName', 'string', 'The given name of the User, or first name.'),
        attr('middleName', 'string', 'The middle name(s) of the User.'),
        attr('honorificPrefix', 'string', "The honorific prefix(es) of the User, or title (e.g. 'Ms.')."),
        attr('honorificSuffix', 'string', "The honorific suffix(es) of the User, or suffix (e.g. 'III')."),
      ],
    }),
    attr('displayName', 'string', 'The name of the User, suitable for display to end-users.'),
    attr('nickName', 'string', 'The casual way to address the user.'),
    attr('profileUrl', 'reference', "A fully qualified URL pointing to the User's online profile.", {
      referenceTypes: ['external'],
    }),
    attr('title', 'string', "The user's title, such as 'Vice President'."),
    attr('userType', 'string', "The relationship between the organization and the user, e.g. 'Employee'."),
    attr('preferredLanguage', 'string', "The User's preferred written or spoken language (e.g. 'en-US')."),
    attr('locale', 'string', "The User's default location for localising currency, dates and numbers (e.g. 'en-US')."),
    attr('timezone', 'string', "The User's time zone in IANA format (e.g. 'America/Los_Angeles')."),
    attr('active', 'boolean', "A Boolean value indicating the User's administrative status."),
    attr('password', 'string', "The User's cleartext password. Never returned; Roster does not store it in plain text.", {
      mutability: 'writeOnly',
      returned: 'never',
    }),
    attr('emails', 'complex', 'Email addresses for the user.', {
      multiValued: true,
      subAttributes: [
        attr('value', 'string', 'Email address for the user.'),
        attr('display', 'string', 'A human-readable name, primarily used for display purposes.'),
        attr('type', 'string', "A label indicating the attribute's function, e.g. 'work' or 'home'.", {
          canonicalValues: ['work', 'home', 'other'],
        }),
        primary('mail address'),
      ],
    }),
    attr('phoneNumbers', 'complex', 'Phone numbers for the User.', {
      multiValued: true,
      subAttributes: [
        attr('value', 'string', 'Phone number of the User.'),
        attr('display', 'string', 'A human-readable name, primarily used for display purposes.'),
        attr('type', 'string', "A label indicating the attribute's function, e.g. 'work', 'home', 'mobile'.", {
          canonicalValues: ['work', 'home', 'mobile', 'fax', 'pager', 'other'],
        }),
        primary('phone number'),
      ],
    }),
    attr('addresses', 'complex', 'A physical mailing address for this User.', {
      multiValued: true,
      subAttributes: [
        attr('formatted', 'string', 'The full mailing address, formatted for display.'),
        attr('streetAddress', 'string', 'The full street address component.'),
        attr('locality', 'string', 'The city or locality component.'),
        attr('region', 'string', 'The state or region component.'),
        attr('postalCode', 'string', 'The zip code or postal code component.'),
        attr('country', 'string', 'The country name component, ISO 3166-1 alpha-2 code.'),
        attr('type', 'string', "A label indicating the attribute's function, e.g. 'work' or 'home'.", {
          canonicalValues: ['work', 'home', 'other'],
        }),
        primary('address'),
      ],
    }),
    attr('groups', 'complex', 'The groups (Roster roles) the user belongs to. Maintained through Group membership.', {
      multiValued: true,
      mutability: 'readOnly',
      subAttributes: [
        attr('value', 'string', "The identifier of the User's group.", { mutability: 'readOnly' }),
        attr('$ref', 'reference', 'The URI of the corresponding Group resource.', {
          mutability: 'readOnly',
          referenceTypes: ['Group'],
        }),
        attr('display', 'string', 'A human-readable name, primarily used for display purposes.', {
          mutability: 'readOnly',
        }),
        attr('type', 'string', "A label indicating the attribute's function, e.g. 'direct' or 'indirect'.", {
          mutability: 'readOnly',
          canonicalValues: ['direct', 'indirect'],
        }),
      ],
    }),
    attr('roles', 'complex', 'A list of roles for the User (e.g. Entra app roles).', {
      multiValued: true,
      subAttributes: [
        attr('value', 'string', 'The value of a role.'),
        attr('display', 'string', 'A human-readable name, primarily used for display purposes.'),
        attr('type', 'string', "A label indicating the attribute's function."),
        primary('role'),
      ],
    }),
  ],
};

export const ENTERPRISE_USER_SCHEMA: ScimSchemaDef = {
  id: ENTERPRISE_USER,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    attr('employeeNumber', 'string', 'Numeric or alphanumeric identifier assigned to a person by the organization.'),
    attr('costCenter', 'string', 'Identifies the name of a cost center.'),
    attr('organization', 'string', 'Identifies the name of an organization.'),
    attr('division', 'string', 'Identifies the name of a division.'),
    attr('department', 'string', 'Identifies the name of a department. Roster places the user in the team of that name.'),
    attr('manager', 'complex', "The User's manager; sets the reporting line.", {
      subAttributes: [
        attr('value', 'string', 'The id (or externalId) of the SCIM resource representing the manager.'),
        attr('$ref', 'reference', 'The URI of the SCIM resource representing the manager.', {
          referenceTypes: ['User'],
        }),
        attr('displayName', 'string', "The displayName of the User's manager.", { mutability: 'readOnly' }),
      ],
    }),
  ],
};

export const CORE_GROUP_SCHEMA: ScimSchemaDef = {
  id: CORE_GROUP,
  name: 'Group',
  description: 'Group (a Roster role)',
  attributes: [
    attr('displayName', 'string', 'A human-readable name for the Group, unique within the tenant.', {
      required: true,
      uniqueness: 'server',
    }),
    attr('members', 'complex', 'A list of members of the Group.', {
      multiValued: true,
      subAttributes: [
        attr('value', 'string', 'Identifier of the member of this Group.', {
          caseExact: true,
          mutability: 'immutable',
        }),
        attr('$ref', 'reference', 'The URI of the corresponding member resource.', {
          mutability: 'immutable',
          referenceTypes: ['User', 'Group'],
        }),
        attr('display', 'string', 'A human-readable name of the member, set by the service provider.', {
          mutability: 'readOnly',
        }),
        attr('type', 'string', 'The type of the member.', {
          mutability: 'immutable',
          canonicalValues: ['User', 'Group'],
        }),
      ],
    }),
  ],
};

export type CustomAttributeType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime';

export interface CustomAttributeInput {
  name: string;
  type: CustomAttributeType;
  multiValued: boolean;
  description?: string;
}

/** RFC 7643 §2.1 ATTRNAME = ALPHA *(nameChar); nameChar = "-" / "_" / DIGIT / ALPHA. */
const ATTRNAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
/** Keeps the slug usable as one URN segment (no ':' or spaces). */
const SLUG = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

/**
 * A tenant's custom User extension (product.md: "custom user attributes published as its own SCIM schema
 * extension"). Throws `TypeError` on an invalid slug, attribute name, or a name repeated case-insensitively:
 * such a declaration would produce a schema no client could address.
 */
export function customUserExtension(tenantSlug: string, attrs: CustomAttributeInput[]): ScimSchemaDef {
  if (!SLUG.test(tenantSlug)) throw new TypeError(`invalid tenant slug for a schema URN: ${JSON.stringify(tenantSlug)}`);
  const seen = new Set<string>();
  const attributes = attrs.map((a) => {
    if (!ATTRNAME.test(a.name)) throw new TypeError(`invalid SCIM attribute name: ${JSON.stringify(a.name)}`);
    const key = a.name.toLowerCase();
    if (seen.has(key)) throw new TypeError(`duplicate SCIM attribute name: ${a.name}`);
    seen.add(key);
    return attr(a.name, a.type, a.description ?? '', { multiValued: a.multiValued });
  });
  return {
    id: customUserExtensionUrn(tenantSlug),
    name: `${tenantSlug}User`,
    description: `Custom User attributes of tenant ${tenantSlug}`,
    attributes,
  };
}

/** Core User first, then extensions: the order `applyPatch` expects in `ctx.schemas`. */
export const USER_SCHEMAS: readonly ScimSchemaDef[] = [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA];
export const GROUP_SCHEMAS: readonly ScimSchemaDef[] = [CORE_GROUP_SCHEMA];
