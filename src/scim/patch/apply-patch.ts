/**
 * The PATCH engine (RFC 7644 §3.5.2): applies normalised operations to a SCIM JSON representation and
 * returns a new object. Pure: no I/O, the input is never mutated; the first failing operation throws a
 * `ScimPatchError` and the caller keeps its original (atomic by construction).
 *
 * The representation has core and common attributes at the top level and each extension under its
 * schema URN (`{ userName, …, "urn:…:enterprise:2.0:User": { department, manager: { value } } }`).
 * `schemas` and `meta` are left to the HTTP layer, which recomputes them.
 *
 * Readings of the RFC, and where Okta / Entra force a tolerance (see ../../../../shared/docs/idp-behaviour.md):
 *
 * - Names are matched case-insensitively (RFC 7643 §2.1) and written back in the schema's casing.
 *   An unqualified name is looked up in the common attributes, then the core schema, then each
 *   extension in `ctx.schemas` order (M1 sends `path: "manager"` without the enterprise URN).
 * - A path-less add/replace is the same as one operation per key of `value`, with the key as the path:
 *   plain (`displayName`), dotted (`name.givenName`), URN-qualified (`urn:…:User:employeeNumber`), or a
 *   schema URN whose value is an object of that schema's attributes. `schemas` and `meta` keys there
 *   are client-side descriptors and are ignored.
 * - Complex single-valued attribute, add or replace (with or without path): the given sub-attributes
 *   replace or are added, the others are kept (§3.5.2.3: "Sub-attributes that are not specified in the
 *   value parameter are left unchanged"; §3.5.2.1 is the same for add). Exception: a complex attribute
 *   with a `value` sub-attribute (a reference such as `manager`) is replaced whole when a new `value` is
 *   given, since its other sub-attributes (`$ref`, `displayName`) describe the previous referent.
 * - Add and replace are the same for single-valued targets (Entra sends either for the same change).
 * - `""` or `null` for a single-valued attribute or sub-attribute removes it: Entra's "null update" and
 *   Microsoft's "remove manager" (Replace with an empty value). On a required attribute it is invalidValue.
 * - Values are coerced only when unambiguous: `"True"`/`"false"` (any case) → boolean; integer and
 *   decimal strings → numbers; finite numbers → strings for string attributes; dateTimes are stored in
 *   the filter module's normalised RFC 3339 form. Anything else is invalidValue. A primitive given for a complex attribute that has a `value` sub-attribute means
 *   `{ value }` (Entra's `"manager": "123"`); an array of one for a single-valued attribute is unwrapped
 *   (M1's `manager: [{ $ref, value }]`), an empty array clears it.
 * - Multi-valued, add: appends; a value equal to an existing one (same `value`, and same `type` when both
 *   have one; all data sub-attributes for types without `value`) is not duplicated, its writable
 *   sub-attributes are merged instead (§3.5.2.1 "no changes SHOULD be made" for values already present).
 *   Replace without filter replaces the whole list (§3.5.2.3).
 * - Filtered add/replace (`emails[type eq "work"].value`): matching elements are updated (merged when
 *   no sub-attribute is given, as for any complex value). When none matches, a new element carrying the
 *   filter's `eq` attributes is added instead of failing with noTarget (§3.5.2.3 asks for noTarget; Entra
 *   relies on the add). Only a filter made of `eq` comparisons joined by `and` can describe a new
 *   element; any other filter with no match is noTarget.
 * - Remove: without path is noTarget (§3.5.2.2). A filtered remove matching nothing, and a remove of an
 *   absent attribute, are no-ops: the requested state already holds, and IdPs retry (Okta after its 60 s
 *   timeout; Entra in later cycles), so failing would turn a retry into a permanent error. A remove with a
 *   `value` on a multi-valued attribute removes those values (Entra's `Remove` + `members` + value array).
 * - Elements left without data (e.g. an email whose `value` was cleared) are dropped; an empty list,
 *   complex value or extension object is removed, i.e. unassigned (RFC 7643 §2.5).
 * - `primary: true` written on one element clears it on the others (RFC 7643 §2.4); if one operation
 *   writes several, the last one wins.
 * - `roles` values that are JSON-encoded objects (Entra app-role assignments, M5) are decoded into
 *   `{ value: inner.value, display: inner.displayName }`.
 * - Mutability (RFC 7643 §2.2 / RFC 7644 §3.5.2): readOnly and immutable targets give `mutability`,
 *   except no-op echoes: a value equal to the current one (objects and arrays compared as a subset), or an
 *   empty placeholder (`[]`, `null`), e.g. Okta's `{"op":"replace","value":{"id":"<same id>",…}}` or
 *   `groups: []`. Inside a value, readOnly sub-attributes (`members.display`, `manager.displayName`) are
 *   ignored as for PUT (§3.5.1); an immutable sub-attribute may be set once.
 */
