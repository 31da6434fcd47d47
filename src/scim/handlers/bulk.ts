/**
 * POST /Bulk (RFC 7644 §3.7): many operations in one request.
 *
 * - Each operation runs through the same core as its single request (users.ts / groups.ts: same
 *   parsing, domain operations, audit, ETags), in its own savepoint of the request's transaction: a
 *   failing operation leaves nothing behind and the others carry on (until `failOnErrors`).
 * - `bulkId` references ("bulkId:<id>") may appear in `path` and anywhere in `data` (members, manager…),
 *   also to operations later in the request: operations run in request order except that one waits for
 *   the operations it references. Operations in a reference cycle fail with 409 (RFC 7644 §3.7.1 allows
 *   refusing what it cannot resolve), as do operations referring to one that failed.
 * - Limits, advertised in /ServiceProviderConfig: at most SCIM_BULK_MAX_OPERATIONS operations (413
 *   tooMany) and SCIM_BULK_MAX_PAYLOAD_BYTES of body (413, checked before the body is read).
 */
import type { Middleware } from 'koa';
import { ScimError, toScimError, type ScimErrorBody } from '../errors.js';
import { BULK_REQUEST, BULK_RESPONSE, sameUrn } from '../schemas/urns.js';
import { send, type ScimCall, type ScimContext, type ScimReply } from './common.js';
import { SCIM_BULK_MAX_OPERATIONS, SCIM_BULK_MAX_PAYLOAD_BYTES } from './discovery.js';
import { createGroupCore, deleteGroupCore, patchGroupCore, replaceGroupCore } from './groups.js';
import { createUserCore, deleteUserCore, patchUserCore, replaceUserCore } from './users.js';

type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Resource = 'Users' | 'Groups';
type Core = (call: ScimCall) => Promise<ScimReply>;

const CORES: Record<Resource, Record<Method, Core>> = {
  Users: { POST: createUserCore, PUT: replaceUserCore, PATCH: patchUserCore, DELETE: deleteUserCore },
  Groups: { POST: createGroupCore, PUT: replaceGroupCore, PATCH: patchGroupCore, DELETE: deleteGroupCore },
};

const BULK_ID_REF = /^bulkId:(.+)$/;

interface Operation {
  index: number;
  method: string;
  bulkId?: string;
  version?: string;
  path: string;
  data: unknown;
  /** bulkIds this operation references (in path or data). */
  refs: Set<string>;
  /** Why it cannot run at all (checked before anything runs), if so. */
  invalid?: ScimError;
}

interface OperationResult {
  method: string;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: ScimErrorBody;
}

/** Rejects an oversized body before it is read, with the limit in the message (RFC 7644 §3.7.4). */
export const bulkPayloadLimit: Middleware = async function scimBulkPayloadLimit(ctx, next) {
  const length = Number(ctx.get('content-length') || 0);
  if (ctx.method === 'POST' && length > SCIM_BULK_MAX_PAYLOAD_BYTES) {
    throw new ScimError(413, `the bulk request is ${length} bytes; maxPayloadSize is ${SCIM_BULK_MAX_PAYLOAD_BYTES}`);
  }
  await next();
};

/** A member of a JSON object by name, case-insensitively (RFC 7643 §2.1), exact spelling first. */
function member(obj: Record<string, unknown>, name: string): unknown {
  if (name in obj) return obj[name];
  const key = Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : obj[key];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every "bulkId:<id>" string value inside a JSON value. */
function collectRefs(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') {
    const m = BULK_ID_REF.exec(value);
    if (m) into.add(m[1]);
  } else if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, into);
  } else if (isObject(value)) {
    for (const v of Object.values(value)) collectRefs(v, into);
  }
}

/** The JSON value with every "bulkId:<id>" replaced by the id that operation created. */
function substitute(value: unknown, ids: Map<string, string>): unknown {
  if (typeof value === 'string') {
    const m = BULK_ID_REF.exec(value);
    return m && ids.has(m[1]) ? ids.get(m[1]) : value;
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, ids));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, ids)]));
  return value;
}

