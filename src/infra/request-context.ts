import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What every log line written while serving a request carries (request id, door, tenant), without
 * threading a logger through the domain: the access-log middleware opens this context around the
 * request and the logger's mixin reads it. `fields` is evaluated at each log call, so a tenant that
 * authentication identifies halfway through the request appears on the lines written after that.
 */
export interface RequestLogContext {
  fields(): Record<string, unknown>;
}

const storage = new AsyncLocalStorage<RequestLogContext>();

export function runInRequestContext<T>(context: RequestLogContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The current request's log fields, or none outside a request. */
export function requestLogFields(): Record<string, unknown> {
  return storage.getStore()?.fields() ?? {};
}
