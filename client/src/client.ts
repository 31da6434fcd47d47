import {
  AppendBulkJobLinesDocument,
  BulkJobDocument,
  BulkJobLinesDocument,
  CancelBulkJobDocument,
  ExportUsersDocument,
  StartBulkJobDocument,
  UpsertUsersDocument,
  type BulkJobFieldsFragment,
  type BulkJobLinesQuery,
  type BulkLineStatus,
  type ExportUsersQuery,
  type TypedDocumentString,
  type UpsertMatchBy,
  type UpsertUserInput,
  type UpsertUsersMutation,
  type UserErrorFieldsFragment,
} from './__generated__/graphql.js';

export interface RosterClientOptions {
  /** The GraphQL endpoint, e.g. https://roster.example.com/graphql */
  url: string;
  /** A tenant API key (rst_key_…); bulk writes need directory:write. */
  apiKey: string;
  /** Defaults to the global fetch (Node 18+, browsers). */
  fetch?: typeof fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Attempts for retryable failures (network errors on idempotent calls, 503). Default 4. */
  maxAttempts?: number;
}

/** A request that failed: HTTP, a GraphQL error (extensions.code), or userErrors of a mutation. */
export class RosterError extends Error {
  constructor(
    message: string,
    /** e.g. UNAUTHENTICATED, FORBIDDEN, LIMIT_EXCEEDED, NETWORK, HTTP_502 */
    readonly code: string,
    readonly details: { status?: number; errors?: unknown[]; userErrors?: UserErrorFieldsFragment[] } = {},
  ) {
    super(message);
    this.name = 'RosterError';
  }
}

export type BulkJobInfo = BulkJobFieldsFragment;
export type ExportedUser = ExportUsersQuery['users']['nodes'][number];
export type BulkJobLineInfo = NonNullable<BulkJobLinesQuery['bulkJob']>['lines']['nodes'][number];

export interface UploadOptions {
  /** An idempotency key: uploading again with the same key continues (or returns) the same job. */
  clientKey?: string;
  /** Upper bound of one request's lines, in bytes (the server accepts 1 MB bodies). Default 512 KiB. */
  chunkBytes?: number;
  /** Called after each chunk with the lines received so far. */
  onUpload?: (receivedThrough: number, totalLines: number) => void;
}

export interface WaitOptions {
  /** Poll interval. Default 1000 ms. */
  intervalMs?: number;
  onProgress?: (job: BulkJobInfo) => void;
  signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });

const FINISHED = new Set(['COMPLETED', 'CANCELLED']);
const utf8 = new TextEncoder();

/**
 * A small typed client for Roster's GraphQL API: `request` runs any typed document from
 * __generated__/graphql.ts; the helpers cover the bulk workflows (batches, jobs, export).
 */
export class RosterClient {
  private readonly fetchImpl: typeof fetch;
  private readonly maxAttempts: number;

  constructor(private readonly options: RosterClientOptions) {
    this.fetchImpl = options.fetch ?? fetch;
    this.maxAttempts = options.maxAttempts ?? 4;
  }

