import { DEFERRED_MARK, READ_ONLY_MARK, deferBegin, dropDeferredBegin, flushDeferredCommit, hasDeferredCommit } from './lazy-begin.js';
import { prefetchMark } from './prefetch.js';
import { PREPARED_MARK } from './prepared.js';

/** A pg client stand-in that records what would go over the wire and answers like node-postgres. */
function fakeClient() {
  const sent: Array<{ text: string; values?: unknown }> = [];
  // like pg.Client: query lives on the prototype
  const client = Object.create({
    query(text: unknown, values?: unknown, callback?: (err: null, r: unknown) => void) {
      // a named statement (prepared.ts) comes as node-postgres's query config
      const named = typeof text === 'object' && text !== null ? (text as { name: string; text: string; values: unknown[] }) : undefined;
      if (named) [text, values] = [`${named.name}: ${named.text}`, named.values];
      sent.push({ text: String(text), values });
      const statements = String(text)
        .split(';')
        .filter((s) => s.trim());
      const results = statements.map((s) => ({
        command: s.trim().split(' ')[0].toUpperCase(),
        rowCount: 1,
        rows: [{ s: s.trim() }],
        fields: [],
      }));
      const answer = results.length > 1 ? results : results[0];
      callback?.(null, answer);
      return Promise.resolve(answer);
    },
  }) as { query: (text: unknown, values?: unknown) => Promise<unknown> };
  deferBegin(client);
  return { client, sent };
}

describe('deferBegin', () => {
  it('sends begin with the next simple statement, answering with the statement’s result', async () => {
    const { client, sent } = fakeClient();
    await expect(client.query('begin', [])).resolves.toMatchObject({ command: 'BEGIN' });
    expect(sent).toEqual([]);
    const r = await client.query('select 1', []);
    expect(r).toMatchObject({ command: 'SELECT', rows: [{ s: 'select 1' }] });
    await client.query('commit', []);
    expect(sent.map((s) => s.text)).toEqual(['begin; select 1', 'commit']);
  });

  it('sends begin alone before a statement with bind parameters', async () => {
    const { client, sent } = fakeClient();
    await client.query('begin isolation level serializable');
    await client.query('select $1::int', [1]);
    expect(sent).toEqual([
      { text: 'begin isolation level serializable', values: undefined },
      { text: 'select $1::int', values: [1] },
    ]);
  });

  it('leaves everything else alone, and starts each checkout with nothing deferred', async () => {
    const { client, sent } = fakeClient();
    await client.query('select 2', []);
    await client.query("select 'begin'", []);
    await client.query('begin');
    deferBegin(client); // the next checkout
    await client.query('select 3');
    await client.query('begin');
    dropDeferredBegin(client); // given back to the pool
    await client.query('select 4');
    await client.query('begin');
    // pool.query() on a fresh checkout: a callback
    await new Promise((resolve) =>
      (client.query as (t: string, v: unknown[], cb: (e: unknown, r: unknown) => void) => unknown)('select 5', [], resolve),
    );
    expect(sent.map((s) => s.text)).toEqual(['select 2', "select 'begin'", 'select 3', 'select 4', 'select 5']);
  });
});

describe('a read-only transaction', () => {
  it('is begun read only, and its commit travels with the next statement', async () => {
    const { client, sent } = fakeClient();
    await client.query('begin');
    await client.query(`select * from roster_enter('t') ${READ_ONLY_MARK}`);
    await client.query('select 1');
    await expect(client.query('commit')).resolves.toMatchObject({ command: 'COMMIT' });
    expect(hasDeferredCommit(client)).toBe(true);
    deferBegin(client); // the next checkout
    await client.query('begin');
    const r = await client.query('select 2');
    expect(r).toMatchObject({ command: 'SELECT', rows: [{ s: 'select 2' }] });
    await client.query('commit'); // not read-only: sent at once
    expect(sent.map((s) => s.text)).toEqual([
      `begin read only; select * from roster_enter('t') ${READ_ONLY_MARK}`,
      'select 1',
      'commit; begin; select 2',
      'commit',
    ]);
    expect(hasDeferredCommit(client)).toBe(false);
  });

  it('sends its commit alone before a statement with bind parameters, or when flushed', async () => {
    const { client, sent } = fakeClient();
    for (const next of [() => client.query('select $1::int', [1]), async () => flushDeferredCommit(client)]) {
      await client.query('begin');
      await client.query(`select 1 ${READ_ONLY_MARK}`);
      await client.query('commit');
      await next();
      flushDeferredCommit(client); // nothing left to flush
    }
    expect(sent.map((s) => s.text)).toEqual([
      `begin read only; select 1 ${READ_ONLY_MARK}`,
      'commit',
      'select $1::int',
      `begin read only; select 1 ${READ_ONLY_MARK}`,
      'commit',
    ]);
  });

  it('that begins itself after a statement of its own keeps the first begin writable (the door, then the request)', async () => {
    const { client, sent } = fakeClient();
    await client.query('begin');
    await client.query(`select door(); commit; begin read only; select enter() ${READ_ONLY_MARK}`);
    await client.query('commit');
    expect(sent.map((s) => s.text)).toEqual([`begin; select door(); commit; begin read only; select enter() ${READ_ONLY_MARK}`]);
    expect(hasDeferredCommit(client)).toBe(true);
  });

  it('rolls back at once, and a transaction after it is not read-only unless marked', async () => {
    const { client, sent } = fakeClient();
    await client.query('begin');
    await client.query(`select 1 ${READ_ONLY_MARK}`);
    await client.query('rollback');
    await client.query('begin');
    await client.query('insert into t values (1)');
    await client.query('commit');
    expect(sent.map((s) => s.text)).toEqual([
      `begin read only; select 1 ${READ_ONLY_MARK}`,
      'rollback',
      'begin; insert into t values (1)',
      'commit',
    ]);
    expect(hasDeferredCommit(client)).toBe(false);
  });
});

