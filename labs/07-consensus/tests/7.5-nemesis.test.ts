import lab from '../lab.js';
import { phase } from '../../../grader/harness/index.js';
import { explore, exploreTimeout } from '../../../grader/explore/explorer.js';
import { nemesis } from './nemesis.js';

const test = phase(lab, '7.5');

// The seed is in the report; SWITCHBOARD_SEED=N npm run lab 7 -- --phase 7.5 replays the schedule.
// One schedule per test; --explore N runs N, one after another, each on a fresh cluster.
const prefix = (n: number) => (n > 1 ? `s${n}-` : undefined);

test('three replicas under a seeded schedule of pauses, kills, partitions (one way too), delays and cuts, while three clients write', { points: 10, timeoutMs: exploreTimeout(1, 60_000, 180_000) }, async (h) => {
  await explore(h, 1, (s) => nemesis(h, { size: 3, steps: 10, dirPrefix: prefix(s.number) }).then(() => undefined));
});

test('five replicas under a seeded schedule of pauses, kills, partitions (one way too), delays and cuts, while three clients write', { points: 10, timeoutMs: exploreTimeout(1, 60_000, 180_000) }, async (h) => {
  await explore(h, 1, (s) => nemesis(h, { size: 5, steps: 10, dirPrefix: prefix(s.number) }).then(() => undefined));
});
