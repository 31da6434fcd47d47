/**
 * Property-based fuzzing of the SCIM filter parser and its SQL compiler (hostile input, issue 6):
 * whatever the text, parseFilter either returns an AST or throws ScimFilterError — never another error,
 * never a hang (each case is timed), never a stack overflow; compileFilter/compileSortBy on anything the
 * parser accepts throw only ScimFilterError, and request values never reach the SQL text (they travel as
 * parameters). `npm test` runs a bounded number of cases; `npm run fuzz` sets FUZZ_RUNS much higher.
 */
import fc from 'fast-check';
import type { CustomAttribute } from '../../modules/custom-attributes/custom-attribute.entity.js';
import { groupFilterSchema, userFilterSchema } from '../filter-schemas.js';
import { ScimFilterError } from './errors.js';
import { DEFAULT_MAX_FILTER_LENGTH, parseFilter } from './parse-filter.js';
import { compileFilter, compileSortBy } from './to-sql.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
/** Generous: a parse of at most a few thousand characters takes well under a millisecond. */
const MAX_MS_PER_CASE = 250;

const CUSTOM_URN = 'urn:roster:params:scim:schemas:extension:acme:2.0:User';
const DECLS = [
  { name: 'level', type: 'integer', multiValued: false },
  { name: 'skills', type: 'string', multiValued: true },
  { name: 'startDate', type: 'dateTime', multiValued: false },
  { name: 'champion', type: 'boolean', multiValued: false },
] as unknown as CustomAttribute[];
const USER_SCHEMA = userFilterSchema(CUSTOM_URN, DECLS);

/** A marker that generated string values start with: it must never show up in compiled SQL. */
const MARK = 'ZQXMARK';

const ATTRS = [
  'userName',
  'USERNAME',
  'externalId',
  'id',
  'displayName',
  'name.givenName',
  'name.familyName',
  'title',
  'active',
  'emails',
  'emails.value',
  'emails.type',
  'emails.primary',
  'phoneNumbers.value',
  'addresses.locality',
  'groups',
  'groups.value',
  'roles.value',
  'meta.lastModified',
  'meta.created',
  'urn:ietf:params:scim:schemas:core:2.0:User:userName',
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber',
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value',
  `${CUSTOM_URN}:level`,
  `${CUSTOM_URN}:skills`,
  `${CUSTOM_URN}:startDate`,
  'members',
  'members.value',
  'nosuch',
  'x-y_z$',
  "user'Name",
  'a;drop',
  '$ref',
];
const OPS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'EQ', 'Eq'];

const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    "'; drop table users; --",
    '") or 1=1 --',
    "' OR '1'='1",
    '\u0000',
    '\u202e',
    '\ud800',
    'ＡＤＭＩＮ',
    'é',
    '%27',
    '\\"',
    '$1',
    '?',
    '::text',
  ),
);
const stringValue = hostileText.map((s) => JSON.stringify(MARK + s));
const compValue = fc.oneof(
  stringValue,
  fc.constantFrom('true', 'false', 'null', '0', '-1', '1.5', '1e3', '1e999', '-0', '"2026-01-01T00:00:00Z"', 'bareword', 'NaN'),
  fc.integer().map(String),
);
const attr = fc.constantFrom(...ATTRS);
const attrExp = fc.oneof(
  fc.tuple(attr, fc.constantFrom(...OPS), compValue).map(([a, o, v]) => `${a} ${o} ${v}`),
  attr.map((a) => `${a} pr`),
);

/** Grammar-shaped filters (valid or nearly so), nested a few levels. */
const { filter: grammarFilter } = fc.letrec<{ filter: string }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    attrExp,
    fc.tuple(tie('filter'), fc.constantFrom('and', 'or', 'AND', 'Or'), tie('filter')).map(([a, op, b]) => `${a} ${op} ${b}`),
    tie('filter').map((f) => `(${f})`),
    tie('filter').map((f) => `not (${f})`),
    fc.tuple(fc.constantFrom('emails', 'addresses', 'members', 'groups', 'phoneNumbers'), attrExp).map(([a, f]) => `${a}[${f}]`),
  ),
}));

