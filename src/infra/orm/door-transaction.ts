import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { RequestTimeoutError, type Deadline } from '../../kernel/deadline.js';
import {
  DOOR_ARGS,
  doorCall,
  doorResult,
  type DoorLimits,
  type DoorRequest,
  type DoorResult,
  type DoorRow,
} from '../../modules/credentials/door.js';
import { READ_ONLY_MARK } from '../db/lazy-begin.js';
import { prefetchMark } from '../db/prefetch.js';
import { preparedStatement, type SqlStatement } from './sql.js';
import { useTenantFilter } from './session.js';

export interface DoorTransactionOptions {
  deadline?: Deadline;
  /** The configured statement_timeout (ms, 0: none); the transaction's is the lower of it and the deadline's remaining budget. */
  statementTimeoutMs: number;
  /**
   * The request writes nothing (a SCIM GET, a GraphQL query): the transaction is begun `read only`, so
   * PostgreSQL refuses a write, and its commit travels with the connection's next statement (infra/db/lazy-begin.ts).
   */
  readOnly?: boolean;
}

/** What entering the tenant read in the same round trip (see roster_enter in the hot_paths migration). */
export interface Entered {
  /** The tenant's custom-attribute declarations as rows (snake_case columns; shared, frozen), or null for an operator. */
  customAttributes: Declarations | null;
}

interface EnterRow {
  pid: number;
  xact_start: string;
  /** Null for an operator, and where the version the process sent is the tenant's current one. */
  custom_attributes: Array<Record<string, unknown>> | null;
  /** `<tenant id>:<schema version>` (migration schema_version), null for an operator. */
  schema: string | null;
}

type Declarations = ReadonlyArray<Readonly<Record<string, unknown>>>;

/**
 * What the process guesses a credential opens, before its door answers: the tenant it opened last here, with
 * that tenant's slug and custom-attribute declarations as this process last read them.
 */
export interface TenantGuess {
  tenantId: string;
  tenantSlug: string;
  customAttributes: Declarations;
}

/** The statement a request will run first (sql.ts `prepared`'s arguments), planned from a guess of its tenant; null: nothing to tell. */
export type FirstStatementPlan = (guess: TenantGuess) => SqlStatement | null;

/**
 * The custom-attribute declarations this process read last, per tenant, with their version (migration
 * schema_version); and which tenant a credential entered last, so that the door's round trip, which learns
 * the tenant only as it authenticates, can send the version the process holds for it. A guess that is
 * wrong, or old, only costs reading the declarations, as every request did before: PostgreSQL compares
 * the whole `<tenant id>:<version>`. Bounded: past `max` entries the oldest goes.
 */
class SchemaCache {
  private readonly byTenant = new Map<string, { schema: string; declarations: Declarations }>();
  private readonly tenantOf = new Map<string, { tenantId: string; tenantSlug: string | null }>();
  constructor(private readonly max = 10_000) {}

  /** What the process holds for the tenant (or the credential's last tenant): its version and declarations, or null. */
  known(key: { tenantId?: string | null; credential?: string }) {
    const tenant = key.tenantId ?? (key.credential !== undefined ? this.tenantOf.get(key.credential)?.tenantId : undefined);
    return (tenant && this.byTenant.get(tenant)) || null;
  }

  /** The declarations the request entered with: read now (and kept), or the ones `sent` named. */
  entered(
    row: EnterRow,
    sent: { schema: string; declarations: Declarations } | null,
    credential?: { key: string; tenantSlug: string | null },
  ): Declarations | null {
    if (row.schema === null) return row.custom_attributes;
    const tenant = row.schema.slice(0, row.schema.indexOf(':'));
    if (credential !== undefined) this.remember(this.tenantOf, credential.key, { tenantId: tenant, tenantSlug: credential.tenantSlug });
    if (row.custom_attributes === null && sent?.schema === row.schema) return sent.declarations;
    const declarations = Object.freeze((row.custom_attributes ?? []).map((d) => Object.freeze(d)));
    this.remember(this.byTenant, tenant, { schema: row.schema, declarations });
    return declarations;
  }

  /** The tenant the credential opened last, with what the process holds of it; null if it holds nothing. */
  guess(credential: string): TenantGuess | null {
    const last = this.tenantOf.get(credential);
    const held = last && this.byTenant.get(last.tenantId);
    if (!last?.tenantSlug || !held) return null;
    return { tenantId: last.tenantId, tenantSlug: last.tenantSlug, customAttributes: held.declarations };
  }

  private remember<V>(map: Map<string, V>, key: string, value: V) {
    map.delete(key);
    map.set(key, value);
    if (map.size > this.max) map.delete(map.keys().next().value as string);
  }
}

const schemaCaches = new WeakMap<MikroORM, SchemaCache>();
const schemaCacheOf = (orm: MikroORM) => {
  let cache = schemaCaches.get(orm);
  if (!cache) schemaCaches.set(orm, (cache = new SchemaCache()));
  return cache;
};

const statementTimeoutOf = (opts: DoorTransactionOptions) => {
  const bounds = [opts.statementTimeoutMs, opts.deadline ? Math.max(1, opts.deadline.remainingMs()) : 0].filter((ms) => ms > 0);
  return bounds.length > 0 ? Math.min(...bounds) : 0;
};

/**
 * The rest of a request inside the transaction it entered: the statement that entered it bounded every
 * statement by what is left of the request's time and noted which backend runs the transaction, so that an
 * expiring deadline can cancel the statement in flight. A transaction whose deadline passed never commits:
 * it rolls back with RequestTimeoutError.
 */
