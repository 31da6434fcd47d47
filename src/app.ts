import Router from '@koa/router';
import type { MikroORM } from '@mikro-orm/postgresql';
import Koa from 'koa';
import type { Config } from './config/env.js';
import { createGraphqlDoor } from './graphql/server.js';
import { health } from './http/health.js';
import { Metrics, metricsEndpoint, poolGauges } from './http/metrics.js';
import { accessLog, TenantSlugs } from './http/middleware/access-log.js';
import { cors } from './http/middleware/cors.js';
import { errorBoundary } from './http/middleware/error-boundary.js';
import { requestId } from './http/middleware/request-id.js';
import { securityHeaders } from './http/middleware/security-headers.js';
import type { Logger } from './infra/logger.js';
import { migrations } from './infra/orm/orm.js';
import { oauthRouter } from './oauth/router.js';
import { scimRouter } from './scim/router.js';

export interface AppDeps {
  orm: MikroORM;
  config: Config;
  logger: Logger;
}

export interface App {
  koa: Koa;
  /**
   * The process is draining (SIGTERM): from now on every response, those of requests already in flight
   * included, tells its client to close the connection, so a kept-alive client sends its next request to a
   * new connection (another process behind the load balancer) instead of this one, which stays open as long
   * as it carries requests.
   */
  drain(): void;
  stop(): Promise<void>;
}

/** Builds the HTTP application (both doors on one Koa app). No listen: tests and main.ts decide that. */
export async function createApp(deps: AppDeps): Promise<App> {
  const koa = new Koa();
  koa.proxy = true;
  // The client address (failed-authentication limits) is the one the nearest proxy appended to
  // X-Forwarded-For, not the leftmost entry, which any client can write.
  koa.maxIpsCount = 1;
  koa.silent = true;
  const graphql = await createGraphqlDoor(deps);
  const router = new Router();
  router.all('/graphql', ...graphql.middleware);

  const metrics = new Metrics([poolGauges(deps.orm)]);
  let draining = false;
  // Outermost: request id, then the access log / metrics / tracing span around everything else, so they
  // see the final status of every response, errors included; then headers every response carries.
  koa.use(requestId());
  koa.use(async function closeWhileDraining(ctx, next) {
    await next();
    if (draining) ctx.set('Connection', 'close');
  });
  koa.use(accessLog({ logger: deps.logger, metrics, slugs: new TenantSlugs(deps.orm) }));
  koa.use(securityHeaders());
  koa.use(cors(deps.config.corsOrigins));
  koa.use(errorBoundary(deps.logger));
  koa.use(
    health(
      deps.orm,
      migrations.map((m) => m.name),
    ),
  );
  koa.use(metricsEndpoint(metrics, deps.config.metricsToken));
  const scim = scimRouter(deps);
  koa.use(scim.routes());
  // OAuth 2.0 token endpoint (client credentials) for the SCIM door.
  koa.use(oauthRouter(deps).routes());
  koa.use(router.routes());
  koa.use(router.allowedMethods());
  koa.use(async function notFound(ctx) {
    // Apollo's Koa middleware calls next() after answering; only an unanswered request is a 404.
    if (ctx.body != null) return;
    ctx.status = 404;
    ctx.body = { error: `no route for ${ctx.method} ${ctx.path}`, see: ['/graphql', '/scim/v2', '/healthz'] };
  });
  return {
    koa,
    drain: () => {
      draining = true;
    },
    stop: async () => {
      metrics.stop();
      await graphql.stop();
    },
  };
}
