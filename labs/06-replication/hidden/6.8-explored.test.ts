import lab from './lab.js';
import { phase } from '../../../grader/harness/index.js';
import { explore, exploreTimeout } from '../../../grader/explore/explorer.js';
import { laggard, pairCrash, reconnect } from '../../../grader/explore/schedules.js';
import { newCluster } from '../tests/replicated.js';

const test = phase(lab, '6.8');

// Each test runs a few short schedules, each on a fresh cluster (grader/explore/schedules.ts);
// `npm run lab 6 -- --hidden --explore N` runs N of each. SWITCHBOARD_SEED replays them.
test('a backup killed with the primary right after it answered APPENDED still holds what it acknowledged', { points: 5, timeoutMs: exploreTimeout(2, 30_000, 90_000) }, async (h) => {
  await explore(h, 2, (s) => pairCrash(h, s, newCluster));
});

test('the primary killed before it tells the backup the commit index: the replica with the record wins, whatever the ids', { points: 5, timeoutMs: exploreTimeout(2, 30_000, 90_000) }, async (h) => {
  await explore(h, 2, (s) => laggard(h, s, newCluster));
});

test('a backup restarted with an empty directory counts only once it holds the records again', { points: 5, timeoutMs: exploreTimeout(1, 60_000, 90_000) }, async (h) => {
  await explore(h, 1, (s) => reconnect(h, s, newCluster));
});
