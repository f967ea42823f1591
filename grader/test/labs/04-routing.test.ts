import { labInvariants } from '../lab-invariants.js';

await labInvariants('04-routing');
