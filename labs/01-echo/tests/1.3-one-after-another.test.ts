import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';

const test = phase(lab, '1.3');

test('20 clients, one after another', { points: 8 }, async (h) => {
  const server = await h.start();
  for (let i = 1; i <= 20; i++) {
    const client = await h.connect(server, { name: `client ${i}` });
    client.send(`client ${i} says hi\n`);
    await client.expectLine(`client ${i} says hi`);
    client.end();
    await client.expectClosed({ what: `the server to close client ${i}'s connection after it closed its side` });
  }
});

test('clients that vanish abruptly do not take the server down', { points: 12 }, async (h) => {
  const server = await h.start();
  for (let i = 1; i <= 10; i++) {
    const rude = await h.connect(server, { name: `vanishing client ${i}` });
    if (i % 2 === 0) {
      // Reset while the server is still echoing a large payload back: its writes then fail.
      rude.send(Buffer.alloc(256 * 1024, 'x'));
      await rude.readBytes(1, { what: 'the first echoed byte' });
    } else {
      // Reset mid-line, once the server has read (and echoed) the half line: a reset that comes
      // before the server reads the data ahead of it can look like a plain close.
      rude.send('half a li');
      await rude.readBytes(9, { what: 'the echo of the half line "half a li"' });
    }
    await rude.reset();
    const polite = await h.connect(server, { name: `client after reset ${i}` });
    polite.send(`still there? ${i}\n`);
    await polite.expectLine(`still there? ${i}`, { what: `an echo after ${i} client(s) vanished` });
    polite.end();
  }
  if (server.exit) throw new GradeFailure(`the server stopped: ${server.exit.code ?? server.exit.signal}`);
});
