/**
 * Statements planned once per connection instead of once per request (issue 4; docs/performance.md).
 *
 * A statement sent with its values inlined (the simple protocol, what MikroORM's `em.execute` does) is parsed
 * and planned by PostgreSQL every time. For the hot statements, whose text is fixed and whose values change
 * (a SCIM page with its total and relations, a user's relations, a GraphQL users page), planning is most of
 * PostgreSQL's work: 0.5–0.7 ms to plan, 0.07 ms to run, measured with pg_stat_statements under the bench's
 * load. Such a statement, marked with PREPARED_MARK and sent with bind values (infra/orm/sql.ts `prepared`),
 * becomes a named prepared statement of the connection (node-postgres parses it once per connection and
 * binds it afterwards); PostgreSQL keeps its plan, custom for the first five runs, then generic if that is
 * no worse. Row-level security is unaffected: its policies read `roster.tenant_id` when the plan runs.
 *
 * A connection keeps at most MAX_PER_CONNECTION of them: past that (statements built from arbitrary SCIM
 * filters are many shapes), the connection forgets them all at its next checkout (`deallocate all`, sent
 * with its first statement). It also forgets them when PostgreSQL says a kept plan can no longer serve (a
 * migration changed a table under a running process: "cached plan must not change result type").
 */

/** Leads a statement's text: the statement is sent as a named prepared statement of its connection. */
export const PREPARED_MARK = '/* roster:prepared */';

export const MAX_PER_CONNECTION = 200;

/** SQLSTATEs after which the connection's kept statements are dropped: plan unusable, statement unknown. */
const STALE = new Set(['0A000', '26000']);

const NAMES = Symbol('roster.preparedNames');
const STALE_SEEN = Symbol('roster.stalePrepared');
const FORGET = Symbol('roster.forgetPrepared');

interface PgConnection {
  parsedStatements: Record<string, string>;
}
type State = { [NAMES]?: Set<string>; [STALE_SEEN]?: boolean; [FORGET]?: boolean; connection?: PgConnection };

export const isPrepared = (text: unknown, values: unknown): text is string =>
  typeof text === 'string' && Array.isArray(values) && text.startsWith(PREPARED_MARK);

/**
 * Statement names by text, for the process: a name is never reused for another text, so a connection that
 * kept a statement under a name forgotten here still runs the right one. Bounded; past the bound it starts
 * over (texts then get new names, and connections prepare them again).
 */
const namesByText = new Map<string, string>();
let lastName = 0;
const MAX_NAMES = 1_000;

/** node-postgres's query config for a marked statement. */
export function namedStatement(client: object, text: string, values: unknown[]): { name: string; text: string; values: unknown[] } {
  const c = client as State;
  let name = namesByText.get(text);
  if (name === undefined) {
    if (namesByText.size >= MAX_NAMES) namesByText.clear();
    name = `roster_${++lastName}`;
    namesByText.set(text, name);
  }
  (c[NAMES] ??= new Set()).add(name);
  return { name, text, values };
}

/**
 * The name under which the connection holds the statement of this marked text, if it holds it (prepared by an
 * earlier use on this connection and not forgotten since); then an `execute <name>(…)` can run it inside a
 * simple-protocol message (prefetch.ts).
 */
export function preparedNameOn(client: object, text: string): string | undefined {
  const c = client as State;
  const name = namesByText.get(text);
  if (name === undefined || c[FORGET] || !c[NAMES]?.has(name) || c.connection?.parsedStatements[name] !== text) return undefined;
  return name;
}

/** A failed marked statement: if its plan is stale, the connection forgets its statements at its next checkout. */
export function onPreparedError(client: object, err: unknown): void {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && STALE.has(code)) (client as State)[STALE_SEEN] = true;
}

/**
 * At checkout (never mid-transaction: an aborted transaction takes nothing but its rollback): whether the
 * connection forgets its prepared statements before its first statement.
 */
export function checkPreparedAtCheckout(client: object): void {
  const c = client as State;
  if (c[STALE_SEEN] || (c[NAMES]?.size ?? 0) > MAX_PER_CONNECTION) {
    c[STALE_SEEN] = false;
    c[FORGET] = true;
  }
}

/**
 * If the connection is to forget its statements: the statement that does it (to run before anything else
 * is sent), and node-postgres forgets them too, so each is parsed again on its next use. Set at checkout
 * only, so it is taken by the checkout's first statement, with nothing queued on the connection.
 */
export function takeForget(client: object): string | undefined {
  const c = client as State;
  if (!c[FORGET]) return undefined;
  c[FORGET] = false;
  c[NAMES]?.clear();
  if (c.connection) c.connection.parsedStatements = {};
  return 'deallocate all';
}
