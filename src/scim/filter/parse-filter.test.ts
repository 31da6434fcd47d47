import type { AttrPath, CompareOp, FilterNode, FilterValue } from './ast.js';
import { parseAttrPath, parseFilter, ScimFilterError } from './parse-filter.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

// ---- AST builders
const path = (attr: string, subAttr?: string, urn?: string): AttrPath => ({
  attr,
  ...(urn !== undefined ? { urn } : {}),
  ...(subAttr !== undefined ? { subAttr } : {}),
});
const cmp = (p: AttrPath | string, op: CompareOp, value: FilterValue): FilterNode => ({
  kind: 'compare',
  path: typeof p === 'string' ? dotted(p) : p,
  op,
  value,
});
const pr = (p: AttrPath | string): FilterNode => ({ kind: 'present', path: typeof p === 'string' ? dotted(p) : p });
const and = (left: FilterNode, right: FilterNode): FilterNode => ({ kind: 'and', left, right });
const or = (left: FilterNode, right: FilterNode): FilterNode => ({ kind: 'or', left, right });
const not = (filter: FilterNode): FilterNode => ({ kind: 'not', filter });
const vp = (p: string, filter: FilterNode): FilterNode => ({ kind: 'valuePath', path: dotted(p), filter });
function dotted(p: string): AttrPath {
  const [attr, sub] = p.split('.');
  return path(attr, sub);
}

describe('parseFilter: RFC 7644 §3.4.2.2 examples', () => {
  const table: [string, FilterNode][] = [
    ['userName eq "bjensen"', cmp('userName', 'eq', 'bjensen')],
    [`name.familyName co "O'Malley"`, cmp('name.familyName', 'co', "O'Malley")],
    ['userName sw "J"', cmp('userName', 'sw', 'J')],
    [`${CORE}:userName sw "J"`, cmp(path('userName', undefined, CORE), 'sw', 'J')],
    ['title pr', pr('title')],
    ['meta.lastModified gt "2011-05-13T04:42:34Z"', cmp('meta.lastModified', 'gt', '2011-05-13T04:42:34Z')],
    ['meta.lastModified ge "2011-05-13T04:42:34Z"', cmp('meta.lastModified', 'ge', '2011-05-13T04:42:34Z')],
    ['meta.lastModified lt "2011-05-13T04:42:34Z"', cmp('meta.lastModified', 'lt', '2011-05-13T04:42:34Z')],
    ['meta.lastModified le "2011-05-13T04:42:34Z"', cmp('meta.lastModified', 'le', '2011-05-13T04:42:34Z')],
    ['title pr and userType eq "Employee"', and(pr('title'), cmp('userType', 'eq', 'Employee'))],
    ['title pr or userType eq "Intern"', or(pr('title'), cmp('userType', 'eq', 'Intern'))],
    [`schemas eq "${ENTERPRISE}"`, cmp('schemas', 'eq', ENTERPRISE)],
    [
      'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
      and(cmp('userType', 'eq', 'Employee'), or(cmp('emails', 'co', 'example.com'), cmp('emails.value', 'co', 'example.org'))),
    ],
    [
      'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
      and(cmp('userType', 'ne', 'Employee'), not(or(cmp('emails', 'co', 'example.com'), cmp('emails.value', 'co', 'example.org')))),
    ],
    ['userType eq "Employee" and (emails.type eq "work")', and(cmp('userType', 'eq', 'Employee'), cmp('emails.type', 'eq', 'work'))],
    [
      'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
      and(cmp('userType', 'eq', 'Employee'), vp('emails', and(cmp('type', 'eq', 'work'), cmp('value', 'co', '@example.com')))),
    ],
    [
      'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
      or(
        vp('emails', and(cmp('type', 'eq', 'work'), cmp('value', 'co', '@example.com'))),
        vp('ims', and(cmp('type', 'eq', 'xmpp'), cmp('value', 'co', '@foo.com'))),
      ),
    ],
    // §3.4.2.2: attribute names and operators are case-insensitive.
    ['userName Eq "john"', cmp('userName', 'eq', 'john')],
    ['Username eq "john"', cmp('Username', 'eq', 'john')],
    // §3.4.3 (POST .search) and §3.5.2 (PATCH value path filter).
    ['displayName sw "smith"', cmp('displayName', 'sw', 'smith')],
    ['members[value eq "2819c223-7f76-453a-919d-413861904646"]', vp('members', cmp('value', 'eq', '2819c223-7f76-453a-919d-413861904646'))],
    ['emails[type eq "work" and value ew "example.com"]', vp('emails', and(cmp('type', 'eq', 'work'), cmp('value', 'ew', 'example.com')))],
  ];
  it.each(table)('%s', (input, expected) => {
    expect(parseFilter(input)).toEqual(expected);
  });
});

