import Router from '@koa/router';
import type { MikroORM } from '@mikro-orm/postgresql';
import Koa from 'koa';
import type { Config } from './config/env.js';
import { createGraphqlDoor } from './graphql/server.js';
import { health } from './http/health.js';
import { errorBoundary } from './http/middleware/error-boundary.js';
import { requestId } from './http/middleware/request-id.js';
import type { Logger } from './infra/logger.js';
import { migrations } from './infra/orm/orm.js';
import { scimRouter } from './scim/router.js';

export interface AppDeps {
  orm: MikroORM;
  config: Config;
  logger: Logger;
}

export interface App {
  koa: Koa;
  stop(): Promise<void>;
}

/** Builds the HTTP application (both doors on one Koa app). No listen: tests and main.ts decide that. */
export async function createApp(deps: AppDeps): Promise<App> {
  const koa = new Koa();
  koa.proxy = true;
  koa.silent = true;
  const graphql = await createGraphqlDoor(deps);
  const router = new Router();
  router.all('/graphql', ...graphql.middleware);

  koa.use(errorBoundary(deps.logger));
  koa.use(requestId());
  koa.use(health(deps.orm, migrations.map((m) => m.name)));
  const scim = scimRouter(deps);
  koa.use(scim.routes());
  koa.use(router.routes());
  koa.use(router.allowedMethods());
  koa.use(async function notFound(ctx) {
    // Apollo's Koa middleware calls next() after answering; only an unanswered request is a 404.
    if (ctx.body != null) return;
    ctx.status = 404;
    ctx.body = { error: `no route for ${ctx.method} ${ctx.path}`, see: ['/graphql', '/scim/v2', '/healthz'] };
  });
  return { koa, stop: () => graphql.stop() };
}
