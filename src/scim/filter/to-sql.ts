/**
 * Compiles a SCIM filter AST (RFC 7644 §3.4.2.2) to a parameterised PostgreSQL boolean expression, and a
 * `sortBy` attribute (§3.4.2.3) to an ORDER BY expression, driven by a per-resource-type FilterSchema.
 *
 * Safety rules, enforced by construction:
 * - every filter value goes into `params`; the SQL text only contains fragments taken from the mapping
 *   (column expressions, JSON keys) and fixed keywords — attribute names from the request never reach SQL;
 * - placeholders are `?` (the ORM turns them into `$n`), so the text never contains another `?`: no jsonb `?`
 *   operator, no `??` (MikroORM reads that as an identifier placeholder), no `\?` (an escaped `?`);
 * - no expression can make PostgreSQL raise a cast error on stored data or values: uuids are validated before
 *   `::uuid`, dateTimes are validated and normalised before `::timestamptz`, JSON values are only cast inside
 *   `CASE WHEN jsonb_typeof(…) = …` (CASE fixes the evaluation order; AND does not).
 *
 * Three-valued logic: every leaf is two-valued (never NULL), e.g. `(col IS NOT NULL AND lower(col) = lower(?))`,
 * so that `not (…)` means what SCIM says it means and `ne` matches resources where the attribute is absent.
 * `ne` is compiled as `NOT (eq)` everywhere; for a multi-valued attribute that reads "no value equals"
 * (inside a value path it applies per element: `emails[type ne "work"]` = "some email whose type is not work").
 */
import type { AttrPath, CompareOp, FilterNode, FilterValue } from './ast.js';
import { quote, ScimFilterError, type ScimFilterErrorType } from './errors.js';
import { parseAttrPath } from './parse-filter.js';
import { escapeLike, isUuid, parseDateTime, toBoolean } from './values.js';

// ---------------------------------------------------------------------------------------------- mapping types

/** SCIM attribute data types (RFC 7643 §2.3) as stored by Roster; `uuid` is a `string` held in a uuid column. */
export type ScalarType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'uuid';

/** What a scalar attribute is, independent of where it is stored. */
export interface ScalarAttribute {
  type: ScalarType;
  /** RFC 7643 §2.2 `caseExact`; false means strings compare case-insensitively. */
  caseExact: boolean;
  /**
   * The stored values are already lower case (e.g. normalised emails): case-insensitive comparisons lower only
   * the parameter, so a plain index on the stored value (or a GIN index on a JSONB array) can be used.
   */
  storedLower?: boolean;
}

/**
 * A column (or any trusted SQL expression) of the resource's own row, e.g. `u.user_name`. For a
 * case-insensitive, not stored-lower string the compiler emits `lower(u.user_name) = lower(?)`, which matches
 * a functional index on `lower(user_name)`.
 */
export interface ScalarColumn extends ScalarAttribute {
  kind: 'column';
  sql: string;
  /** The column is NOT NULL: the `IS NOT NULL` guard is left out. */
  notNull?: boolean;
}

/**
 * A key of a JSONB object column, e.g. tenant custom attributes `u.custom->>'jobRole'`. With `multiValued`
 * the key holds a JSON array of scalars.
 */
export interface JsonScalar extends ScalarAttribute {
  kind: 'json';
  column: string;
  /** The JSON key exactly as stored (letters, digits, `_`, `-`, `$`). */
  key: string;
  multiValued?: boolean;
}

/** A sub-attribute of the objects in a JsonArrayOfObjects. */
export interface JsonSubAttribute extends ScalarAttribute {
  /** The JSON key as stored, when it differs from the record key (e.g. 'streetAddress'). */
  key?: string;
}

/**
 * A multi-valued complex attribute stored as a JSONB array of objects, e.g.
 * `u.emails = [{"value":"a@b.c","type":"work","primary":true}]`. `value` is the default sub-attribute
 * (RFC 7643 §2.4): `emails co "x"` means `emails.value co "x"`.
 */
export interface JsonArrayOfObjects {
  kind: 'jsonArray';
  column: string;
  /** Keys are sub-attribute names, matched case-insensitively (conventionally lower case). */
  subAttributes: Record<string, JsonSubAttribute>;
}

