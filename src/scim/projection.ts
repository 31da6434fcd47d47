/**
 * Attribute projection of resource representations: the `attributes` / `excludedAttributes` parameters of
 * RFC 7644 §3.4.2.5 (also accepted on single-resource GET, POST, PUT and PATCH responses, §3.9) together with
 * the `returned` characteristic of RFC 7643 §2.4 / §7.
 *
 * The representation has `schemas`, the common attributes (`id`, `externalId`, `meta`) and the core schema's
 * attributes at the top level, and each extension's attributes in an object under its schema URN
 * (`{ userName, …, "urn:…:enterprise:2.0:User": { department, manager: { value } } }`), as in the PATCH engine.
 *
 * Rules and readings:
 * - Neither parameter: every attribute whose `returned` is `always` or `default` (never `never` or `request`,
 *   RFC 7643 §7). The same holds for sub-attributes.
 * - `attributes`: only the named attributes, plus `returned: "always"` ones (`id`) and `schemas` (which every
 *   representation carries, RFC 7643 §3). `meta` and `externalId` are `default`, so they appear only when named.
 *   `attr.sub` returns `attr` with only that sub-attribute (in every element when multi-valued); a `returned:
 *   "always"` sub-attribute stays. A URN-qualified name selects inside that extension; a bare extension URN
 *   selects the whole extension (its `default` and `always` attributes: a `request` attribute must be named).
 *   A bare core schema URN selects every top-level attribute (the resource without its extensions).
 * - `excludedAttributes`: the default set minus the named attributes or sub-attributes; `always` attributes and
 *   `schemas` are never removed (RFC 7644 §3.4.2.5: "has no effect on attributes whose 'returned' setting is
 *   'always'"). A bare extension URN drops that extension; a bare core URN is refused (the core cannot go).
 * - Both parameters: RFC 7644 §3.4.2.5 says they SHALL NOT be given together but names no error, and clients
 *   (and generic SDKs that always send both) do it by accident. We do not fail the request: `attributes` wins
 *   and `excludedAttributes` is ignored (it is still validated by `parseProjection`, since a malformed
 *   parameter is malformed whichever wins).
 * - Names are case-insensitive (RFC 7643 §2.1) and URNs too (`sameUrn`); output keys keep the resource's
 *   casing. A name qualified with the core schema URN is the unqualified name (§3.10). An unqualified name is
 *   looked up in the common attributes, then the core schema, then each extension in order, exactly like the
 *   PATCH engine (Entra sends extension attributes unqualified; §3.10 only says clients SHOULD qualify).
 * - Unknown names, sub-attributes of simple attributes, unknown schema URNs and malformed paths (`a.b.c`,
 *   `emails[type eq "work"]`) are `400 invalidValue` (§3.12: "the value specified was not compatible with
 *   the operation or attribute type"). `schemas` itself is a valid name (a no-op).
 * - Projection never empties in place: a complex value, element or list that projection leaves with no data is
 *   dropped, and an extension object left empty is removed with its URN from `schemas` (RFC 7643 §2.5:
 *   unassigned). Keys the schemas do not describe are kept by default/excludedAttributes and dropped by
 *   `attributes` (nobody asked for them).
 *
 * Performance: `compileProjection` resolves the request against the schemas once and returns a function
 * that, per resource, does one lower-casing and one Map lookup per key, and copies only what it keeps.
 * The schema index (name → definition maps) is cached per schema array.
 */
import { quote } from './filter/errors.js';
import { parseAttrPath, ScimFilterError } from './filter/parse-filter.js';
import { COMMON_ATTRIBUTES, type ScimAttributeDef, type ScimSchemaDef } from './schemas/definitions.js';
import { sameUrn } from './schemas/urns.js';

export interface ProjectionRequest {
  /** Attribute paths to return (RFC 7644 §3.4.2.5). When non-empty, `excludedAttributes` is ignored. */
  attributes?: string[];
  /** Attribute paths to leave out of the default set. */
  excludedAttributes?: string[];
}

/** Projects one resource representation; returns a new object and never mutates its argument. */
export type Projector = (resource: Record<string, unknown>) => Record<string, unknown>;

