import { rng } from './stats.js';

/**
 * A synthetic organisation shaped like what Okta and Entra provision (see ../shared/docs/idp-behaviour.md):
 * about 50 departments, a manager tree (a complete 8-ary tree: user i reports to user floor((i - 1) / 8),
 * always created earlier; ~12.5 % of people manage someone; depth 6 at 100,000 people), work e-mail,
 * phone, title, enterprise attributes and a few custom attributes. Everything is a pure function of the
 * index, so every run loads the same people.
 */
export const DEPARTMENTS = [
  'Executive Office',
  'Engineering',
  'Platform Engineering',
  'Infrastructure',
  'Security',
  'Data Science',
  'Data Engineering',
  'Machine Learning',
  'Mobile',
  'Web',
  'Quality Assurance',
  'Site Reliability',
  'IT Operations',
  'Help Desk',
  'Product Management',
  'Product Design',
  'User Research',
  'Technical Writing',
  'Sales',
  'Sales Operations',
  'Inside Sales',
  'Enterprise Sales',
  'Partnerships',
  'Business Development',
  'Marketing',
  'Product Marketing',
  'Brand',
  'Communications',
  'Events',
  'Customer Success',
  'Customer Support',
  'Professional Services',
  'Solutions Engineering',
  'Training',
  'Finance',
  'Accounting',
  'Treasury',
  'Tax',
  'Procurement',
  'Legal',
  'Compliance',
  'Privacy',
  'Human Resources',
  'Talent Acquisition',
  'Learning and Development',
  'Facilities',
  'Workplace',
  'Internal Audit',
  'Strategy',
  'Corporate Development',
];

const GIVEN = [
  'Ada',
  'Alan',
  'Grace',
  'Linus',
  'Margaret',
  'Dennis',
  'Barbara',
  'Ken',
  'Frances',
  'Edsger',
  'Radia',
  'Tim',
  'Hedy',
  'Donald',
  'Katherine',
  'John',
  'Sophie',
  'Guido',
  'Anita',
  'Bjarne',
  'Shafi',
  'Niklaus',
  'Joan',
  'Yukihiro',
  'Lynn',
  'James',
  'Mary',
  'Leslie',
  'Fei-Fei',
  'Vint',
];
const FAMILY = [
  'Lovelace',
  'Turing',
  'Hopper',
  'Torvalds',
  'Hamilton',
  'Ritchie',
  'Liskov',
  'Thompson',
  'Allen',
  'Dijkstra',
  'Perlman',
  'Berners-Lee',
  'Lamarr',
  'Knuth',
  'Johnson',
  'McCarthy',
  'Wilson',
  'van Rossum',
  'Borg',
  'Stroustrup',
  'Goldwasser',
  'Wirth',
  'Clarke',
  'Matsumoto',
  'Conway',
  'Gosling',
  'Kenyon',
  'Lamport',
  'Li',
  'Cerf',
];
const LEAF_TITLES = [
  'Software Engineer',
  'Senior Software Engineer',
  'Account Executive',
  'Support Specialist',
  'Analyst',
  'Designer',
  'Consultant',
  'Accountant',
  'Recruiter',
  'Technical Writer',
  'Data Scientist',
  'Site Reliability Engineer',
];
const MANAGER_TITLES = ['Chief Executive Officer', 'Vice President', 'Director', 'Senior Manager', 'Manager'];
const BUILDINGS = ['HQ-1', 'HQ-2', 'Dublin', 'Austin', 'Bangalore', 'Berlin', 'Sydney', 'Toronto', 'Remote', 'Tokyo', 'Paris', 'Warsaw'];

export const FANOUT = 8;
export const managerIndex = (i: number) => (i === 0 ? -1 : Math.floor((i - 1) / FANOUT));

export function levelOf(i: number): number {
  let level = 0;
  for (let j = i; j > 0; j = managerIndex(j)) level++;
  return level;
}

