import { escapeLike, isUuid, parseDateTime, toBoolean } from './values.js';

describe('parseDateTime', () => {
  it.each([
    ['2011-05-13T04:42:34Z', '2011-05-13T04:42:34Z', Date.UTC(2011, 4, 13, 4, 42, 34)],
    ['2011-05-13t04:42:34z', '2011-05-13T04:42:34Z', Date.UTC(2011, 4, 13, 4, 42, 34)],
    ['2011-05-13 04:42:34.123456Z', '2011-05-13T04:42:34.123456Z', Date.UTC(2011, 4, 13, 4, 42, 34, 123)],
    ['2011-05-13T06:42:34+02:00', '2011-05-13T06:42:34+02:00', Date.UTC(2011, 4, 13, 4, 42, 34)],
    ['2011-05-13T01:12:34-0330', '2011-05-13T01:12:34-03:30', Date.UTC(2011, 4, 13, 4, 42, 34)],
    ['2011-05-13T04:42', '2011-05-13T04:42:00Z', Date.UTC(2011, 4, 13, 4, 42)],
    ['2011-05-13', '2011-05-13T00:00:00Z', Date.UTC(2011, 4, 13)],
    ['2024-02-29', '2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['0099-01-01', '0099-01-01T00:00:00Z', -59042995200000],
  ])('%s', (input, iso, epochMs) => {
    expect(parseDateTime(input)).toEqual({ iso, epochMs });
  });

  it.each([
    'yesterday',
    '2011-5-13',
    '2023-02-29',
    '2024-04-31',
    '2024-13-01',
    '0000-01-01',
    '2024-01-01T24:00:00Z',
    '2024-01-01T23:60:00Z',
    '2024-01-01T23:59:60Z',
    '2024-01-01T00:00:00+15:00',
    '2024-01-01T00:00:00.Z',
    '2024-01-01T00:00:00Z junk',
    '',
  ])('rejects %j', (input) => {
    expect(parseDateTime(input)).toBeUndefined();
  });
});

describe('small helpers', () => {
  it('recognises canonical uuids only', () => {
    expect(isUuid('2819C223-7F76-453A-919D-413861904646')).toBe(true);
    expect(isUuid('2819c2237f76453a919d413861904646')).toBe(false);
    expect(isUuid('{2819c223-7f76-453a-919d-413861904646}')).toBe(false);
  });

  it('reads Entra-style booleans', () => {
    expect([true, false, 'True', 'FALSE', 'yes', 1, null].map(toBoolean)).toEqual([
      true,
      false,
      true,
      false,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('escapes LIKE metacharacters', () => {
    expect(escapeLike('50%_off\\')).toBe('50\\%\\_off\\\\');
  });
});
