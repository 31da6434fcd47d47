import { inlineValues, sqlLiteral } from './sql.js';

describe('sqlLiteral', () => {
  it('quotes strings (quotes doubled, backslashes as an E literal), JSON, dates, and passes numbers, booleans and null', () => {
    expect(sqlLiteral("O'Brien")).toBe("'O''Brien'");
    expect(sqlLiteral('a\\b')).toBe(" E'a\\\\b'");
    expect(sqlLiteral({ name: { before: null, after: "it's" } })).toBe(`'{"name":{"before":null,"after":"it''s"}}'`);
    expect(sqlLiteral(new Date('2026-11-22T10:00:00.123Z'))).toBe("'2026-11-22T10:00:00.123Z'");
    expect([sqlLiteral(3), sqlLiteral(-1.5), sqlLiteral(true), sqlLiteral(false), sqlLiteral(null), sqlLiteral(undefined)]).toEqual([
      '3',
      '-1.5',
      'true',
      'false',
      'null',
      'null',
    ]);
    expect(() => sqlLiteral(Number.NaN)).toThrow();
  });
});

describe('inlineValues', () => {
  it('fills each ? outside literals, identifiers and comments, in order', () => {
    expect(inlineValues(`select ?::uuid, '?', "a?" /* ? */ , ?`, ['x', "y'z"])).toBe(`select 'x'::uuid, '?', "a?" /* ? */ , 'y''z'`);
  });

  it('refuses a count of values that is not the count of placeholders', () => {
    expect(() => inlineValues('select ?, ?', [1])).toThrow();
    expect(() => inlineValues('select ?', [1, 2])).toThrow();
  });
});
