import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { koaMiddleware } from '@as-integrations/koa';
import { bodyParser } from '@koa/bodyparser';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Middleware } from 'koa';
import { GraphQLError, OperationTypeNode, type ValidationRule } from 'graphql';
import type { Config } from '../config/env.js';
import type { Deadline } from '../kernel/deadline.js';
import { Permission, type TenantScope } from '../kernel/scope.js';
import type { Logger } from '../infra/logger.js';
import { isTimeout } from '../infra/db/timeouts.js';
import { inDoorTransaction, passDoorAndEnter, type Entered } from '../infra/orm/door-transaction.js';
import { requestDeadline } from '../http/middleware/deadline.js';
import { chargeTokens, doorLimits, type DoorResult } from '../modules/credentials/door.js';
import { constantTimeEquals } from '../modules/credentials/secrets.js';
import { primeCustomAttributes } from '../modules/custom-attributes/custom-attribute.service.js';
import type { GraphQLContext, RequestMeter } from './context.js';
import { createFormatError } from './format-error.js';
import { limitsPlugin } from './limits.js';
import { createLoaders } from './loaders.js';
import { RATE_LIMITED, extraTokens, rateLimitPlugin, requestTimeoutError } from './rate-limit.js';
import { getSchema } from './schema.js';
import { serviceUnavailableError, serviceUnavailablePlugin } from './unavailable.js';
import { guardInput, readingBody } from '../http/middleware/input-guard.js';
import { DB_UNAVAILABLE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../infra/db/unavailable.js';

export const GRAPHQL_BODY_LIMIT = '1mb';

function graphqlError(
  ctx: Parameters<Middleware>[0],
  status: number,
  code: string,
  message: string,
  extensions: Record<string, unknown> = {},
) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = { errors: [{ message, extensions: { code, ...extensions } }] };
}

/**
 * The schema has no subscription type (changes go out as webhooks). graphql-js's validation lets a
 * subscription through and its execution then fails with an error Apollo reports as internal: refuse it
 * at validation instead (400 GRAPHQL_VALIDATION_FAILED).
 */
const noSubscriptions: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (node.operation === OperationTypeNode.SUBSCRIPTION && !context.getSchema().getSubscriptionType())
      context.reportError(
        new GraphQLError('subscriptions are not offered by this API; subscribe to webhooks for changes', { nodes: node }),
      );
  },
});

export interface GraphqlDoor {
  middleware: Middleware[];
  stop(): Promise<void>;
}

