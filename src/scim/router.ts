import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Context, Middleware } from 'koa';
import type { Config } from '../config/env.js';
import { requestDeadline } from '../http/middleware/deadline.js';
import { guardInput, readingBody } from '../http/middleware/input-guard.js';
import type { Logger } from '../infra/logger.js';
import type { TenantGuess } from '../infra/orm/door-transaction.js';
import { ScimError } from './errors.js';
import { bulkHandler, bulkPayloadLimit } from './handlers/bulk.js';
import type { ScimContext } from './handlers/common.js';
import {
  getResourceType,
  getSchema,
  listResourceTypes,
  listSchemas,
  SCIM_MAX_PAYLOAD_BYTES,
  serviceProviderConfig,
} from './handlers/discovery.js';
import { createGroup, deleteGroup, getGroup, listGroupsHandler, patchGroup, replaceGroup, searchGroupsHandler } from './handlers/groups.js';
import {
  createUserHandler,
  deleteUserHandler,
  getUser,
  listUsersHandler,
  patchUser,
  planUserLookup,
  planUserRead,
  replaceUser,
  searchUsersHandler,
} from './handlers/users.js';
import { scimAuth } from './middleware/scim-auth.js';
import { scimErrors } from './middleware/scim-errors.js';

type H = (ctx: ScimContext) => Promise<void> | void;
const h =
  (fn: H): Middleware =>
  (ctx) =>
    fn(ctx as unknown as ScimContext) as Promise<void>;

/** Bodies must be JSON: application/scim+json (RFC 7644 §3.1) or application/json. */
const requireJsonBody: Middleware = async function scimContentType(ctx, next) {
  if (['POST', 'PUT', 'PATCH'].includes(ctx.method) && !ctx.is('application/scim+json', 'application/json', '+json')) {
    throw new ScimError(415, 'send the body as application/scim+json or application/json');
  }
  await next();
};

/**
 * The SCIM 2.0 door at /scim/v2. Order: SCIM error shape around everything, content type, body (size
 * limited), authentication and tenant transaction, then the handler. Unknown routes and methods are SCIM
 * errors too.
 */
export function scimRouter(deps: { orm: MikroORM; config: Config; logger: Logger }): Router {
  const router = new Router({ prefix: '/scim/v2' });
  router.use(scimErrors(deps.logger));
  // Everything below, body reading included, answers within ROSTER_REQUEST_TIMEOUT_MS or fails with 503.
  router.use(requestDeadline(deps.config.requestTimeoutMs, deps.logger));
  router.use(requireJsonBody);
  // /Bulk: an oversized body is refused before it is read, naming maxPayloadSize.
  router.use('/Bulk', bulkPayloadLimit);
  router.use(
    readingBody(
      bodyParser({
        enableTypes: ['json'],
        extendTypes: { json: ['application/scim+json', 'application/json'] },
        jsonLimit: SCIM_MAX_PAYLOAD_BYTES,
        encoding: 'utf-8',
      }),
    ),
  );
  router.use(guardInput());
  // A lookup's page, or the user a request on /Users/{id} reads first, travels with the door's message
  // (infra/db/prefetch.ts).
  const firstStatement = (ctx: Context) => {
    if (ctx.method === 'GET' && /\/Users\/?$/.test(ctx.path)) return (guess: TenantGuess) => planUserLookup(ctx.query, guess);
    const id = /\/Users\/([^/]+)\/?$/.exec(ctx.path)?.[1];
    if (id && ['GET', 'PUT', 'PATCH', 'DELETE'].includes(ctx.method))
      return (guess: TenantGuess) => planUserRead(decodeURIComponent(id), guess);
    return undefined;
  };
  router.use(scimAuth(deps.orm, deps.config, deps.logger, firstStatement));

  router.get('/ServiceProviderConfig', h(serviceProviderConfig));
  router.get('/ResourceTypes', h(listResourceTypes));
  router.get('/ResourceTypes/:id', h(getResourceType));
  router.get('/Schemas', h(listSchemas));
  router.get('/Schemas/:id', h(getSchema));

  router.get('/Users', h(listUsersHandler));
  router.post('/Users/.search', h(searchUsersHandler));
  router.post('/Users', h(createUserHandler));
  router.get('/Users/:id', h(getUser));
  router.put('/Users/:id', h(replaceUser));
  router.patch('/Users/:id', h(patchUser));
  router.delete('/Users/:id', h(deleteUserHandler));

  router.get('/Groups', h(listGroupsHandler));
  router.post('/Groups/.search', h(searchGroupsHandler));
  router.post('/Groups', h(createGroup));
  router.get('/Groups/:id', h(getGroup));
  router.put('/Groups/:id', h(replaceGroup));
  router.patch('/Groups/:id', h(patchGroup));
  router.delete('/Groups/:id', h(deleteGroup));

  router.post('/Bulk', h(bulkHandler));

  router.all('/{*rest}', () => {
    throw new ScimError(404, 'no such SCIM endpoint; see /scim/v2/ResourceTypes');
  });
  return router;
}
