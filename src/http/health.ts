import type { MikroORM } from '@mikro-orm/postgresql';
import type { Middleware } from 'koa';

/** /healthz: the process is up and its database answers. /readyz: the same (also checks migrations are applied). */
export function health(orm: MikroORM, expectedMigrations: string[]): Middleware {
  return async function healthMiddleware(ctx, next) {
    if (ctx.path !== '/healthz' && ctx.path !== '/readyz') return next();
    try {
      const em = orm.em.fork();
      if (ctx.path === '/readyz') {
        const rows = await em.execute<Array<{ name: string }>>('select name from roster_migrations');
        const applied = new Set(rows.map((r) => r.name));
        const missing = expectedMigrations.filter((m) => !applied.has(m));
        if (missing.length > 0) {
          ctx.status = 503;
          ctx.body = { status: 'migrations pending', missing };
          return;
        }
      } else {
        await em.execute('select 1');
      }
      ctx.body = { status: 'ok' };
    } catch {
      ctx.status = 503;
      ctx.set('Retry-After', '5');
      ctx.body = { status: 'database unavailable' };
    }
  };
}