describe('parseFilter: what Okta and Entra send (idp-behaviour.md)', () => {
  const table: [string, FilterNode][] = [
    ['userName eq "test.user@okta.local"', cmp('userName', 'eq', 'test.user@okta.local')],
    ['userName eq "TEST.USER@OKTA.LOCAL"', cmp('userName', 'eq', 'TEST.USER@OKTA.LOCAL')],
    ['displayName eq "Test SCIMv2"', cmp('displayName', 'eq', 'Test SCIMv2')],
    ['externalId eq jyoung', cmp('externalId', 'eq', 'jyoung')], // unquoted, as in Microsoft's tutorial
    ['externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"', cmp('externalId', 'eq', '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef')],
    ['emails[type eq "work"].value eq "x"', vp('emails', and(cmp('type', 'eq', 'work'), cmp('value', 'eq', 'x')))],
    ['userName eq "a" and externalId eq "b"', and(cmp('userName', 'eq', 'a'), cmp('externalId', 'eq', 'b'))],
    [`${ENTERPRISE}:manager.value eq "123"`, cmp(path('manager', 'value', ENTERPRISE), 'eq', '123')],
    [`${ENTERPRISE}:employeeNumber eq "701984"`, cmp(path('employeeNumber', undefined, ENTERPRISE), 'eq', '701984')],
    [
      'urn:roster:params:scim:schemas:extension:acme:2.0:User:jobRole eq "dev"',
      cmp(path('jobRole', undefined, 'urn:roster:params:scim:schemas:extension:acme:2.0:User'), 'eq', 'dev'),
    ],
  ];
  it.each(table)('%s', (input, expected) => {
    expect(parseFilter(input)).toEqual(expected);
  });
});

describe('parseFilter: precedence and grouping', () => {
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => pr(x));
  const table: [string, FilterNode][] = [
    ['a pr or b pr and c pr', or(a, and(b, c))],
    ['a pr and b pr or c pr', or(and(a, b), c)],
    ['a pr and b pr and c pr', and(and(a, b), c)],
    ['a pr or b pr or c pr', or(or(a, b), c)],
    ['(a pr or b pr) and c pr', and(or(a, b), c)],
    ['not (a pr) and b pr', and(not(a), b)],
    ['not (a pr and b pr) or c pr and d pr', or(not(and(a, b)), and(c, d))],
    ['not (not (a pr))', not(not(a))],
    ['((((a pr))))', a],
    ['NOT (a PR) AND b Pr OR c pR', or(and(not(a), b), c)],
    // Lenient: `not` before an attribute expression without parentheses, binding tighter than and.
    ['not a pr and b pr', and(not(a), b)],
    ['not not a pr', not(not(a))],
  ];
  it.each(table)('%s', (input, expected) => {
    expect(parseFilter(input)).toEqual(expected);
  });

  it('treats keywords as attribute names where an attribute is expected', () => {
    expect(parseFilter('not pr')).toEqual(pr('not'));
    expect(parseFilter('not eq "x"')).toEqual(cmp('not', 'eq', 'x'));
    expect(parseFilter('and pr or or pr')).toEqual(or(pr('and'), pr('or')));
    expect(parseFilter('pr pr')).toEqual(pr('pr'));
  });
});

