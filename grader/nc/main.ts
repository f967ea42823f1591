// `npm run nc`: a small netcat for trying a server by hand, the same on Linux, macOS and Windows.
//
//   npm run nc -- 7007                          type lines; end of input closes your side
//   npm run nc -- 7007 --send 'h\xc3\xa9llo\n' --hex      send bytes, see the bytes that come back
//   npm run nc -- 7007 --send 'slow\n' --no-read          a client that stops reading
//   npm run nc -- 7007 --send 'flood\n' --flood 200000    a client that sends a lot
//
// The handouts use it where the system's own `nc` differs between systems: Debian's and Ubuntu's
// netcat-openbsd keeps the connection open after Ctrl+D unless given -N, macOS's nc and Windows
// (which has none) differ again, and printf and xxd are not on Windows.
import net from 'node:net';
import { parseArgs } from 'node:util';

const usage = `usage: npm run nc -- [HOST] PORT [options]

Connects to HOST:PORT (HOST: localhost by default). What you type is sent as you type it; the end
of your input (Ctrl+D on Linux and macOS, Ctrl+Z then Enter on Windows) closes your side of the
connection, as nc -N does, and what the server still sends is printed until it closes its side.

options:
  --send TEXT    send TEXT instead of what you type, then close your side. Escapes, as in C:
                 \\n \\r \\t \\\\, \\xHH and octal \\NNN (one byte each: \\0 is a zero byte, and
                 'h\\xc3\\xa9llo' is UTF-8 for "héllo")
  --flood N      after --send, send N more lines ("line 1 of N ...") as fast as the server reads
  --no-read      never read what the server sends (a slow consumer) and keep your side open;
                 Ctrl+C ends it
  --hex          show what arrives as a hex dump (offset, bytes, text), one line per 16 bytes
  --crlf         send each line you type with \\r\\n instead of \\n
  --help         this text`;

/** The bytes of TEXT with its escapes (\n, \r, \t, \\, \xHH, octal \NNN) turned into what they stand for. */
function unescape(text: string): Buffer {
  const bytes: Buffer[] = [];
  let plain = '';
  const flush = () => {
    if (plain) bytes.push(Buffer.from(plain, 'utf8'));
    plain = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\' || i + 1 === text.length) {
      plain += c;
      continue;
    }
    const next = text[++i]!;
    const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\' };
    const octal = /^[0-7]{1,3}/.exec(text.slice(i));
    if (next in simple) plain += simple[next];
    else if (octal && parseInt(octal[0], 8) < 256) {
      flush();
      bytes.push(Buffer.from([parseInt(octal[0], 8)]));
      i += octal[0].length - 1;
    } else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      flush();
      bytes.push(Buffer.from([parseInt(text.slice(i + 1, i + 3), 16)]));
      i += 2;
    } else throw new Error(`--send: unknown escape \\${next} (known: \\n \\r \\t \\\\ \\xHH and octal \\NNN)`);
  }
  flush();
  return Buffer.concat(bytes);
}

/** Lines of a hex dump of `data`, which starts at `offset` in the stream. */
function hexLines(data: Buffer, offset: number): string[] {
  const lines: string[] = [];
  for (let at = 0; at < data.length; at += 16) {
    const row = data.subarray(at, at + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const text = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${(offset + at).toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  |${text}|`);
  }
  return lines;
}

function fail(message: string): never {
  process.stderr.write(`nc: ${message}\n`);
  process.exit(2);
}

function main(): void {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        send: { type: 'string' },
        flood: { type: 'string' },
        'no-read': { type: 'boolean', default: false },
        hex: { type: 'boolean', default: false },
        crlf: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    fail(`${(error as Error).message}\n\n${usage}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (positionals.length < 1 || positionals.length > 2) fail(`give a port, or a host and a port\n\n${usage}`);
  const host = positionals.length === 2 ? positionals[0]! : 'localhost';
  const port = Number(positionals.at(-1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`not a port: ${positionals.at(-1)}`);
  const flood = values.flood === undefined ? 0 : Number(values.flood);
  if (!Number.isInteger(flood) || flood < 0) fail(`--flood wants a whole number of lines, not ${values.flood}`);
  if (flood > 0 && values.send === undefined) fail('--flood goes with --send (the lines before the flood, a name for example)');
  let toSend: Buffer | undefined;
  try {
    toSend = values.send === undefined ? undefined : unescape(values.send);
  } catch (error) {
    fail((error as Error).message);
  }

  const socket = net.connect({ host, port });
  let received = 0;
  socket.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ECONNREFUSED') fail(`nothing is listening on ${host}:${port} (ECONNREFUSED)`);
    fail(`${host}:${port}: ${error.message}`);
  });
  let midLine = false; // the text printed so far ends inside a line
  socket.on('data', (data) => {
    if (values.hex) process.stdout.write(hexLines(data, received).map((line) => `${line}\n`).join(''));
    else process.stdout.write(data);
    received += data.length;
    midLine = !values.hex && data[data.length - 1] !== 0x0a;
  });
  socket.on('end', () => process.stderr.write(`${midLine ? '\n' : ''}nc: the server closed its side (${received} bytes received)\n`));
  // Exit once what was printed is out: on Windows a pipe is written asynchronously.
  socket.on('close', () => process.stdout.write('', () => process.exit(0)));

  socket.on('connect', async () => {
    if (values['no-read']) {
      socket.pause();
      // A socket that is not reading does not keep Node running: this timer does, until Ctrl+C.
      setInterval(() => {}, 60_000);
      process.stderr.write('nc: connected, and not reading anything the server sends; Ctrl+C ends it\n');
    }
    if (toSend === undefined) {
      typeInto(socket, values.crlf, !values['no-read']);
      return;
    }
    await write(socket, toSend);
    for (let n = 1; n <= flood; n++) await write(socket, Buffer.from(`line ${n} of ${flood} to fill the buffers of anyone who is not reading\n`));
    if (!values['no-read']) socket.end();
  });
}

/** Writes `data`, waiting for 'drain' when the socket's queue is full (backpressure). */
async function write(socket: net.Socket, data: Buffer): Promise<void> {
  if (!socket.write(data)) await new Promise((resolve) => socket.once('drain', resolve));
}

/** Sends what is typed (or piped in); at its end, closes the sending side if `halfClose`. */
function typeInto(socket: net.Socket, crlf: boolean, halfClose: boolean): void {
  process.stdin.on('data', (chunk: Buffer) => {
    const text = crlf ? chunk.toString('utf8').replace(/\r?\n/g, '\r\n') : chunk;
    if (!socket.write(text)) {
      process.stdin.pause();
      socket.once('drain', () => process.stdin.resume());
    }
  });
  process.stdin.on('end', () => {
    if (halfClose) socket.end();
  });
}

main();