import type { FilterNode } from '../filter/ast.js';
import { matchesFilter } from '../filter/match.js';
import { parseDateTime, toBoolean } from '../filter/values.js';
import { COMMON_ATTRIBUTES, type ScimAttributeDef, type ScimSchemaDef } from '../schemas/definitions.js';
import { sameUrn } from '../schemas/urns.js';
import { ScimPatchError } from './errors.js';
import type { NormalisedOp, PatchOpName } from './patch-op.schema.js';
import { parsePatchPath, type PatchPath } from './path.js';

export interface PatchContext {
  /** The resource type's core schema first, then its extensions. */
  schemas: readonly ScimSchemaDef[];
}

type Json = Record<string, unknown>;

/** A resolved path: which attribute, where it lives, and which part of it is addressed. */
interface Target {
  /** Display form of the path, for error messages. */
  path: string;
  /** Canonical id of the extension holding the attribute; undefined for top-level attributes. */
  extension?: string;
  def: ScimAttributeDef;
  filter?: FilterNode;
  sub?: ScimAttributeDef;
}

/** `schemas` is not in any schema; it is listed so that an explicit path to it gets `mutability`. */
const SCHEMAS_ATTR: ScimAttributeDef = {
  name: 'schemas',
  type: 'reference',
  multiValued: true,
  description: 'Schema URIs of the resource, maintained by the service provider.',
  required: false,
  caseExact: false,
  mutability: 'readOnly',
  returned: 'always',
  uniqueness: 'none',
};

/** Keys of a path-less value that describe the message, not the resource. */
const IGNORED_PATHLESS_KEYS = new Set(['schemas', 'meta']);

export function applyPatch(
  resource: Record<string, unknown>,
  operations: readonly NormalisedOp[],
  ctx: PatchContext,
): Record<string, unknown> {
  if (ctx.schemas.length === 0) throw new TypeError('applyPatch needs at least the core schema');
  const working = structuredClone(resource) as Json;
  operations.forEach((op, index) => {
    try {
      applyOperation(working, op, ctx);
    } catch (err) {
      if (err instanceof ScimPatchError && operations.length > 1) {
        throw new ScimPatchError(`Operations[${index}]: ${err.message}`, err.scimType);
      }
      throw err;
    }
  });
  return working;
}

function applyOperation(working: Json, op: NormalisedOp, ctx: PatchContext): void {
  if (op.path === undefined) {
    // RFC 7644 §3.5.2.2: "If "path" is unspecified, the operation fails with ... noTarget".
    if (op.op === 'remove') throw new ScimPatchError('remove requires a path', 'noTarget');
    applyValueObject(working, op.op, op.value, ctx, undefined);
    return;
  }
  const schema = ctx.schemas.find((s) => sameUrn(s.id, op.path!));
  if (schema) {
    // The path names a whole schema, e.g. the enterprise extension: its attributes are in `value`.
    if (op.op !== 'remove') return applyValueObject(working, op.op, op.value, ctx, schema);
    if (schema === ctx.schemas[0]) throw new ScimPatchError('the core schema cannot be removed', 'invalidPath');
    removeKey(working, schema.id);
    return;
  }
  applyToTarget(working, op.op, resolve(op.path, parsePatchPath(op.path), ctx), op.value);
}