/**
 * A multi-valued attribute stored in another table, e.g. group members:
 * `exists: c => \`EXISTS (SELECT 1 FROM role_members m WHERE m.role_id = r.id AND m.tenant_id = r.tenant_id AND ${c})\``
 * with `subAttributes: { value: { kind: 'column', sql: 'm.user_id', type: 'uuid', caseExact: true, notNull: true } }`.
 * `exists` must return an EXISTS-like boolean expression and must not add `?` placeholders of its own.
 */
export interface Relation {
  kind: 'relation';
  exists: (innerCondition: string) => string;
  subAttributes: Record<string, ScalarColumn>;
}

export type AttrMapping = ScalarColumn | JsonScalar | JsonArrayOfObjects | Relation;

export interface FilterSchema {
  /** e.g. 'urn:ietf:params:scim:schemas:core:2.0:User'; a path qualified with it is the same as unqualified. */
  coreUrn: string;
  /**
   * Keys are canonical names, matched case-insensitively: 'username', 'name.givenname', 'meta.lastmodified',
   * 'emails', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:department',
   * 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:manager.value', …
   * A complex single-valued attribute (`name`) needs no entry of its own: its `name.*` entries make it known.
   */
  attributes: Record<string, AttrMapping>;
  /** Known extension schema URNs; needed to resolve qualified and unqualified extension attributes. */
  extensionUrns: string[];
}

export interface CompiledFilter {
  sql: string;
  params: unknown[];
}

// ---------------------------------------------------------------------------------------------- SQL fragments

interface Sql {
  sql: string;
  params: unknown[];
}

/** Constants are compared by identity, so folding never mistakes a mapping's text for them. */
const TRUE: Sql = Object.freeze({ sql: 'TRUE', params: [] }) as Sql;
const FALSE: Sql = Object.freeze({ sql: 'FALSE', params: [] }) as Sql;

function sqlAnd(parts: Sql[]): Sql {
  const kept: Sql[] = [];
  for (const p of parts) {
    if (p === FALSE) return FALSE;
    if (p !== TRUE) kept.push(p);
  }
  if (kept.length === 0) return TRUE;
  if (kept.length === 1) return kept[0];
  return { sql: `(${kept.map((p) => p.sql).join(' AND ')})`, params: kept.flatMap((p) => p.params) };
}

function sqlOr(parts: Sql[]): Sql {
  const kept: Sql[] = [];
  for (const p of parts) {
    if (p === TRUE) return TRUE;
    if (p !== FALSE) kept.push(p);
  }
  if (kept.length === 0) return FALSE;
  if (kept.length === 1) return kept[0];
  return { sql: `(${kept.map((p) => p.sql).join(' OR ')})`, params: kept.flatMap((p) => p.params) };
}

function sqlNot(part: Sql): Sql {
  if (part === TRUE) return FALSE;
  if (part === FALSE) return TRUE;
  // Every fragment is parenthesised or atomic (EXISTS, CASE … END), and NOT binds tighter than AND/OR.
  return { sql: `NOT ${part.sql}`, params: part.params };
}

const SQL_OPS: Readonly<Record<'eq' | 'gt' | 'ge' | 'lt' | 'le', string>> = {
  eq: '=',
  gt: '>',
  ge: '>=',
  lt: '<',
  le: '<=',
};
const ORDERING: ReadonlySet<CompareOp> = new Set(['gt', 'ge', 'lt', 'le']);
const SUBSTRING: ReadonlySet<CompareOp> = new Set(['co', 'sw', 'ew']);

function countPlaceholders(sql: string): number {
  let n = 0;
  for (const c of sql) if (c === '?') n++;
  return n;
}

/** Mapping SQL is trusted code, but a stray `?` would silently shift every parameter: refuse it. */
function trusted(sql: string): string {
  if (sql.includes('?')) throw new Error(`SCIM filter mapping SQL must not contain '?': ${sql}`);
  return sql;
}

const JSON_KEY_RE = /^[A-Za-z0-9_$-]+$/;
function jsonKeyLiteral(key: string): string {
  if (!JSON_KEY_RE.test(key)) throw new Error(`Unsupported JSON key in SCIM filter mapping: ${key}`);
  return `'${key}'`;
}

// ---------------------------------------------------------------------------------------------- operands

/** Where a scalar value lives: a typed column, or a JSONB value (with its text form). */
type Operand = { kind: 'column'; sql: string; notNull: boolean } | { kind: 'json'; json: string; text: string };

function columnOperand(c: ScalarColumn): Operand {
  return { kind: 'column', sql: trusted(c.sql), notNull: c.notNull === true };
}

