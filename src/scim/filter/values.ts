/**
 * Literal helpers shared by the SQL compiler and the in-memory matcher.
 */

export { parseDateTime, type ParsedDateTime } from '../../kernel/datetime.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(text: string): boolean {
  return UUID_RE.test(text);
}

/**
 * Booleans as SCIM clients send them: JSON `true`/`false`, or — Microsoft Entra without the
 * `aadOptscim062020` flag — the strings `"True"`/`"False"` (idp-behaviour.md, M2). Anything else is undefined.
 */
export function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  return undefined;
}

/** Escapes LIKE metacharacters (`%`, `_` and the escape character `\` itself). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
