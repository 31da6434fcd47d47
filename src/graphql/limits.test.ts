import { parse } from 'graphql';
import { operationWidth } from './limits.js';

describe('operationWidth', () => {
  it('counts fields and aliases of the selected operation', () => {
    expect(operationWidth(parse('{ a: viewer { slug } b: viewer { slug displayName } }'))).toEqual({ fields: 5, aliases: 2 });
    expect(operationWidth(parse('query A { x } query B { y z }'), 'B')).toEqual({ fields: 2, aliases: 0 });
  });

  it('expands fragments (each spread counts) without blowing up on a fan-out', () => {
    const levels = Array.from({ length: 20 }, (_, i) => `fragment L${i + 1} on T { ...L${i} ...L${i} }`).join('\n');
    const doc = parse(`fragment L0 on T { f }\n${levels}\n{ root { ...L20 } }`);
    const started = Date.now();
    const { fields } = operationWidth(doc);
    expect(fields).toBe(1 + 2 ** 20);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('ignores a fragment cycle (validation reports it)', () => {
    expect(operationWidth(parse('fragment A on T { a ...B } fragment B on T { b ...A } { root { ...A } }'))).toEqual({
      fields: 3,
      aliases: 0,
    });
  });
});
