import type { Middleware } from 'koa';
import type { Logger } from '../../infra/logger.js';

/**
 * Outermost middleware: whatever escapes the doors' own error handling is logged and answered with a
 * bare JSON 500, never a stack trace. Each door (graphql, scim) shapes its own errors before this.
 */
export function errorBoundary(logger: Logger): Middleware {
  return async function errorBoundaryMiddleware(ctx, next) {
    try {
      await next();
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status && status >= 400 && status < 500) {
        ctx.status = status;
        ctx.body = { error: (err as Error).message };
        return;
      }
      logger.error({ err, requestId: ctx.state.requestId, path: ctx.path }, 'unhandled error');
      ctx.status = 500;
      ctx.body = { error: 'Internal server error', requestId: ctx.state.requestId };
    }
  };
}
