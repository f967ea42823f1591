import { labInvariants } from '../lab-invariants.js';

await labInvariants('07-consensus');
