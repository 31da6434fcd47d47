import type { ParameterizedContext } from 'koa';
import type { TenantScope } from '../../kernel/scope.js';
import { listCustomAttributes } from '../../modules/custom-attributes/custom-attribute.service.js';
import type { CustomAttribute } from '../../modules/custom-attributes/custom-attribute.entity.js';
import { prepared, type SqlStatement } from '../../infra/orm/sql.js';
import { ScimError } from '../errors.js';
import { parseFilter } from '../filter/parse-filter.js';
import { compileFilter, compileSortBy, type FilterSchema } from '../filter/to-sql.js';
import type { ScimState } from '../middleware/scim-auth.js';
import { SCIM_CONTENT_TYPE } from '../middleware/scim-errors.js';
import { compileProjection, parseProjection } from '../projection.js';
import { CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, customUserExtension, type ScimSchemaDef } from '../schemas/definitions.js';
import { LIST_RESPONSE, customUserExtensionUrn } from '../schemas/urns.js';

export type ScimContext = ParameterizedContext<{ scim: ScimState; requestId: string }>;

/** The largest page a list or search returns (advertised in /ServiceProviderConfig). */
export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 100;

/** The tenant's User schemas: core, enterprise, and its own custom extension (possibly empty). */
export interface UserSchemas {
  schemas: ScimSchemaDef[];
  customUrn: string;
  customDecls: CustomAttribute[];
}

export async function userSchemas(scope: TenantScope, slug: string): Promise<UserSchemas> {
  return userSchemasOf(slug, await listCustomAttributes(scope));
}

const userSchemasByDecls = new WeakMap<CustomAttribute[], Map<string, UserSchemas>>();

/**
 * The same from the tenant's slug and declarations; built once per declarations read (declarationsOf), so
 * that what is derived from the schemas (projections, filter schemas) is kept with them.
 */
export function userSchemasOf(slug: string, customDecls: CustomAttribute[]): UserSchemas {
  let bySlug = userSchemasByDecls.get(customDecls);
  if (!bySlug) userSchemasByDecls.set(customDecls, (bySlug = new Map()));
  let us = bySlug.get(slug);
  if (!us) bySlug.set(slug, (us = buildUserSchemas(slug, customDecls)));
  return us;
}

function buildUserSchemas(slug: string, customDecls: CustomAttribute[]): UserSchemas {
  const custom = customUserExtension(
    slug,
    customDecls.map((d) => ({ name: d.name, type: d.type, multiValued: d.multiValued, description: d.description ?? undefined })),
  );
  return { schemas: [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, custom], customUrn: customUserExtensionUrn(slug), customDecls };
}

export interface ListParams {
  filter?: string;
  sortBy?: string;
  descending: boolean;
  startIndex: number;
  count: number;
  /** RFC 9865 cursor pagination: '' asks for the first page. */
  cursor?: string;
  attributes?: string | string[];
  excludedAttributes?: string | string[];
}

/**
 * The largest startIndex taken (PostgreSQL's offset is a bigint; a larger one failed there). No tenant has
 * 2^31 resources, so a page from here is empty anyway; beyond it the answer is a 400 rather than an empty page.
 */
const MAX_START_INDEX = 2_147_483_647;

function int(name: string, v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n)) throw new ScimError(400, `${name} must be an integer`, 'invalidValue');
  return n;
}

const asList = (v: unknown): string | string[] | undefined =>
  Array.isArray(v) ? v.map(String) : v === undefined || v === null ? undefined : String(v);

/** Query parameters (GET) or a SearchRequest body (POST .search), RFC 7644 §3.4.2–3.4.3. */
export function listParams(src: Record<string, unknown>): ListParams {
  const order = src.sortOrder === undefined ? 'ascending' : String(src.sortOrder).toLowerCase();
  if (order !== 'ascending' && order !== 'descending')
    throw new ScimError(400, 'sortOrder must be "ascending" or "descending"', 'invalidValue');
  // RFC 7644 §3.4.2.4: startIndex below 1 is interpreted as 1; a negative count as 0.
  const startIndex = Math.max(1, int('startIndex', src.startIndex) ?? 1);
  // (PostgreSQL's offset is a bigint: a larger startIndex failed there with a 500)
  if (startIndex > MAX_START_INDEX) throw new ScimError(400, `startIndex must be at most ${MAX_START_INDEX}`, 'invalidValue');
  const count = Math.min(MAX_PAGE_SIZE, Math.max(0, int('count', src.count) ?? DEFAULT_PAGE_SIZE));
  const cursor = src.cursor === undefined ? undefined : String(src.cursor);
  if (cursor !== undefined && src.startIndex !== undefined)
    throw new ScimError(400, 'use either cursor or startIndex pagination, not both', 'invalidValue');
  const filter = src.filter === undefined || src.filter === '' ? undefined : String(src.filter);
  const sortBy = src.sortBy === undefined || src.sortBy === '' ? undefined : String(src.sortBy);
  return {
    filter,
    sortBy,
    descending: order === 'descending',
    startIndex,
    count,
    cursor,
    attributes: asList(src.attributes),
    excludedAttributes: asList(src.excludedAttributes),
  };
}

