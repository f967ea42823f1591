import lab from '../lab.js';
import { phase } from '../../../grader/harness/index.js';
import { nemesis } from './nemesis.js';

const test = phase(lab, '7.5');

// The seed is in the report; SWITCHBOARD_SEED=N npm run lab 7 -- --phase 7.5 replays the schedule.
test('three replicas under a seeded schedule of pauses, kills, partitions (one way too), delays and cuts, while three clients write', { points: 10 }, async (h) => {
  await nemesis(h, { size: 3, steps: 10 });
});

test('five replicas under a seeded schedule of pauses, kills, partitions (one way too), delays and cuts, while three clients write', { points: 10 }, async (h) => {
  await nemesis(h, { size: 5, steps: 10 });
});