/** An unusable `attributes` / `excludedAttributes` value. The SCIM error middleware maps it to a 400. */
export class ScimProjectionError extends Error {
  override readonly name = 'ScimProjectionError';
  readonly status = 400;
  readonly scimType = 'invalidValue';
}

type Param = 'attributes' | 'excludedAttributes';
type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------- schema index

interface ExtIndex {
  schema: ScimSchemaDef;
  /** Lower-cased attribute name → definition. */
  attrs: Map<string, ScimAttributeDef>;
}

interface SchemaIndex {
  core: ScimSchemaDef;
  /** Common attributes, then the core schema's (a common attribute wins a name clash, as in apply-patch). */
  top: Map<string, ScimAttributeDef>;
  extensions: ExtIndex[];
  /** Projector for the empty request, shared by every caller of this schema array. */
  defaultProjector?: Projector;
}

const indexCache = new WeakMap<readonly ScimSchemaDef[], SchemaIndex>();
const subIndexCache = new WeakMap<ScimAttributeDef, Map<string, ScimAttributeDef>>();

function byLowerName(defs: readonly ScimAttributeDef[], into = new Map<string, ScimAttributeDef>()) {
  for (const def of defs) {
    const key = def.name.toLowerCase();
    if (!into.has(key)) into.set(key, def);
  }
  return into;
}

function indexFor(schemas: readonly ScimSchemaDef[]): SchemaIndex {
  let index = indexCache.get(schemas);
  if (index) return index;
  if (schemas.length === 0) throw new TypeError('projection needs at least the core schema');
  const [core, ...extensions] = schemas;
  index = {
    core,
    top: byLowerName(core.attributes, byLowerName(COMMON_ATTRIBUTES)),
    extensions: extensions.map((schema) => ({ schema, attrs: byLowerName(schema.attributes) })),
  };
  indexCache.set(schemas, index);
  return index;
}

function findSub(def: ScimAttributeDef, name: string): ScimAttributeDef | undefined {
  if (!def.subAttributes) return undefined;
  let subs = subIndexCache.get(def);
  if (!subs) {
    subs = byLowerName(def.subAttributes);
    subIndexCache.set(def, subs);
  }
  return subs.get(name.toLowerCase());
}

// ---------------------------------------------------------------------------------------------- path resolution

type Resolved =
  | { kind: 'schemas' }
  /** A bare core schema URN. */
  | { kind: 'core' }
  /** A bare extension schema URN. */
  | { kind: 'extension'; ext: ExtIndex }
  /** An attribute (`ext` undefined: top level), optionally one of its sub-attributes. */
  | { kind: 'attr'; ext?: ExtIndex; def: ScimAttributeDef; sub?: ScimAttributeDef };

function fail(param: Param, text: string, why: string): ScimProjectionError {
  return new ScimProjectionError(`${why} in ${param}: ${quote(text)}`);
}

function resolvePath(text: string, param: Param, index: SchemaIndex): Resolved {
  // A whole schema URN first: parseAttrPath would read `…:2.0:User` as attribute `User` of schema `…:2.0`.
  if (sameUrn(text, index.core.id)) return { kind: 'core' };
  const whole = index.extensions.find((e) => sameUrn(e.schema.id, text));
  if (whole) return { kind: 'extension', ext: whole };

  let path;
  try {
    path = parseAttrPath(text, 'invalidValue');
  } catch (err) {
    if (err instanceof ScimFilterError) throw fail(param, text, 'Invalid attribute path');
    throw err;
  }

  let def: ScimAttributeDef | undefined;
  let ext: ExtIndex | undefined;
  if (path.urn !== undefined) {
    const urn = path.urn;
    if (sameUrn(urn, index.core.id)) {
      if (path.attr.toLowerCase() === 'schemas' && path.subAttr === undefined) return { kind: 'schemas' };
      def = index.top.get(path.attr.toLowerCase());
    } else {
      ext = index.extensions.find((e) => sameUrn(e.schema.id, urn));
      if (!ext) throw fail(param, text, `Unknown schema ${quote(urn, 100)}`);
      def = ext.attrs.get(path.attr.toLowerCase());
    }
  } else {
    const lower = path.attr.toLowerCase();
    if (lower === 'schemas' && path.subAttr === undefined) return { kind: 'schemas' };
    def = index.top.get(lower);
    for (const candidate of def ? [] : index.extensions) {
      def = candidate.attrs.get(lower);
      if (def) {
        ext = candidate;
        break;
      }
    }
  }
  if (!def) throw fail(param, text, `Unknown attribute ${quote(path.attr)}`);

  const resolved: Resolved = { kind: 'attr', def };
  if (ext) resolved.ext = ext;
  if (path.subAttr !== undefined) {
    const sub = findSub(def, path.subAttr);
    if (!sub) throw fail(param, text, `Attribute '${def.name}' has no sub-attribute ${quote(path.subAttr)}`);
    resolved.sub = sub;
  }
  return resolved;
}

