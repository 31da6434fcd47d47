import type { AttrPath } from './ast.js';
import { matchesFilter } from './match.js';
import { parseFilter, ScimFilterError } from './parse-filter.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** A SCIM User representation as the PATCH code holds it. */
const user = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
  id: '2819c223-7f76-453a-919d-413861904646',
  externalId: 'jYoung',
  userName: 'BJensen@Example.com',
  name: { givenName: 'Barbara', familyName: "O'Malley" },
  title: '',
  userType: 'Employee',
  active: 'True', // Entra without aadOptscim062020
  loginCount: 5,
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  ims: [{ value: 'babs@foo.com', type: 'xmpp' }],
  nickNames: ['Babs', 'BJ'],
  meta: { lastModified: '2011-05-13T04:42:34Z' },
  [ENTERPRISE]: {
    department: 'Sales',
    employeeNumber: '701984',
    manager: { value: '26118915-6090-4610-87e4-49d8ca9f808d' },
  },
};

const match = (filter: string, obj: Record<string, unknown> = user, caseExact?: (p: AttrPath) => boolean) =>
  matchesFilter(parseFilter(filter), obj, caseExact ? { caseExact } : {});

describe('matchesFilter against one resource', () => {
  it.each([
    // case-insensitive names and (by default) values
    ['userName eq "bjensen@example.com"', true],
    ['USERNAME eq "BJENSEN@EXAMPLE.COM"', true],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj"', true],
    ['userName ne "bjensen@example.com"', false],
    ['userName co "@EXAMPLE"', true],
    ['userName ew ".com"', true],
    ['userName gt "a"', true],
    ['userName lt "a"', false],
    [`name.familyName co "O'Malley"`, true],
    ['name.givenName sw "bar" and name.familyName pr', true],
    // presence
    ['title pr', false], // empty string is not a value
    ['nickName pr', false],
    ['name pr', true],
    ['emails pr', true],
    ['nickNames pr', true],
    // missing attribute: pr false, ne true, others false
    ['nickName eq "x"', false],
    ['nickName ne "x"', true],
    ['nickName co "x"', false],
    ['nickName gt "x"', false],
    ['nickName eq null', true],
    ['userName eq null', false],
    ['userName ne null', true],
    // multi-valued: any value matches; `ne` is "no value equals"
    ['emails co "example.com"', true],
    ['emails.value co "example.org"', false],
    ['emails.type eq "home"', true],
    ['emails ne "bjensen@example.com"', false],
    ['nickNames eq "bj"', true],
    ['userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")', true],
    ['userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', false],
    // value paths: all conditions on the same element
    ['emails[type eq "work" and value co "@example.com"]', true],
    ['emails[type eq "home" and value co "@example.com"]', false],
    ['emails[type eq "work"].value eq "BJENSEN@example.com"', true],
    ['emails[type eq "home"].value eq "bjensen@example.com"', false],
    ['emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]', true],
    ['emails[not (type eq "work")]', true],
    ['emails[type ne "work" and type ne "home"]', false],
    ['nickNames[value eq "babs"]', true],
    ['name[givenName eq "barbara"]', true],
    // booleans, including Entra's strings, on both sides
    ['active eq true', true],
    ['active eq "TRUE"', true],
    ['active ne false', true],
    ['emails[primary eq true].value eq "bjensen@example.com"', true],
    ['emails[primary eq true].value eq "babs@jensen.org"', false],
    // numbers
    ['loginCount gt 4', true],
    ['loginCount ge 5.5', false],
    ['loginCount eq "5"', false],
    // dateTime: chronological
    ['meta.lastModified gt "2011-05-13T04:42:33Z"', true],
    ['meta.lastModified eq "2011-05-13T06:42:34.000+02:00"', true],
    ['meta.lastModified lt "2011-05-13"', false],
    // extensions: qualified, or unqualified when only one extension has the name
    [`${ENTERPRISE}:department eq "sales"`, true],
    [`${ENTERPRISE}:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true],
    ['employeeNumber eq "701984"', true],
    ['manager.value pr', true],
    ['urn:roster:params:scim:schemas:extension:acme:2.0:User:department pr', false],
    // logic
    ['not (title pr) and not (nickName pr)', true],
    ['title pr or userType eq "Intern"', false],
  ])('%s → %s', (filter, expected) => {
    expect(match(filter)).toBe(expected);
  });

  it('honours caseExact per attribute path', () => {
    const exact = (p: AttrPath) => p.attr.toLowerCase() === 'externalid';
    expect(match('externalId eq "jyoung"', user, exact)).toBe(false);
    expect(match('externalId eq "jYoung"', user, exact)).toBe(true);
    expect(match('userName eq "bjensen@example.com"', user, exact)).toBe(true);

    const seen: AttrPath[] = [];
    match('emails[value eq "x"]', user, (p) => (seen.push(p), false));
    expect(seen).toContainEqual({ attr: 'emails', subAttr: 'value' });
  });

  it('selects elements of a multi-valued attribute for PATCH (one element at a time)', () => {
    const work = parseFilter('type eq "work"');
    expect(user.emails.filter((e) => matchesFilter(work, e))).toEqual([user.emails[0]]);

    const members = [
      { value: '2819c223-7f76-453a-919d-413861904646', display: 'Babs' },
      { value: '902c246b-6245-4190-8e05-00816be7344a', display: 'Mandy' },
    ];
    const memberFilter = parseFilter('value eq "902c246b-6245-4190-8e05-00816be7344a"');
    expect(members.filter((m) => matchesFilter(memberFilter, m))).toEqual([members[1]]);
  });

  it.each([
    ['active gt true', /'gt' cannot be used with true/],
    ['loginCount lt null', /'lt' cannot be used with null/],
    ['userName co 5', /'co' needs a string value/],
    ['userName sw true', /'sw' needs a string value/],
  ])('%s is invalidFilter even when the attribute is missing', (filter, message) => {
    for (const obj of [user, {}]) {
      expect(() => match(filter, obj)).toThrow(ScimFilterError);
      expect(() => match(filter, obj)).toThrow(message);
    }
  });

  it('evaluates a 100k-term chain without recursion', () => {
    const input = Array.from({ length: 100_000 }, (_, i) => `loginCount eq ${i + 10}`).join(' or ');
    expect(matchesFilter(parseFilter(input, { maxLength: input.length }), user)).toBe(false);
  });
});
