// What `npm run cluster -- status` shows: each replica's answer to STATUS (spec/06-replication.md,
// section 10), as a table, and a verdict on the whole cluster. It speaks only the spec's STATUS,
// so it works with any implementation, in any language. Lab 7's REPLICA_STATE adds a `term`
// (spec/07-consensus.md, section 11): the table shows it when a replica gives one, and the verdict
// then asks for one primary per term, since an old primary that has not yet heard of a newer term
// is no split brain.
import net from 'node:net';
import { decodeValue } from '../../labs/03-protocol/tests/wire.js';
import { T6, parseStatus, statusRequest, type Status } from '../../labs/06-replication/tests/wire.js';

/** The answer in `buffered`: undefined while it is not whole, else the answer or what is wrong with it. */
function readAnswer(buffered: Buffer): { answer: Answer | string; bytes: number } | undefined {
  if (buffered.length < 12) return undefined;
  const type = Number(buffered.readBigInt64BE(0));
  const length = buffered.readUInt32BE(8);
  if (type !== T6.REPLICA_STATE) return { answer: `answered STATUS with a frame of type ${type}, not REPLICA_STATE (110)`, bytes: Infinity };
  if (buffered.length < 12 + length) return undefined;
  const bytes = 12 + length;
  try {
    const value = decodeValue(buffered.subarray(12, bytes));
    const status = parseStatus(value);
    if (typeof status === 'string') return { answer: status, bytes };
    const term = value instanceof Map ? value.get('term') : undefined;
    if (term === undefined) return { answer: status, bytes };
    if (typeof term !== 'bigint' || term < 0n || term > BigInt(Number.MAX_SAFE_INTEGER)) return { answer: `"term" must be a non-negative int; it is ${String(term)}`, bytes };
    return { answer: { ...status, term: Number(term) }, bytes };
  } catch (error) {
    return { answer: `answered STATUS with a payload that does not decode: ${(error as Error).message}`, bytes };
  }
}

/** A replica's answer to STATUS, `undefined` if none came within `timeoutMs`, or a sentence if it came wrong. */
export function askStatus(host: string, port: number, timeoutMs = 1_000): Promise<Answer | string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let buffered = Buffer.alloc(0);
    const done = (result: Answer | string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('connect', () => socket.write(statusRequest()));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const read = readAnswer(buffered);
      if (read) done(read.answer);
    });
    socket.on('error', () => done(undefined));
    socket.on('close', () => done(undefined));
  });
}

/**
 * STATUS asked again and again on one connection, as the grader's poller does, so that a view
 * asking twice a second does not fill the replica's log with connections. A connection that
 * fails, times out or gets a wrong answer is dropped, and the next ask opens another.
 */
export class StatusLine {
  private socket: net.Socket | undefined;
  private buffered = Buffer.alloc(0);
  private waiting: ((answer: Answer | string | undefined) => void) | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  private open(): net.Socket {
    const socket = net.connect({ host: this.host, port: this.port });
    this.buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      this.buffered = Buffer.concat([this.buffered, chunk]);
      const read = readAnswer(this.buffered);
      if (!read) return;
      this.buffered = this.buffered.subarray(Math.min(read.bytes, this.buffered.length));
      if (typeof read.answer === 'string') this.close();
      this.settle(read.answer);
    });
    // Only the current connection's end matters: one closed after a timeout has had its answer.
    const lost = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.settle(undefined);
    };
    socket.on('error', lost);
    socket.on('close', lost);
    return socket;
  }

  private settle(answer: Answer | string | undefined): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(answer);
  }

  ask(timeoutMs = 1_000): Promise<Answer | string | undefined> {
    if (this.waiting) return Promise.resolve(undefined);
    this.socket ??= this.open();
    const socket = this.socket;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // No answer in time (a paused replica): this connection's answer would come late, so it goes.
        this.close();
        this.settle(undefined);
      }, timeoutMs);
      this.waiting = (answer) => (clearTimeout(timer), resolve(answer));
      socket.write(statusRequest());
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}

/** A replica's STATUS answer: lab 6's fields, and lab 7's term when it gives one. */
export type Answer = Status & { term?: number };