/**
 * The GraphQL door: a request deadline, body parsing with a size limit, API-key authentication and rate
 * limits, the request's transaction (tenant set for row-level security), then Apollo. Every failure before Apollo is still a
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
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      // Apollo installs cache control by default, which wraps every field's resolver to collect cache hints
      // for HTTP caching we do not offer (responses carry private data): ~5 % of a 100-user page's CPU.
      ApolloServerPluginCacheControlDisabled(),
      limitsPlugin(schema, {
        maxDepth: config.graphqlMaxDepth,
        maxCost: config.graphqlMaxCost,
        maxAliases: config.graphqlMaxAliases,
        maxFields: config.graphqlMaxFields,
      }),
      serviceUnavailablePlugin(),
      rateLimitPlugin(),
      {
        // A query writes nothing: its transaction can drop what it loaded before commit (see below).
        async requestDidStart() {
          return {
            async didResolveOperation({ operation, contextValue }) {
              contextValue.operation.readOnly = operation?.operation === 'query';
            },
          };
        },
      },
    ],
    // Bounds parsing (and so validation) of hostile documents before anything else looks at them.
    parseOptions: { maxTokens: config.graphqlMaxTokens },
    validationRules: [noSubscriptions],
  });
  await apollo.start();

  const edgeErrors: Middleware = async function graphqlEdgeErrors(ctx, next) {
    try {
      await next();
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 413) return graphqlError(ctx, 413, 'PAYLOAD_TOO_LARGE', `request body exceeds ${GRAPHQL_BODY_LIMIT}`);
      if (status === 415) return graphqlError(ctx, 415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json');
      if (status && status >= 400 && status < 500)
        return graphqlError(ctx, 400, 'BAD_REQUEST', `malformed request body: ${(err as Error).message}`);
      // Authentication or the request's transaction (begin/commit) hit a database outage: retryable 503, nothing written.
      if (isDatabaseUnavailable(err)) {
        logger.warn({ err }, 'graphql request failed: database unavailable');
        const e = serviceUnavailableError();
        ctx.set('Retry-After', String(DB_UNAVAILABLE_RETRY_AFTER_SECONDS));
        return graphqlError(ctx, 503, e.extensions.code, e.message);
      }
      // The request deadline passed (or a statement timed out outside a resolver): rolled back, retryable.
      if (isTimeout(err)) {
        logger.warn({ err }, 'graphql request failed: out of time');
        const e = requestTimeoutError();
        ctx.set('Retry-After', String(e.extensions.retryAfter));
        return graphqlError(ctx, 503, e.extensions.code, e.message, { retryAfter: e.extensions.retryAfter });
      }
      throw err;
    }
  };

  const limits = doorLimits(config, 'graphql');
  const costPerToken = config.rateLimits.graphql.costPerToken;
  const operatorFromEnv: DoorResult = {
    outcome: 'ok',
    tenantId: null,
    tenantSlug: null,
    remaining: null,
    actor: { kind: 'operator', label: 'operator (environment)', permissions: new Set([Permission.TENANTS_MANAGE]) },
  };

  /**
   * API key → door (authentication and rate limits in one statement committed on its own,
   * modules/credentials/door.ts) → the request's transaction, tenant set for row-level security, begun in
   * the door's round trip (passDoorAndEnter). 401 for a bad key; 429 RATE_LIMITED with
   * Retry-After when the tenant's bucket is empty or this address failed too often. After the response,
   * an expensive operation pays the rest of its cost (extraTokens): the next requests wait it out.
   */
  const authenticate: Middleware = async function graphqlAuthenticate(ctx, next) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
    if (!match) {
      ctx.set('WWW-Authenticate', 'Bearer');
      return graphqlError(ctx, 401, 'UNAUTHENTICATED', 'send an API key as "Authorization: Bearer <key>"');
    }
    const deadline = ctx.state.deadline as Deadline | undefined;
    // A document that cannot hold a mutation (the word appears nowhere in it) writes nothing: a read-only
    // transaction (see inDoorTransaction). Apollo parses it later; anything unclear commits as usual.
    const document = ctx.method === 'GET' ? ctx.query.query : (ctx.request as { body?: { query?: unknown } }).body?.query;
    const readOnly = typeof document === 'string' && !/mutation|subscription/i.test(document);
    const transaction = { deadline, statementTimeoutMs: config.dbStatementTimeoutMs, readOnly };
    let meter: RequestMeter | undefined;
    // The rest of the request, for an admitted caller, in the transaction that entered its tenant.
    const admitted = async (
      { tenantId, actor, remaining }: Extract<DoorResult, { outcome: 'ok' }>,
      em: EntityManager,
      entered: Entered,
    ) => {
      meter = { cost: 0, ...(remaining !== null ? { rateLimit: { burst: limits.burst, remaining, costPerToken } } : {}) };
      if (remaining !== null) {
        ctx.set('X-RateLimit-Limit', String(limits.burst));
        ctx.set('X-RateLimit-Remaining', String(Math.max(0, Math.floor(remaining))));
      }
      primeCustomAttributes(em, entered.customAttributes);
      const scope: TenantScope | null = tenantId ? { tenantId, actor, door: 'graphql', requestId: ctx.state.requestId, em } : null;
      const operation = { readOnly: false };
      const context: GraphQLContext = {
        actor,
        scope,
        em,
        loaders: createLoaders(scope, () => operation.readOnly),
        config,
        meter,
        operation,
      };
      ctx.state.graphql = context;
      await next();
      // The unit of work would otherwise compare every entity a query hydrated with its snapshot at commit.
      if (operation.readOnly) em.clear();
    };
    let door: DoorResult;
    if (config.operatorKey && constantTimeEquals(match[1], config.operatorKey)) {
      door = operatorFromEnv;
      await inDoorTransaction(orm, { ...transaction, tenantId: null }, (em, entered) => admitted(operatorFromEnv, em, entered));
    } else {
      // The door and the request's transaction travel together (passDoorAndEnter).
      const passed = await passDoorAndEnter(
        orm,
        {
          request: {
            door: 'graphql',
            credential: { kind: 'api_key', secret: match[1] },
            hostSlug: null,
            clientIp: ctx.ip,
            requestId: ctx.state.requestId,
            userAgent: ctx.get('user-agent') || undefined,
          },
          limits,
          operatorAllowed: true,
        },
        transaction,
        admitted,
      );
      door = passed.door;
    }
    switch (door.outcome) {
      case 'invalid':
        logger.warn(
          { door: 'graphql', reason: door.reason, credentialPrefix: door.prefix, credentialTenantId: door.tenantId ?? undefined },
          'authentication failed',
        );
        ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
        return graphqlError(ctx, 401, 'UNAUTHENTICATED', 'the API key is invalid or revoked');
      case 'auth_blocked':
        ctx.set('Retry-After', String(door.retryAfter));
        return graphqlError(
          ctx,
          429,
          RATE_LIMITED,
          `too many failed authentications from this address; retry after ${door.retryAfter} seconds`,
          { retryAfter: door.retryAfter, reason: 'AUTHENTICATION_FAILURES' },
        );
      case 'rate_limited':
        ctx.set('Retry-After', String(door.retryAfter));
        return graphqlError(
          ctx,
          429,
          RATE_LIMITED,
          `rate limit of this tenant exceeded (${limits.rps} requests per second, bursts of ${limits.burst}); retry after ${door.retryAfter} seconds`,
          { retryAfter: door.retryAfter },
        );
    }
    const tenantId = door.tenantId;
    if (!meter) return graphqlError(ctx, 401, 'UNAUTHENTICATED', 'the API key is invalid or revoked');
    const extra = tenantId && meter.rateLimit ? extraTokens(meter.cost, costPerToken) : 0;
    if (tenantId && extra > 0) {
      await chargeTokens(orm.em.fork(), tenantId, 'graphql', extra, limits).catch((err: unknown) =>
        logger.warn({ err }, 'could not charge the query cost to the rate limit'),
      );
    }
  };

  const apolloMiddleware = koaMiddleware(apollo, { context: async ({ ctx }) => ctx.state.graphql as GraphQLContext });
  return {
    middleware: [
      edgeErrors,
      // Everything below, body reading included, answers within ROSTER_REQUEST_TIMEOUT_MS or fails with 503.
      requestDeadline(config.requestTimeoutMs, logger),
      readingBody(bodyParser({ enableTypes: ['json'], jsonLimit: GRAPHQL_BODY_LIMIT, encoding: 'utf-8' })),
      guardInput(),
      authenticate,
      apolloMiddleware,
    ],
    stop: () => apollo.stop(),
  };
}