// ---------------------------------------------------------------------------------------------- parameters

function splitParam(value: unknown, param: Param): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const parts = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const part of parts) {
    if (typeof part !== 'string') throw new ScimProjectionError(`${param} must be a comma-separated string`);
    for (const item of part.split(',')) {
      const trimmed = item.trim();
      if (trimmed !== '') out.push(trimmed);
    }
  }
  return out.length > 0 ? out : undefined;
}

/**
 * Parses the comma-separated `attributes` / `excludedAttributes` query values (a repeated parameter arrives
 * as an array; the `/.search` body's string arrays fit too): trims, drops empty items, and validates every path
 * against `schemas` (core first, then extensions). An empty parameter is as if absent. Both lists are kept
 * when both are given; `compileProjection` lets `attributes` win.
 * Throws ScimProjectionError (400 invalidValue) on a malformed or unknown attribute path.
 */
export function parseProjection(
  query: { attributes?: string | string[]; excludedAttributes?: string | string[] },
  schemas: readonly ScimSchemaDef[],
): ProjectionRequest {
  const index = indexFor(schemas);
  const request: ProjectionRequest = {};
  const attributes = splitParam(query.attributes, 'attributes');
  const excluded = splitParam(query.excludedAttributes, 'excludedAttributes');
  if (attributes) {
    for (const text of attributes) resolvePath(text, 'attributes', index);
    request.attributes = attributes;
  }
  if (excluded) {
    for (const text of excluded) checkExcludable(resolvePath(text, 'excludedAttributes', index), text);
    request.excludedAttributes = excluded;
  }
  return request;
}

function checkExcludable(resolved: Resolved, text: string): void {
  if (resolved.kind === 'core') throw fail('excludedAttributes', text, 'The core schema cannot be excluded');
}

// ---------------------------------------------------------------------------------------------- compilation

/** `all`: the attribute as a whole; a set: only these sub-attributes. */
type Selection = 'all' | Set<ScimAttributeDef>;

interface Selections {
  top: Map<ScimAttributeDef, Selection>;
  /** A bare core URN was named. */
  topAll: boolean;
  ext: Map<ExtIndex, { all: boolean; attrs: Map<ScimAttributeDef, Selection> }>;
}

function select(map: Map<ScimAttributeDef, Selection>, def: ScimAttributeDef, sub: ScimAttributeDef | undefined) {
  const current = map.get(def);
  if (current === 'all') return;
  if (!sub) map.set(def, 'all');
  else if (current) current.add(sub);
  else map.set(def, new Set([sub]));
}

function collect(paths: readonly string[], param: Param, index: SchemaIndex): Selections {
  const sels: Selections = { top: new Map(), topAll: false, ext: new Map() };
  const extSel = (ext: ExtIndex) => {
    let s = sels.ext.get(ext);
    if (!s) sels.ext.set(ext, (s = { all: false, attrs: new Map() }));
    return s;
  };
  for (const raw of paths) {
    const text = raw.trim();
    if (text === '') continue;
    const resolved = resolvePath(text, param, index);
    if (param === 'excludedAttributes') checkExcludable(resolved, text);
    switch (resolved.kind) {
      case 'schemas':
        break; // always returned
      case 'core':
        sels.topAll = true;
        break;
      case 'extension':
        extSel(resolved.ext).all = true;
        break;
      case 'attr':
        select(resolved.ext ? extSel(resolved.ext).attrs : sels.top, resolved.def, resolved.sub);
        break;
    }
  }
  return sels;
}

