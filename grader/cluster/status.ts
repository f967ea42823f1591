// What `npm run cluster -- status` shows: each replica's answer to STATUS (spec/06-replication.md,
// section 10), as a table, and a verdict on the whole cluster. It speaks only the spec's STATUS,
// so it works with any implementation, in any language.
import net from 'node:net';
import { decodeValue } from '../../labs/03-protocol/tests/wire.js';
import { T6, parseStatus, statusRequest, type Status } from '../../labs/06-replication/tests/wire.js';

/** A replica's answer to STATUS, `undefined` if none came within `timeoutMs`, or a sentence if it came wrong. */
export function askStatus(host: string, port: number, timeoutMs = 1_000): Promise<Status | string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let buffered = Buffer.alloc(0);
    const done = (result: Status | string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('connect', () => socket.write(statusRequest()));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 12) return;
      const type = Number(buffered.readBigInt64BE(0));
      const length = buffered.readUInt32BE(8);
      if (type !== T6.REPLICA_STATE) return done(`answered STATUS with a frame of type ${type}, not REPLICA_STATE (110)`);
      if (buffered.length < 12 + length) return;
      try {
        done(parseStatus(decodeValue(buffered.subarray(12, 12 + length))));
      } catch (error) {
        done(`answered STATUS with a payload that does not decode: ${(error as Error).message}`);
      }
    });
    socket.on('error', () => done(undefined));
    socket.on('close', () => done(undefined));
  });
}

export interface Row {
  id: number;
  address: string;
  /** The process: 'running' (its pid is alive), 'gone', or undefined when the tool did not start it. */
  process: 'running' | 'gone' | undefined;
  pid?: number;
  answer: Status | string | undefined;
}

/** The table, one line per replica, and the verdict under it. */
export function render(rows: Row[]): string {
  const header = ['replica', 'address', 'process', 'role', 'primary', 'log', 'commit', 'alive'];
  const lines = rows.map((row) => {
    const proc = row.process === 'running' ? `up ${row.pid}` : row.process === 'gone' ? 'down' : '';
    const a = row.answer;
    if (typeof a === 'object') return [String(row.id), row.address, proc, a.role, a.primary ? String(a.primary) : '-', String(a.last), String(a.commit), a.alive.join(' ') || '-'];
    const why = typeof a === 'string' ? `wrong answer: ${a}` : row.process === 'gone' ? '' : 'no answer';
    return [String(row.id), row.address, proc, why, '', '', '', ''];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.filter((l) => !l[3]!.startsWith('wrong')).map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [format(header), ...lines.map(format), `verdict: ${verdict(rows)}`].join('\n');
}

/** healthy / no primary / more than one primary, with the reason. */
export function verdict(rows: Row[]): string {
  const answers = rows.map((r) => r.answer).filter((a): a is Status => typeof a === 'object');
  const up = `${answers.length} of ${rows.length} answering`;
  const primaries = answers.filter((a) => a.role === 'primary');
  if (primaries.length > 1) return `more than one primary: replicas ${primaries.map((p) => p.id).join(' and ')} (${up})`;
  if (primaries.length === 0) {
    const electing = answers.some((a) => a.role === 'candidate') ? '; an election is under way' : '';
    return `no primary (${up})${electing}`;
  }
  const primary = primaries[0]!.id;
  const strays = answers.filter((a) => a.id !== primary && a.primary !== primary);
  if (strays.length > 0) return `replica ${primary} is the primary, but ${strays.map((s) => `replica ${s.id} follows ${s.primary || 'no one'}`).join(', ')} (${up})`;
  const majority = Math.floor(rows.length / 2) + 1;
  const behind = answers.filter((a) => a.last < primaries[0]!.last).map((a) => a.id);
  const note = [answers.length < majority ? 'fewer than a majority answer: writes wait' : '', behind.length ? `catching up: ${behind.join(', ')}` : ''].filter(Boolean).join('; ');
  return `healthy: replica ${primary} is the primary (${up})${note ? `; ${note}` : ''}`;
}
