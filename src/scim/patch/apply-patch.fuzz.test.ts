/**
 * Property-based fuzzing of the SCIM PATCH engine (hostile input, issue 6): for any body,
 * parsePatchRequest either returns operations or throws ScimPatchError; applyPatch and extractMemberOps
 * on whatever it accepts throw only ScimPatchError, in bounded time, and never mutate their input (the
 * resource and the body are deep-frozen, and compared with copies taken before). `npm test` runs a
 * bounded number of cases; `npm run fuzz` sets FUZZ_RUNS much higher.
 */
import fc from 'fast-check';
import {
  CORE_GROUP_SCHEMA,
  CORE_USER_SCHEMA,
  ENTERPRISE_USER_SCHEMA,
  customUserExtension,
  type ScimSchemaDef,
} from '../schemas/definitions.js';
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER, PATCH_OP } from '../schemas/urns.js';
import { applyPatch, extractMemberOps } from './apply-patch.js';
import { ScimPatchError } from './errors.js';
import { parsePatchRequest } from './patch-op.schema.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const MAX_MS_PER_CASE = 250;

type Json = Record<string, unknown>;
const ACME = 'urn:roster:params:scim:schemas:extension:acme:2.0:User';
const USER_CTX = {
  schemas: [
    CORE_USER_SCHEMA,
    ENTERPRISE_USER_SCHEMA,
    customUserExtension('acme', [
      { name: 'level', type: 'integer', multiValued: false },
      { name: 'skills', type: 'string', multiValued: true },
      { name: 'champion', type: 'boolean', multiValued: false },
    ]),
  ] as ScimSchemaDef[],
};
const GROUP_CTX = { schemas: [CORE_GROUP_SCHEMA] };

const USER: Json = {
  schemas: [CORE_USER, ENTERPRISE_USER, ACME],
  id: 'u1',
  externalId: 'ext-1',
  userName: 'ada@acme.test',
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  displayName: 'Ada',
  active: true,
  emails: [
    { value: 'ada@acme.test', type: 'work', primary: true },
    { value: 'ada@home.test', type: 'home' },
  ],
  phoneNumbers: [{ value: '+1 555', type: 'work' }],
  roles: [{ value: 'Admin' }],
  groups: [{ value: 'g1', display: 'Admins' }],
  meta: { resourceType: 'User', created: '2024-01-01T00:00:00Z', lastModified: '2024-01-01T00:00:00Z' },
  [ENTERPRISE_USER]: { department: 'Sales', manager: { value: 'm1' } },
  [ACME]: { level: 3, skills: ['x'] },
};
const GROUP: Json = {
  schemas: [CORE_GROUP],
  id: 'g1',
  displayName: 'Admins',
  members: [{ value: 'u1' }, { value: 'u2' }],
  meta: { resourceType: 'Group' },
};

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
deepFreeze(USER);
deepFreeze(GROUP);
const USER_COPY = structuredClone(USER);
const GROUP_COPY = structuredClone(GROUP);

