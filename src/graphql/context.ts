import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config/env.js';
import type { Actor, TenantScope } from '../kernel/scope.js';
import type { Loaders } from './loaders.js';

/** Built once per request from ctx.state (http/middleware/authenticate.ts); resolvers never mutate it. */
export interface GraphQLContext {
  actor: Actor;
  /** Present for tenant credentials; null for operator keys, which see no tenant's directory. */
  scope: TenantScope | null;
  /** The request's EntityManager (tenant-scoped, or operator-scoped). */
  em: EntityManager;
  loaders: Loaders;
  config: Config;
  /** What this operation costs against the tenant's rate limit (written by the limits plugin, not by resolvers). */
  meter?: RequestMeter;
  /**
   * What the request turned out to be, once Apollo resolved its operation: a query writes nothing. An object,
   * because Apollo hands the plugins a shallow copy of the context (shared objects are what they share).
   */
  operation: { readOnly: boolean };
}

export interface RequestMeter {
  /** The operation's cost (graphql/limits.ts), 0 until it is known. */
  cost: number;
  /** The tenant's bucket after the door took this request's first token; absent for unlimited callers. */
  rateLimit?: { burst: number; remaining: number; costPerToken: number };
}
