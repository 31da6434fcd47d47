/**
 * In-memory evaluation of a filter against ONE JSON object — used by PATCH value paths
 * (`emails[type eq "work"]`, `members[value eq "…"]`, RFC 7644 §3.5.2) to pick elements inside a single
 * resource. Collections are always filtered by PostgreSQL (to-sql.ts); this file never sees more than one
 * resource, so it has no schema and infers types from the JSON values.
 *
 * Semantics kept identical to the SQL compiler wherever the two can meet:
 * - attribute names match case-insensitively (§3.4.2.2); a URN prefix selects the extension object of that
 *   name, and a core-schema URN (`urn:ietf:params:scim:schemas:core:…`) means the object itself; an
 *   unqualified name that is not a core attribute may name an attribute of exactly one extension object;
 * - strings compare case-insensitively unless `opts.caseExact(path)` says otherwise (RFC 7643 §2.2 `caseExact`);
 * - multi-valued attributes match if ANY value matches (§3.4.2.2); arrays of objects compare through their
 *   `value` sub-attribute (RFC 7643 §2.4) when no sub-attribute is named;
 * - `ne` is exactly `not eq`: true when the attribute is absent, false when any value equals;
 * - missing attribute: `pr` false, `ne` true, everything else false; `eq null` = absent, `ne null` = present;
 * - `gt`/`ge`/`lt`/`le` with a boolean or null, and `co`/`sw`/`ew` with a non-string, are `invalidFilter`
 *   (§3.4.2.2: "Boolean and Binary attributes SHALL cause a failed response … invalidFilter");
 * - two strings that both parse as dateTime compare chronologically (§3.4.2.2), so `2024-01-01T00:00:00Z`
 *   equals `2024-01-01T00:00:00.000Z`;
 * - booleans accept Entra's `"True"`/`"False"` strings on either side.
 */
import type { AttrPath, CompareOp, FilterNode, FilterValue } from './ast.js';
import { ScimFilterError } from './errors.js';
import { parseDateTime, toBoolean } from './values.js';

export interface MatchOptions {
  /**
   * Whether string comparisons on this attribute are case-sensitive. Inside a value path the path passed is
   * the full one (`{ attr: 'emails', subAttr: 'value' }`), outside it the path as written in the filter.
   */
  caseExact?: (path: AttrPath) => boolean;
}

type Ctx = { opts: MatchOptions; parent?: AttrPath };

const CORE_URN_PREFIX = 'urn:ietf:params:scim:schemas:core:';

export function matchesFilter(node: FilterNode, obj: Record<string, unknown>, opts: MatchOptions = {}): boolean {
  return evaluate(node, obj, { opts });
}

function evaluate(node: FilterNode, obj: unknown, ctx: Ctx): boolean {
  switch (node.kind) {
    case 'and':
      return flatten(node).every((n) => evaluate(n, obj, ctx));
    case 'or':
      return flatten(node).some((n) => evaluate(n, obj, ctx));
    case 'not':
      return !evaluate(node.filter, obj, ctx);
    case 'present':
      return lookup(obj, node.path).some(isPresent);
    case 'compare':
      return compareNode(node.path, node.op, node.value, obj, ctx);
    case 'valuePath': {
      if (ctx.parent) throw new ScimFilterError('Value filters cannot be nested');
      const inner: Ctx = { opts: ctx.opts, parent: node.path };
      return lookup(obj, node.path).some((container) => {
        const elements = Array.isArray(container) ? container : [container];
        return elements.some((el) => evaluate(node.filter, asElement(el), inner));
      });
    }
  }
}

/** Operands of a chain of the same logical operator, left to right, without recursion (long chains). */
function flatten(node: Extract<FilterNode, { kind: 'and' | 'or' }>): FilterNode[] {
  const out: FilterNode[] = [];
  const stack: FilterNode[] = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.kind === node.kind) stack.push(n.right, n.left);
    else out.push(n);
  }
  return out;
}