/** `/Users`, `/Groups/<id>` (the id possibly a "bulkId:" reference). */
function parsePath(path: string): { resource: Resource; id?: string } | null {
  const m = /^\/?(Users|Groups)(?:\/([^/?#]+))?\/?$/i.exec(path.trim());
  if (!m) return null;
  const resource: Resource = m[1].toLowerCase() === 'users' ? 'Users' : 'Groups';
  if (m[2] === undefined) return { resource };
  try {
    return { resource, id: decodeURIComponent(m[2]) };
  } catch {
    return null; // a malformed percent-escape: that operation's invalidPath, not the whole request's 500
  }
}

function parseRequest(body: unknown): { operations: Operation[]; failOnErrors?: number } {
  if (!isObject(body)) throw new ScimError(400, 'the request body must be a BulkRequest JSON object', 'invalidSyntax');
  const schemas = member(body, 'schemas');
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && sameUrn(s, BULK_REQUEST))) {
    throw new ScimError(400, `schemas must contain "${BULK_REQUEST}"`, 'invalidSyntax');
  }
  const raw = member(body, 'Operations');
  if (!Array.isArray(raw)) throw new ScimError(400, 'Operations must be an array of operations', 'invalidSyntax');
  if (raw.length > SCIM_BULK_MAX_OPERATIONS) {
    throw new ScimError(413, `the bulk request has ${raw.length} operations; maxOperations is ${SCIM_BULK_MAX_OPERATIONS}`, 'tooMany');
  }
  const foe = member(body, 'failOnErrors');
  if (foe !== undefined && foe !== null && (typeof foe !== 'number' || !Number.isInteger(foe) || foe < 1)) {
    throw new ScimError(400, 'failOnErrors must be a positive integer', 'invalidValue');
  }
  const seen = new Set<string>();
  const operations = raw.map((o, index): Operation => {
    if (!isObject(o))
      return {
        index,
        method: '',
        path: '',
        data: undefined,
        refs: new Set(),
        invalid: new ScimError(400, `Operations[${index}] must be an object`, 'invalidSyntax'),
      };
    const method = typeof member(o, 'method') === 'string' ? String(member(o, 'method')).toUpperCase() : '';
    const bulkIdRaw = member(o, 'bulkId');
    const bulkId = typeof bulkIdRaw === 'string' && bulkIdRaw !== '' ? bulkIdRaw : undefined;
    const versionRaw = member(o, 'version');
    const path = typeof member(o, 'path') === 'string' ? String(member(o, 'path')) : '';
    const data = member(o, 'data');
    const refs = new Set<string>();
    collectRefs(path, refs);
    const idSegment = parsePath(path)?.id;
    if (idSegment) collectRefs(idSegment, refs);
    collectRefs(data, refs);
    const op: Operation = { index, method, bulkId, version: typeof versionRaw === 'string' ? versionRaw : undefined, path, data, refs };
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method))
      op.invalid = new ScimError(
        400,
        `method must be POST, PUT, PATCH or DELETE (got ${JSON.stringify(member(o, 'method') ?? null)})`,
        'invalidValue',
      );
    else if (bulkIdRaw !== undefined && bulkId === undefined)
      op.invalid = new ScimError(400, 'bulkId must be a non-empty string', 'invalidValue');
    else if (method === 'POST' && !bulkId) op.invalid = new ScimError(400, 'bulkId is required for POST (RFC 7644 §3.7)', 'invalidValue');
    else if (bulkId && seen.has(bulkId))
      op.invalid = new ScimError(400, `bulkId "${bulkId}" is used by an earlier operation`, 'uniqueness');
    else {
      const target = parsePath(path);
      if (!target)
        op.invalid = new ScimError(
          400,
          `path must be /Users, /Groups, /Users/<id> or /Groups/<id> (got ${JSON.stringify(path)})`,
          'invalidPath',
        );
      else if (method === 'POST' && target.id !== undefined)
        op.invalid = new ScimError(400, `POST goes to /${target.resource}, without an id`, 'invalidPath');
      else if (method !== 'POST' && target.id === undefined)
        op.invalid = new ScimError(400, `${method} needs the resource id in the path (/${target.resource}/<id>)`, 'invalidPath');
      else if (method !== 'DELETE' && !isObject(data))
        op.invalid = new ScimError(400, `${method} needs "data", a JSON object`, 'invalidSyntax');
    }
    if (bulkId) seen.add(bulkId);
    return op;
  });
  return { operations, failOnErrors: typeof foe === 'number' ? foe : undefined };
}

/** Operations of `pending` that reach themselves through their references (members of a cycle). */
function inCycles(pending: Operation[], byBulkId: Map<string, Operation>): Set<Operation> {
  const out = new Set<Operation>();
  const inPending = new Set(pending);
  for (const start of pending) {
    const stack = [...start.refs];
    const visited = new Set<string>();
    while (stack.length) {
      const ref = stack.pop() as string;
      if (visited.has(ref)) continue;
      visited.add(ref);
      const target = byBulkId.get(ref);
      if (!target || !inPending.has(target)) continue;
      if (target === start) {
        out.add(start);
        break;
      }
      stack.push(...target.refs);
    }
  }
  return out;
}