/** Path-less add/replace (or a path naming a whole schema): one operation per key. */
function applyValueObject(
  working: Json,
  op: Exclude<PatchOpName, 'remove'>,
  value: unknown,
  ctx: PatchContext,
  scope: ScimSchemaDef | undefined,
): void {
  if (!isObject(value)) {
    throw new ScimPatchError(
      `${scope ? `"${scope.id}"` : 'a path-less operation'} needs an object of attributes as its value`,
      'invalidValue',
    );
  }
  for (const [key, v] of Object.entries(value)) {
    const block = scope ? undefined : ctx.schemas.find((s) => sameUrn(s.id, key));
    if (block) {
      applyValueObject(working, op, v, ctx, block);
      continue;
    }
    if ((!scope || scope === ctx.schemas[0]) && IGNORED_PATHLESS_KEYS.has(key.toLowerCase())) continue;
    const path = scope ? `${scope.id}:${key}` : key;
    applyToTarget(working, op, resolve(path, parsePatchPath(path), ctx), v);
  }
}

// ---------------------------------------------------------------------------------------------------
// Path resolution

function findDef(list: readonly ScimAttributeDef[] | undefined, name: string): ScimAttributeDef | undefined {
  const lower = name.toLowerCase();
  return list?.find((a) => a.name.toLowerCase() === lower);
}

function resolve(path: string, parsed: PatchPath, ctx: PatchContext): Target {
  const core = ctx.schemas[0];
  const topLevel = (name: string) => findDef(COMMON_ATTRIBUTES, name) ?? findDef(core.attributes, name);
  let def: ScimAttributeDef | undefined;
  let extension: string | undefined;

  if (parsed.urn) {
    const schema = ctx.schemas.find((s) => sameUrn(s.id, parsed.urn!));
    if (!schema) throw new ScimPatchError(`unknown schema "${parsed.urn}" in path "${path}"`, 'invalidPath');
    if (schema === core) def = topLevel(parsed.attr);
    else {
      def = findDef(schema.attributes, parsed.attr);
      extension = schema.id;
    }
  } else if (parsed.attr.toLowerCase() === 'schemas') {
    def = SCHEMAS_ATTR;
  } else {
    def = topLevel(parsed.attr);
    for (const schema of def ? [] : ctx.schemas.slice(1)) {
      def = findDef(schema.attributes, parsed.attr);
      if (def) {
        extension = schema.id;
        break;
      }
    }
  }
  if (!def) throw new ScimPatchError(`unknown attribute "${parsed.attr}" in path "${path}"`, 'invalidPath');

  const target: Target = { path, def };
  if (extension) target.extension = extension;
  if (parsed.subAttr !== undefined) {
    const sub = findDef(def.subAttributes, parsed.subAttr);
    if (!sub) throw new ScimPatchError(`"${def.name}" has no sub-attribute "${parsed.subAttr}"`, 'invalidPath');
    target.sub = sub;
  }
  if (parsed.filter) {
    if (!def.multiValued) {
      throw new ScimPatchError(`"${def.name}" is single-valued and cannot take a value filter`, 'invalidPath');
    }
    checkFilterNames(parsed.filter, def, path);
    target.filter = parsed.filter;
  }
  return target;
}

