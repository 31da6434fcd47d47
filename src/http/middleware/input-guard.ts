import type { Middleware } from 'koa';

/** The deepest nesting a request body may have. SCIM's and GraphQL's own bodies need fewer than ten levels. */
export const MAX_INPUT_DEPTH = 32;

/** An http-errors-like 400: each door's error shaper turns it into its own error shape. */
export class UnacceptableInputError extends Error {
  readonly status = 400;
  readonly expose = true;
  constructor(message: string) {
    super(message);
    this.name = 'UnacceptableInputError';
  }
}

/**
 * The door's body parser, with its failures all client errors: a body that does not decompress (a
 * `Content-Encoding` the bytes do not match) fails inside zlib with an error that carries no status, which
 * each door's error shaper would otherwise answer with a 500. Failures after the body was read are not
 * touched.
 */
export function readingBody(parser: Middleware): Middleware {
  return async function readingBodyMiddleware(ctx, next) {
    let read = false;
    try {
      await parser(ctx, () => {
        read = true;
        return next();
      });
    } catch (err) {
      if (read || (err as { status?: number }).status !== undefined) throw err;
      const reason = ctx.get('content-encoding')
        ? `the body does not decompress as ${ctx.get('content-encoding')}`
        : 'the body could not be read';
      throw Object.assign(new Error(reason), { status: 400, expose: true });
    }
  };
}

/** Text PostgreSQL cannot store, or cannot store as JSON (every change's audit row is jsonb). */
function textProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'the request contains a NUL character (U+0000), which no field accepts';
  // A lone UTF-16 surrogate (a `\ud800` escape in JSON) is not a character: no encoding can carry it.
  if (!s.isWellFormed())
    return 'the request contains a lone UTF-16 surrogate (a \\uD800–\\uDFFF escape without its pair), which is not text';
  return null;
}

/**
 * What makes `value` unacceptable anywhere, in a string or a key: U+0000, a lone surrogate, or nesting deeper
 * than MAX_INPUT_DEPTH. Null when nothing does. Iterative, so any depth is safe to look at.
 */
export function inputProblem(value: unknown): string | null {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) return problem;
    } else if (v && typeof v === 'object') {
      if (depth >= MAX_INPUT_DEPTH) return `the request body nests deeper than ${MAX_INPUT_DEPTH} levels`;
      if (Array.isArray(v)) for (const x of v) stack.push([x, depth + 1]);
      else
        for (const [k, x] of Object.entries(v)) {
          const problem = textProblem(k);
          if (problem) return problem;
          stack.push([x, depth + 1]);
        }
    }
  }
  return null;
}

/**
 * Input no field can hold is refused up front with 400, in the query string and in the parsed body alike,
 * instead of failing deep inside a request (and in a SCIM bulk request, failing all of its operations):
 * - U+0000, which PostgreSQL text cannot hold (a protocol error, 08P01);
 * - a lone UTF-16 surrogate, which PostgreSQL's JSON refuses (22P02, at the audit row);
 * - nesting deeper than MAX_INPUT_DEPTH, which recursive code further on would overflow on.
 * The SCIM filter parser refuses the `\u0000` escape itself. Runs after the door's body parser.
 */
export function guardInput(): Middleware {
  return async function guardInputMiddleware(ctx, next) {
    const body = ctx.request.body as { query?: unknown } | undefined;
    // A GraphQL document can spell it as an escape inside a string literal: \u0000, or \u{0} (graphql-js 16).
    const escapedInDocument = typeof body?.query === 'string' && /\\u(0000|\{0+\})/i.test(body.query);
    if (/%00|\u0000/i.test(ctx.querystring) || escapedInDocument) throw new UnacceptableInputError(textProblem('\u0000')!);
    let query: string;
    try {
      query = decodeURIComponent(ctx.querystring);
    } catch {
      query = ''; // malformed escapes: the handlers that read the query say how
    }
    const problem = textProblem(query) ?? inputProblem(body);
    if (problem) throw new UnacceptableInputError(problem);
    await next();
  };
}
