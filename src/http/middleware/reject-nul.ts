import type { Middleware } from 'koa';

/** An http-errors-like 400: each door's error shaper turns it into its own error shape. */
export class NulCharacterError extends Error {
  readonly status = 400;
  readonly expose = true;
  constructor() {
    super('the request contains a NUL character (U+0000), which no field accepts');
    this.name = 'NulCharacterError';
  }
}

/** True when a string or key anywhere in `value` contains U+0000 (iterative: any nesting depth). */
export function containsNul(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return true;
    } else if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k.includes('\u0000')) return true;
        stack.push(x);
      }
    }
  }
  return false;
}

/**
 * PostgreSQL text cannot hold U+0000: a value carrying one would reach the database as a protocol error
 * (08P01). Such requests are refused up front with 400, in the query string and in the parsed body alike
 * (the SCIM filter parser refuses the `\u0000` escape itself).
 * Runs after the door's body parser.
 */
export function rejectNul(): Middleware {
  return async function rejectNulMiddleware(ctx, next) {
    const body = ctx.request.body as { query?: unknown } | undefined;
    // A GraphQL document can spell it as an escape inside a string literal.
    const escapedInDocument = typeof body?.query === 'string' && /\\u0000/i.test(body.query);
    if (/%00|\u0000/i.test(ctx.querystring) || containsNul(body) || escapedInDocument) throw new NulCharacterError();
    await next();
  };
}
