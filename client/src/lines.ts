/**
 * The JSON Lines format of bulk jobs (one operation per line) as TypeScript types, and the CSV → lines
 * mapping the CLI's `import` and the example script use. The server validates every line; these types
 * only help to write correct ones. Format reference: "Bulk jobs" in the repository README.
 */

/** Names one existing user: exactly one key. */
export type UserSelector = { id: string } | { externalId: string } | { userName: string };

export interface EmailValue {
  value: string;
  type?: string | null;
  primary?: boolean | null;
}

/** The fields an upsertUser line may set (the domain's field names). Omitted: unchanged; null: cleared. */
export interface UpsertUserFields {
  userName: string;
  externalId?: string | null;
  givenName?: string | null;
  familyName?: string | null;
  middleName?: string | null;
  formattedName?: string | null;
  honorificPrefix?: string | null;
  honorificSuffix?: string | null;
  displayName?: string | null;
  nickName?: string | null;
  profileUrl?: string | null;
  title?: string | null;
  userType?: string | null;
  preferredLanguage?: string | null;
  locale?: string | null;
  timezone?: string | null;
  active?: boolean;
  emails?: EmailValue[] | null;
  phoneNumbers?: EmailValue[] | null;
  addresses?: Array<Record<string, string | boolean | null>> | null;
  employeeNumber?: string | null;
  costCenter?: string | null;
  organization?: string | null;
  division?: string | null;
  /** Team by name, created when new. */
  department?: string | null;
  /** Team by id (uuid). */
  teamId?: string | null;
  /** The manager's externalId or Roster id; kept pending until that user exists (any line order works). */
  manager?: string | null;
  customAttributes?: Record<string, unknown>;
}

export type BulkLine =
  | { op: 'upsertUser'; matchBy?: 'externalId' | 'userName'; user: UpsertUserFields }
  | { op: 'deactivateUser'; user: UserSelector }
  | { op: 'setManager'; user: UserSelector; manager: UserSelector | null }
  | { op: 'moveTeam'; user: UserSelector; team: { name: string } | { id: string } | null }
  | { op: 'assignRole'; user: UserSelector; role: { displayName: string } | { id: string } }
  | { op: 'unassignRole'; user: UserSelector; role: { displayName: string } | { id: string } };

/** One JSON line per operation. */
export const toJsonLines = (lines: readonly BulkLine[]): string[] => lines.map((l) => JSON.stringify(l));

// ---------------------------------------------------------------------------------------------------
// CSV

/** CSV records with the (1-based) line each starts on. */
export interface CsvRecord {
  line: number;
  cells: string[];
}

/** Parses CSV (RFC 4180: quoted fields, "" escapes, CR LF or LF, newlines inside quotes); strips a BOM. */
export function parseCsvRecords(text: string, delimiter = ','): CsvRecord[] {
  const records: CsvRecord[] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowStart = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endField = () => {
    row.push(field);
    field = '';
  };
  const endRow = () => {
    endField();
    // A blank line is no record (but a row of empty fields, e.g. ",,", is).
    if (!(row.length === 1 && row[0] === '')) records.push({ line: rowStart, cells: row });
    row = [];
  };
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === delimiter) endField();
    else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      if (c === '\r') {
        i++;
        line++;
      }
      endRow();
      rowStart = line;
    } else field += c;
  }
  if (quoted) throw new Error('CSV: a quoted field is not closed');
  if (field !== '' || row.length > 0) endRow();
  return records;
}

export const parseCsv = (text: string, delimiter = ','): string[][] => parseCsvRecords(text, delimiter).map((r) => r.cells);

/** Writes one CSV row (quoting where needed). */
export function csvRow(values: ReadonlyArray<string | number | boolean | null | undefined>): string {
  return values
    .map((v) => {
      const s = v === null || v === undefined ? '' : String(v);
      return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    })
    .join(',');
}

type Column =
  | { kind: 'field'; field: Exclude<keyof UpsertUserFields, 'emails' | 'phoneNumbers' | 'addresses' | 'customAttributes' | 'active'> }
  | { kind: 'email' | 'phone' | 'active' | 'roles' | 'ignored' }
  | { kind: 'custom'; name: string };

/**
 * Header → meaning. Headers match case-insensitively, ignoring spaces, `_` and `-` ("User Name",
 * "user_name" and "userName" are the same column). `custom.<name>` columns set custom attributes.
 */
