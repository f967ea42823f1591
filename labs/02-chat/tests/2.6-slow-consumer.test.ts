// A client that stops reading must not hurt the others (spec/02-chat.md, section 9). Three
// clients talk in rounds while one or two others never read (slow.ts has the rounds). Each
// round, every talker sends 32 lines of about 1 KB and waits to receive the other talkers' lines
// of that round, so the talkers never fall behind and the server never has much waiting for
// them. The silent ones fall further behind every round, until the server cuts them off; the
// operating system's socket buffers take a few MiB first, so that takes some rounds.
import lab from '../lab.js';
import { phase } from '../../../grader/harness/index.js';
import { slowConsumers } from './slow.js';

const test = phase(lab, '2.6');

test('a client that never reads is cut off with ERR slow-consumer; the others keep talking', { points: 10 }, async (h) => {
  await slowConsumers(h, ['sloth']);
});

test('two clients that never read are each cut off on their own', { points: 5 }, async (h) => {
  await slowConsumers(h, ['sloth', 'snail']);
});