function jsonKeyOperand(jsonObject: string, key: string): Operand {
  const k = jsonKeyLiteral(key);
  return { kind: 'json', json: `${jsonObject}->${k}`, text: `(${jsonObject}->>${k})` };
}

/** An element of a JSONB array of scalars. */
function jsonValueOperand(json: string): Operand {
  return { kind: 'json', json, text: `(${json} #>> '{}')` };
}

/** A non-empty JSONB array; two-valued (`jsonb_array_length` would raise on a non-array). */
function nonEmptyArray(json: string): Sql {
  return {
    sql: `(CASE WHEN jsonb_typeof(${json}) = 'array' THEN jsonb_array_length(${json}) > 0 ELSE FALSE END)`,
    params: [],
  };
}

/** The elements of a JSONB array, or none when the value is not an array (never raises). */
function arrayElements(json: string): string {
  return `jsonb_array_elements(CASE WHEN jsonb_typeof(${json}) = 'array' THEN ${json} ELSE '[]'::jsonb END)`;
}

// ---------------------------------------------------------------------------------------------- resolution

type Target =
  | { kind: 'scalar'; name: string; operand: Operand; def: ScalarAttribute }
  | { kind: 'jsonList'; name: string; json: string; def: ScalarAttribute }
  | { kind: 'jsonArray'; name: string; mapping: JsonArrayOfObjects; sub?: string }
  | { kind: 'relation'; name: string; mapping: Relation; sub?: string }
  | { kind: 'complex'; name: string; path: AttrPath; children: string[] };

interface NormalizedSchema {
  coreUrn: string;
  extensionUrns: string[];
  attributes: Map<string, AttrMapping>;
}

const normalized = new WeakMap<FilterSchema, NormalizedSchema>();

/** The schema with its names lowered, once per schema object (a tenant's is kept with its SCIM schemas). */
function normalize(schema: FilterSchema): NormalizedSchema {
  let n = normalized.get(schema);
  if (n) return n;
  const attributes = new Map<string, AttrMapping>();
  for (const [k, v] of Object.entries(schema.attributes)) attributes.set(k.toLowerCase(), v);
  n = {
    coreUrn: schema.coreUrn.toLowerCase(),
    extensionUrns: schema.extensionUrns.map((u) => u.toLowerCase()),
    attributes,
  };
  normalized.set(schema, n);
  return n;
}

function displayPath(path: AttrPath): string {
  return `${path.urn !== undefined ? `${path.urn}:` : ''}${path.attr}${path.subAttr !== undefined ? `.${path.subAttr}` : ''}`;
}

function findSub<T>(subs: Record<string, T>, name: string): { key: string; def: T } | undefined {
  const lower = name.toLowerCase();
  for (const [k, def] of Object.entries(subs)) {
    if (k.toLowerCase() === lower) return { key: k, def };
  }
  return undefined;
}

class Resolver {
  constructor(
    private readonly schema: NormalizedSchema,
    private readonly errorType: ScimFilterErrorType,
  ) {}

  fail(message: string): never {
    throw new ScimFilterError(message, { scimType: this.errorType });
  }

  resolve(path: AttrPath): Target {
    const name = displayPath(path);
    let prefixes: string[];
    let fallbackToExtensions = false;
    if (path.urn === undefined) {
      prefixes = [''];
      fallbackToExtensions = true;
    } else {
      const urn = path.urn.toLowerCase();
      if (urn === this.schema.coreUrn) prefixes = [''];
      else if (this.schema.extensionUrns.includes(urn)) prefixes = [`${urn}:`];
      else this.fail(`Unknown schema ${quote(path.urn)} in attribute ${quote(name)}`);
    }

    const direct = this.tryPrefix(prefixes[0], path, name);
    if (direct) return direct;
    if (fallbackToExtensions) {
      // Convenience: an unqualified name that exists in exactly one extension (`department`,
      // `employeeNumber`) resolves to it. Core attributes always win; two candidates are ambiguous.
      const found = this.schema.extensionUrns
        .map((urn) => this.tryPrefix(`${urn}:`, path, name))
        .filter((t): t is Target => t !== undefined);
      if (found.length === 1) return found[0];
      if (found.length > 1) this.fail(`Attribute ${quote(name)} is ambiguous; qualify it with its schema URN`);
    }
    return this.fail(`Unknown attribute ${quote(name)}`);
  }

