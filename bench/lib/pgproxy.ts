import net from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * A counting proxy for the PostgreSQL wire protocol, for profiling only: a Roster process started with
 * DATABASE_URL pointing here talks to the real database through it, and the proxy records every
 * statement (simple Query, or extended Parse/Bind/Execute with its parameters), every round trip
 * (a Sync or a Query, ended by the server's ReadyForQuery) and the time the database took for each.
 * Nothing in Roster changes; the counts are exact. Only plain-text local connections (no TLS).
 */
export interface Statement {
  sql: string;
  params: Array<string | null>;
  /** Time from the client's Sync/Query to the server's ReadyForQuery, shared by the statements of one round trip. */
  ms: number;
}

export interface Capture {
  statements: Statement[];
  roundTrips: number;
  dbMs: number;
}

interface RoundTrip {
  t0: number;
  statements: Statement[];
}

export class PgProxy {
  private server: net.Server | null = null;
  private capture: Capture = { statements: [], roundTrips: 0, dbMs: 0 };
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly targetPort: number) {}

  async start(): Promise<number> {
    this.server = net.createServer((client) => this.connection(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Everything recorded since the previous call. */
  take(): Capture {
    const c = this.capture;
    this.capture = { statements: [], roundTrips: 0, dbMs: 0 };
    return c;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private connection(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    const named = new Map<string, string>();
    let bind: { stmt: string; params: Array<string | null> } | null = null;
    let current: Statement[] = [];
    const pending: RoundTrip[] = [];
    let startup = true;
    let inBuf: Buffer = Buffer.alloc(0);
    let outBuf: Buffer = Buffer.alloc(0);

    const endRoundTrip = () => {
      pending.push({ t0: performance.now(), statements: current });
      current = [];
      this.capture.roundTrips++;
    };

    const onClientMessage = (type: string, body: Buffer) => {
      if (type === 'Q') {
        const st: Statement = { sql: cstring(body, 0)[0], params: [], ms: 0 };
        current.push(st);
        this.capture.statements.push(st);
        endRoundTrip();
      } else if (type === 'P') {
        const [name, next] = cstring(body, 0);
        named.set(name, cstring(body, next)[0]);
      } else if (type === 'B') {
        let [, off] = cstring(body, 0);
        const [stmt, off2] = cstring(body, off);
        off = off2;
        const nFormats = body.readInt16BE(off);
        off += 2;
        const formats: number[] = [];
        for (let k = 0; k < nFormats; k++, off += 2) formats.push(body.readInt16BE(off));
        const nParams = body.readInt16BE(off);
        off += 2;
        const params: Array<string | null> = [];
        for (let k = 0; k < nParams; k++) {
          const len = body.readInt32BE(off);
          off += 4;
          if (len < 0) params.push(null);
          else {
            const binary = (nFormats === 1 ? formats[0] : (formats[k] ?? 0)) === 1;
            params.push(binary ? `<binary ${len} bytes>` : body.toString('utf8', off, off + len));
            off += len;
          }
        }
        bind = { stmt, params };
      } else if (type === 'E') {
        const st: Statement = { sql: named.get(bind?.stmt ?? '') ?? '?', params: bind?.params ?? [], ms: 0 };
        current.push(st);
        this.capture.statements.push(st);
      } else if (type === 'S') {
        endRoundTrip();
      }
    };

    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      inBuf = inBuf.length ? Buffer.concat([inBuf, chunk]) : chunk;
      for (;;) {
        if (startup) {
          if (inBuf.length < 8) break;
          const len = inBuf.readInt32BE(0);
          if (inBuf.length < len) break;
          const code = inBuf.readInt32BE(4);
          inBuf = inBuf.subarray(len);
          // SSLRequest / GSSENCRequest would be followed by another startup message; the normal one ends startup.
          if (code !== 80877103 && code !== 80877104) startup = false;
          continue;
        }
        if (inBuf.length < 5) break;
        const len = inBuf.readInt32BE(1);
        if (inBuf.length < 1 + len) break;
        onClientMessage(String.fromCharCode(inBuf[0]), inBuf.subarray(5, 1 + len));
        inBuf = inBuf.subarray(1 + len);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      outBuf = outBuf.length ? Buffer.concat([outBuf, chunk]) : chunk;
      for (;;) {
        if (outBuf.length < 5) break;
        const len = outBuf.readInt32BE(1);
        if (outBuf.length < 1 + len) break;
        if (outBuf[0] === 0x5a /* Z: ReadyForQuery */) {
          const rt = pending.shift();
          if (rt) {
            const ms = performance.now() - rt.t0;
            this.capture.dbMs += ms;
            for (const st of rt.statements) st.ms = ms / rt.statements.length;
          }
        }
        outBuf = outBuf.subarray(1 + len);
      }
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  }
}

function cstring(buf: Buffer, offset: number): [string, number] {
  const end = buf.indexOf(0, offset);
  return [buf.toString('utf8', offset, end), end + 1];
}
