import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { koaMiddleware } from '@as-integrations/koa';
import { bodyParser } from '@koa/bodyparser';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Middleware } from 'koa';
import type { Config } from '../config/env.js';
import type { TenantScope } from '../kernel/scope.js';
import type { Logger } from '../infra/logger.js';
import { enterTenant } from '../infra/orm/session.js';
import { authenticateApiKey } from '../modules/credentials/credential.service.js';
import type { GraphQLContext } from './context.js';
import { createFormatError } from './format-error.js';
import { limitsPlugin } from './limits.js';
import { createLoaders } from './loaders.js';
import { getSchema } from './schema.js';

export const GRAPHQL_BODY_LIMIT = '1mb';

function graphqlError(ctx: Parameters<Middleware>[0], status: number, code: string, message: string) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = { errors: [{ message, extensions: { code } }] };
}

export interface GraphqlDoor {
  middleware: Middleware[];
  stop(): Promise<void>;
}

/**
 * The GraphQL door: body parsing with a size limit, API-key authentication inside the request's
 * transaction (tenant set for row-level security), then Apollo. Every failure before Apollo is still a
 * GraphQL-shaped JSON error with extensions.code.
 */
export async function createGraphqlDoor(deps: { orm: MikroORM; config: Config; logger: Logger }): Promise<GraphqlDoor> {
  const { orm, config, logger } = deps;
  const schema = await getSchema();
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    formatError: createFormatError((err) => logger.error({ err }, 'graphql resolver failed')),
    // Apollo's default landing page loads assets from the internet; there is none here.
    plugins: [ApolloServerPluginLandingPageDisabled(), limitsPlugin(schema, { maxDepth: config.graphqlMaxDepth, maxCost: config.graphqlMaxCost })],
  });
  await apollo.start();

  const edgeErrors: Middleware = async function graphqlEdgeErrors(ctx, next) {
    try {
      await next();
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 413) return graphqlError(ctx, 413, 'PAYLOAD_TOO_LARGE', `request body exceeds ${GRAPHQL_BODY_LIMIT}`);
      if (status === 415) return graphqlError(ctx, 415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json');
      if (status && status >= 400 && status < 500) return graphqlError(ctx, 400, 'BAD_REQUEST', `malformed request body: ${(err as Error).message}`);
      throw err;
    }
  };

  const authenticate: Middleware = async function graphqlAuthenticate(ctx, next) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
    if (!match) {
      ctx.set('WWW-Authenticate', 'Bearer');
      return graphqlError(ctx, 401, 'UNAUTHENTICATED', 'send an API key as "Authorization: Bearer <key>"');
    }
    await orm.em.fork().transactional(async (em) => {
      const auth = await authenticateApiKey(em, match[1], config.operatorKey);
      if (!auth) {
        ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
        return graphqlError(ctx, 401, 'UNAUTHENTICATED', 'the API key is invalid or revoked');
      }
      let scope: TenantScope | null = null;
      if (auth.tenantId) {
        await enterTenant(em, auth.tenantId);
        scope = { tenantId: auth.tenantId, actor: auth.actor, door: 'graphql', requestId: ctx.state.requestId, em };
      }
      const context: GraphQLContext = { actor: auth.actor, scope, em, loaders: createLoaders(scope), config };
      ctx.state.graphql = context;
      await next();
    });
  };

  const apolloMiddleware = koaMiddleware(apollo, { context: async ({ ctx }) => ctx.state.graphql as GraphQLContext });
  return {
    middleware: [edgeErrors, bodyParser({ enableTypes: ['json'], jsonLimit: GRAPHQL_BODY_LIMIT, encoding: 'utf-8' }), authenticate, apolloMiddleware],
    stop: () => apollo.stop(),
  };
}