/** A primitive element of a multi-valued attribute is addressed as its `value` sub-attribute. */
function asElement(el: unknown): unknown {
  return isObject(el) ? el : { value: el };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function getCI(obj: unknown, name: string): unknown {
  if (!isObject(obj)) return undefined;
  if (Object.hasOwn(obj, name)) return obj[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(obj)) {
    if (key.toLowerCase() === lower) return obj[key];
  }
  return undefined;
}

/**
 * The values a path designates. A multi-valued attribute yields one entry (the array) when no sub-attribute is
 * named, or one entry per element's sub-attribute when it is.
 */
function lookup(obj: unknown, path: AttrPath): unknown[] {
  let container = obj;
  if (path.urn !== undefined) {
    const ext = getCI(obj, path.urn);
    if (ext !== undefined) container = ext;
    else if (!path.urn.toLowerCase().startsWith(CORE_URN_PREFIX)) return [];
  }
  let top = getCI(container, path.attr);
  if (top === undefined && path.urn === undefined) top = fromSingleExtension(obj, path.attr);
  if (top === undefined) return [];
  if (path.subAttr === undefined) return [top];
  const sub = path.subAttr;
  const holders = Array.isArray(top) ? top : [top];
  return holders.map((h) => getCI(h, sub)).filter((v) => v !== undefined);
}

/**
 * Like the SQL compiler: an unqualified name missing from the core attributes may name an attribute of exactly
 * one extension object (`department` → `urn:…:enterprise:2.0:User`.department).
 */
function fromSingleExtension(obj: unknown, attr: string): unknown {
  if (!isObject(obj)) return undefined;
  const found = Object.keys(obj)
    .filter((k) => k.includes(':'))
    .map((k) => getCI(obj[k], attr))
    .filter((v) => v !== undefined);
  return found.length === 1 ? found[0] : undefined;
}

/** RFC 7644 §3.4.2.2 `pr`: "has a non-empty value, or … contains a non-empty node for complex attributes". */
function isPresent(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.some(isPresent);
  if (isObject(v)) return Object.values(v).some(isPresent);
  return true;
}

const ORDERING: ReadonlySet<CompareOp> = new Set(['gt', 'ge', 'lt', 'le']);
const SUBSTRING: ReadonlySet<CompareOp> = new Set(['co', 'sw', 'ew']);

function compareNode(path: AttrPath, op: CompareOp, value: FilterValue, obj: unknown, ctx: Ctx): boolean {
  // Checks that do not depend on the data, so the same filter fails the same way on every element.
  if (ORDERING.has(op) && (typeof value === 'boolean' || value === null)) {
    throw new ScimFilterError(`Operator '${op}' cannot be used with ${String(value)}`);
  }
  if (SUBSTRING.has(op) && typeof value !== 'string') {
    throw new ScimFilterError(`Operator '${op}' needs a string value`);
  }

  const found = lookup(obj, path);
  if (value === null) {
    // `eq null` asks for absence, `ne null` for presence.
    const present = found.some(isPresent);
    return op === 'eq' ? !present : present;
  }
  if (op === 'ne') return !compareNode(path, 'eq', value, obj, ctx);

  const fullPath: AttrPath = ctx.parent ? { ...ctx.parent, subAttr: path.attr } : path;
  const caseExact = ctx.opts.caseExact?.(fullPath) ?? false;
  const scalars: unknown[] = [];
  for (const v of found) {
    const items = Array.isArray(v) ? v : [v];
    for (const item of items) {
      // Multi-valued complex attribute without a sub-attribute: compare its "value" (RFC 7643 §2.4).
      scalars.push(isObject(item) && path.subAttr === undefined ? getCI(item, 'value') : item);
    }
  }
  return scalars.some((actual) => compareScalar(actual, op, value, caseExact));
}

function compareScalar(actual: unknown, op: CompareOp, expected: string | number | boolean, caseExact: boolean): boolean {
  if (actual === null || actual === undefined || isObject(actual) || Array.isArray(actual)) return false;

  if (typeof expected === 'boolean' || typeof actual === 'boolean') {
    if (op !== 'eq') return false; // booleans only support eq/ne (ne handled by the caller)
    const a = toBoolean(actual);
    const b = toBoolean(expected);
    return a !== undefined && a === b;
  }

  if (typeof expected === 'number') {
    return typeof actual === 'number' && order(actual, expected, op);
  }

  if (typeof actual !== 'string') return false;

  if (op === 'eq' || ORDERING.has(op)) {
    const da = parseDateTime(actual);
    const db = da && parseDateTime(expected);
    if (da && db) return order(da.epochMs, db.epochMs, op);
  }

  const a = caseExact ? actual : actual.toLowerCase();
  const b = caseExact ? expected : expected.toLowerCase();
  switch (op) {
    case 'co':
      return a.includes(b);
    case 'sw':
      return a.startsWith(b);
    case 'ew':
      return a.endsWith(b);
    default:
      return order(a, b, op);
  }
}

function order<T extends string | number>(a: T, b: T, op: CompareOp): boolean {
  switch (op) {
    case 'eq':
      return a === b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    default:
      return false;
  }
}