async function runEntered<T>(
  orm: MikroORM,
  em: EntityManager,
  tenantId: string | null,
  backend: EnterRow,
  customAttributes: Declarations | null,
  deadline: Deadline | undefined,
  fn: (em: EntityManager, entered: Entered) => Promise<T>,
): Promise<T> {
  if (tenantId) useTenantFilter(em, tenantId);
  const unregister = deadline?.onExpire(() => void cancelBackend(orm, backend.pid, backend.xact_start));
  try {
    const result = await fn(em, { customAttributes });
    if (deadline?.expired) throw new RequestTimeoutError(deadline.ms);
    return result;
  } finally {
    unregister?.();
  }
}

/**
 * The request's transaction for a caller already admitted (the environment's operator key): one statement
 * (roster_enter) enters the tenant (row-level security, `roster.tenant_id`) or operator mode (`tenantId`
 * null), sets the statement timeout and reads what the request will need (see runEntered).
 */
export async function inDoorTransaction<T>(
  orm: MikroORM,
  opts: DoorTransactionOptions & { tenantId: string | null },
  fn: (em: EntityManager, entered: Entered) => Promise<T>,
): Promise<T> {
  const { tenantId } = opts;
  const schemas = schemaCacheOf(orm);
  return orm.em.fork().transactional(async (em) => {
    const sent = schemas.known({ tenantId });
    const [backend] = await em.execute<EnterRow[]>(`select * from roster_enter(?, ?, ?, ?)${opts.readOnly ? ` ${READ_ONLY_MARK}` : ''}`, [
      tenantId ?? '',
      tenantId ? 'off' : 'on',
      String(statementTimeoutOf(opts)),
      sent?.schema ?? '',
    ]);
    return runEntered(orm, em, tenantId, backend, schemas.entered(backend, sent), opts.deadline, fn);
  });
}

/**
 * The door (modules/credentials/door.ts) and the request's transaction in one round trip (migration
 * door_enter): the door's statement runs and commits on its own, as before; the request's transaction
 * then enters the tenant the door admitted (or operator mode, where `operatorAllowed`). `fn` runs only for
 * an admitted caller; for any other outcome the transaction, which entered nothing, ends at once and the
 * caller answers from `door` (401, 429).
 */
export async function passDoorAndEnter<T>(
  orm: MikroORM,
  call: {
    request: DoorRequest;
    limits: DoorLimits;
    operatorAllowed: boolean;
    /**
     * The statement the request will run first, if it can tell from a guess of its tenant (a SCIM lookup):
     * it travels with the door's message (infra/db/prefetch.ts). Null: no guess, or nothing to tell.
     */
    first?: FirstStatementPlan;
  },
  opts: DoorTransactionOptions,
  fn: (door: Extract<DoorResult, { outcome: 'ok' }>, em: EntityManager, entered: Entered) => Promise<T>,
): Promise<{ door: DoorResult; admitted: boolean; value?: T }> {
  const { params, prefix, credentialKey } = doorCall(call.request, call.limits);
  const schemas = schemaCacheOf(orm);
  return orm.em.fork().transactional(async (em) => {
    const sent = schemas.known({ credential: credentialKey });
    const prefetch = firstStatement(call.first, schemas.guess(credentialKey));
    // The `commit` ends the door's own transaction (the begin the pool's client sends first, lazy-begin.ts):
    // its bucket and failure records stay whatever becomes of the request's.
    let row: EnterRow & { door: DoorRow; entered: boolean };
    try {
      [row] = await em.execute<Array<EnterRow & { door: DoorRow; entered: boolean }>>(
        `${prefetch?.mark ?? ''}select roster_door_keep(${DOOR_ARGS}); commit; begin${opts.readOnly ? ' read only' : ''}; select * from roster_enter_door(?, ?, ?)${opts.readOnly ? ` ${READ_ONLY_MARK}` : ''}`,
        [...params, call.operatorAllowed, String(statementTimeoutOf(opts)), sent?.schema ?? ''],
      );
    } finally {
      prefetch?.drop();
    }
    const door = doorResult(row.door, prefix);
    if (door.outcome !== 'ok' || !row.entered) return { door, admitted: false };
    const customAttributes = schemas.entered(row, sent, { key: credentialKey, tenantSlug: door.tenantSlug });
    const value = await runEntered(orm, em, door.tenantId, row, customAttributes, opts.deadline, (e, entered) => fn(door, e, entered));
    return { door, admitted: true, value };
  });
}

/** The request's first statement for the door's message, planned from the guess; none when it cannot be. */
function firstStatement(plan: FirstStatementPlan | undefined, guess: TenantGuess | null) {
  if (!plan || !guess) return null;
  let planned: SqlStatement | null;
  try {
    planned = plan(guess);
  } catch {
    return null; // the request is malformed: its handler says how
  }
  return planned ? prefetchMark(preparedStatement(planned.sql, planned.params)) : null;
}

/**
 * Cancels the statement running in that backend, if it still runs the same transaction (a pooled
 * connection may have moved on to another request). Best effort, on another pooled connection.
 */
async function cancelBackend(orm: MikroORM, pid: number, xactStart: string): Promise<void> {
  try {
    await orm.em
      .fork()
      .execute(`select pg_cancel_backend(a.pid) from pg_stat_activity a where a.pid = ? and a.xact_start = ?::timestamptz`, [
        pid,
        xactStart,
      ]);
  } catch {
    // the pool or the database is unavailable: the statement_timeout still bounds the statement
  }
}