export interface Row {
  id: number;
  address: string;
  /** The process: 'running' (its pid is alive), 'paused' (stopped by the tool), 'gone', or undefined when the tool did not start it. */
  process: 'running' | 'paused' | 'gone' | undefined;
  pid?: number;
  answer: Answer | string | undefined;
}

/** The table, one line per replica, and the verdict under it. A `term` column when any replica gives one (lab 7). */
export function render(rows: Row[]): string {
  const terms = rows.some((r) => typeof r.answer === 'object' && r.answer.term !== undefined);
  const header = ['replica', 'address', 'process', 'role', ...(terms ? ['term'] : []), 'primary', 'log', 'commit', 'alive'];
  const lines = rows.map((row) => {
    const proc = row.process === 'running' ? `up ${row.pid}` : row.process === 'paused' ? `paused ${row.pid}` : row.process === 'gone' ? 'down' : '';
    const a = row.answer;
    if (typeof a === 'object') return [String(row.id), row.address, proc, a.role, ...(terms ? [a.term === undefined ? '-' : String(a.term)] : []), a.primary ? String(a.primary) : '-', String(a.last), String(a.commit), a.alive.join(' ') || '-'];
    const why = typeof a === 'string' ? `wrong answer: ${a}` : row.process === 'gone' ? '' : 'no answer';
    return [String(row.id), row.address, proc, why, ...header.slice(4).map(() => '')];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.filter((l) => !l[3]!.startsWith('wrong')).map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [format(header), ...lines.map(format), `verdict: ${verdict(rows)}`].join('\n');
}

const counted = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/**
 * healthy / no primary / more than one primary, with the reason. Where replicas give terms
 * (lab 7), two primaries are a split brain only in the same term; a primary of an older term is
 * stale (it has not heard of the newer one yet) and is named as such.
 */
export function verdict(rows: Row[]): string {
  const answers = rows.map((r) => r.answer).filter((a): a is Answer => typeof a === 'object');
  const up = `${answers.length} of ${rows.length} answering`;
  let primaries = answers.filter((a) => a.role === 'primary');
  const termed = primaries.length > 0 && primaries.every((p) => p.term !== undefined);
  let stale = '';
  if (termed) {
    const byTerm = new Map<number, Answer[]>();
    for (const p of primaries) byTerm.set(p.term!, [...(byTerm.get(p.term!) ?? []), p]);
    const split = [...byTerm].filter(([, ps]) => ps.length > 1).sort(([a], [b]) => a - b);
    if (split.length > 0) {
      return `${split.map(([term, ps]) => `${counted[ps.length] ?? ps.length} primaries in term ${term}: replicas ${ps.map((p) => p.id).join(' and ')}`).join('; ')} (split brain; ${up})`;
    }
    const newest = Math.max(...byTerm.keys());
    const old = primaries.filter((p) => p.term! < newest);
    if (old.length > 0) stale = `; ${old.map((p) => `replica ${p.id} still claims term ${p.term}`).join(', ')} (a stale primary: its term is over)`;
    primaries = byTerm.get(newest)!;
  }
  if (primaries.length > 1) return `more than one primary: replicas ${primaries.map((p) => p.id).join(' and ')} (${up})`;
  if (primaries.length === 0) {
    const electing = answers.some((a) => a.role === 'candidate') ? '; an election is under way' : '';
    return `no primary (${up})${electing}`;
  }
  const primary = primaries[0]!;
  const of = primary.term === undefined ? '' : ` of term ${primary.term}`;
  const strays = answers.filter((a) => a.id !== primary.id && a.primary !== primary.id && !(termed && a.role === 'primary'));
  if (strays.length > 0) return `replica ${primary.id} is the primary${of}, but ${strays.map((s) => `replica ${s.id} follows ${s.primary || 'no one'}`).join(', ')} (${up})${stale}`;
  const majority = Math.floor(rows.length / 2) + 1;
  const behind = answers.filter((a) => a.last < primary.last).map((a) => a.id);
  const note = [answers.length < majority ? 'fewer than a majority answer: writes wait' : '', behind.length ? `catching up: ${behind.join(', ')}` : ''].filter(Boolean).join('; ');
  return `${stale ? '' : 'healthy: '}replica ${primary.id} is the primary${of} (${up})${note ? `; ${note}` : ''}${stale}`;
}
