// `npm run nc`, the handouts' netcat: escapes and hex dumps, piped input closing the sending side,
// a client that stops reading (the server's queue grows, the client stays), and a clear error
// when nothing listens.
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, test } from 'vitest';
import { claimPort } from '../harness/ports.js';
import { kitArgs, ms, root } from './support.js';

const tool = path.join(root, 'grader', 'nc', 'main.ts');
const nc = (args: string[], input?: string) => execa('node', [...kitArgs(tool), ...args], { cwd: root, input, reject: false, stripFinalNewline: false, timeout: ms(30_000) });

let servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  servers = [];
});

/** A server on 127.0.0.1 running `handle` for each connection; its port. */
async function serve(handle: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {}); // a client killed with data unread resets the connection
    handle(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

const echo = (socket: net.Socket) => socket.pipe(socket);

describe('npm run nc', () => {
  test('--send turns escapes into bytes, and --hex shows the bytes that come back', async () => {
    const port = await serve(echo);
    const run = await nc(['127.0.0.1', String(port), '--send', 'h\\xc3\\xa9llo\\0\\t\\\\\\n\\1\\377\\0101', '--hex']);
    expect(run.stderr).toContain('the server closed its side (14 bytes received)');
    expect(run.stdout).toBe('00000000  68 c3 a9 6c 6c 6f 00 09 5c 0a 01 ff 08 31        |h..llo..\\....1|\n');
    expect(run.exitCode).toBe(0);
  });

  test('what is piped in is sent, its end closes the sending side, and what the server sends after is still printed', async () => {
    const port = await serve((socket) => {
      const got: Buffer[] = [];
      socket.on('data', (data) => got.push(data));
      socket.on('end', () => socket.end(`you sent ${Buffer.concat(got).length} bytes\n`));
    });
    const run = await nc(['127.0.0.1', String(port)], 'one\ntwo\n');
    expect(run.stdout).toBe('you sent 8 bytes\n');
    expect(run.exitCode).toBe(0);
  });

  test('--crlf ends each typed line with \\r\\n', async () => {
    const port = await serve(echo);
    const run = await nc(['127.0.0.1', String(port), '--crlf', '--hex'], 'a\nb\n');
    expect(run.stdout).toContain('61 0d 0a 62 0d 0a');
  });

  test('--no-read reads nothing: the server queues what it sends, and the client stays connected', async () => {
    let queued = 0;
    let sender: net.Socket | undefined;
    const port = await serve((socket) => {
      sender = socket;
      const chunk = Buffer.alloc(64 * 1024, 'x');
      // Writes while the OS takes them in, then keeps one chunk more in Node's own queue.
      const pump = () => {
        while (socket.write(chunk)) queued += chunk.length;
        queued += chunk.length;
      };
      socket.on('drain', pump);
      pump();
    });
    const client = execa('node', [...kitArgs(tool), '127.0.0.1', String(port), '--send', 'slow\\n', '--no-read'], { cwd: root, reject: false });
    try {
      // A client that read would drain the queue and take megabytes; one that does not leaves the
      // server waiting on 'drain' with what the OS buffers hold.
      const deadline = Date.now() + ms(20_000);
      let stableSince = Date.now();
      let last = -1;
      while (Date.now() - stableSince < ms(1_500)) {
        if (Date.now() > deadline) throw new Error(sender ? `the server's queue never stopped growing (${queued} bytes sent): the client reads` : 'the client never connected');
        if (queued !== last || sender === undefined) [last, stableSince] = [queued, Date.now()];
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(sender?.writableNeedDrain).toBe(true);
      expect(sender?.destroyed).toBe(false);
      expect(client.exitCode).toBeNull(); // still running
    } finally {
      client.kill();
      await client;
    }
  });

  test('nothing listening: exit 2 naming the address', async () => {
    const claim = await claimPort('nc test');
    try {
      const run = await nc(['127.0.0.1', String(claim.port)]);
      expect(run.stderr).toBe(`nc: nothing is listening on 127.0.0.1:${claim.port} (ECONNREFUSED)\n`);
      expect(run.exitCode).toBe(2);
    } finally {
      claim.release();
    }
  });

  test('a bad escape or a bad port is refused before connecting', async () => {
    expect((await nc(['7', '--send', 'a\\q'])).stderr).toContain('unknown escape \\q');
    expect((await nc(['70000'])).stderr).toContain('not a port: 70000');
  });
});