describe('parseFilter: values', () => {
  const table: [string, FilterValue][] = [
    ['"plain"', 'plain'],
    ['""', ''],
    ['"say \\"hi\\""', 'say "hi"'],
    ['"back\\\\slash"', 'back\\slash'],
    ['"caf\\u00e9"', 'café'],
    ['"caf\\u00E9"', 'café'],
    ['"\\ud83d\\ude00"', '😀'],
    ['"a\\/b\\n\\t\\r\\b\\f"', 'a/b\n\t\r\b\f'],
    ['"unicode é 😀 as is"', 'unicode é 😀 as is'],
    ['"has ) and ] and ( inside"', 'has ) and ] and ( inside'],
    ['"and"', 'and'],
    ['42', 42],
    ['-1.5e3', -1500],
    ['0', 0],
    ['0.25', 0.25],
    ['true', true],
    ['false', false],
    ['null', null],
    ['True', true],
    ['FALSE', false],
    ['Null', null],
    // Bare words (lenient): anything that is not a keyword, JSON number or literal is a string.
    ['jyoung', 'jyoung'],
    ['test.user@okta.local', 'test.user@okta.local'],
    ['007', '007'], // not a JSON number (leading zero), so kept as text
    ['12abc', '12abc'],
  ];
  it.each(table)('x eq %s', (literal, expected) => {
    expect(parseFilter(`x eq ${literal}`)).toEqual(cmp('x', 'eq', expected));
  });

  it('accepts any whitespace and none around brackets and parentheses', () => {
    const expected = and(vp('emails', cmp('type', 'eq', 'work')), pr('title'));
    expect(parseFilter('emails[ type  eq\t"work" ]\nand title pr')).toEqual(expected);
    expect(parseFilter('emails[type eq"work"] and(title pr)')).toEqual(expected);
    expect(parseFilter('  title pr  ')).toEqual(pr('title'));
  });

  it('accepts $ref and names with - and _', () => {
    expect(parseFilter('members[$ref pr]')).toEqual(vp('members', pr('$ref')));
    expect(parseFilter('x-y_z1 pr')).toEqual(pr('x-y_z1'));
  });

  it('desugars attr[filter].sub op value for every operator, including pr', () => {
    expect(parseFilter('emails[type eq "work"].value pr')).toEqual(vp('emails', and(cmp('type', 'eq', 'work'), pr('value'))));
    expect(parseFilter('emails[type eq "work" or primary eq true].value co "@x"')).toEqual(
      vp('emails', and(or(cmp('type', 'eq', 'work'), cmp('primary', 'eq', true)), cmp('value', 'co', '@x'))),
    );
  });
});

