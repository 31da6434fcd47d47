/**
 * What keeps secrets and personal data out of the logs, beyond pino's path-based `redact`:
 *
 * - `safeError`, the serializer of every logged error: a whitelist. PostgreSQL errors carry the row they
 *   choke on (`detail`: "Key (lower(user_name))=(ada@example.com) already exists"), the statement
 *   (`where`, `internalQuery`) and values inside their message; the ORM appends `detail` to the message.
 *   Only the error's type, code, constraint/table/column/routine names, the message with every quoted
 *   value and anything looking like a secret or an e-mail address removed, and the stack frames are kept.
 * - `scrubLogObject`, run on every line: any string that still contains a Roster secret, an
 *   Authorization header value or an e-mail address is masked, wherever it sits in the object.
 */

const SECRET = /\brst_[a-z]+_[A-Za-z0-9_-]{4,}/g;
const AUTH_HEADER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
/** Quoted values and PostgreSQL's `(key)=(value)`: where database and parser messages put data. */
const QUOTED = /"[^"]*"|'[^']*'|\(([^()]*)\)=\(([^()]*)\)/g;

/** Masks secrets, Authorization values and e-mail addresses in free text. */
export function scrubText(text: string): string {
  return text
    .replace(SECRET, (m) => `${m.slice(0, m.indexOf('_', 4) + 1)}[redacted]`)
    .replace(AUTH_HEADER, '$1 [redacted]')
    .replace(EMAIL, '[email]');
}

/** An error message with its data removed: quoted values, key=value pairs, secrets, e-mail addresses. */
export function scrubErrorMessage(message: string): string {
  // The ORM appends "\n - detail: …" and "\n - hint: …" (the row's values): keep the first line only.
  const first = message.split('\n')[0].slice(0, 500);
  return scrubText(first.replace(QUOTED, (m) => (m.startsWith('(') ? '(…)=(…)' : `${m[0]}…${m[0]}`)));
}

const NAMES = [
  'code',
  'sqlState',
  'severity',
  'constraint',
  'table',
  'column',
  'dataType',
  'routine',
  'status',
  'statusCode',
  'scimType',
  'reason',
  'field',
] as const;

/** pino serializer for `err`/`error`: type, code and names, a scrubbed message, stack frames. Nothing else. */
export function safeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) {
    if (err && typeof err === 'object') return { type: 'non-error object' };
    return { type: typeof err };
  }
  const e = err as Error & Record<string, unknown>;
  const out: Record<string, unknown> = { type: e.name, message: scrubErrorMessage(String(e.message ?? '')) };
  for (const k of NAMES) {
    const v = e[k];
    if (typeof v === 'string' || typeof v === 'number') out[k] = typeof v === 'string' ? scrubText(v.slice(0, 100)) : v;
  }
  if (typeof e.stack === 'string') {
    out.stack = e.stack
      .split('\n')
      .filter((l) => l.trimStart().startsWith('at '))
      .slice(0, 20)
      .join('\n');
  }
  if (e.cause !== undefined && depth < 3) out.cause = safeError(e.cause, depth + 1);
  return out;
}

/** pino `formatters.log`: masks secrets, Authorization values and e-mail addresses in every string of a line. */
export function scrubLogObject(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    // Errors under err/error are left to their serializer (safeError), which runs after this.
    out[k] = (k === 'err' || k === 'error') && v instanceof Error ? v : scrubValue(v, 1);
  }
  return out;
}

function scrubValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (!value || typeof value !== 'object' || depth > 6) return value;
  if (value instanceof Error) return safeError(value);
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  if (value instanceof Date || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v, depth + 1);
  return out;
}
