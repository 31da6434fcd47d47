import type { TestApp } from './test-app.js';

/**
 * The `pg` Client class the application's pool really uses. MikroORM depends on its own copy of `pg`
 * (node_modules/@mikro-orm/postgresql/node_modules/pg), so patching the `pg` a test could import would
 * count nothing; the prototype is taken from the ORM's pool instead.
 */
async function appClientPrototype(app: TestApp): Promise<{ query: (...a: unknown[]) => unknown }> {
  const connection = (app.orm.em as any).getDriver().getConnection();
  const pool = await connection.getNativeClient();
  const proto = pool?.Client?.prototype;
  if (!proto || typeof proto.query !== 'function') throw new Error('cannot find the pg Client of the ORM pool');
  return proto;
}

/** Counts the SQL statements the application sends (and keeps their text), and the rows they return, while `fn` runs. */
export async function measureSql(app: TestApp, fn: () => Promise<void>): Promise<{ statements: number; rows: number; sql: string[] }> {
  const proto = await appClientPrototype(app);
  const original = proto.query;
  const cost = { statements: 0, rows: 0, sql: [] as string[] };
  proto.query = function (this: unknown, ...args: unknown[]) {
    cost.statements++;
    const q = args[0];
    cost.sql.push(typeof q === 'string' ? q : String((q as { text?: unknown } | null)?.text ?? ''));
    const result = (original as (...a: unknown[]) => unknown).apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<{ rows?: unknown[] } | Array<{ rows?: unknown[] }>>).then(
        (r) => {
          for (const one of Array.isArray(r) ? r : [r]) cost.rows += one?.rows?.length ?? 0;
        },
        () => undefined,
      );
    }
    return result;
  } as typeof original;
  try {
    await fn();
  } finally {
    proto.query = original;
  }
  return cost;
}

/** Until the application sends nothing for 50 ms (work that follows a response, such as the access log's). */
export async function quiet(app: TestApp): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const idle = await measureSql(app, () => new Promise((r) => setTimeout(r, 50)));
    if (idle.statements === 0) return;
  }
  throw new Error('the application never went quiet');
}

/**
 * The statements `fn` caused, from a quiet start, its read's deferred commit included (a read-only
 * transaction's commit follows within a few milliseconds, infra/db/lazy-begin.ts).
 */
export async function statementsOf(app: TestApp, fn: () => Promise<void>): Promise<{ statements: number; rows: number; sql: string[] }> {
  await quiet(app);
  return measureSql(app, async () => {
    await fn();
    await new Promise((r) => setTimeout(r, 30));
  });
}