export function projector(
  params: { attributes?: string | string[]; excludedAttributes?: string | string[] },
  schemas: readonly ScimSchemaDef[],
) {
  return compileProjection(parseProjection(params, schemas), schemas);
}

export function listResponse(resources: unknown[], totalResults: number, startIndex: number, extra: Record<string, unknown> = {}) {
  return { schemas: [LIST_RESPONSE], totalResults, startIndex, itemsPerPage: resources.length, ...extra, Resources: resources };
}

export function send(ctx: ScimContext, status: number, body?: unknown, headers: Record<string, string> = {}) {
  ctx.status = status;
  for (const [k, v] of Object.entries(headers)) ctx.set(k, v);
  if (body !== undefined) {
    ctx.type = SCIM_CONTENT_TYPE;
    ctx.body = body;
  }
}

/**
 * One SCIM request as a handler's core sees it, without a Koa context: the single-resource handlers
 * (users.ts, groups.ts) are `core(call) → reply`, so POST /Bulk runs exactly the same logic for each of
 * its operations as the single requests do.
 */
export interface ScimCall {
  scim: ScimState;
  /** The resource id of the path (`/Users/:id`). */
  id?: string;
  /** Query parameters (`attributes`, `excludedAttributes`). */
  query: Record<string, unknown>;
  body?: unknown;
  /** The If-Match / If-None-Match headers; '' or undefined when absent. */
  ifMatch?: string;
  ifNoneMatch?: string;
}

export interface ScimReply {
  status: number;
  /** undefined: no body (204, 304). */
  body?: unknown;
  headers: Record<string, string>;
}

export const reply = (status: number, body?: unknown, headers: Record<string, string> = {}): ScimReply => ({ status, body, headers });

export const callOf = (ctx: ScimContext): ScimCall => ({
  scim: ctx.state.scim,
  id: ctx.params?.id,
  query: ctx.query,
  body: ctx.request.body,
  ifMatch: ctx.get('if-match'),
  ifNoneMatch: ctx.get('if-none-match'),
});

/** The Koa handler for a core: the request in, the reply out, exactly as `send` writes it. */
export const respond =
  (core: (call: ScimCall) => Promise<ScimReply>) =>
  async (ctx: ScimContext): Promise<void> => {
    const r = await core(callOf(ctx));
    send(ctx, r.status, r.body, r.headers);
  };

