import type { Middleware } from 'koa';
import { Deadline, RequestTimeoutError } from '../../kernel/deadline.js';
import type { Logger } from '../../infra/logger.js';

/** How long a request that ran out of time may take to unwind (cancel, roll back) before it is answered anyway. */
const UNWIND_GRACE_MS = 1000;

/**
 * Bounds the time of everything below it (body reading included) to `ms`. When the time is up the
 * deadline expires: the request's transaction cancels its statement in flight and cannot commit (see
 * infra/orm/door-transaction.ts). The request is then given a short grace to unwind, so the answer is
 * the truth: if it still completed, its own response goes out; otherwise RequestTimeoutError, which the
 * door's error shaper turns into a 503 with Retry-After. `ms` = 0 disables the bound.
 */
export function requestDeadline(ms: number, logger: Logger): Middleware {
  return async function requestDeadlineMiddleware(ctx, next) {
    if (!ms) return next();
    const deadline = new Deadline(ms);
    ctx.state.deadline = deadline;
    const work = next();
    const settled = work.then(
      () => 'done' as const,
      () => 'failed' as const,
    );
    let timer: NodeJS.Timeout | undefined;
    const wait = (t: number) => new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), t)));
    try {
      if ((await Promise.race([settled, wait(ms)])) !== 'timeout') return await work;
      clearTimeout(timer);
      deadline.expire();
      const outcome = await Promise.race([settled, wait(UNWIND_GRACE_MS)]);
      if (outcome === 'done') return await work;
      if (outcome === 'timeout') work.catch((err: unknown) => logger.debug({ err }, 'request finished after its deadline'));
      throw new RequestTimeoutError(ms);
    } finally {
      clearTimeout(timer);
    }
  };
}