describe('parseFilter: errors', () => {
  const table: [string, string, RegExp, number | undefined][] = [
    ['unbalanced (', '(userName eq "x"', /Expected '\)' to close '\(' opened at position 0/, 16],
    ['unbalanced )', 'userName eq "x")', /Unexpected '\)'/, 15],
    ['unclosed [', 'emails[type eq "work"', /Expected '\]' to close '\['/, 21],
    ['missing value at end', 'userName eq', /Missing value after operator 'eq'; found end of filter/, 11],
    ['missing value before and', 'userName eq and title pr', /Missing value after operator 'eq'; found keyword 'and'/, 12],
    ['missing value before )', '(userName eq)', /Missing value/, 12],
    ['missing operator', 'userName', /Expected an operator after 'userName' but found end of filter/, 8],
    ['unknown operator', 'userName xx "x"', /Unknown operator 'xx'/, 9],
    ['operator as string', 'userName "eq" "x"', /Expected an operator/, 9],
    ['trailing garbage', 'userName eq "x" foo', /Unexpected 'foo'; expected 'and', 'or' or end of filter/, 16],
    ['trailing value', 'title pr "x"', /Unexpected a string/, 9],
    ['dangling and', 'userName eq "x" and', /Expected an attribute path but found end of filter/, 19],
    ['unterminated string', 'userName eq "x', /Unterminated string literal starting/, 12],
    ['bad escape', 'userName eq "\\q"', /Invalid escape '\\q'/, 13],
    ['bad unicode escape', 'userName eq "\\u12G4"', /Invalid \\u escape/, 13],
    ['lone surrogate escape', 'emails[value eq "a\\ud800b"]', /lone UTF-16 surrogate/, 16],
    ['lone low surrogate escape', 'userName eq "\\udc00"', /lone UTF-16 surrogate/, 12],
    ['single quotes', "userName eq 'x'", /double quotes/, 12],
    ['empty', '', /Empty filter/, undefined],
    ['blank', '   ', /Empty filter/, undefined],
    ['quoted attribute', '"userName" eq "x"', /Expected an attribute path but found a string/, 0],
    ['two sub-attributes', 'name.givenName.x eq "y"', /Invalid attribute path 'name.givenName.x'/, 0],
    ['empty urn', ':userName eq "x"', /Invalid attribute path/, 0],
    ['attribute starting with digit', '1abc pr', /Invalid attribute path/, 0],
    ['empty URN part', 'urn::scim:userName pr', /Invalid attribute path/, 0],
    ['URN made of colons', `${':'.repeat(10)}a pr`, /Invalid attribute path/, 0],
    ['nested value filter', 'emails[type[value eq "x"] pr]', /Value filters cannot be nested/, 11],
    ['value filter on sub-attribute', 'emails.value[type eq "x"]', /not to the sub-attribute/, 12],
    ['sub-attribute needs ]', 'emails[type eq "work"] .value eq "x"', /Unexpected '.value'/, 23],
    ['number overflow', 'x gt 1e999', /out of range/, 5],
    ['not without operand', 'not ()', /Expected an attribute path but found '\)'/, 5],
    ['too long', `userName eq "${'a'.repeat(5000)}"`, /too long \(5014 characters; maximum 4096\)/, 4096],
    ['too deep (parens)', `${'('.repeat(21)}a pr${')'.repeat(21)}`, /nested too deeply \(maximum 20 levels\)/, 20],
    ['too deep (not)', `${'not ('.repeat(21)}a pr${')'.repeat(21)}`, /nested too deeply/, 100],
  ];
  it.each(table)('%s', (_name, input, message, position) => {
    let error: unknown;
    try {
      parseFilter(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScimFilterError);
    const e = error as ScimFilterError;
    expect(e.message).toMatch(message);
    expect(e.scimType).toBe('invalidFilter');
    expect(e.status).toBe(400);
    expect(e.position).toBe(position);
    if (position !== undefined) expect(e.message).toMatch(new RegExp(`at position ${position}$`));
  });

  it('accepts exactly the depth and length limits', () => {
    expect(parseFilter(`${'('.repeat(20)}a pr${')'.repeat(20)}`)).toEqual(pr('a'));
    expect(() => parseFilter(`${'('.repeat(3)}a pr${')'.repeat(3)}`, { maxDepth: 2 })).toThrow(/maximum 2 levels/);
    const exact = `x eq "${'a'.repeat(4096 - 7)}"`;
    expect(exact).toHaveLength(4096);
    expect(() => parseFilter(exact)).not.toThrow();
    expect(() => parseFilter('title pr', { maxLength: 5 })).toThrow(/too long/);
  });

  it('counts value filters towards the depth', () => {
    expect(() => parseFilter(`${'('.repeat(20)}emails[type pr]${')'.repeat(20)}`)).toThrow(/nested too deeply/);
  });
});

describe('parseFilter: hostile input never hangs or overflows the stack', () => {
  const big = { maxLength: 10_000_000 };
  it.each([
    ['100k open parentheses', `${'('.repeat(100_000)}a pr${')'.repeat(100_000)}`, { ...big, maxDepth: 1e9 }],
    ['100k nots', `${'not '.repeat(100_000)}a pr`, { ...big, maxDepth: 1e9 }],
    ['100k value brackets', 'emails['.repeat(100_000), big],
    ['1M characters of one unterminated string', `x eq "${'a'.repeat(1_000_000)}`, big],
    ['1M colons', `${':'.repeat(1_000_000)}a pr`, big],
  ])('%s', (_name, input, limits) => {
    const started = Date.now();
    expect(() => parseFilter(input, limits)).toThrow(ScimFilterError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('parses a 100k-term and-chain iteratively', () => {
    const input = Array.from({ length: 100_000 }, (_, i) => `a eq ${i}`).join(' and ');
    const node = parseFilter(input, { maxLength: input.length });
    expect(node.kind).toBe('and');
  });
});

describe('parseAttrPath (sortBy)', () => {
  it.each([
    ['userName', path('userName')],
    ['name.givenName', path('name', 'givenName')],
    [` ${ENTERPRISE}:manager.value `, path('manager', 'value', ENTERPRISE)],
  ])('%s', (input, expected) => {
    expect(parseAttrPath(input)).toEqual(expected);
  });

  it.each(['', 'a b', 'emails[type eq "x"]', 'a.b.c', '(x)'])('rejects %j with the requested scimType', (input) => {
    expect(() => parseAttrPath(input, 'invalidValue')).toThrow(expect.objectContaining({ scimType: 'invalidValue' }));
  });
});
