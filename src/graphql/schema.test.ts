import { getSchema } from './schema.js';

/** type-graphql's metadata, as the library keeps it (a process global; its module is not exported). */
interface Metadata {
  objectTypes: Array<{ name: string; target: abstract new (...args: never[]) => unknown; simpleResolvers?: boolean }>;
  fields: Array<{ name: string; target: abstract new (...args: never[]) => unknown; roles?: unknown[]; middlewares?: unknown[] }>;
}

describe('the GraphQL schema', () => {
  // A type declared with `simpleResolvers` gets no resolver for its plain fields (graphql-js reads the property
  // itself: cheaper on a page of 100 users, see docs/performance.md, round 6). type-graphql then ignores an
  // @Authorized or @UseMiddleware on such a field, silently: this fails instead.
  it('has no authorization or middleware on a field of a type whose fields resolve simply', async () => {
    await getSchema();
    const storage = (globalThis as unknown as { TypeGraphQLMetadataStorage: Metadata }).TypeGraphQLMetadataStorage;
    const simple = storage.objectTypes.filter((t) => t.simpleResolvers);
    expect(simple.map((t) => t.name)).toEqual(expect.arrayContaining(['User', 'Team', 'Role', 'UserConnection', 'PageInfo']));
    const guarded = storage.fields
      .filter((f) => simple.some((t) => f.target === t.target || f.target.isPrototypeOf(t.target)))
      .filter((f) => (f.roles?.length ?? 0) > 0 || (f.middlewares?.length ?? 0) > 0)
      .map((f) => `${f.target.name}.${f.name}`);
    expect(guarded).toEqual([]);
  });
});