const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(
    "'; drop table users; --",
    '") or 1=1 --',
    '__proto__',
    'constructor',
    'prototype',
    '\u0000',
    '\u202e',
    '\ud800',
    '[',
    ']',
    '"',
    '.',
  ),
);
const PATHS = [
  'userName',
  'active',
  'displayName',
  'name',
  'name.givenName',
  'name.formatted',
  'emails',
  'emails.value',
  'emails[type eq "work"]',
  'emails[type eq "work"].value',
  'emails[primary eq true].value',
  'emails[value co "@"]',
  'phoneNumbers[type eq "work"].value',
  'addresses[type eq "work"].locality',
  'roles',
  'groups',
  'members',
  'members[value eq "u1"]',
  'members[value eq "u1"].display',
  'externalId',
  'id',
  'meta',
  'meta.created',
  'schemas',
  '__proto__',
  '__proto__.polluted',
  'constructor.prototype',
  'emails[',
  'emails[type eq]',
  'emails[type eq "work"]]',
  `${ENTERPRISE_USER}:manager`,
  `${ENTERPRISE_USER}:manager.value`,
  ENTERPRISE_USER,
  `${ENTERPRISE_USER}:department`,
  `${ACME}:level`,
  `${ACME}:skills`,
  `${ACME}:nosuch`,
  ACME,
  'urn:x:y',
  'nosuch',
  'name.nosuch.deeper',
];
const path = fc.oneof(
  fc.constantFrom(...PATHS),
  hostile,
  fc.tuple(fc.constantFrom(...PATHS), hostile).map(([p, h]) => p + h),
);
const scalar = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constant(null),
  fc.constantFrom('True', 'False', ''),
  hostile,
);
const shapedValue = fc.oneof(
  scalar,
  fc.array(
    fc.record(
      { value: scalar, type: fc.option(scalar), primary: fc.option(fc.boolean()), display: fc.option(scalar) },
      { requiredKeys: [] },
    ),
    { maxLength: 3 },
  ),
  fc.dictionary(fc.oneof(fc.constantFrom(...PATHS), hostile), scalar, { maxKeys: 4 }),
  fc.jsonValue({ maxDepth: 3 }),
);
const operation = fc.record(
  {
    op: fc.oneof(
      fc.constantFrom('add', 'Add', 'replace', 'Replace', 'remove', 'REMOVE', 'copy', 'test', ''),
      fc.constantFrom(1, null, true),
    ),
    path,
    value: shapedValue,
  },
  { requiredKeys: [] },
);
/** Mostly valid requests, so that the property is exercised on operations that apply, not only on refusals. */
const plausibleBody = fc.record({
  schemas: fc.constant([PATCH_OP]),
  Operations: fc.array(
    fc.record({
      op: fc.constantFrom('add', 'Replace', 'replace'),
      path: fc.constantFrom(
        'displayName',
        'title',
        'name.givenName',
        'nickName',
        'active',
        `${ENTERPRISE_USER}:department`,
        `${ACME}:level`,
      ),
      value: fc.oneof(fc.string({ minLength: 1, maxLength: 10 }), fc.boolean(), fc.integer()),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});
const patchBody = fc.oneof(
  plausibleBody,
  fc.record(
    { schemas: fc.constantFrom([PATCH_OP], [], ['urn:x'], PATCH_OP), Operations: fc.array(operation, { maxLength: 5 }) },
    { requiredKeys: [] },
  ),
  fc.record({ schemas: fc.constant([PATCH_OP]), Operations: fc.array(operation, { minLength: 1, maxLength: 5 }) }),
  fc.jsonValue({ maxDepth: 4 }),
  fc.anything({ maxDepth: 3 }),
);

function onlyPatchErrorsOnce<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof ScimPatchError))
      throw new Error(`expected ScimPatchError, got ${(err as Error)?.name}: ${(err as Error)?.message}`);
    expect(['invalidPath', 'noTarget', 'invalidValue', 'mutability', 'invalidSyntax']).toContain(err.scimType);
    return undefined;
  }
}

/**
 * fn throws only ScimPatchError, in bounded time. A slow run is repeated (fn is pure) and only the
 * fastest of three counts: a GC pause or a busy machine does not fail the test, a real blow-up does.
 */
function onlyPatchErrors<T>(fn: () => T): T | undefined {
  let best = Infinity;
  let out: T | undefined;
  for (let attempt = 0; attempt < 3 && best > MAX_MS_PER_CASE; attempt++) {
    const started = performance.now();
    out = onlyPatchErrorsOnce(fn);
    best = Math.min(best, performance.now() - started);
  }
  if (best > MAX_MS_PER_CASE) throw new Error(`took ${best.toFixed(1)} ms at best of three (limit ${MAX_MS_PER_CASE} ms)`);
  return out;
}

describe('SCIM PATCH engine under fuzzing', () => {
  it('parsePatchRequest + applyPatch (users and groups) + extractMemberOps throw only ScimPatchError and never mutate their input', () => {
    let applied = 0;
    fc.assert(
      fc.property(patchBody, (raw) => {
        const body = deepFreeze(raw);
        const bodyCopy = structuredClone(body);
        const ops = onlyPatchErrors(() => parsePatchRequest(body));
        expect(body).toEqual(bodyCopy);
        if (!ops) return;
        deepFreeze(ops);
        const user = onlyPatchErrors(() => applyPatch(USER, ops, USER_CTX));
        if (user) applied++;
        onlyPatchErrors(() => applyPatch(GROUP, ops, GROUP_CTX));
        const members = onlyPatchErrors(() => extractMemberOps(ops));
        if (members && members.otherOps.length)
          onlyPatchErrors(() => applyPatch({ ...GROUP, members: undefined }, members.otherOps, GROUP_CTX));
        expect(USER).toEqual(USER_COPY);
        expect(GROUP).toEqual(GROUP_COPY);
        expect(body).toEqual(bodyCopy);
        // Nothing leaked onto shared prototypes (`__proto__` paths and keys).
        expect(({} as Json).polluted).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
    // Not vacuous: some generated requests are valid and apply.
    expect(applied).toBeGreaterThan(0);
  });
});
