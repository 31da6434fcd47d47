import { isDatabaseUnavailable } from './unavailable.js';

const sysError = (code: string, syscall: string) => Object.assign(new Error(`${syscall} ${code}`), { code, syscall });

describe('isDatabaseUnavailable', () => {
  it('knows an outage over TCP and over a Unix socket', () => {
    expect(isDatabaseUnavailable(sysError('ECONNREFUSED', 'connect'))).toBe(true);
    // a stopped server removes its socket file
    expect(isDatabaseUnavailable(sysError('ENOENT', 'connect'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: sysError('ENOENT', 'connect') }))).toBe(true);
  });

  it('does not take any missing file for an outage', () => {
    expect(isDatabaseUnavailable(sysError('ENOENT', 'open'))).toBe(false);
    expect(isDatabaseUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
  });
});
