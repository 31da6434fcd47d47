/**
 * The PATCH "path" (RFC 7644 §3.5.2, Figure 7):
 *
 *   PATH      = attrPath / valuePath [subAttr]
 *   attrPath  = [URI ":"] ATTRNAME *1subAttr
 *   valuePath = attrPath "[" valFilter "]"
 *
 * e.g. `active`, `name.givenName`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`,
 * `emails[type eq "work"].value`, `members[value eq "2819c223"]`.
 *
 * Only the outer structure is parsed here; the bracketed filter goes to the shared filter parser. Names
 * keep the case they were sent in: resolving them against the schema (case-insensitively) is
 * `apply-patch.ts`'s job, because only it knows the schemas.
 */
import type { FilterNode } from '../filter/ast.js';
import { parseFilter } from '../filter/parse-filter.js';
import { ScimPatchError } from './errors.js';

export { ScimPatchError, type ScimPatchErrorType } from './errors.js';

export interface PatchPath {
  /** Schema URN prefix as sent, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`. */
  urn?: string;
  attr: string;
  /** The `[...]` value filter, evaluated against each element of a multi-valued attribute. */
  filter?: FilterNode;
  subAttr?: string;
}

/** RFC 7643 §2.1 ATTRNAME, plus the reserved `$ref`. */
const ATTRNAME = /^(?:[A-Za-z][A-Za-z0-9_-]*|\$ref)$/;
/** Loose URN shape: `urn:` + a namespace + at least one more segment, no blanks or brackets. */
const URN = /^urn:[A-Za-z0-9][A-Za-z0-9-]*(?::[^\s:[\]]+)+$/i;

function invalid(path: string, why: string): ScimPatchError {
  return new ScimPatchError(`invalid path ${JSON.stringify(path)}: ${why}`, 'invalidPath');
}

/** Index of the `]` closing the filter opened at `open`, skipping quoted strings; -1 if none. */
function closingBracket(text: string, open: number): number {
  let inString = false;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[')
      return -1; // value paths do not nest (RFC 7644 §3.4.2.2)
    else if (c === ']') return i;
  }
  return -1;
}

export function parsePatchPath(path: string): PatchPath {
  const text = path.trim();
  if (!text) throw invalid(path, 'empty');

  const open = text.indexOf('[');
  let head = open === -1 ? text : text.slice(0, open);

  let urn: string | undefined;
  if (/^urn:/i.test(head)) {
    // Attribute names cannot contain ':', so the attribute starts after the last colon.
    const colon = head.lastIndexOf(':');
    urn = head.slice(0, colon);
    head = head.slice(colon + 1);
    if (!URN.test(urn)) throw invalid(path, 'malformed schema URN');
  }

  const names = head.split('.');
  if (names.length > 2 || !names.every((n) => ATTRNAME.test(n))) {
    throw invalid(path, 'expected attr, attr.subAttr, urn:…:attr or attr[filter].subAttr');
  }
  const [attr, subAttr] = names;
  const result: PatchPath = { attr };
  if (urn) result.urn = urn;

  if (open === -1) {
    if (subAttr) result.subAttr = subAttr;
    return result;
  }

  if (subAttr) throw invalid(path, 'a value filter must follow the attribute, not a sub-attribute');
  const close = closingBracket(text, open);
  if (close === -1) throw invalid(path, 'unbalanced "[" in value filter');
  const filterText = text.slice(open + 1, close).trim();
  if (!filterText) throw invalid(path, 'empty value filter');
  try {
    result.filter = parseFilter(filterText);
  } catch (err) {
    throw invalid(path, err instanceof Error ? err.message : 'unparsable value filter');
  }

  const rest = text.slice(close + 1);
  if (rest) {
    const sub = rest.startsWith('.') ? rest.slice(1) : '';
    if (!ATTRNAME.test(sub)) throw invalid(path, `unexpected ${JSON.stringify(rest)} after the value filter`);
    result.subAttr = sub;
  }
  return result;
}
