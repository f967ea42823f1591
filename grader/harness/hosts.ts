// Which machine a client dials is the client's to obey: its --host (labs 1, 2, 3 and 5),
// --serverhost (lab 4) or the hosts of its --replicas list (lab 6). The grader's fake servers
// listen on 127.0.0.1, where a client that ignores the flag still finds them; the one here
// listens on another loopback address. Linux answers on all of 127.0.0.0/8 with no setup;
// elsewhere the check is noted and not judged.
import type { FakeServer, Harness } from './index.js';
import type { ProgramParams } from '../lab.js';

export const otherLoopback = '127.0.0.2';

/** Starts the lab's client with `params(fake)` and waits for it to connect to a fake server on 127.0.0.2. */
export async function expectClientDialsHost(h: Harness, params: (fake: FakeServer) => ProgramParams, named: string): Promise<void> {
  if (process.platform !== 'linux') return h.note(`not judged here: only Linux answers on ${otherLoopback} without setting it up`);
  const fake = await h.fakeServer({ host: otherLoopback });
  const client = await h.start('client', { params: params(fake) });
  await fake.accept({
    from: client,
    timeoutMs: 10_000,
    what: `the client to connect to ${otherLoopback}:${fake.port}, the address its ${named} names (another loopback address: a client that dials 127.0.0.1 whatever ${named} says reaches nothing there)`,
  });
}
