import { labInvariants } from '../lab-invariants.js';

await labInvariants('01-echo');