const etagList = (header: string) =>
  header
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** If-Match (PUT, PATCH, DELETE): 412 unless the current version is listed or the header is `*`. */
export function checkIfMatchHeader(header: string | undefined, current: string): void {
  if (!header) return;
  const tags = etagList(header);
  const strip = (t: string) => t.replace(/^W\//, '');
  if (tags.includes('*') || tags.some((t) => strip(t) === strip(current))) return;
  throw new ScimError(412, `the resource has changed: its version is ${current}`);
}

export const checkIfMatch = (ctx: ScimContext, current: string): void => checkIfMatchHeader(ctx.get('if-match'), current);

/** If-None-Match (GET): true when the client's copy is current (answer 304). */
export function notModifiedHeader(header: string | undefined, current: string): boolean {
  if (!header) return false;
  const strip = (t: string) => t.replace(/^W\//, '');
  return etagList(header).some((t) => t === '*' || strip(t) === strip(current));
}

export const notModified = (ctx: ScimContext, current: string): boolean => notModifiedHeader(ctx.get('if-none-match'), current);

/** Whether the client asked for the resource back (`attributes` or `excludedAttributes`); else PATCH answers 204. */
export const wantsResourceIn = (query: Record<string, unknown>) => query.attributes !== undefined || query.excludedAttributes !== undefined;
export const wantsResource = (ctx: ScimContext) => wantsResourceIn(ctx.query);

export function requireJsonObject(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new ScimError(400, 'the request body must be a JSON object', 'invalidSyntax');
  return body as Record<string, unknown>;
}

export const encodeScimCursor = (key: string) => Buffer.from(key).toString('base64url');
export function decodeScimCursor(cursor: string): string {
  const v = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[0-9a-f-]{36}$/.test(v)) throw new ScimError(400, 'the cursor is not one this server issued', 'invalidCursor');
  return v;
}

/** The rows of one list or search page, and what the ListResponse says about them. */
export interface ListPage {
  rows: Record<string, unknown>[];
  totalResults: number;
  startIndex: number;
  nextCursor?: string;
}

/** A resource collection as a list page reads it (fetchListPage). */
export interface ListSource {
  table: 'users' | 'roles';
  alias: 'u' | 'r';
  where: string;
  filterSchema: FilterSchema;
  /**
   * Where the collection keeps its unfiltered total: an O(1) statement (`?` is the tenant) of one row, `total`,
   * and, if `versioned`, `version`, which moves whenever a member joins or leaves.
   */
  kept?: { sql: string; versioned: boolean };
  /**
   * The page's relations, read with it: columns joined to its rows (on the alias) once the page is cut. In an
   * index page `from` may read `page` (the page's `id` and `tenant_id`); no placeholders.
   */
  joined?: { select: string; from: string };
}

/** The collection's condition with the request's filter compiled to SQL, its values, and its kept total if unfiltered. */
function filtered(source: ListSource, params: ListParams, tenantId: string) {
  let where = source.where;
  const args: unknown[] = [tenantId];
  if (params.filter) {
    const compiled = compileFilter(parseFilter(params.filter), source.filterSchema);
    where += ` and (${compiled.sql})`;
    args.push(...compiled.params);
  }
  // Unfiltered, the collection's kept total (O(1)) stands for counting it.
  const kept = params.filter ? undefined : source.kept;
  // Unfiltered in the default order, a page can continue where the previous one ended (see fetchListPage).
  const versioned = Boolean(kept?.versioned && !params.sortBy);
  return { where, args, kept, versioned };
}

/**
 * The statement of an index page (`startIndex`), or of the page after `from`: the page's ids, then their rows;
 * the total travels with them: the kept one, or a window count over the filtered ids (before the limit).
 * Continuing after a previous page, its version must not have moved. Also what a lookup's door sends ahead
 * (planListPage): the same statement, built the same way.
 */
export function indexPageStatement(
  source: ListSource,
  params: ListParams,
  tenantId: string,
  f = filtered(source, params, tenantId),
  from?: PagePosition,
): SqlStatement {
  const { table, alias: a, joined } = source;
  const { where, args, kept, versioned } = f;
  const cols = joined ? `${a}.*, ${joined.select}` : `${a}.*`;
  const dir = params.descending ? 'desc' : 'asc';
  const order = params.sortBy ? `${compileSortBy(params.sortBy, source.filterSchema)} ${dir}, ${a}.id ${dir}` : `${a}.id`;
  // The page size is part of the statement's text, not a parameter: a prepared statement's generic plan then
  // knows it reads a page (a `limit $n` is estimated as a tenth of the table, and PostgreSQL would go on
  // planning every page for its values). It is an integer from listParams, at most MAX_PAGE_SIZE.
  const pageSize = Math.trunc(params.count);
  return {
    sql: `with page as (select ${a}.id, ${a}.tenant_id${kept ? '' : ', count(*) over () as _total'} from ${table} ${a} where ${where}${from ? ` and ${a}.id > ?` : ''}
                     order by ${order} limit ${pageSize}${from ? '' : ' offset ?'})
       select ${cols}, ${kept ? 'k.total' : 'page._total'} as _total${versioned ? ', k.version as _version' : ''} from ${table} ${a}
         join page on page.id = ${a}.id
         ${kept ? `cross join (${kept.sql}) k` : ''}
         ${joined?.from ?? ''}
        where ${a}.tenant_id = ?${from ? ' and k.version = ?::bigint' : ''} order by ${order}`,
    params: [
      ...args,
      ...(from ? [from.id] : [params.startIndex - 1]),
      ...(kept ? [tenantId] : []),
      tenantId,
      ...(from ? [from.version] : []),
    ],
  };
}

/**
 * One page of a resource collection, shared by /Users and /Groups: the filter compiled to SQL, then
 * either a cursor page (RFC 9865, default order) or an index page (RFC 7644 §3.4.2.4). An index page
 * takes its ids first and then their rows: unfiltered, the ids come from an index-only scan, so skipping
 * startIndex - 1 resources costs index entries, not wide rows. The total travels with the page (a window
 * count over the filtered ids, computed before the limit), so a lookup by userName is one statement; only
 * a page past the end counts separately.
 *
 * Okta's import asks for every index page of the unfiltered collection in turn, and an `offset` costs
 * PostgreSQL every entry before the page. Where the collection keeps a version of its members
 * (`kept.versioned`), the page remembers where it ended, and the next page of the same tenant continues
 * after that id (an index range scan, the same cost at any position) if the version has not moved in
 * between; otherwise, or in another process, it takes the offset.
 */
export async function fetchListPage(scope: TenantScope, source: ListSource, params: ListParams): Promise<ListPage> {
  const { table, alias: a, joined } = source;
  const cols = joined ? `${a}.*, ${joined.select}` : `${a}.*`;
  const f = filtered(source, params, scope.tenantId);
  const { where, args, kept, versioned } = f;
  const count = async () => {
    const [row] = await scope.em.execute<Array<{ total: string }>>(
      kept ? `select k.total from (${kept.sql}) k` : `select count(*) as total from ${table} ${a} where ${where}`,
      kept ? [scope.tenantId] : args,
    );
    return Number(row.total);
  };
  if (params.cursor !== undefined) {
    if (params.sortBy)
      throw new ScimError(400, 'cursor pagination returns resources in their default order; drop sortBy or use startIndex', 'invalidValue');
    const after = params.cursor === '' ? null : decodeScimCursor(params.cursor);
    const totalResults = await count();
    const rows =
      params.count === 0
        ? []
        : await scope.em.execute<Record<string, unknown>[]>(
            `with page as (select ${a}.id, ${a}.tenant_id from ${table} ${a} where ${where}${after ? ` and ${a}.id > ?` : ''} order by ${a}.id limit ?)
             select ${cols} from page join ${table} ${a} on ${a}.tenant_id = page.tenant_id and ${a}.id = page.id ${joined?.from ?? ''} order by ${a}.id`,
            [...args, ...(after ? [after] : []), params.count + 1],
          );
    const page = rows.slice(0, params.count);
    const last = page[page.length - 1];
    return {
      rows: page,
      totalResults,
      startIndex: 1,
      ...(rows.length > params.count ? { nextCursor: encodeScimCursor(String(last.id)) } : {}),
    };
  }
  if (params.count === 0) return { rows: [], totalResults: await count(), startIndex: params.startIndex };
  const positionKey = positionKeyOf(table, scope.tenantId);
  const after = versioned && params.startIndex > 1 ? positions.take(positionKey, params.startIndex) : undefined;
  type Row = Record<string, unknown> & { _total: string; _version?: string };
  const page = (from?: PagePosition) => {
    const statement = indexPageStatement(source, params, scope.tenantId, f, from);
    return prepared<Row>(scope.em, statement.sql, statement.params);
  };
  // Empty when the version has moved (or the page is past the end): then the offset decides.
  let rows = after ? await page(after) : [];
  if (rows.length === 0) rows = await page();
  const last = rows[rows.length - 1];
  if (versioned && last?._version !== undefined)
    positions.remember(positionKey, params.startIndex + rows.length, { id: String(last.id), version: String(last._version) });
  // No row: nothing matches (startIndex 1), or the page is past the end and only a count can tell the total.
  const totalResults = rows.length > 0 ? Number(rows[0]._total) : params.startIndex === 1 ? 0 : await count();
  // The bookkeeping columns stay on the rows: nothing renders them.
  return { rows, totalResults, startIndex: params.startIndex };
}

/**
 * The statement fetchListPage will send first for these parameters, from a guess of the tenant, for the
 * door's message (infra/db/prefetch.ts): an index page, continuing where this process's previous page of the
 * collection ended if it remembers where (looked at, not taken: the page itself takes it). Null for a cursor
 * page or a count of 0. Throws where the request is malformed (its handler then says how).
 */
export function planListPage(source: ListSource, params: ListParams, tenantId: string): SqlStatement | null {
  if (params.cursor !== undefined || params.count === 0) return null;
  const f = filtered(source, params, tenantId);
  const after = f.versioned && params.startIndex > 1 ? positions.peek(positionKeyOf(source.table, tenantId), params.startIndex) : undefined;
  return indexPageStatement(source, params, tenantId, f, after);
}

const positionKeyOf = (table: string, tenantId: string) => `${table}:${tenantId}`;

/** Where an index page ended: the id of its last resource, and the collection's version then. */
interface PagePosition {
  id: string;
  version: string;
}

/**
 * Where recent index pages ended, per collection and tenant: the id of the resource at position
 * `startIndex - 1` and the collection's version then. In the process, bounded (oldest first out): a miss
 * only means an `offset`. An entry is taken once; the page that uses it leaves the next one.
 */
class PagePositions {
  private readonly entries = new Map<string, PagePosition>();
  constructor(private readonly max: number) {}

  private static keyOf = (collection: string, startIndex: number) => `${collection}:${startIndex}`;

  peek(collection: string, startIndex: number): PagePosition | undefined {
    return this.entries.get(PagePositions.keyOf(collection, startIndex));
  }

  take(collection: string, startIndex: number): PagePosition | undefined {
    const key = PagePositions.keyOf(collection, startIndex);
    const hit = this.entries.get(key);
    if (hit) this.entries.delete(key);
    return hit;
  }

  remember(collection: string, startIndex: number, at: PagePosition): void {
    const key = PagePositions.keyOf(collection, startIndex);
    this.entries.delete(key);
    this.entries.set(key, at);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}

const positions = new PagePositions(10_000);