type AttrPlan =
  | { kind: 'drop' }
  | { kind: 'copy' }
  /** Keep the sub-attributes mapped to true (lower-cased names); others per `keepUnknown`. */
  | { kind: 'subset'; subs: Map<string, boolean>; keepUnknown: boolean };

const DROP: AttrPlan = { kind: 'drop' };
const COPY: AttrPlan = { kind: 'copy' };

interface ContainerPlan {
  /** Lower-cased attribute name → plan. */
  attrs: Map<string, AttrPlan>;
  /** For keys no schema describes. */
  unknown: AttrPlan;
  /** Nothing can survive: skip the container entirely. */
  empty: boolean;
}

function planSubs(def: ScimAttributeDef, keep: (sub: ScimAttributeDef) => boolean, keepUnknown: boolean): AttrPlan {
  if (!def.subAttributes || def.subAttributes.length === 0) return COPY;
  const subs = new Map<string, boolean>();
  let everything = keepUnknown;
  for (const sub of def.subAttributes) {
    const kept = keep(sub);
    subs.set(sub.name.toLowerCase(), kept);
    if (!kept) everything = false;
  }
  return everything ? COPY : { kind: 'subset', subs, keepUnknown };
}

/** `sel` is what `attributes` asked for (include) or what `excludedAttributes` named (exclude). */
function planAttr(def: ScimAttributeDef, include: boolean, sel: Selection | undefined): AttrPlan {
  if (def.returned === 'never') return DROP;
  if (include) {
    const asked = def.returned === 'always' ? 'all' : sel;
    if (asked === undefined) return DROP;
    if (asked === 'all') return planSubs(def, (sub) => sub.returned === 'always' || sub.returned === 'default', true);
    return planSubs(def, (sub) => sub.returned === 'always' || (sub.returned !== 'never' && asked.has(sub)), false);
  }
  if (def.returned === 'request') return DROP;
  if (sel === 'all' && def.returned !== 'always') return DROP;
  const excluded = sel instanceof Set ? sel : undefined;
  return planSubs(def, (sub) => sub.returned === 'always' || (sub.returned === 'default' && !excluded?.has(sub)), true);
}

function planContainer(
  attrs: Map<string, ScimAttributeDef>,
  include: boolean,
  selFor: (def: ScimAttributeDef) => Selection | undefined,
): ContainerPlan {
  const plans = new Map<string, AttrPlan>();
  const unknown = include ? DROP : COPY;
  let empty = unknown === DROP;
  for (const [key, def] of attrs) {
    const plan = planAttr(def, include, selFor(def));
    plans.set(key, plan);
    if (plan !== DROP) empty = false;
  }
  return { attrs: plans, unknown, empty };
}

/**
 * In include mode a whole-schema selection (bare URN) implies `all` for each attribute but does not count as
 * naming a `request` attribute. In exclude mode it excludes every attribute (`planAttr` spares `always` ones).
 */
function implied(include: boolean, whole: boolean, explicit: Selection | undefined, def: ScimAttributeDef): Selection | undefined {
  if (!whole) return explicit;
  if (include && def.returned === 'request') return explicit;
  return 'all';
}

/**
 * Resolves `req` against `schemas` (core first, then extensions) once and returns the projector to apply to
 * every resource of a response. `attributes` (when non-empty) wins over `excludedAttributes`: see the module
 * comment. Throws ScimProjectionError like `parseProjection` when a path is malformed or unknown.
 */
