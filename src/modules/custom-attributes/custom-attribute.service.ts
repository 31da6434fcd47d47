import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { DomainError, ErrorCode, notFound } from '../../kernel/errors.js';
import { uuidv7 } from '../../kernel/ids.js';
import type { TenantScope } from '../../kernel/scope.js';
import { parseDateTime } from '../../kernel/datetime.js';
import { parseInput } from '../../kernel/validate.js';
import { translatingDbErrors } from '../../infra/orm/db-errors.js';
import { recordAudit } from '../audit/audit.service.js';
import type { CustomValues } from '../users/user.entity.js';
import { CUSTOM_ATTRIBUTE_TYPES, CustomAttribute } from './custom-attribute.entity.js';

/** Names that would shadow core or enterprise attributes, or SCIM's own keys, are refused. */
const RESERVED = new Set([
  'id',
  'externalid',
  'meta',
  'schemas',
  'username',
  'name',
  'emails',
  'active',
  'groups',
  'roles',
  'manager',
  'department',
  'password',
]);

const DeclareInput = z.object({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'must start with a letter and contain only letters, digits, _ or - (at most 64)'),
  type: z.enum(CUSTOM_ATTRIBUTE_TYPES),
  multiValued: z.boolean().default(false),
  description: z.string().max(1000).nullish(),
});

export async function declareCustomAttribute(scope: TenantScope, input: z.input<typeof DeclareInput>): Promise<CustomAttribute> {
  entered.delete(scope.em);
  const cmd = parseInput(DeclareInput, input);
  if (RESERVED.has(cmd.name.toLowerCase()))
    throw new DomainError(ErrorCode.INVALID_INPUT, `name: "${cmd.name}" is reserved`, { field: 'name' });
  const attr = scope.em.create(CustomAttribute, {
    id: uuidv7(),
    tenantId: scope.tenantId,
    name: cmd.name,
    type: cmd.type,
    multiValued: cmd.multiValued,
    description: cmd.description ?? null,
    createdAt: new Date(),
  });
  await recordAudit(scope, {
    action: 'custom_attribute.declared',
    targetType: 'custom_attribute',
    targetId: attr.id,
    changes: {
      name: { before: null, after: cmd.name },
      type: { before: null, after: cmd.type },
      multiValued: { before: null, after: cmd.multiValued },
    },
  });
  await translatingDbErrors(() => scope.em.flush());
  return attr;
}

/**
 * The declarations a request's transaction read when it entered the tenant (roster_enter returns them
 * with the same round trip), by the transaction's EntityManager. Nearly every SCIM request needs them
 * (the tenant's schema); a declaration or removal in the same transaction drops the snapshot.
 */
const entered = new WeakMap<EntityManager, CustomAttribute[]>();

export function primeCustomAttributes(em: EntityManager, rows: ReadonlyArray<Readonly<Record<string, unknown>>> | null): void {
  if (rows) entered.set(em, declarationsOf(rows));
}

const declarationsByRows = new WeakMap<object, CustomAttribute[]>();

/**
 * Declarations as roster_enter returns them (rows) → as the service returns them: once per rows, which the
 * process keeps while the tenant's schema version holds (infra/orm/door-transaction.ts), so that what is
 * derived from them (the tenant's SCIM schemas, filter and projection) is derived once too. Frozen.
 */
export function declarationsOf(rows: ReadonlyArray<Readonly<Record<string, unknown>>>): CustomAttribute[] {
  let declarations = declarationsByRows.get(rows);
  if (!declarations) declarationsByRows.set(rows, (declarations = Object.freeze(readDeclarations(rows)) as CustomAttribute[]));
  return declarations;
}

function readDeclarations(rows: ReadonlyArray<Readonly<Record<string, unknown>>>): CustomAttribute[] {
  // Plain objects, not managed entities: they are only read, and em.map() of each declaration on every
  // request cost more than reading them.
  return rows.map(
    (r) =>
      Object.freeze({
        id: r.id,
        tenantId: r.tenant_id,
        name: r.name,
        type: r.type,
        multiValued: r.multi_valued,
        description: r.description ?? null,
        createdAt: new Date(String(r.created_at)),
      }) as CustomAttribute,
  );
}

export async function listCustomAttributes(scope: TenantScope): Promise<CustomAttribute[]> {
  const known = entered.get(scope.em);
  if (known) return known;
  return scope.em.find(CustomAttribute, { tenantId: scope.tenantId }, { orderBy: { name: 'asc' } });
}

/** Removes the declaration. Values stored on users stay in the database but are no longer published or accepted. */
export async function removeCustomAttribute(scope: TenantScope, id: string): Promise<void> {
  entered.delete(scope.em);
  const attr = await scope.em.findOne(CustomAttribute, { tenantId: scope.tenantId, id });
  if (!attr) throw notFound('custom attribute', 'id');
  await recordAudit(scope, {
    action: 'custom_attribute.removed',
    targetType: 'custom_attribute',
    targetId: attr.id,
    changes: { name: { before: attr.name, after: null } },
  });
  scope.em.remove(attr);
  await scope.em.flush();
}

type Scalar = string | number | boolean;

function coerce(attr: CustomAttribute, v: unknown, path: string): Scalar {
  const bad = () => new DomainError(ErrorCode.INVALID_INPUT, `${path}: expected ${attr.type}`, { field: path });
  switch (attr.type) {
    case 'string':
      if (typeof v !== 'string' || v.length > 4096) throw bad();
      return v;
    case 'boolean':
      if (typeof v === 'boolean') return v;
      // IdPs (Entra) send booleans as "True"/"False"
      if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
      throw bad();
    case 'integer': {
      const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw bad();
      return n;
    }
    case 'decimal': {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw bad();
      return n;
    }
    case 'dateTime': {
      // Strict: Date.parse rolled 2020-02-30 over to March 1 and took years 0 and below, values a filter on
      // the attribute then refused, so the users holding them never matched one.
      const dt = typeof v === 'string' ? parseDateTime(v.trim()) : undefined;
      if (!dt) throw bad();
      return new Date(dt.epochMs).toISOString();
    }
  }
}

/**
 * Validates custom values against the tenant's declarations: names match case-insensitively and are
 * stored under the declared spelling; null or empty removes a value; undeclared names are refused.
 */
export function normaliseCustomValues(
  decls: CustomAttribute[],
  current: CustomValues,
  input: Record<string, unknown>,
  replace: boolean,
): CustomValues {
  const byName = new Map(decls.map((d) => [d.name.toLowerCase(), d]));
  const out: CustomValues = replace ? {} : { ...current };
  for (const [key, value] of Object.entries(input)) {
    const attr = byName.get(key.toLowerCase());
    if (!attr)
      throw new DomainError(ErrorCode.INVALID_INPUT, `custom.${key}: no custom attribute "${key}" is declared for this tenant`, {
        field: `custom.${key}`,
      });
    if (value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) {
      delete out[attr.name];
      continue;
    }
    const path = `custom.${attr.name}`;
    if (attr.multiValued) {
      const list = Array.isArray(value) ? value : [value];
      if (list.length > 100) throw new DomainError(ErrorCode.INVALID_INPUT, `${path}: at most 100 values`, { field: path });
      out[attr.name] = list.map((v, i) => coerce(attr, v, `${path}[${i}]`)) as Array<string | number | boolean>;
    } else {
      if (Array.isArray(value)) throw new DomainError(ErrorCode.INVALID_INPUT, `${path}: is single-valued`, { field: path });
      out[attr.name] = coerce(attr, value, path);
    }
  }
  return out;
}