  private tryPrefix(prefix: string, path: AttrPath, name: string): Target | undefined {
    const attr = prefix + path.attr.toLowerCase();
    const attrs = this.schema.attributes;
    if (path.subAttr !== undefined) {
      const full = attrs.get(`${attr}.${path.subAttr.toLowerCase()}`);
      if (full) return this.toTarget(full, name);
      const parent = attrs.get(attr);
      if (parent && (parent.kind === 'jsonArray' || parent.kind === 'relation')) {
        if (!findSub(parent.subAttributes, path.subAttr)) this.fail(`Unknown attribute ${quote(name)}`);
        return { ...this.toTarget(parent, name), sub: path.subAttr } as Target;
      }
      return undefined;
    }
    const mapping = attrs.get(attr);
    if (mapping) return this.toTarget(mapping, name);
    const children = [...attrs.keys()].filter((k) => k.startsWith(`${attr}.`));
    if (children.length > 0) return { kind: 'complex', name, path, children };
    return undefined;
  }

  private toTarget(m: AttrMapping, name: string): Target {
    switch (m.kind) {
      case 'column':
        return { kind: 'scalar', name, operand: columnOperand(m), def: m };
      case 'json': {
        const column = trusted(m.column);
        if (m.multiValued) return { kind: 'jsonList', name, json: `${column}->${jsonKeyLiteral(m.key)}`, def: m };
        return { kind: 'scalar', name, operand: jsonKeyOperand(column, m.key), def: m };
      }
      case 'jsonArray':
        return { kind: 'jsonArray', name, mapping: m };
      case 'relation':
        return { kind: 'relation', name, mapping: m };
    }
  }

  /** The scalar children of a complex single-valued attribute such as `name`. */
  child(target: Extract<Target, { kind: 'complex' }>, sub: string): Target {
    return this.resolve({ ...target.path, subAttr: sub });
  }
}

// ---------------------------------------------------------------------------------------------- compiler

/** Resolves the attribute paths of a filter: the resource's own, or an element's inside a value path. */
type LeafResolver = (path: AttrPath) => Target;

class Compiler {
  private aliases = 0;

  constructor(private readonly resolver: Resolver) {}

  fail(message: string): never {
    throw new ScimFilterError(message);
  }

  compile(node: FilterNode, resolve: LeafResolver, inValuePath: boolean): Sql {
    switch (node.kind) {
      case 'and':
        return sqlAnd(flatten(node).map((n) => this.compile(n, resolve, inValuePath)));
      case 'or':
        return sqlOr(flatten(node).map((n) => this.compile(n, resolve, inValuePath)));
      case 'not':
        return sqlNot(this.compile(node.filter, resolve, inValuePath));
      case 'present':
        return this.present(resolve(node.path));
      case 'compare':
        return this.compare(resolve(node.path), node.op, node.value);
      case 'valuePath':
        if (inValuePath) this.fail('Value filters cannot be nested');
        return this.valuePath(resolve(node.path), node.filter);
    }
  }

  // ----- pr

  private present(t: Target): Sql {
    switch (t.kind) {
      case 'scalar':
        return scalarPresent(t.operand, t.def);
      case 'jsonList':
        return nonEmptyArray(t.json);
      case 'jsonArray':
        if (t.sub === undefined) return nonEmptyArray(trusted(t.mapping.column));
        return this.inElements(t.mapping, (alias) => {
          const { operand, def } = this.elementOperand(t.mapping, alias, t.sub!);
          return scalarPresent(operand, def);
        });
      case 'relation':
        if (t.sub === undefined) return relationExists(t.mapping, TRUE);
        return relationExists(t.mapping, this.relationPresent(t.mapping, t.sub));
      case 'complex':
        // RFC 7644 §3.4.2.2: a complex attribute is present if it "contains a non-empty node".
        return sqlOr(t.children.map((k) => this.present(this.resolver.child(t, k.slice(k.lastIndexOf('.') + 1)))));
    }
  }

  private relationPresent(mapping: Relation, sub: string): Sql {
    const s = findSub(mapping.subAttributes, sub)!;
    return scalarPresent(columnOperand(s.def), s.def);
  }

  // ----- eq ne co sw ew gt ge lt le