describe('a deferred write', () => {
  const audit = (n: number) => `${DEFERRED_MARK} insert into audit values (${n})`;

  it('travels with the transaction’s next statement, its commit included, and is answered at once', async () => {
    const { client, sent } = fakeClient();
    await client.query('begin');
    await client.query('update t set x = 1');
    await expect(client.query(audit(1))).resolves.toMatchObject({ command: 'DEFERRED' });
    await client.query(audit(2));
    expect(sent.map((s) => s.text)).toEqual(['begin; update t set x = 1']);
    await expect(client.query('commit')).resolves.toMatchObject({ command: 'COMMIT' });
    expect(sent.map((s) => s.text)).toEqual(['begin; update t set x = 1', `${audit(1)}; ${audit(2)}; commit`]);
  });

  it('goes alone, and is waited for, before a statement with bind parameters; and with the begin it follows', async () => {
    const { client, sent } = fakeClient();
    await client.query('begin');
    await client.query(audit(1));
    await client.query('select $1::int', [7]);
    await client.query(audit(2));
    await client.query('select $1::int', [8]);
    expect(sent).toEqual([
      { text: `begin; ${audit(1)}`, values: undefined },
      { text: 'select $1::int', values: [7] },
      { text: audit(2), values: undefined },
      { text: 'select $1::int', values: [8] },
    ]);
  });

  it('fails the statement it travels with: the statement is not sent', async () => {
    const { client, sent } = fakeClient();
    const proto = Object.getPrototypeOf(client) as { query: (text: unknown, values?: unknown) => Promise<unknown> };
    const real = proto.query;
    proto.query = function (this: unknown, text: unknown, values?: unknown) {
      return String(text).includes('audit') ? Promise.reject(new Error('audit refused')) : real.call(this, text, values);
    };
    await client.query('begin');
    await client.query('update t set x = 1');
    await client.query(audit(1));
    await expect(client.query('select $1::int', [1])).rejects.toThrow('audit refused');
    expect(sent.map((s) => s.text)).toEqual(['begin; update t set x = 1']);
  });

  it('is dropped by a rollback, of the transaction or to a savepoint, and by a new checkout', async () => {
    const { client, sent } = fakeClient();
    await client.query('begin');
    await client.query('savepoint a');
    await client.query(audit(1));
    await client.query('rollback to savepoint a');
    await client.query(audit(2));
    await client.query('rollback');
    await client.query('begin');
    await client.query(audit(3));
    deferBegin(client); // given back and taken again
    await client.query('select 1');
    expect(sent.map((s) => s.text)).toEqual(['begin; savepoint a', 'rollback to savepoint a', 'rollback', 'select 1']);
  });

  it('keeps a read-only transaction’s commit from being deferred (PostgreSQL then refuses the write)', async () => {
    const { client, sent } = fakeClient();
    await client.query('begin');
    await client.query(`select 1 ${READ_ONLY_MARK}`);
    await client.query(audit(1));
    await client.query('commit');
    expect(sent.map((s) => s.text)).toEqual([`begin read only; select 1 ${READ_ONLY_MARK}`, `${audit(1)}; commit`]);
    expect(hasDeferredCommit(client)).toBe(false);
  });
});

