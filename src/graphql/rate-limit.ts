import type { ApolloServerPlugin } from '@apollo/server';
import { TIMEOUT_RETRY_AFTER_SECONDS } from '../kernel/deadline.js';
import type { GraphQLContext } from './context.js';

/** extensions.code of a request refused by a rate limit (HTTP 429, Retry-After, extensions.retryAfter). */
export const RATE_LIMITED = 'RATE_LIMITED';
/** extensions.code of a request that ran out of time (HTTP 503, Retry-After); nothing was changed. */
export const REQUEST_TIMEOUT = 'REQUEST_TIMEOUT';

export const requestTimeoutError = () => ({
  message: `the request took too long and was abandoned; nothing was changed; retry after ${TIMEOUT_RETRY_AFTER_SECONDS} seconds`,
  extensions: { code: REQUEST_TIMEOUT, retryAfter: TIMEOUT_RETRY_AFTER_SECONDS },
});

/**
 * Tokens an operation pays beyond the one the door took: ceil(cost / costPerToken) - 1 (none when
 * costPerToken is 0). Charged after the response (the balance may go negative), see graphql/server.ts.
 */
export const extraTokens = (cost: number, costPerToken: number): number =>
  costPerToken > 0 ? Math.max(0, Math.ceil(cost / costPerToken) - 1) : 0;

/**
 * Reports the tenant's rate limit in `extensions.rateLimit` ({ limit, remaining, charged }) next to
 * `extensions.cost`, and makes a response whose operation ran out of time (REQUEST_TIMEOUT, see
 * format-error.ts) an HTTP 503 with Retry-After.
 */
export function rateLimitPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          const meter = contextValue.meter;
          if (meter?.rateLimit) {
            const { burst, remaining, costPerToken } = meter.rateLimit;
            const charged = 1 + extraTokens(meter.cost, costPerToken);
            result.extensions = {
              ...result.extensions,
              rateLimit: { limit: burst, remaining: Math.max(0, Math.floor(remaining + 1 - charged)), charged },
            };
          }
          if ((result.errors ?? []).some((e) => e.extensions?.code === REQUEST_TIMEOUT)) {
            response.http.status = 503;
            response.http.headers.set('retry-after', String(TIMEOUT_RETRY_AFTER_SECONDS));
          }
        },
      };
    },
  };
}