/** The level-`level` ancestor of user i (itself when it is at that level or above). */
function ancestorAt(i: number, level: number): number {
  let j = i;
  while (levelOf(j) > level) j = managerIndex(j);
  return j;
}

/** Custom attributes the bench declares over GraphQL before loading (declareCustomAttribute). */
export const CUSTOM_ATTRIBUTES = [
  { name: 'badgeNumber', type: 'integer' },
  { name: 'building', type: 'string' },
  { name: 'remoteWorker', type: 'boolean' },
] as const;

export interface Person {
  i: number;
  userName: string;
  externalId: string;
  givenName: string;
  familyName: string;
  displayName: string;
  title: string;
  department: string;
  employeeNumber: string;
  costCenter: string;
  phone: string;
  custom: { badgeNumber: number; building: string; remoteWorker: boolean };
}

const hex = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');

export function person(i: number): Person {
  const r = rng(0x5eed ^ Math.imul(i + 1, 0x9e3779b1));
  const givenName = GIVEN[Math.floor(r() * GIVEN.length)];
  const familyName = FAMILY[Math.floor(r() * FAMILY.length)];
  const level = levelOf(i);
  const department = level <= 1 ? DEPARTMENTS[0] : DEPARTMENTS[1 + (ancestorAt(i, 2) % (DEPARTMENTS.length - 1))];
  return {
    i,
    userName: `${givenName}.${familyName}.${i}@bench-corp.example`.toLowerCase().replace(/[^a-z0-9.@-]/g, ''),
    // Entra's objectId shape; unique because the last group carries the index.
    externalId: `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${i.toString(16).padStart(12, '0')}`,
    givenName,
    familyName,
    displayName: `${givenName} ${familyName}`,
    title: level <= 4 ? MANAGER_TITLES[level] : LEAF_TITLES[Math.floor(r() * LEAF_TITLES.length)],
    department,
    employeeNumber: String(100000 + i),
    costCenter: `CC-${1000 + DEPARTMENTS.indexOf(department)}`,
    phone: `+1 555 ${String(Math.floor(r() * 1e7)).padStart(7, '0')}`,
    custom: { badgeNumber: 500000 + i, building: BUILDINGS[Math.floor(r() * BUILDINGS.length)], remoteWorker: r() < 0.3 },
  };
}

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const customUrn = (slug: string) => `urn:roster:params:scim:schemas:extension:${slug}:2.0:User`;

/**
 * A POST /Users body. Even indexes are Entra-shaped (client-side meta, roles: [], manager as a plain
 * string holding the manager's externalId); odd ones Okta-shaped (placeholder password, groups: [],
 * manager as {"value": <Roster id>}).
 */
export function scimUserBody(p: Person, manager: { id: string; externalId: string } | null, slug: string): Record<string, unknown> {
  const entra = p.i % 2 === 0;
  const enterprise: Record<string, unknown> = { department: p.department, employeeNumber: p.employeeNumber, costCenter: p.costCenter };
  if (manager) enterprise.manager = entra ? manager.externalId : { value: manager.id };
  const body: Record<string, unknown> = {
    schemas: [CORE_USER, ENTERPRISE_USER, customUrn(slug)],
    externalId: p.externalId,
    userName: p.userName,
    active: true,
    displayName: p.displayName,
    title: p.title,
    emails: [{ primary: true, type: 'work', value: p.userName }],
    phoneNumbers: [{ type: 'work', value: p.phone }],
    name: { formatted: p.displayName, familyName: p.familyName, givenName: p.givenName },
    locale: 'en-US',
    [ENTERPRISE_USER]: enterprise,
    [customUrn(slug)]: p.custom,
  };
  if (entra) {
    body.meta = { resourceType: 'User' };
    body.roles = [];
  } else {
    body.password = 'placeholder-1mz050nq';
    body.groups = [];
  }
  return body;
}
