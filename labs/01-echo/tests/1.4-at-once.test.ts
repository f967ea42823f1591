import lab from '../lab.js';
import { phase } from '../../../grader/harness/index.js';
import type { Conn } from '../../../grader/harness/index.js';

const test = phase(lab, '1.4');

test('50 clients interleaved', { points: 10 }, async (h) => {
  const server = await h.start();
  const clients: Conn[] = [];
  for (let i = 0; i < 50; i++) clients.push(await h.connect(server, { name: `client ${i}` }));
  // Round after round, every client sends one line before any reply is read: the server has
  // all fifty connections open and busy at once, and each must get only its own lines back.
  for (let round = 1; round <= 3; round++) {
    for (const [i, client] of clients.entries()) client.send(`round ${round} from client ${i}\n`);
    for (const [i, client] of clients.entries()) {
      await client.expectLine(`round ${round} from client ${i}`, { what: `client ${i}'s own line of round ${round}` });
    }
  }
});

test('a client that never reads does not block the others', { points: 10 }, async (h) => {
  const server = await h.start();
  const hog = await h.connect(server, { name: 'client that never reads' });
  // Far more than the socket buffers hold: the echo back to this client has to stall.
  hog.socket.pause();
  hog.send(Buffer.alloc(16 * 1024 * 1024, 'z'));
  for (let i = 1; i <= 3; i++) {
    const other = await h.connect(server, { name: `other client ${i}` });
    other.send(`can you hear me? ${i}\n`);
    await other.expectLine(`can you hear me? ${i}`, { what: 'an echo while another client is not reading' });
    other.end();
  }
});