describe('a first statement sent with the door (prefetch.ts)', () => {
  const PAGE = `${PREPARED_MARK} select * from users where tenant_id = $1 and user_name = $2 offset $3`;
  const DOOR = 'select door(); commit; begin read only; select enter()';

  /** A client whose connection has prepared PAGE (as node-postgres records it once PostgreSQL parsed it). */
  async function preparedClient() {
    const fake = fakeClient();
    const first = (await fake.client.query(PAGE, ['t', 'warm', 0])) as unknown;
    expect(first).toBeDefined();
    const name = fake.sent[0].text.split(':')[0];
    Object.assign(fake.client, { connection: { parsedStatements: { [name]: PAGE } } });
    fake.sent.length = 0;
    return { ...fake, name };
  }

  it("travels at the end of the door's message, which answers with the door's result; the page is then answered without a round trip", async () => {
    const { client, sent, name } = await preparedClient();
    const { mark, drop } = prefetchMark({ text: PAGE, values: ['t', "o'brien", 0] });
    await client.query('begin');
    const door = await client.query(`${mark}${DOOR}`);
    drop();
    expect(door).toMatchObject({ rows: [{ s: 'select enter()' }] });
    expect(sent.map((s) => s.text)).toEqual([`begin; ${mark}${DOOR}; execute ${name}('t', 'o''brien', 0)`]);
    const page = await client.query(PAGE, ['t', "o'brien", 0]);
    expect(page).toMatchObject({ rows: [{ s: `execute ${name}('t', 'o''brien', 0)` }] });
    expect(sent).toHaveLength(1);
    // one use
    await client.query(PAGE, ['t', "o'brien", 0]);
    expect(sent).toHaveLength(2);
  });

  it('is not used by another first statement, nor the same one with other values, nor after a write owed', async () => {
    for (const [next, values, owed] of [
      ['select 1', undefined, false],
      [PAGE, ['t', 'someone else', 0], false],
      [PAGE, ['other tenant', "o'brien", 0], false],
      [PAGE, ['t', "o'brien", 0], true],
    ] as const) {
      const { client, sent } = await preparedClient();
      const { mark } = prefetchMark({ text: PAGE, values: ['t', "o'brien", 0] });
      await client.query('begin');
      await client.query(`${mark}${DOOR}`);
      if (owed) await client.query(`${DEFERRED_MARK} insert into audit values (1)`);
      await client.query(next, values);
      expect(sent).toHaveLength(owed ? 3 : 2);
      await client.query(PAGE, ['t', "o'brien", 0]); // what was kept went with the first statement
      expect(sent).toHaveLength(owed ? 4 : 3);
    }
  });

  it('is not sent where the connection has not prepared the statement, or for values it cannot inline', async () => {
    const { client, sent } = fakeClient();
    const { mark } = prefetchMark({ text: PAGE, values: ['t', 'x', 0] });
    await client.query(`${mark}${DOOR}`);
    expect(sent.map((s) => s.text)).toEqual([`${mark}${DOOR}`]);

    const prepared = await preparedClient();
    const odd = prefetchMark({ text: PAGE, values: ['t', { x: 1 } as unknown as string, 0] });
    await prepared.client.query(`${odd.mark}${DOOR}`);
    expect(prepared.sent.map((s) => s.text)).toEqual([`${odd.mark}${DOOR}`]);
  });

  it('is forgotten by a checkout, and registered once', async () => {
    const { client, sent } = await preparedClient();
    const { mark } = prefetchMark({ text: PAGE, values: ['t', 'x', 0] });
    await client.query(`${mark}${DOOR}`);
    deferBegin(client); // given back and taken again
    await client.query(PAGE, ['t', 'x', 0]);
    expect(sent).toHaveLength(2);
    await client.query(`${mark}${DOOR}`); // the same mark again: nothing registered under it any more
    expect(sent[2].text).toBe(`${mark}${DOOR}`);
  });

  // Last: it stops prefetching for the rest of the process (this test file).
  it('stops for the process once PostgreSQL does not know the statement (a pooler that renames them)', async () => {
    const { client, sent, name } = await preparedClient();
    const proto = Object.getPrototypeOf(client) as { query: (text: unknown, values?: unknown) => Promise<unknown> };
    const answer = proto.query;
    proto.query = function (this: unknown, text: unknown, values?: unknown) {
      if (String(text).includes('; execute ')) {
        sent.push({ text: String(text) });
        return Promise.reject(Object.assign(new Error('prepared statement "roster_1" does not exist'), { code: '26000' }));
      }
      return answer.call(this, text, values);
    };
    const once = prefetchMark({ text: PAGE, values: ['t', 'x', 0] });
    await expect(client.query(`${once.mark}${DOOR}`)).rejects.toMatchObject({ code: '26000' });
    deferBegin(client); // the next checkout forgets the connection's statements; the next page prepares it again
    await client.query(PAGE, ['t', 'y', 0]);
    (client as unknown as { connection: { parsedStatements: Record<string, string> } }).connection.parsedStatements[name] = PAGE;
    deferBegin(client);
    const again = prefetchMark({ text: PAGE, values: ['t', 'x', 0] });
    await client.query(`${again.mark}${DOOR}`);
    expect(sent.map((s) => s.text)).toEqual([
      expect.stringMatching(/; execute /),
      'deallocate all',
      `${name}: ${PAGE}`,
      `${again.mark}${DOOR}`,
    ]);
  });
});
