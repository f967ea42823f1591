import lab from '../lab.js';
import { GradeFailure, phase, quote } from '../../../grader/harness/index.js';
import type { Conn } from '../../../grader/harness/index.js';
import { LineStream, connect, errorLine, join, unexpected } from './chat.js';

const test = phase(lab, '2.5');

const clients = 200;
const messages = 50;

// Not a benchmark: the reference takes about 2 s, a straightforward server in a slower language
// on a busy machine can take a minute, so the whole test may take four. A server that stalls
// fails sooner, when no line at all arrives for 45 s.
test(`${clients} clients each send ${messages} lines: everyone gets every other client's, once and in order`, { points: 10, timeoutMs: 240_000 }, async (h) => {
  const server = await h.start();
  const names = Array.from({ length: clients }, (_, i) => `u${String(i).padStart(3, '0')}`);
  const conns: Conn[] = [];
  for (const name of names) conns.push(await join(h, server, name));
  h.note(`all ${clients} clients are in the room`);

  // Every client sends its lines in five writes of ten, the writes of all clients interleaved.
  for (let batch = 0; batch < messages / 10; batch++) {
    for (const conn of conns) {
      let text = '';
      for (let k = batch * 10; k < batch * 10 + 10; k++) text += `${k}\n`;
      conn.send(text);
    }
  }

  const expected = (clients - 1) * messages;
  const streams = conns.map((conn) => new LineStream(conn));
  await Promise.all(
    streams.map(async (stream, me) => {
      // next[i]: the number of the next line this client must get from client i.
      const next = new Array<number>(clients).fill(0);
      let count = 0;
      while (count < expected) {
        const what = `the lines of the other ${clients - 1} clients (${count} of ${expected} so far)`;
        for (const line of await stream.lines({ what, timeoutMs: 45_000 })) {
          const match = /^u(\d{3}): (\d+)$/.exec(line);
          if (!match) {
            // Clients that joined after this one were announced; nothing else is expected.
            const joined = /^\* u(\d{3}) joined$/.exec(line);
            if (joined && Number(joined[1]) > me) continue;
            throw unexpected(stream.conn, line, 'expected only lines such as "u042: 17" from the other clients, and the join notices of those that came after it');
          }
          const from = Number(match[1]);
          const number = Number(match[2]);
          if (from === me) throw new GradeFailure(`${names[me]} got its own line back: ${quote(line)}`);
          if (number !== next[from]) {
            const problem = number < next[from]! ? 'a line twice' : `line ${next[from]} was lost or came later`;
            throw new GradeFailure(`${names[me]} got ${quote(line)} when it expected line ${next[from]} from ${names[from]} next: ${problem} (section 8, item 2)`);
          }
          next[from]!++;
          count++;
        }
      }
    }),
  );
  // Nothing extra is still on its way: the next line each client gets is this one.
  conns[0]!.send('done\n');
  await Promise.all(
    streams.slice(1).map(async (stream) => {
      const line = await stream.line({ what: 'u000\'s last line, "done", after all the others', timeoutMs: 20_000 });
      if (line !== 'u000: done') throw unexpected(stream.conn, line, 'expected "u000: done": every line had already arrived once');
    }),
  );
});

test('100 clients choose their names at the same moment', { points: 3 }, async (h) => {
  const server = await h.start();
  const names = Array.from({ length: 100 }, (_, i) => `n${i}`);
  const conns: Conn[] = [];
  for (const name of names) conns.push(await connect(h, server, name));
  for (const [i, conn] of conns.entries()) conn.send(`${names[i]}\n`);
  for (const [i, conn] of conns.entries()) {
    await conn.expectLine(`* welcome ${names[i]}`, { what: `the welcome for ${names[i]}, with nothing before it`, timeoutMs: 20_000 });
  }
  const last = conns[99]!;
  last.send('/users\n');
  for (;;) {
    const line = await last.readLine({ what: 'the answer to /users from the last of the 100 clients', timeoutMs: 20_000 });
    if (/^\* n\d+ joined$/.test(line)) continue;
    if (!line.startsWith('* users: ')) throw unexpected(last, line, 'expected join notices, then "* users: ..."');
    const got = line.slice('* users: '.length).split(' ').sort().join(' ');
    if (got !== [...names].sort().join(' ')) throw new GradeFailure(`/users should list the 100 names n0 to n99 once each, got ${quote(line, 2000)}`);
    return;
  }
});

test('20 clients ask for the same name at once: exactly one gets it', { points: 2 }, async (h) => {
  const server = await h.start();
  const conns: Conn[] = [];
  for (let i = 0; i < 20; i++) conns.push(await connect(h, server, `client ${i} asking for "same"`));
  for (const conn of conns) conn.send('same\n');
  let winners = 0;
  for (const conn of conns) {
    const line = await conn.readLine({ what: 'the answer to the name "same": "* welcome same" or "ERR name-taken ..."', timeoutMs: 10_000 });
    if (line === '* welcome same') winners++;
    else if (!errorLine('name-taken').test(line)) throw unexpected(conn, line, 'expected "* welcome same" or "ERR name-taken ..."');
  }
  if (winners !== 1) throw new GradeFailure(`20 clients asked for the name "same" at once and ${winners} got it; exactly one must (section 3, item 5)`);
});