  private compare(t: Target, op: CompareOp, value: FilterValue): Sql {
    if (t.kind === 'complex') {
      this.fail(`${quote(t.name)} is a complex attribute; compare one of its sub-attributes (e.g. ${quote(t.children[0])})`);
    }
    if ((t.kind === 'jsonArray' || t.kind === 'relation') && t.sub === undefined && ORDERING.has(op)) {
      this.fail(
        `${quote(t.name)} is a multi-valued complex attribute; ${quote(op)} needs a sub-attribute such as ${quote(`${t.name}.value`)}`,
      );
    }
    if (value === null) {
      // `eq null` = absent, `ne null` = present; nothing else is meaningful.
      if (op === 'eq') return sqlNot(this.present(t));
      if (op === 'ne') return this.present(t);
      this.fail(`Operator ${quote(op)} cannot be used with null`);
    }
    if (op === 'ne') return sqlNot(this.compare(t, 'eq', value));

    switch (t.kind) {
      case 'scalar':
        return scalarCompare(t.operand, t.def, op, value, t.name);
      case 'jsonList': {
        const def = t.def;
        return this.inArray(t.json, (a) => scalarCompare(jsonValueOperand(`${a}.v`), def, op, value, t.name));
      }
      case 'jsonArray': {
        const sub = t.sub ?? this.defaultSub(t);
        return this.jsonArrayFilter(t.mapping, { kind: 'compare', path: { attr: sub }, op, value }, t.name);
      }
      case 'relation': {
        const sub = t.sub ?? this.defaultSub(t);
        const s = findSub(t.mapping.subAttributes, sub)!;
        return relationExists(t.mapping, scalarCompare(columnOperand(s.def), s.def, op, value, t.name));
      }
    }
  }

  private defaultSub(t: Extract<Target, { kind: 'jsonArray' | 'relation' }>): string {
    // RFC 7643 §2.4: "value" is the default sub-attribute of a multi-valued attribute.
    if (!findSub(t.mapping.subAttributes, 'value')) {
      this.fail(`${quote(t.name)} is a multi-valued complex attribute; compare one of its sub-attributes`);
    }
    return 'value';
  }

  // ----- attr[filter]

  private valuePath(t: Target, filter: FilterNode): Sql {
    switch (t.kind) {
      case 'jsonArray':
        if (t.sub !== undefined) break;
        return this.jsonArrayFilter(t.mapping, filter, t.name);
      case 'relation': {
        if (t.sub !== undefined) break;
        const mapping = t.mapping;
        const inner = this.compile(
          filter,
          (p) =>
            this.elementTarget(p, t.name, (sub) => {
              const s = findSub(mapping.subAttributes, sub);
              return s && { operand: columnOperand(s.def), def: s.def };
            }),
          true,
        );
        return relationExists(mapping, inner);
      }
      case 'complex': {
        // A single-valued complex attribute: `name[givenName eq "x"]` is `name.givenName eq "x"`.
        const inner = (p: AttrPath): Target => {
          this.checkElementPath(p, t.name);
          return this.resolver.child(t, p.attr);
        };
        return this.compile(filter, inner, true);
      }
      default:
        break;
    }
    return this.fail(`${quote(t.name)} is not a multi-valued or complex attribute; a value filter cannot apply to it`);
  }

  /**
   * `emails[…]`: all conditions apply to the SAME element (RFC 7644 §3.4.2.2 valuePath). Plain equality on
   * exact/stored-lower strings becomes JSONB containment (`col @> '[{"type":"work","value":"x"}]'`), which a
   * GIN index on the column answers; everything else is an EXISTS over the elements.
   */
  private jsonArrayFilter(mapping: JsonArrayOfObjects, filter: FilterNode, name: string): Sql {
    const column = trusted(mapping.column);
    const containment = containmentPattern(mapping, filter);
    if (containment) {
      return { sql: `(${column} IS NOT NULL AND ${column} @> ?::jsonb)`, params: [JSON.stringify([containment])] };
    }
    return this.inElements(mapping, (alias) =>
      this.compile(
        filter,
        (p) =>
          this.elementTarget(p, name, (sub) => {
            const s = findSub(mapping.subAttributes, sub);
            return s && this.elementOperand(mapping, alias, s.key);
          }),
        true,
      ),
    );
  }

  private elementOperand(mapping: JsonArrayOfObjects, alias: string, sub: string): { operand: Operand; def: JsonSubAttribute } {
    const s = findSub(mapping.subAttributes, sub)!;
    return { operand: jsonKeyOperand(`${alias}.v`, s.def.key ?? s.key), def: s.def };
  }

  private checkElementPath(p: AttrPath, parent: string): void {
    if (p.urn !== undefined || p.subAttr !== undefined) {
      this.fail(`Inside ${quote(`${parent}[…]`)} attributes must be plain sub-attribute names, not ${quote(displayPath(p))}`);
    }
  }

