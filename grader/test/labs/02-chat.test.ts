import { labInvariants } from '../lab-invariants.js';

await labInvariants('02-chat');
