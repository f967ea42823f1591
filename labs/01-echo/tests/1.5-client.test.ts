import { setTimeout as delay } from 'node:timers/promises';
import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';

const test = phase(lab, '1.5');

test('lines typed are sent, and the replies printed', { points: 8 }, async (h) => {
  const fake = await h.fakeServer();
  const client = await h.start('client', { params: { port: fake.port } });
  const link = await fake.accept({ from: client, what: 'the client to connect' });
  for (const line of ['hello', 'ünïcödé ✓', 'three words here']) {
    client.send(`${line}\n`);
    await link.expectLine(line, { what: `the line typed into the client: "${line}"` });
    link.send(`${line}\n`);
    await client.expectNextLine(line, { what: `the server's reply "${line}" printed` });
  }
  // A reply split across two TCP writes is still one line, and a character cut in two is still
  // one character. The pause between the pieces is a fault (a slow network), so that they reach
  // the client in two reads: nothing waits on it.
  const split = Buffer.from('split reply, wörld\n');
  const cut = split.indexOf(0xc3) + 1;
  link.send(split.subarray(0, cut));
  await delay(100);
  link.send(split.subarray(cut));
  await client.expectNextLine('split reply, wörld', { what: 'a reply that arrived in two pieces, cut inside the "ö", printed once, whole' });
});

test('quit and the end of input close the connection and exit 0', { points: 4 }, async (h) => {
  const fake = await h.fakeServer();
  const byQuit = await h.start('client', { name: 'client (quit)', params: { port: fake.port } });
  const first = await fake.accept({ from: byQuit, name: 'fake server (quit)' });
  byQuit.send('quit\n');
  await first.expectClosed({ what: 'the client to close its side after "quit", without sending it' });
  first.end();
  await byQuit.expectExit(0);

  const byEnd = await h.start('client', { name: 'client (end of input)', params: { port: fake.port } });
  const second = await fake.accept({ from: byEnd, name: 'fake server (end of input)' });
  byEnd.endInput();
  await second.expectClosed({ what: 'the client to close its side at the end of its input' });
  second.end();
  await byEnd.expectExit(0);
});

test('an unreachable or vanished server is an error', { points: 8 }, async (h) => {
  const nobody = await h.claimPort('a port nothing listens on');
  const lonely = await h.start('client', { name: 'client (no server)', params: { port: nobody } });
  await lonely.expectExit('nonzero', { what: 'to exit with an error: nothing listens on its port' });
  if (!lonely.stderrLines().some((line) => line.includes(String(nobody)))) {
    throw new GradeFailure(`the client exited, but its standard error does not name the port ${nobody} it could not reach; it printed:\n${lonely.stderrLines().join('\n') || '(nothing)'}`);
  }

  const fake = await h.fakeServer();
  const abandoned = await h.start('client', { name: 'client (server vanishes)', params: { port: fake.port } });
  const link = await fake.accept({ from: abandoned });
  // The client prints a line only once it knows it is connected: the reset then ends a live connection.
  link.send('hello\n');
  await abandoned.expectNextLine('hello', { what: 'the line the server sent before it vanished' });
  await link.reset();
  await abandoned.expectExit('nonzero', { what: 'to exit with an error after the server reset the connection' });
  if (abandoned.stderrLines().length === 0) throw new GradeFailure('the client exited after losing the server, but printed no message on standard error');
});