  private elementTarget(
    p: AttrPath,
    parent: string,
    lookup: (sub: string) => { operand: Operand; def: ScalarAttribute } | undefined,
  ): Target {
    this.checkElementPath(p, parent);
    const found = lookup(p.attr);
    if (!found) this.fail(`Unknown attribute ${quote(`${parent}.${p.attr}`)}`);
    return { kind: 'scalar', name: `${parent}.${p.attr}`, operand: found.operand, def: found.def };
  }

  private inElements(mapping: JsonArrayOfObjects, condition: (alias: string) => Sql): Sql {
    return this.inArray(trusted(mapping.column), condition);
  }

  /** EXISTS (one element of the JSONB array satisfies the condition). */
  private inArray(json: string, condition: (alias: string) => Sql): Sql {
    const alias = `scim_e${++this.aliases}`;
    const cond = condition(alias);
    if (cond === FALSE) return FALSE;
    if (cond === TRUE) return nonEmptyArray(json);
    return {
      sql: `EXISTS (SELECT 1 FROM ${arrayElements(json)} AS ${alias}(v) WHERE ${cond.sql})`,
      params: cond.params,
    };
  }
}

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

function relationExists(mapping: Relation, condition: Sql): Sql {
  if (condition === FALSE) return FALSE;
  // Fragments are parenthesised or atomic (or `NOT atomic`), so they embed safely in `… AND ${c}`.
  const inner = condition === TRUE ? 'TRUE' : condition.sql;
  const sql = mapping.exists(inner);
  if (countPlaceholders(sql) !== countPlaceholders(inner)) {
    throw new Error(`SCIM filter Relation.exists must embed its condition once and add no '?': ${sql}`);
  }
  return { sql: `(${sql})`, params: condition.params };
}

/**
 * The single-element JSON pattern for `@>` when `filter` is `eq` on strings joined by `and`, each on a distinct
 * sub-attribute that is compared exactly or stored lower case. Otherwise undefined.
 */
function containmentPattern(mapping: JsonArrayOfObjects, filter: FilterNode): Record<string, string> | undefined {
  const leaves = filter.kind === 'and' ? flatten(filter) : [filter];
  const pattern: Record<string, string> = {};
  for (const leaf of leaves) {
    if (leaf.kind !== 'compare' || leaf.op !== 'eq' || typeof leaf.value !== 'string') return undefined;
    if (leaf.path.urn !== undefined || leaf.path.subAttr !== undefined) return undefined;
    const s = findSub(mapping.subAttributes, leaf.path.attr);
    if (!s || (s.def.type !== 'string' && s.def.type !== 'reference')) return undefined;
    if (!s.def.caseExact && !s.def.storedLower) return undefined;
    const key = s.def.key ?? s.key;
    if (Object.hasOwn(pattern, key)) return undefined;
    // Stored lower case by the application (JS toLowerCase), so the pattern is lowered the same way.
    pattern[key] = s.def.caseExact ? leaf.value : leaf.value.toLowerCase();
  }
  return pattern;
}

// ---------------------------------------------------------------------------------------------- scalar leaves

function operandText(o: Operand): string {
  return o.kind === 'column' ? o.sql : o.text;
}

/** `(x IS NOT NULL AND cond)`: FALSE rather than NULL when the attribute is absent. */
function guarded(o: Operand, cond: string, params: unknown[]): Sql {
  if (o.kind === 'column' && o.notNull) return { sql: `(${cond})`, params };
  return { sql: `(${operandText(o)} IS NOT NULL AND ${cond})`, params };
}

function scalarPresent(o: Operand, def: ScalarAttribute): Sql {
  if (o.kind === 'json') return { sql: `(${o.text} IS NOT NULL AND ${o.text} <> '')`, params: [] };
  const stringy = def.type === 'string' || def.type === 'reference';
  if (stringy) return guarded(o, `${o.sql} <> ''`, []);
  return o.notNull ? TRUE : { sql: `(${o.sql} IS NOT NULL)`, params: [] };
}

function invalid(message: string): never {
  throw new ScimFilterError(message);
}

/**
 * The LIKE pattern for co/sw/ew with `%`, `_` and `\` escaped. No `ESCAPE` clause is written: backslash is
 * PostgreSQL's default LIKE escape, and leaving it out keeps a `\` out of the SQL text (MikroORM reads `\?` as
 * an escaped placeholder).
 */