export async function bulkHandler(ctx: ScimContext): Promise<void> {
  const state = ctx.state.scim;
  const { operations, failOnErrors } = parseRequest(ctx.request.body);
  const byBulkId = new Map<string, Operation>();
  for (const op of operations) if (op.bulkId && !op.invalid && !byBulkId.has(op.bulkId)) byBulkId.set(op.bulkId, op);

  const created = new Map<string, string>(); // bulkId → id of the resource its operation created
  const failedBulkIds = new Set<string>();
  const results = new Map<number, OperationResult>();
  let errors = 0;
  const pending = [...operations];

  const record = (op: Operation, result: OperationResult) => {
    results.set(op.index, result);
    if (result.response) {
      errors += 1;
      // (an operation refused for reusing a bulkId does not fail the operation the bulkId names)
      if (op.bulkId && byBulkId.get(op.bulkId) === op) failedBulkIds.add(op.bulkId);
    }
  };
  const fail = (op: Operation, err: ScimError, location?: string) => {
    const mapped = toScimError(err);
    record(op, {
      method: op.method,
      ...(op.bulkId ? { bulkId: op.bulkId } : {}),
      ...(location ? { location } : {}),
      status: String(err.status),
      response: mapped?.body,
    });
  };

  // Only a POST creates what a reference stands for (RFC 7644 §3.7.2): another operation's bulkId names nothing to wait for.
  const referable = (ref: string) => byBulkId.get(ref)?.method === 'POST';
  const circular = new Set<Operation>();
  while (pending.length > 0 && (failOnErrors === undefined || errors < failOnErrors)) {
    // The first operation (in request order) whose references are all settled. When there is none, the
    // operations still waiting are in, or behind, a reference cycle: the members of cycles fail, and
    // then those behind them (their reference failed).
    const settled = (ref: string) => created.has(ref) || failedBulkIds.has(ref) || !referable(ref);
    let i = pending.findIndex((op) => op.invalid || circular.has(op) || [...op.refs].every(settled));
    if (i < 0) {
      const cyclic = inCycles(pending, byBulkId);
      for (const op of cyclic.size > 0 ? cyclic : [pending[0]]) circular.add(op);
      i = pending.findIndex((op) => circular.has(op));
    }
    const op = pending.splice(i, 1)[0];
    if (circular.has(op)) {
      fail(
        op,
        new ScimError(
          409,
          `circular bulkId reference: ${[...op.refs].map((r) => `bulkId:${r}`).join(', ')} cannot be resolved before this operation`,
          'invalidValue',
        ),
      );
      continue;
    }
    if (op.invalid) {
      fail(op, op.invalid);
      continue;
    }
    const unknown = [...op.refs].find((r) => !referable(r));
    if (unknown !== undefined) {
      const named = byBulkId.get(unknown);
      const why = named ? `names a ${named.method}; only the bulkId of a POST can be referenced` : 'names no operation of this request';
      fail(op, new ScimError(400, `bulkId:${unknown} ${why}`, 'invalidValue'));
      continue;
    }
    const failedRef = [...op.refs].find((r) => failedBulkIds.has(r));
    if (failedRef !== undefined) {
      fail(op, new ScimError(409, `bulkId:${failedRef} refers to an operation that failed`, 'invalidValue'));
      continue;
    }
    const target = parsePath(op.path) as { resource: Resource; id?: string };
    const id = target.id === undefined ? undefined : (substitute(target.id, created) as string);
    const location = id ? `${state.baseUrl}/${target.resource}/${id}` : undefined;
    try {
      const r = await state.scope.em.transactional(
        (em) =>
          CORES[target.resource][op.method as Method]({
            scim: { ...state, scope: { ...state.scope, em } },
            id,
            query: {},
            body: substitute(op.data, created),
            ifMatch: op.method === 'POST' ? undefined : op.version,
          }),
        // A fresh identity map per operation: the 1,000th costs what the first does.
        { clear: true },
      );
      const loc = r.headers.Location ?? location;
      if (op.method === 'POST' && op.bulkId && loc) created.set(op.bulkId, loc.slice(loc.lastIndexOf('/') + 1));
      record(op, {
        method: op.method,
        ...(op.bulkId ? { bulkId: op.bulkId } : {}),
        ...(r.headers.ETag ? { version: r.headers.ETag } : {}),
        ...(loc ? { location: loc } : {}),
        status: String(r.status),
      });
    } catch (err) {
      const mapped = toScimError(err);
      // Only the client's problems stay per-operation; a server failure (the database gone, a bug) fails
      // the whole request, which then commits nothing.
      if (!mapped || mapped.status >= 500) throw err;
      record(op, {
        method: op.method,
        ...(op.bulkId ? { bulkId: op.bulkId } : {}),
        ...(location ? { location } : {}),
        status: String(mapped.status),
        response: mapped.body,
      });
    }
  }

  const Operations = [...results.entries()].sort(([a], [b]) => a - b).map(([, r]) => r);
  send(ctx, 200, { schemas: [BULK_RESPONSE], Operations });
}