/** Token soup: the parser's own vocabulary in random order. */
const soup = fc
  .array(
    fc.constantFrom(
      '(',
      ')',
      '[',
      ']',
      '"',
      ' ',
      '\t',
      'and',
      'or',
      'not',
      'pr',
      'eq',
      'co',
      'userName',
      'emails',
      '.',
      'value',
      ':',
      'urn:',
      'true',
      'null',
      '1e9999',
      '"x"',
      '\\',
      '\\u',
      '\\u00zz',
      '"\\',
      '-',
      '$ref',
      "'",
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(''));

/** A valid filter with random edits: insertions, deletions, replacements. */
const mutated = fc
  .tuple(grammarFilter, fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.string({ unit: 'binary', maxLength: 3 })), { maxLength: 6 }))
  .map(([f, edits]) => {
    let s = f;
    for (const [at, del, ins] of edits) {
      const i = s.length === 0 ? 0 : at % (s.length + 1);
      s = s.slice(0, i) + ins + s.slice(i + del);
    }
    return s;
  });

const anyFilter = fc.oneof(grammarFilter, mutated, soup, fc.string({ unit: 'binary', maxLength: 200 }));

function onlyFilterErrors(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof ScimFilterError))
      throw new Error(`expected ScimFilterError, got ${(err as Error)?.name}: ${(err as Error)?.message}`);
    expect(err.status).toBe(400);
    expect(['invalidFilter', 'invalidValue']).toContain(err.scimType);
    return undefined;
  }
}

/**
 * Runs fn and bounds its time. A slow run is repeated (fn is pure) and only the fastest of three counts,
 * so a GC pause or a busy machine does not fail the test, while a real blow-up (slow every time) does.
 */
function timed<T>(fn: () => T): T {
  let best = Infinity;
  let out!: T;
  for (let attempt = 0; attempt < 3 && best > MAX_MS_PER_CASE; attempt++) {
    const started = performance.now();
    out = fn();
    best = Math.min(best, performance.now() - started);
  }
  if (best > MAX_MS_PER_CASE) throw new Error(`took ${best.toFixed(1)} ms at best of three (limit ${MAX_MS_PER_CASE} ms)`);
  return out;
}

describe('SCIM filter parser under fuzzing', () => {
  it('throws nothing but ScimFilterError, in bounded time, whatever the text', () => {
    fc.assert(
      fc.property(anyFilter, (text) => {
        timed(() => onlyFilterErrors(() => parseFilter(text)));
      }),
      { numRuns: RUNS },
    );
  });

  it('parses every grammar-shaped filter or refuses it with ScimFilterError; compiling it to SQL too, and values stay out of the SQL text', () => {
    let compiledCount = 0;
    fc.assert(
      fc.property(grammarFilter, (text) => {
        const ast = timed(() => onlyFilterErrors(() => parseFilter(text)));
        if (!ast) return;
        for (const schema of [USER_SCHEMA, groupFilterSchema]) {
          const compiled = timed(() => onlyFilterErrors(() => compileFilter(ast as ReturnType<typeof parseFilter>, schema))) as
            { sql: string; params: unknown[] } | undefined;
          if (!compiled) continue;
          compiledCount++;
          expect(compiled.sql).not.toContain(MARK);
          expect(compiled.sql.split('?').length - 1).toBe(compiled.params.length);
        }
      }),
      { numRuns: RUNS },
    );
    // The property is not vacuous: a good share of the generated filters is valid and compiles.
    expect(compiledCount).toBeGreaterThan(RUNS / 20);
  });

  it('sortBy: any text compiles to a known expression or fails with ScimFilterError (invalidValue), never with request text in the SQL', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          attr,
          hostileText.map((s) => MARK + s),
          fc.tuple(attr, hostileText).map(([a, s]) => a + s),
        ),
        (sortBy) => {
          for (const schema of [USER_SCHEMA, groupFilterSchema]) {
            const sql = timed(() => onlyFilterErrors(() => compileSortBy(sortBy, schema))) as string | undefined;
            if (sql !== undefined) {
              expect(sql).not.toContain(MARK);
              expect(sql).not.toContain('?');
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('pathological inputs are refused quickly: deep nesting, huge length, long runs of one token', () => {
    const cases = [
      '('.repeat(100_000),
      `${'not ('.repeat(5_000)}userName pr${')'.repeat(5_000)}`,
      `${'emails['.repeat(3_000)}value pr`,
      'x'.repeat(DEFAULT_MAX_FILTER_LENGTH + 1),
      `userName eq "${'\\u0041'.repeat(800)}"`,
      Array.from({ length: 600 }, () => 'userName pr').join(' or '),
      `userName eq "${'\\'.repeat(DEFAULT_MAX_FILTER_LENGTH - 20)}`,
      `"${'a'.repeat(DEFAULT_MAX_FILTER_LENGTH - 2)}"`,
    ];
    for (const text of cases) timed(() => onlyFilterErrors(() => parseFilter(text)));
  });
});
