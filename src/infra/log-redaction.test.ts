import { safeError, scrubErrorMessage, scrubLogObject, scrubText } from './log-redaction.js';

describe('scrubText', () => {
  it('masks Roster secrets beyond their kind, Authorization values and e-mail addresses', () => {
    expect(scrubText('token rst_scim_AbCdEfGhIjKlMnOp used')).toBe('token rst_scim_[redacted] used');
    expect(scrubText('Authorization: Bearer abcdefgh12345678')).toBe('Authorization: Bearer [redacted]');
    expect(scrubText('Basic dXNlcjpwYXNzd29yZA==')).toBe('Basic [redacted]');
    expect(scrubText('from ada.lovelace@example.org')).toBe('from [email]');
    expect(scrubText('GET /scim/v2/Users 200')).toBe('GET /scim/v2/Users 200');
  });
});

describe('scrubErrorMessage', () => {
  it('removes quoted values, key=value pairs and the appended detail of database errors', () => {
    expect(
      scrubErrorMessage(
        'duplicate key value violates unique constraint "users_user_name_key"\n - detail: Key (lower(user_name))=(ada@example.org) already exists.',
      ),
    ).toBe('duplicate key value violates unique constraint "…"');
    expect(scrubErrorMessage(`invalid input syntax for type uuid: "Ada Lovelace"`)).toBe('invalid input syntax for type uuid: "…"');
    expect(scrubErrorMessage(`check failed for 'Ada'`)).toBe("check failed for '…'");
    expect(scrubErrorMessage('Key (email)=(x) conflicts')).toBe('Key (…)=(…) conflicts');
  });
});

describe('safeError', () => {
  it('keeps type, code and names, drops detail, where, query and any other property', () => {
    const err = Object.assign(new Error('value "secret-ish" rejected\n - detail: Failing row contains (ada@example.org).'), {
      code: '23514',
      constraint: 'users_check',
      detail: 'Failing row contains (ada@example.org, Ada).',
      where: 'PL/pgSQL function f() line 3',
      internalQuery: 'select 1',
      params: ['ada@example.org'],
    });
    const out = safeError(err) as Record<string, unknown>;
    expect(out).toMatchObject({ type: 'Error', code: '23514', constraint: 'users_check', message: 'value "…" rejected' });
    expect(Object.keys(out).sort()).toEqual(['code', 'constraint', 'message', 'stack', 'type']);
    expect(JSON.stringify(out)).not.toMatch(/ada|Failing|PL\/pgSQL|select 1/);
  });

  it('follows causes, and never serialises a non-error value', () => {
    const out = safeError(new Error('outer', { cause: new Error('token rst_key_AbCdEfGhIjKl') })) as { cause: { message: string } };
    expect(out.cause.message).toBe('token rst_key_[redacted]');
    expect(safeError({ password: 'x' })).toEqual({ type: 'non-error object' });
  });
});

describe('scrubLogObject', () => {
  it('scrubs every nested string, leaving errors under err to their serializer', () => {
    const err = new Error('x');
    const out = scrubLogObject({ err, nested: { list: ['mail ada@example.org'], token: 'rst_at_AbCdEfGhIjKl' }, n: 1 });
    expect(out.err).toBe(err);
    expect(out.nested).toEqual({ list: ['mail [email]'], token: 'rst_at_[redacted]' });
    expect(out.n).toBe(1);
  });
});
