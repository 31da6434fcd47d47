/**
 * A process keeps each tenant's custom-attribute declarations with their version (migration schema_version)
 * and enters a tenant without reading them while the version it holds is current. Declaring or removing one,
 * in any process, moves the version: the next request of every process sees the change.
 */
import pg from 'pg';
import { RemoveCustomAttributeDocument, ScimDeclareCustomAttributeDocument } from '../../__generated__/graphql.js';
import { USER_SCHEMA, scimClient, type ScimClient } from '../../setup/scim-client.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { expectStatus } from './helpers.js';

let a: TestApp;
let b: TestApp;
let t: TestTenant;
let scimB: ScimClient;
let urn: string;

beforeAll(async () => {
  a = await startTestApp();
  b = await startTestApp();
  t = await a.createTenant();
  scimB = scimClient(b.baseUrl, t.scimToken);
  urn = `urn:roster:params:scim:schemas:extension:${t.slug}:2.0:User`;
});
afterAll(async () => {
  await a.close();
  await b.close();
});

/** A statement as the operator (tenants are visible to their own tenant or to the operator only). */
async function asOperator(text: string, params: unknown[]) {
  const client = new pg.Client(process.env.ROSTER_TEST_DATABASE_URL);
  await client.connect();
  try {
    await client.query(`begin; select set_config('roster.operator', 'on', true)`);
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}
const uuidOf = async (tenant: TestTenant) => String((await asOperator(`select id from tenants where slug = $1`, [tenant.slug]))[0].id);
const version = async () => Number((await asOperator(`select schema_version from tenants where slug = $1`, [t.slug]))[0].schema_version);
const publishedOnB = async () => ((await scimB.get(`/Schemas/${urn}`)).body.attributes ?? []).map((x: { name: string }) => x.name).sort();

describe("a tenant's declarations, kept by each process with their version", () => {
  it('moves the version with each declaration and removal, and nothing else', async () => {
    const before = await version();
    const declared = await t.gql(ScimDeclareCustomAttributeDocument, { input: { name: 'badge', type: 'string' } });
    expect(declared.data?.declareCustomAttribute.userErrors).toEqual([]);
    expect(await version()).toBe(before + 1);
    expectStatus(await scimB.post('/Users', { schemas: [USER_SCHEMA], userName: 'no-change@x.test' }), 201);
    expect(await version()).toBe(before + 1);
    const id = declared.data!.declareCustomAttribute.customAttribute!.id;
    expect((await t.gql(RemoveCustomAttributeDocument, { id })).data?.removeCustomAttribute.userErrors).toEqual([]);
    expect(await version()).toBe(before + 2);
  });

  it("answers from another process's change at the next request, in a process that held the old version", async () => {
    // B enters the tenant twice: the second time with the version it holds
    expectStatus(await scimB.get('/Users?count=1'), 200);
    expectStatus(await scimB.get('/Users?count=1'), 200);
    expect((await scimB.get(`/Schemas/${urn}`)).status).toBe(404);

    const declared = await t.gql(ScimDeclareCustomAttributeDocument, { input: { name: 'costCode', type: 'string' } });
    expect(declared.data?.declareCustomAttribute.userErrors).toEqual([]);
    expect(await publishedOnB()).toEqual(['costCode']);
    const created = await scimB.post('/Users', { schemas: [USER_SCHEMA, urn], userName: 'cc@x.test', [urn]: { costCode: 'CC-7' } });
    expectStatus(created, 201);
    expect(created.body[urn]).toEqual({ costCode: 'CC-7' });

    const removed = await t.gql(RemoveCustomAttributeDocument, { id: declared.data!.declareCustomAttribute.customAttribute!.id });
    expect(removed.data?.removeCustomAttribute.userErrors).toEqual([]);
    expect((await scimB.get(`/Schemas/${urn}`)).status).toBe(404);
    const refused = await scimB.post('/Users', { schemas: [USER_SCHEMA, urn], userName: 'cc2@x.test', [urn]: { costCode: 'CC-8' } });
    expect(refused.status).toBe(400);
  });

  it('reads the declarations only when the version sent is not the current one', async () => {
    const rows = async (known: string) => {
      const [row] = await a.sql(`select * from roster_enter($1, 'off', '0', $2)`, [await uuidOf(t), known]);
      return row as { custom_attributes: unknown[] | null; schema: string };
    };
    await t.gql(ScimDeclareCustomAttributeDocument, { input: { name: 'level', type: 'integer' } });
    const first = await rows('');
    expect(first.schema).toBe(`${await uuidOf(t)}:${await version()}`);
    expect(first.custom_attributes).toEqual([expect.objectContaining({ name: 'level', type: 'integer' })]);
    expect((await rows(first.schema)).custom_attributes).toBeNull();
    // another tenant's id with the same version number is not this tenant's version
    const other = await a.createTenant();
    expect((await rows(`${await uuidOf(other)}:${await version()}`)).custom_attributes).toHaveLength(1);
    await t.gql(ScimDeclareCustomAttributeDocument, { input: { name: 'remote', type: 'boolean' } });
    expect((await rows(first.schema)).custom_attributes).toHaveLength(2);
  });
});
