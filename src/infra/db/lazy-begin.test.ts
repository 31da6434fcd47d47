import { DEFERRED_MARK, READ_ONLY_MARK, deferBegin, dropDeferredBegin, flushDeferredCommit, hasDeferredCommit } from './lazy-begin.js';

/** A pg client stand-in that records what would go over the wire and answers like node-postgres. */
function fakeClient() {
  const sent: Array<{ text: string; values?: unknown }> = [];
  // like pg.Client: query lives on the prototype
  const client = Object.create({
    query(text: unknown, values?: unknown, callback?: (err: null, r: unknown) => void) {
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