  /**
   * Runs one operation; throws RosterError on HTTP or GraphQL errors. A 503 (nothing was changed) is
   * retried with backoff; with `idempotent`, so are network failures (safe only for idempotent calls).
   */
  async request<TResult, TVariables>(
    document: TypedDocumentString<TResult, TVariables>,
    variables?: TVariables,
    opts: { idempotent?: boolean } = {},
  ): Promise<TResult> {
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetchImpl(this.options.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            authorization: `Bearer ${this.options.apiKey}`,
            ...this.options.headers,
          },
          body: JSON.stringify({ query: document.toString(), variables: variables ?? {} }),
        });
      } catch (err) {
        if (opts.idempotent && attempt < this.maxAttempts) {
          await sleep(250 * 2 ** attempt);
          continue;
        }
        throw new RosterError(`cannot reach ${this.options.url}: ${(err as Error).message}`, 'NETWORK');
      }
      if (res.status === 503 && attempt < this.maxAttempts) {
        await sleep(Number(res.headers.get('retry-after') ?? 0) * 1000 || 250 * 2 ** attempt);
        continue;
      }
      const text = await res.text();
      let body: { data?: TResult; errors?: Array<{ message: string; extensions?: { code?: string } }> };
      try {
        body = JSON.parse(text);
      } catch {
        throw new RosterError(`HTTP ${res.status} from ${this.options.url}: ${text.slice(0, 200)}`, `HTTP_${res.status}`, {
          status: res.status,
        });
      }
      if (body.errors?.length) {
        const first = body.errors[0];
        throw new RosterError(first.message, first.extensions?.code ?? `HTTP_${res.status}`, { status: res.status, errors: body.errors });
      }
      if (!body.data) throw new RosterError(`HTTP ${res.status}: no data`, `HTTP_${res.status}`, { status: res.status });
      return body.data;
    }
  }

  /** Creates or updates up to 1,000 users; per-item results (outcome or userErrors) in input order. */
  async upsertUsers(users: UpsertUserInput[], matchBy: UpsertMatchBy = 'EXTERNAL_ID'): Promise<UpsertUsersMutation['upsertUsers']> {
    const data = await this.request(UpsertUsersDocument, { input: { users, matchBy } }, { idempotent: true });
    throwUserErrors(data.upsertUsers.userErrors);
    return data.upsertUsers;
  }

  /**
   * Uploads JSON Lines as a bulk job, in chunks, and queues it. With a clientKey the upload is
   * resumable: calling again with the same key continues after the lines the server already has (or,
   * once the job is queued, just returns it).
   */
  async uploadBulkJob(lines: readonly string[], opts: UploadOptions = {}): Promise<{ job: BulkJobInfo; reused: boolean }> {
    const start = await this.request(
      StartBulkJobDocument,
      { input: { clientKey: opts.clientKey ?? null, complete: lines.length === 0 } },
      { idempotent: Boolean(opts.clientKey) },
    );
    throwUserErrors(start.startBulkJob.userErrors);
    let job = start.startBulkJob.job as BulkJobInfo;
    const limit = opts.chunkBytes ?? 512 * 1024;
    let next = job.receivedThrough; // index into lines of the first line the server does not have
    opts.onUpload?.(next, lines.length);
    while (job.status === 'UPLOADING') {
      // A chunk's size as it travels: each line JSON-escaped inside the request body, plus its newline.
      let bytes = 0;
      let end = next;
      for (; end < lines.length; end++) {
        const size = utf8.encode(JSON.stringify(lines[end])).length - 1;
        if (end > next && bytes + size > limit) break;
        bytes += size;
      }
      const chunk = lines.slice(next, end).join('\n');
      const appended = await this.request(
        AppendBulkJobLinesDocument,
        { input: { jobId: job.id, lines: chunk, firstLineNumber: next + 1, complete: end >= lines.length } },
        { idempotent: true },
      );
      throwUserErrors(appended.appendBulkJobLines.userErrors);
      job = appended.appendBulkJobLines.job as BulkJobInfo;
      next = job.receivedThrough;
      opts.onUpload?.(next, lines.length);
    }
    return { job, reused: Boolean(start.startBulkJob.reused) };
  }

  async bulkJob(id: string): Promise<BulkJobInfo | null> {
    return (await this.request(BulkJobDocument, { id }, { idempotent: true })).bulkJob;
  }

  /** Polls a job until it is COMPLETED or CANCELLED. */
  async waitForBulkJob(id: string, opts: WaitOptions = {}): Promise<BulkJobInfo> {
    for (;;) {
      const job = await this.bulkJob(id);
      if (!job) throw new RosterError(`bulk job ${id} not found`, 'NOT_FOUND');
      opts.onProgress?.(job);
      if (FINISHED.has(job.status)) return job;
      await sleep(opts.intervalMs ?? 1000, opts.signal);
    }
  }

  async cancelBulkJob(id: string): Promise<BulkJobInfo> {
    const data = await this.request(CancelBulkJobDocument, { id }, { idempotent: true });
    throwUserErrors(data.cancelBulkJob.userErrors);
    return data.cancelBulkJob.job as BulkJobInfo;
  }

  /** A job's lines in order (optionally only FAILED, …), page by page. */
  async *bulkJobLines(id: string, status?: BulkLineStatus): AsyncGenerator<BulkJobLineInfo> {
    let after: string | null = null;
    for (;;) {
      const data: BulkJobLinesQuery = await this.request(
        BulkJobLinesDocument,
        { id, status: status ?? null, first: 100, after },
        { idempotent: true },
      );
      if (!data.bulkJob) return;
      yield* data.bulkJob.lines.nodes;
      if (!data.bulkJob.lines.pageInfo.hasNextPage) return;
      after = data.bulkJob.lines.pageInfo.endCursor;
    }
  }

  /** Every user of the tenant (with team and manager), in creation order, page by page. */
  async *users(pageSize = 100): AsyncGenerator<ExportedUser> {
    let after: string | null = null;
    for (;;) {
      const data: ExportUsersQuery = await this.request(ExportUsersDocument, { first: pageSize, after }, { idempotent: true });
      yield* data.users.nodes;
      if (!data.users.pageInfo.hasNextPage) return;
      after = data.users.pageInfo.endCursor;
    }
  }
}

function throwUserErrors(errors: readonly UserErrorFieldsFragment[]): void {
  if (errors.length > 0) throw new RosterError(errors.map((e) => e.message).join('; '), errors[0].code, { userErrors: [...errors] });
}
