// How a lab 7 test's trace shows its messages: lab 6's decoding (its trace.ts), with lab 7's types
// named (the replicas' HEARTBEAT, APPEND, VOTE_REQUEST, ... and the clients' requests), on the
// grader's connections and on the proxies between replicas.
// Not a test file; the harness loads it for the lab's traces (see labs/AUTHORING.md, Traces).
import { messageTraces } from '../../06-replication/tests/trace.js';
import { MessageDecoder, describeMessage } from './wire.js';

export default messageTraces(() => new MessageDecoder(), describeMessage);
