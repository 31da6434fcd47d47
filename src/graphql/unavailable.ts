import type { ApolloServerPlugin } from '@apollo/server';
import { DB_UNAVAILABLE_RETRY_AFTER_SECONDS } from '../infra/db/unavailable.js';

/** extensions.code of an operation that failed because the database is unavailable (restart, failover, full pool). */
export const SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE';

export const serviceUnavailableError = () => ({
  message: `the service is temporarily unavailable; retry after ${DB_UNAVAILABLE_RETRY_AFTER_SECONDS} seconds`,
  extensions: { code: SERVICE_UNAVAILABLE, retryAfterSeconds: DB_UNAVAILABLE_RETRY_AFTER_SECONDS },
});

/**
 * When a resolver failed because the database is unavailable (format-error.ts gave it the code
 * SERVICE_UNAVAILABLE), the whole response is an HTTP 503 with Retry-After, like SCIM's: load balancers,
 * retry logic and dashboards see an outage, not a 200 with errors inside.
 */
export function serviceUnavailablePlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const errors = response.body.singleResult.errors ?? [];
          if (errors.some((e) => e.extensions?.code === SERVICE_UNAVAILABLE)) {
            response.http.status = 503;
            response.http.headers.set('retry-after', String(DB_UNAVAILABLE_RETRY_AFTER_SECONDS));
          }
        },
      };
    },
  };
}
