import { labInvariants } from '../lab-invariants.js';

await labInvariants('05-persistence');
