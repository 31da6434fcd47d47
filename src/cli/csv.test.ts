// The CSV reading and mapping behind `roster import` (client/src/lines.ts, shared with partners).
import { csvRow, csvToLines, parseCsv, parseCsvRecords } from '../../client/src/lines.js';

describe('parseCsv', () => {
  it('reads RFC 4180: quotes, escaped quotes, delimiters and line breaks inside quotes, CRLF, a BOM', () => {
    const text = '\uFEFFa,b,c\r\n"x, y","say ""hi""","multi\r\nline"\r\n,,\r\nlast,row,\n';
    expect(parseCsv(text)).toEqual([
      ['a', 'b', 'c'],
      ['x, y', 'say "hi"', 'multi\r\nline'],
      ['', '', ''],
      ['last', 'row', ''],
    ]);
  });

  it('skips blank lines but keeps the line each record starts on', () => {
    expect(parseCsvRecords('h\n\none\n"two\nlines"\n\nthree').map((r) => [r.line, r.cells[0]])).toEqual([
      [1, 'h'],
      [3, 'one'],
      [4, 'two\nlines'],
      [7, 'three'],
    ]);
  });

  it('refuses an unclosed quote', () => {
    expect(() => parseCsv('a\n"open')).toThrow(/not closed/);
  });

  it('writes what it reads', () => {
    const row = ['plain', 'with, comma', 'with "quote"', 'line\nbreak', '', ' padded ', null, true, 3];
    expect(parseCsv(csvRow(row))[0]).toEqual(['plain', 'with, comma', 'with "quote"', 'line\nbreak', '', ' padded ', '', 'true', '3']);
  });
});

describe('csvToLines', () => {
  it('maps columns (case, spaces and _ ignored; aliases) to upsertUser lines, roles to assignRole lines', () => {
    const csv = [
      'User_Name,EXTERNAL ID,first name,Last-Name,email,phone,Team,manager,active,roles,custom.badge,id,mystery',
      'ada@x.test,E1,Ada,Lovelace,ada@x.test,+1 555,Eng,E2,no,Admins; On-call,7,123,?',
      'bob@x.test,,,,,,,,,,,,',
    ].join('\n');
    const { lines, sourceLine, unknownColumns } = csvToLines(csv);
    expect(unknownColumns).toEqual(['mystery']);
    expect(lines).toEqual([
      {
        op: 'upsertUser',
        user: {
          userName: 'ada@x.test',
          externalId: 'E1',
          givenName: 'Ada',
          familyName: 'Lovelace',
          department: 'Eng',
          manager: 'E2',
          active: false,
          emails: [{ value: 'ada@x.test', type: 'work', primary: true }],
          phoneNumbers: [{ value: '+1 555', type: 'work', primary: true }],
          customAttributes: { badge: '7' },
        },
      },
      { op: 'assignRole', user: { externalId: 'E1' }, role: { displayName: 'Admins' } },
      { op: 'assignRole', user: { externalId: 'E1' }, role: { displayName: 'On-call' } },
      { op: 'upsertUser', user: { userName: 'bob@x.test' } },
    ]);
    expect(sourceLine).toEqual([2, 2, 2, 3]);
  });

  it('honours an explicit matchBy, and needs a userName column', () => {
    const { lines } = csvToLines('userName,externalId,roles\nu@x.test,U,R', { matchBy: 'userName' });
    expect(lines).toEqual([
      { op: 'upsertUser', matchBy: 'userName', user: { userName: 'u@x.test', externalId: 'U' } },
      { op: 'assignRole', user: { userName: 'u@x.test' }, role: { displayName: 'R' } },
    ]);
    expect(() => csvToLines('email\nu@x.test')).toThrow(/userName column is required/);
    expect(() => csvToLines('userName,active\nu@x.test,maybe')).toThrow(/CSV line 2: active/);
  });
});