export function compileProjection(req: ProjectionRequest, schemas: readonly ScimSchemaDef[]): Projector {
  const index = indexFor(schemas);
  const include = (req.attributes ?? []).some((a) => a.trim() !== '');
  const paths = include ? req.attributes! : (req.excludedAttributes ?? []);
  const isDefault = !include && paths.every((a) => a.trim() === '');
  if (isDefault && index.defaultProjector) return index.defaultProjector;

  const sels = collect(paths, include ? 'attributes' : 'excludedAttributes', index);
  const top = planContainer(index.top, include, (def) => implied(include, sels.topAll, sels.top.get(def), def));
  const extensions = new Map<string, ContainerPlan>();
  for (const ext of index.extensions) {
    const sel = sels.ext.get(ext);
    const plan = planContainer(ext.attrs, include, (def) => implied(include, sel?.all ?? false, sel?.attrs.get(def), def));
    extensions.set(ext.schema.id.toLowerCase(), plan);
  }

  const projector: Projector = (resource) => {
    const out: Json = {};
    let schemasKey: string | undefined;
    let kept: Set<string> | undefined; // lower-cased URNs of the extensions in `out`
    for (const key of Object.keys(resource)) {
      const lower = key.toLowerCase();
      const value = resource[key];
      if (lower === 'schemas') {
        schemasKey = key;
        out[key] = undefined; // placeholder keeping the key order; filled in below
        continue;
      }
      const ext = extensions.get(lower);
      if (ext) {
        if (ext.empty || !isPlainObject(value)) continue;
        const projected = projectContainer(ext, value);
        if (projected) {
          out[key] = projected;
          (kept ??= new Set()).add(lower);
        }
        continue;
      }
      const projected = projectValue(top.attrs.get(lower) ?? top.unknown, value);
      if (projected !== undefined) out[key] = projected;
    }
    if (schemasKey !== undefined) {
      const value = resource[schemasKey];
      out[schemasKey] = Array.isArray(value)
        ? value.filter((urn) => {
            if (typeof urn !== 'string') return true;
            const lower = urn.toLowerCase();
            return !extensions.has(lower) || (kept?.has(lower) ?? false);
          })
        : copyJson(value);
    }
    return out;
  };
  if (isDefault) index.defaultProjector = projector;
  return projector;
}

/** Returns a new object (the input is untouched) with the attributes `req` selects. */
export function projectResource(
  resource: Record<string, unknown>,
  req: ProjectionRequest,
  schemas: readonly ScimSchemaDef[],
): Record<string, unknown> {
  return compileProjection(req, schemas)(resource);
}

// ---------------------------------------------------------------------------------------------- application

function isPlainObject(value: unknown): value is Json {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Deep copy of JSON data (arrays and plain objects); other values are immutable or left shared. */
function copyJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyJson);
  if (isPlainObject(value)) {
    const out: Json = {};
    for (const key of Object.keys(value)) out[key] = copyJson(value[key]);
    return out;
  }
  return value;
}

/** The projected container, or undefined when nothing is left. */
function projectContainer(plan: ContainerPlan, obj: Json): Json | undefined {
  let out: Json | undefined;
  for (const key of Object.keys(obj)) {
    const projected = projectValue(plan.attrs.get(key.toLowerCase()) ?? plan.unknown, obj[key]);
    if (projected !== undefined) (out ??= {})[key] = projected;
  }
  return out;
}

/** The projected value, or undefined to leave the attribute out. */
function projectValue(plan: AttrPlan, value: unknown): unknown {
  switch (plan.kind) {
    case 'drop':
      return undefined;
    case 'copy':
      return copyJson(value);
    case 'subset':
      if (Array.isArray(value)) {
        const out: unknown[] = [];
        for (const element of value) {
          const projected = isPlainObject(element) ? projectComplex(plan, element) : copyJson(element);
          if (projected !== undefined) out.push(projected);
        }
        return out.length > 0 ? out : undefined;
      }
      return isPlainObject(value) ? projectComplex(plan, value) : copyJson(value);
  }
}

function projectComplex(plan: Extract<AttrPlan, { kind: 'subset' }>, obj: Json): Json | undefined {
  let out: Json | undefined;
  for (const key of Object.keys(obj)) {
    if (plan.subs.get(key.toLowerCase()) ?? plan.keepUnknown) (out ??= {})[key] = copyJson(obj[key]);
  }
  return out;
}
