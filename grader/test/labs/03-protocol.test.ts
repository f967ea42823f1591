import { labInvariants } from '../lab-invariants.js';

await labInvariants('03-protocol');