/** Every attribute in a value filter must be a sub-attribute of the filtered attribute (`value` for simple ones). */
function checkFilterNames(node: FilterNode, def: ScimAttributeDef, path: string): void {
  switch (node.kind) {
    case 'and':
    case 'or':
      checkFilterNames(node.left, def, path);
      checkFilterNames(node.right, def, path);
      return;
    case 'not':
      checkFilterNames(node.filter, def, path);
      return;
    case 'valuePath':
      throw new ScimPatchError(`value filters cannot nest (path "${path}")`, 'invalidPath');
    case 'compare':
    case 'present': {
      const known =
        node.path.urn === undefined &&
        node.path.subAttr === undefined &&
        (def.type === 'complex' ? findDef(def.subAttributes, node.path.attr) !== undefined : node.path.attr.toLowerCase() === 'value');
      if (!known) {
        throw new ScimPatchError(`"${node.path.attr}" is not a sub-attribute of "${def.name}" (path "${path}")`, 'invalidPath');
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Applying one operation to a resolved target

function applyToTarget(working: Json, op: PatchOpName, t: Target, value: unknown): void {
  const container = containerFor(working, t);
  const current = getKey(container, t.def.name);

  // readOnly / immutable: the attribute itself, or the addressed sub-attribute of a single complex value.
  const guarded = [t.def, t.def.multiValued ? undefined : t.sub].find(
    (d) => d !== undefined && (d.mutability === 'readOnly' || d.mutability === 'immutable'),
  );
  if (guarded) {
    // Element-level writes into a protected list (e.g. `groups[value eq "x"]`) are never echoes.
    if (t.filter || (t.sub && t.def.multiValued)) throw mutability(t, guarded);
    if (isEchoOrRefused(op, t, guarded, t.sub ? subValue(current, t.sub) : current, value)) {
      return pruneContainer(working, t);
    }
  }
  // An explicitly addressed sub-attribute of list elements, e.g. `members[value eq "x"].display`.
  if (t.sub && t.def.multiValued && t.sub.mutability === 'readOnly') throw mutability(t, t.sub);

  if (!t.def.multiValued) {
    if (t.def.type !== 'complex') applySimple(container, op, t, value);
    else applyComplex(container, op, t, value);
  } else {
    applyMulti(container, op, t, value);
  }
  pruneContainer(working, t);
}

function mutability(t: Target, def: ScimAttributeDef): ScimPatchError {
  return new ScimPatchError(`"${t.path}" is ${def.mutability} and cannot be modified`, 'mutability');
}

/**
 * For readOnly / immutable targets: returns true when the operation is a no-op echo (to be skipped),
 * throws `mutability` when it would change the value, returns false for writable targets.
 */
function isEchoOrRefused(op: PatchOpName, t: Target, def: ScimAttributeDef, current: unknown, value: unknown): boolean {
  if (def.mutability !== 'readOnly' && def.mutability !== 'immutable') return false;
  if (op === 'remove') {
    if (isUnassigned(current)) return true;
    throw mutability(t, def);
  }
  if (def.mutability === 'immutable' && isUnassigned(current)) return false; // may be set once
  if (isUnassigned(value) || echoes(current, value)) return true;
  throw mutability(t, def);
}

function applySimple(container: Json, op: PatchOpName, t: Target, value: unknown): void {
  const v = op === 'remove' ? null : unwrapSingle(t, value);
  if (isClear(v)) {
    if (t.def.required) throw new ScimPatchError(`"${t.def.name}" is required and cannot be removed`, 'invalidValue');
    removeKey(container, t.def.name);
    return;
  }
  setKey(container, t.def.name, coerce(t.def, v, t.path));
}

function applyComplex(container: Json, op: PatchOpName, t: Target, value: unknown): void {
  const { def, sub } = t;
  const isReference = hasValueSub(def);
  const v = op === 'remove' ? null : unwrapSingle(t, value);
  const current = getKey(container, def.name);
  const obj: Json = isObject(current) ? current : {};

  if (sub) {
    if (isClear(v)) {
      // Without its `value`, a reference has nothing left to point at.
      if (isReference && sub.name === 'value') return removeKey(container, def.name);
      removeKey(obj, sub.name);
    } else if (isReference && sub.name === 'value') {
      return setKey(container, def.name, { value: coerce(sub, v, t.path) });
    } else {
      setKey(obj, sub.name, coerce(sub, v, t.path));
    }
  } else {
    if (isClear(v)) return removeKey(container, def.name);
    const changes = readComplex(def, v, t.path);
    if (isReference && changes.has('value')) {
      const replacement = changes.get('value') === CLEAR ? {} : withoutClears(changes);
      return setOrRemove(container, def.name, replacement);
    }
    mergeInto(obj, changes, def, t.path);
  }
  setOrRemove(container, def.name, obj);
}

function applyMulti(container: Json, op: PatchOpName, t: Target, value: unknown): void {
  const { def, sub, filter } = t;
  const complex = def.type === 'complex';
  const current = getKey(container, def.name);
  let list: unknown[] = Array.isArray(current) ? current : isUnassigned(current) ? [] : [current];
  const written: unknown[] = [];

  if (!filter && !sub) {
    if (op === 'remove') {
      // No value: remove all (§3.5.2.2). A value (even []) names the values to remove.
      if (value === undefined || value === null) list = [];
      else {
        const doomed = toElements(def, value, t.path);
        list = list.filter((el) => !doomed.some((d) => sameElement(def, el, d)));
      }
    } else if (op === 'replace') {
      list = [];
      if (!isClear(value)) addElements(list, toElements(def, value, t.path), def, written);
    } else if (!isClear(value)) {
      addElements(list, toElements(def, value, t.path), def, written);
    }
  } else {
    const matched = filter ? list.filter((el) => elementMatches(filter, def, el, t.path)) : list;
    if (op === 'remove') {
      if (!sub) list = list.filter((el) => !matched.includes(el));
      else for (const el of matched) if (isObject(el)) removeKey(el, sub.name);
    } else if (!complex) {
      // Simple multi-valued attribute with a value filter: replace the matching values ("" / null: drop them).
      const v = unwrapSingle(t, value);
      if (isClear(v)) list = list.filter((el) => !matched.includes(el));
      else if (matched.length === 0) list.push(coerce(def, v, t.path));
      else list = list.map((el) => (matched.includes(el) ? coerce(def, v, t.path) : el));
    } else {
      let targets = matched as Json[];
      if (targets.length === 0) {
        const seed = filter ? elementFromFilter(filter, def, t.path) : {};
        list.push(seed);
        targets = [seed];
      }
      for (const el of targets) {
        if (sub) {
          const v = unwrapSingle(t, value);
          mergeInto(el, new Map([[sub.name, isClear(v) ? CLEAR : coerce(sub, v, t.path)]]), def, t.path);
        } else {
          mergeInto(el, readComplex(def, decodeRole(def, unwrapSingle(t, value)), t.path), def, t.path);
        }
        written.push(el);
      }
    }
    if (complex) list = list.filter((el) => !isObject(el) || !isEmptyElement(def, el));
  }

  if (complex && op !== 'remove') enforcePrimary(list, written);
  setOrRemove(container, def.name, list);
}

// ---------------------------------------------------------------------------------------------------
// Multi-valued helpers

/** Appends each element unless an equal one is present; then its writable sub-attributes are merged. */
function addElements(list: unknown[], incoming: unknown[], def: ScimAttributeDef, written: unknown[]): void {
  for (const el of incoming) {
    const existing = list.find((cur) => sameElement(def, cur, el));
    if (existing === undefined) {
      list.push(el);
      written.push(el);
    } else if (isObject(existing) && isObject(el)) {
      for (const [k, v] of Object.entries(el)) {
        const sub = findDef(def.subAttributes, k)!;
        const cur = getKey(existing, k);
        // Keep what is there when it is equal (e.g. the stored casing of `value`) or may not change.
        if (cur !== undefined && (sub.mutability === 'immutable' || sameScalar(sub, cur, v))) continue;
        setKey(existing, k, v);
      }
      written.push(existing);
    }
  }
}

/** Normalises `value` (an element or an array of them) into elements of `def`, dropping empty ones. */
function toElements(def: ScimAttributeDef, value: unknown, path: string): unknown[] {
  const items = Array.isArray(value) ? value : [value];
  const out: unknown[] = [];
  for (const item of items) {
    if (isClear(item)) continue;
    if (def.type !== 'complex') {
      out.push(coerce(def, item, path));
      continue;
    }
    const el = withoutClears(readComplex(def, decodeRole(def, item), path));
    if (!isEmptyElement(def, el)) out.push(el);
  }
  return out;
}

/** Evaluates a value filter on one element (simple values are seen as `{ value }`), honouring caseExact. */
function elementMatches(filter: FilterNode, def: ScimAttributeDef, el: unknown, path: string): boolean {
  const complex = def.type === 'complex';
  if (complex && !isObject(el)) return false;
  try {
    return matchesFilter(filter, complex ? (el as Json) : { value: el }, {
      caseExact: (p) => (complex ? findDef(def.subAttributes, p.attr)?.caseExact : def.caseExact) ?? false,
    });
  } catch (err) {
    throw new ScimPatchError(`invalid value filter in "${path}": ${err instanceof Error ? err.message : err}`, 'invalidPath');
  }
}

/** RFC 7643 §2.4: at most one `primary: true`; the last one written in this operation wins. */
function enforcePrimary(list: unknown[], written: unknown[]): void {
  const winner = [...written].reverse().find((el) => isObject(el) && el.primary === true);
  if (!winner) return;
  for (const el of list) if (el !== winner && isObject(el) && el.primary === true) el.primary = false;
}

/** Identity of a value within its list: `value` (+ `type` when both have one), else all data sub-attributes. */
function sameElement(def: ScimAttributeDef, a: unknown, b: unknown): boolean {
  if (def.type !== 'complex') return sameScalar(def, a, b);
  if (!isObject(a) || !isObject(b)) return false;
  const valueDef = findDef(def.subAttributes, 'value');
  if (valueDef) {
    const va = getKey(a, 'value');
    const vb = getKey(b, 'value');
    if (va === undefined || vb === undefined || !sameScalar(valueDef, va, vb)) return false;
    const ta = getKey(a, 'type');
    const tb = getKey(b, 'type');
    return ta === undefined || tb === undefined || sameScalar(findDef(def.subAttributes, 'type')!, ta, tb);
  }
  return (def.subAttributes ?? []).filter((s) => s.name !== 'primary').every((s) => sameScalar(s, getKey(a, s.name), getKey(b, s.name)));
}

function sameScalar(def: ScimAttributeDef, a: unknown, b: unknown): boolean {
  if (typeof a === 'string' && typeof b === 'string' && !def.caseExact) return a.toLowerCase() === b.toLowerCase();
  return a === b;
}

/** An element without data: no `value` where the type has one, otherwise nothing but type/primary. */
function isEmptyElement(def: ScimAttributeDef, el: Json): boolean {
  if (hasValueSub(def)) return getKey(el, 'value') === undefined;
  return Object.keys(el).every((k) => ['type', 'primary'].includes(k.toLowerCase()));
}

/**
 * The element a filter describes, for a filtered add/replace that matched nothing: the `eq` comparisons
 * of an `and` tree (`type eq "work"` → `{ type: "work" }`). Any other filter cannot describe one.
 */
function elementFromFilter(filter: FilterNode, def: ScimAttributeDef, path: string): Json {
  const seed: Json = {};
  const collect = (node: FilterNode): boolean => {
    if (node.kind === 'and') return collect(node.left) && collect(node.right);
    if (node.kind !== 'compare' || node.op !== 'eq' || node.value === null) return false;
    const sub = findDef(def.subAttributes, node.path.attr)!;
    if (sub.mutability === 'readOnly') return false;
    seed[sub.name] = coerce(sub, node.value, path);
    return true;
  };
  if (!collect(filter)) {
    throw new ScimPatchError(`no value of "${def.name}" matches the filter in "${path}"`, 'noTarget');
  }
  return seed;
}

/**
 * Entra app-role assignments arrive as `{ "value": "{\"id\":…,\"value\":\"25\",\"displayName\":\"Role1234\"}" }`
 * (M5). Decode them into `{ value: "25", display: "Role1234" }`, keeping the outer type/primary.
 */
function decodeRole(def: ScimAttributeDef, item: unknown): unknown {
  if (def.name !== 'roles') return item;
  const outer: Json | undefined = typeof item === 'string' ? { value: item } : isObject(item) ? { ...item } : undefined;
  const raw = outer && getKey(outer, 'value');
  if (!outer || typeof raw !== 'string' || !raw.trim().startsWith('{')) return item;
  let inner: unknown;
  try {
    inner = JSON.parse(raw);
  } catch {
    return item; // not JSON after all: an ordinary role value
  }
  if (!isObject(inner)) return item;
  const innerValue = inner.value ?? inner.id;
  if (typeof innerValue !== 'string' && typeof innerValue !== 'number') return item;
  setKey(outer, 'value', String(innerValue));
  const display = inner.displayName ?? inner.display;
  if (typeof display === 'string' && getKey(outer, 'display') === undefined) outer.display = display;
  return outer;
}

// ---------------------------------------------------------------------------------------------------
// Complex values

const CLEAR = Symbol('clear');
type Changes = Map<string, unknown>;

/**
 * Reads a complex value into canonical sub-attribute names → coerced value or CLEAR (`""`/`null`).
 * A primitive means `{ value }` where the type has a `value`; readOnly sub-attributes are ignored.
 */
function readComplex(def: ScimAttributeDef, value: unknown, path: string): Changes {
  const changes: Changes = new Map();
  let obj: Json;
  if (isObject(value)) obj = value;
  else if (hasValueSub(def) && ['string', 'number', 'boolean'].includes(typeof value)) obj = { value };
  else throw new ScimPatchError(`"${path}" expects an object of ${def.name} sub-attributes`, 'invalidValue');
  for (const [k, v] of Object.entries(obj)) {
    const sub = findDef(def.subAttributes, k);
    if (!sub) throw new ScimPatchError(`"${def.name}" has no sub-attribute "${k}" (in "${path}")`, 'invalidPath');
    if (sub.mutability === 'readOnly') continue;
    changes.set(sub.name, isClear(v) ? CLEAR : coerce(sub, v, `${path}.${sub.name}`));
  }
  return changes;
}

function mergeInto(obj: Json, changes: Changes, def: ScimAttributeDef, path: string): void {
  for (const [name, v] of changes) {
    const sub = findDef(def.subAttributes, name)!;
    const current = getKey(obj, name);
    if (sub.mutability === 'immutable' && current !== undefined && !(v !== CLEAR && sameScalar(sub, current, v))) {
      throw new ScimPatchError(`"${path}": ${def.name}.${name} is immutable`, 'mutability');
    }
    if (v === CLEAR) removeKey(obj, name);
    else setKey(obj, name, v);
  }
}

function withoutClears(changes: Changes): Json {
  const out: Json = {};
  for (const [k, v] of changes) if (v !== CLEAR) out[k] = v;
  return out;
}

function hasValueSub(def: ScimAttributeDef): boolean {
  return findDef(def.subAttributes, 'value') !== undefined;
}

function subValue(current: unknown, sub: ScimAttributeDef): unknown {
  return isObject(current) ? getKey(current, sub.name) : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Scalars

/** Single-valued targets: an array of one is its element (M1's manager), an empty array clears. */
function unwrapSingle(t: Target, value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  if (value.length === 0) return null;
  if (value.length === 1) return value[0];
  throw new ScimPatchError(`"${t.path}" is single-valued but got ${value.length} values`, 'invalidValue');
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Coerces a non-empty value to the attribute's type where unambiguous; otherwise invalidValue. */
function coerce(def: ScimAttributeDef, v: unknown, path: string): unknown {
  const fail = (): never => {
    const got = JSON.stringify(v) ?? String(v);
    // (an error names the value, not a copy of a megabyte of it)
    // (cut by code points: a pair cut in half would be a lone surrogate in the answer)
    const shown = got.length > 80 ? `${Array.from(got).slice(0, 80).join('')}…` : got;
    throw new ScimPatchError(`"${path}" expects a ${def.type}, got ${shown}`, 'invalidValue');
  };
  switch (def.type) {
    case 'boolean':
      return toBoolean(typeof v === 'string' ? v.trim() : v) ?? fail();
    case 'integer':
      if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
      if (typeof v === 'string' && INTEGER.test(v.trim()) && Number.isSafeInteger(Number(v))) return Number(v);
      return fail();
    case 'decimal':
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      if (typeof v === 'string' && DECIMAL.test(v.trim())) return Number(v);
      return fail();
    case 'dateTime':
      // Stored normalised (RFC 3339, explicit zone), as the filter compiler compares it.
      return (typeof v === 'string' ? parseDateTime(v.trim())?.iso : undefined) ?? fail();
    case 'string':
      if (typeof v === 'string') return v;
      if (typeof v === 'number' && Number.isFinite(v)) return String(v);
      return fail();
    case 'reference':
    case 'binary':
      if (typeof v === 'string') return v;
      return fail();
    case 'complex':
      return fail(); // complex values go through readComplex
  }
}

// ---------------------------------------------------------------------------------------------------
// Generic JSON helpers

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Entra's "null update" and Microsoft's manager removal: an empty string or null clears. */
function isClear(v: unknown): boolean {
  return v === null || v === undefined || v === '';
}

/** Unassigned in the RFC 7643 §2.5 sense: null, empty string, empty list or empty object. */
function isUnassigned(v: unknown): boolean {
  return isClear(v) || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
}

/** True when `incoming` restates (a subset of) `current`: used to let no-op writes to readOnly attributes pass. */
function echoes(current: unknown, incoming: unknown): boolean {
  if (Array.isArray(incoming)) {
    const cur = Array.isArray(current) ? current : current === undefined ? [] : [current];
    return incoming.every((i) => cur.some((c) => echoes(c, i)));
  }
  if (isObject(incoming)) {
    return isObject(current) && Object.entries(incoming).every(([k, v]) => v === null || echoes(getKey(current, k), v));
  }
  return current === incoming;
}

function findKey(obj: Json, name: string): string | undefined {
  if (Object.hasOwn(obj, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(obj).find((k) => k.toLowerCase() === lower);
}

function getKey(obj: Json, name: string): unknown {
  const key = findKey(obj, name);
  return key === undefined ? undefined : obj[key];
}

/** Writes under the canonical name, dropping any differently-cased copy. */
function setKey(obj: Json, name: string, value: unknown): void {
  for (const k of Object.keys(obj)) if (k !== name && k.toLowerCase() === name.toLowerCase()) delete obj[k];
  obj[name] = value;
}

function removeKey(obj: Json, name: string): void {
  for (const k of Object.keys(obj)) if (k.toLowerCase() === name.toLowerCase()) delete obj[k];
}

/** Sets a value, or removes the key when the value is an empty object or list (unassigned). */
function setOrRemove(obj: Json, name: string, value: unknown): void {
  if (isUnassigned(value)) removeKey(obj, name);
  else setKey(obj, name, value);
}

/** The object holding the target's attribute: the resource, or its extension object (created on demand). */
function containerFor(working: Json, t: Target): Json {
  if (!t.extension) return working;
  const existing = getKey(working, t.extension);
  const container = isObject(existing) ? existing : {};
  setKey(working, t.extension, container);
  return container;
}

/** Drops an extension object left empty (including one `containerFor` created for nothing). */
function pruneContainer(working: Json, t: Target): void {
  if (t.extension && isUnassigned(getKey(working, t.extension))) removeKey(working, t.extension);
}

// Group membership is applied as deltas, never through applyPatch on a loaded member list.
export { extractMemberOps, type ExtractedMemberOps, type MemberChange } from './member-ops.js';
