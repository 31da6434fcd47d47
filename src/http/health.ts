import type { MikroORM } from '@mikro-orm/postgresql';
import type { Middleware } from 'koa';
import { DB_UNAVAILABLE_RETRY_AFTER_SECONDS } from '../infra/db/unavailable.js';

/** How long /readyz waits for the database before calling it unavailable. */
const READY_CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`readiness check took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * /healthz (liveness): the process is up and its event loop answers. It deliberately does not touch the
 * database: an orchestrator restarting every Roster process because PostgreSQL is restarting would turn
 * a short outage into a long one (the pool reconnects by itself).
 * /readyz (readiness): the database answers and every migration this build knows is applied; 503 with
 * Retry-After otherwise, so a load balancer sends traffic elsewhere.
 */
export function health(orm: MikroORM, expectedMigrations: string[]): Middleware {
  return async function healthMiddleware(ctx, next) {
    if (ctx.path !== '/healthz' && ctx.path !== '/readyz') return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', 'GET, HEAD');
      ctx.body = { error: 'use GET' };
      return;
    }
    if (ctx.path === '/healthz') {
      ctx.body = { status: 'ok' };
      return;
    }
    try {
      const rows = await withTimeout(
        orm.em.fork().execute<Array<{ name: string }>>('select name from roster_migrations'),
        READY_CHECK_TIMEOUT_MS,
      );
      const applied = new Set(rows.map((r) => r.name));
      const missing = expectedMigrations.filter((m) => !applied.has(m));
      if (missing.length > 0) {
        ctx.status = 503;
        ctx.set('Retry-After', String(DB_UNAVAILABLE_RETRY_AFTER_SECONDS));
        ctx.body = { status: 'migrations pending', missing };
        return;
      }
      ctx.body = { status: 'ok' };
    } catch (err) {
      ctx.status = 503;
      ctx.set('Retry-After', String(DB_UNAVAILABLE_RETRY_AFTER_SECONDS));
      // 42P01: no migrations table at all (an empty database); anything else: the database does not answer.
      ctx.body =
        (err as { code?: string }).code === '42P01'
          ? { status: 'migrations pending', missing: expectedMigrations }
          : { status: 'database unavailable' };
    }
  };
}
