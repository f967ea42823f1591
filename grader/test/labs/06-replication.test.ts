import { labInvariants } from '../lab-invariants.js';

await labInvariants('06-replication');
