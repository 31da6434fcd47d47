import type { Middleware } from 'koa';
import type { Logger } from '../../infra/logger.js';
import { scimErrorBody, toScimError } from '../errors.js';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

/**
 * Outermost middleware of /scim/v2: every failure below it, including unexpected ones, answers with
 * the RFC 7644 §3.12 error body and application/scim+json. Never HTML, never a stack trace.
 */
export function scimErrors(logger: Logger): Middleware {
  return async function scimErrorsMiddleware(ctx, next) {
    try {
      await next();
    } catch (err) {
      const mapped = toScimError(err);
      if (mapped) {
        if (mapped.status >= 500) logger.warn({ err, path: ctx.path, status: mapped.status }, 'scim request failed: service unavailable');
        ctx.status = mapped.status;
        for (const [k, v] of Object.entries(mapped.headers ?? {})) ctx.set(k, v);
        ctx.body = mapped.body;
      } else {
        logger.error({ err, requestId: ctx.state.requestId, path: ctx.path }, 'scim request failed');
        ctx.status = 500;
        ctx.body = scimErrorBody(500, `internal error (request id ${ctx.state.requestId ?? 'n/a'})`);
      }
      ctx.type = SCIM_CONTENT_TYPE;
    }
  };
}