function likePattern(op: CompareOp, value: string): string {
  const escaped = escapeLike(value);
  return op === 'co' ? `%${escaped}%` : op === 'sw' ? `${escaped}%` : `%${escaped}`;
}

/**
 * One comparison on one scalar. `op` is never `ne` (compiled as NOT eq) and `value` never null.
 * RFC 7644 §3.4.2.2: co/sw/ew are string operators; gt/ge/lt/le compare lexicographically for strings,
 * chronologically for dateTime, numerically for numbers, and "Boolean and Binary attributes SHALL cause a
 * failed response … invalidFilter".
 */
function scalarCompare(o: Operand, def: ScalarAttribute, op: CompareOp, value: string | number | boolean, name: string): Sql {
  const text = operandText(o);
  const sqlOp = SQL_OPS[op as keyof typeof SQL_OPS];

  switch (def.type) {
    case 'string':
    case 'reference': {
      if (typeof value !== 'string') invalid(`${quote(name)} is a string attribute; compare it with a quoted string`);
      const ci = !def.caseExact;
      const lhs = ci && !def.storedLower ? `lower(${text})` : text;
      const rhs = ci ? 'lower(?)' : '?';
      if (SUBSTRING.has(op)) return guarded(o, `${lhs} LIKE ${rhs}`, [likePattern(op, value)]);
      return guarded(o, `${lhs} ${sqlOp} ${rhs}`, [value]);
    }

    case 'uuid': {
      if (typeof value !== 'string') invalid(`${quote(name)} is an id; compare it with a quoted string`);
      const lower = value.toLowerCase();
      // PostgreSQL prints uuids in lower case, so text comparisons use the lowered value.
      const asText = o.kind === 'column' ? `${o.sql}::text` : `lower(${o.text})`;
      if (op === 'eq') {
        // Not a uuid: cannot equal any stored id. Decided here so `::uuid` can never raise.
        if (!isUuid(value)) return FALSE;
        return o.kind === 'column' ? guarded(o, `${o.sql} = ?::uuid`, [lower]) : guarded(o, `${asText} = ?`, [lower]);
      }
      if (SUBSTRING.has(op)) return guarded(o, `${asText} LIKE ?`, [likePattern(op, lower)]);
      // Byte order of canonical uuid text equals uuid order; "C" keeps the collation from reordering '-'.
      return guarded(o, `${asText} COLLATE "C" ${sqlOp} ?`, [lower]);
    }

    case 'boolean': {
      if (op !== 'eq') invalid(`Operator ${quote(op)} cannot be used with the boolean attribute ${quote(name)}`);
      const b = toBoolean(value); // JSON true/false, or Entra's "True"/"False"
      if (b === undefined) invalid(`${quote(name)} is a boolean attribute; compare it with true or false`);
      if (o.kind === 'column') return guarded(o, `${o.sql} = ?`, [b]);
      // JSON may hold a real boolean or a "True"/"False" string sent by Entra: compare the lowered text.
      return guarded(o, `lower(${o.text}) = ?`, [String(b)]);
    }

    case 'decimal':
    case 'integer': {
      if (typeof value !== 'number') invalid(`${quote(name)} is a number attribute; compare it with a number`);
      if (SUBSTRING.has(op)) invalid(`Operator ${quote(op)} cannot be used with the number attribute ${quote(name)}`);
      if (o.kind === 'column') {
        // bigint keeps an index on an integer column usable; numeric handles fractions and huge values.
        const cast = def.type === 'integer' && Number.isSafeInteger(value) ? 'bigint' : 'numeric';
        return guarded(o, `${o.sql} ${sqlOp} ?::${cast}`, [value]);
      }
      return {
        sql: `(CASE WHEN jsonb_typeof(${o.json}) = 'number' THEN (${o.json})::numeric ${sqlOp} ?::numeric ELSE FALSE END)`,
        params: [value],
      };
    }

    case 'dateTime': {
      if (typeof value !== 'string') invalid(`${quote(name)} is a dateTime attribute; compare it with a quoted date`);
      if (SUBSTRING.has(op)) invalid(`Operator ${quote(op)} cannot be used with the dateTime attribute ${quote(name)}`);
      const dt = parseDateTime(value);
      if (!dt) invalid(`${quote(value)} is not a valid dateTime (expected e.g. 2011-05-13T04:42:34Z) for ${quote(name)}`);
      if (o.kind === 'column') return guarded(o, `${o.sql} ${sqlOp} ?::timestamptz`, [dt.iso]);
      // Stored JSON text is cast only when PostgreSQL (16+) confirms it parses.
      return {
        sql: `(CASE WHEN jsonb_typeof(${o.json}) = 'string' AND pg_input_is_valid(${o.text}, 'timestamptz') THEN ${o.text}::timestamptz ${sqlOp} ?::timestamptz ELSE FALSE END)`,
        params: [dt.iso],
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------- public API

/**
 * Compiles a filter AST to a two-valued SQL boolean expression with `?` placeholders. Unknown attributes and
 * unsupported operator/value combinations throw ScimFilterError (`invalidFilter`).
 */
export function compileFilter(node: FilterNode, schema: FilterSchema): CompiledFilter {
  const resolver = new Resolver(normalize(schema), 'invalidFilter');
  const compiler = new Compiler(resolver);
  const result = compiler.compile(node, (p) => resolver.resolve(p), false);
  if (countPlaceholders(result.sql) !== result.params.length) {
    throw new Error(`SCIM filter compiler produced ${countPlaceholders(result.sql)} placeholders for ${result.params.length} params`);
  }
  return { sql: result.sql, params: [...result.params] };
}

/**
 * The SQL expression to ORDER BY for `sortBy` (RFC 7644 §3.4.2.3). Case-insensitive strings sort by `lower()`;
 * a multi-valued attribute sorts by its primary element's value, else the first element's. Rows without a
 * value give NULL, which PostgreSQL puts last for ASC and first for DESC — exactly what §3.4.2.3 asks for, so
 * append only `ASC`/`DESC` (plus a unique tie-breaker such as the id, for stable pages).
 *
 * An unknown or unsortable attribute throws ScimFilterError with scimType `invalidValue` (see errors.ts).
 */
export function compileSortBy(sortBy: string, schema: FilterSchema): string {
  const resolver = new Resolver(normalize(schema), 'invalidValue');
  const t = resolver.resolve(parseAttrPath(sortBy, 'invalidValue'));
  switch (t.kind) {
    case 'scalar':
      return sortExpression(t.operand, t.def);
    case 'jsonList':
      return sortExpression(jsonValueOperand(`(CASE WHEN jsonb_typeof(${t.json}) = 'array' THEN ${t.json}->0 END)`), t.def);
    case 'jsonArray': {
      const column = trusted(t.mapping.column);
      const s = findSub(t.mapping.subAttributes, t.sub ?? 'value');
      if (!s) return resolver.fail(`Cannot sort by ${quote(t.name)}; name a sub-attribute such as ${quote(`${t.name}.value`)}`);
      const expr = sortExpression(jsonKeyOperand('scim_s.v', s.def.key ?? s.key), s.def);
      // RFC 7643 §2.4 `primary`; Entra may store it as the string "True".
      return (
        `(SELECT ${expr} FROM ${arrayElements(column)} WITH ORDINALITY AS scim_s(v, n) ` +
        `ORDER BY CASE WHEN lower(scim_s.v->>'primary') = 'true' THEN 0 ELSE 1 END, scim_s.n LIMIT 1)`
      );
    }
    case 'relation':
      return resolver.fail(`Cannot sort by ${quote(t.name)}`);
    case 'complex':
      return resolver.fail(`Cannot sort by the complex attribute ${quote(t.name)}; name a sub-attribute such as ${quote(t.children[0])}`);
  }
}

function sortExpression(o: Operand, def: ScalarAttribute): string {
  const stringy = def.type === 'string' || def.type === 'reference';
  if (o.kind === 'column') return stringy && !def.caseExact && !def.storedLower ? `lower(${o.sql})` : o.sql;
  switch (def.type) {
    case 'decimal':
    case 'integer':
      return `(CASE WHEN jsonb_typeof(${o.json}) = 'number' THEN (${o.json})::numeric END)`;
    case 'dateTime':
      return `(CASE WHEN jsonb_typeof(${o.json}) = 'string' AND pg_input_is_valid(${o.text}, 'timestamptz') THEN ${o.text}::timestamptz END)`;
    case 'boolean':
      return `(CASE WHEN lower(${o.text}) IN ('true', 'false') THEN lower(${o.text}) = 'true' END)`;
    case 'uuid':
      return `lower(${o.text})`;
    default:
      return !def.caseExact && !def.storedLower ? `lower(${o.text})` : o.text;
  }
}