const COLUMNS: Record<string, Column> = {
  username: { kind: 'field', field: 'userName' },
  login: { kind: 'field', field: 'userName' },
  externalid: { kind: 'field', field: 'externalId' },
  givenname: { kind: 'field', field: 'givenName' },
  firstname: { kind: 'field', field: 'givenName' },
  familyname: { kind: 'field', field: 'familyName' },
  lastname: { kind: 'field', field: 'familyName' },
  middlename: { kind: 'field', field: 'middleName' },
  displayname: { kind: 'field', field: 'displayName' },
  nickname: { kind: 'field', field: 'nickName' },
  title: { kind: 'field', field: 'title' },
  jobtitle: { kind: 'field', field: 'title' },
  usertype: { kind: 'field', field: 'userType' },
  preferredlanguage: { kind: 'field', field: 'preferredLanguage' },
  locale: { kind: 'field', field: 'locale' },
  timezone: { kind: 'field', field: 'timezone' },
  profileurl: { kind: 'field', field: 'profileUrl' },
  employeenumber: { kind: 'field', field: 'employeeNumber' },
  costcenter: { kind: 'field', field: 'costCenter' },
  organization: { kind: 'field', field: 'organization' },
  division: { kind: 'field', field: 'division' },
  department: { kind: 'field', field: 'department' },
  team: { kind: 'field', field: 'department' },
  manager: { kind: 'field', field: 'manager' },
  managerexternalid: { kind: 'field', field: 'manager' },
  email: { kind: 'email' },
  phone: { kind: 'phone' },
  active: { kind: 'active' },
  roles: { kind: 'roles' },
  // What `export` writes besides the importable columns: read back without complaint, not imported.
  id: { kind: 'ignored' },
  scimid: { kind: 'ignored' },
  managerusername: { kind: 'ignored' },
  pendingmanager: { kind: 'ignored' },
};

const normaliseHeader = (h: string) =>
  h
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');

function columnOf(header: string): Column | null {
  const m = /^custom[.:](.+)$/i.exec(header.trim());
  if (m) return { kind: 'custom', name: m[1].trim() };
  return COLUMNS[normaliseHeader(header)] ?? null;
}

export interface CsvImport {
  /** The bulk job lines, in order. */
  lines: BulkLine[];
  /** For each line, the CSV line number (1-based, header = 1) it came from. */
  sourceLine: number[];
  /** Headers that mean nothing to the mapping (ignored). */
  unknownColumns: string[];
}

const TRUE = new Set(['true', '1', 'yes', 'y', 'active']);
const FALSE = new Set(['false', '0', 'no', 'n', 'inactive']);

/**
 * Turns a CSV export into bulk job lines: one upsertUser per row (matched by externalId when the row has
 * one, else by userName), plus an assignRole line per role of the `roles` column (separated by `;` or
 * `|`). Empty cells are omitted: they leave the field as it is. See "CSV import" in the README.
 */
export function csvToLines(text: string, opts: { matchBy?: 'externalId' | 'userName'; delimiter?: string } = {}): CsvImport {
  const records = parseCsvRecords(text, opts.delimiter);
  if (records.length === 0) return { lines: [], sourceLine: [], unknownColumns: [] };
  const [{ cells: header }, ...data] = records;
  const columns = header.map(columnOf);
  const unknownColumns = header.filter((_, i) => columns[i] === null);
  if (!columns.some((c) => c?.kind === 'field' && c.field === 'userName'))
    throw new Error('CSV: a userName column is required (see "CSV import" in the README)');
  const lines: BulkLine[] = [];
  const sourceLine: number[] = [];
  data.forEach(({ line: rowLine, cells }) => {
    const user: UpsertUserFields = { userName: '' };
    const custom: Record<string, string> = {};
    let roles: string[] = [];
    columns.forEach((col, i) => {
      const raw = (cells[i] ?? '').trim();
      if (!col || raw === '') return;
      switch (col.kind) {
        case 'field':
          (user as unknown as Record<string, string>)[col.field] = raw;
          break;
        case 'email':
          user.emails = [{ value: raw, type: 'work', primary: true }];
          break;
        case 'phone':
          user.phoneNumbers = [{ value: raw, type: 'work', primary: true }];
          break;
        case 'active':
          if (TRUE.has(raw.toLowerCase())) user.active = true;
          else if (FALSE.has(raw.toLowerCase())) user.active = false;
          else throw new Error(`CSV line ${rowLine}: active must be true/false, yes/no or 1/0 (got "${raw}")`);
          break;
        case 'roles':
          roles = raw
            .split(/[;|]/)
            .map((r) => r.trim())
            .filter(Boolean);
          break;
        case 'custom':
          custom[col.name] = raw;
          break;
        case 'ignored':
          break;
      }
    });
    if (Object.keys(custom).length) user.customAttributes = custom;
    lines.push({ op: 'upsertUser', ...(opts.matchBy ? { matchBy: opts.matchBy } : {}), user });
    sourceLine.push(rowLine);
    const selector: UserSelector =
      user.externalId && opts.matchBy !== 'userName' ? { externalId: user.externalId } : { userName: user.userName };
    for (const role of roles) {
      lines.push({ op: 'assignRole', user: selector, role: { displayName: role } });
      sourceLine.push(rowLine);
    }
  });
  return { lines, sourceLine, unknownColumns };
}
