// How a lab 5 test's trace shows its messages: lab 5 changes nothing on the wire
// (spec/05-persistence.md section 1), so its frames are lab 3's, decoded the same way.
// Not a test file; the harness loads it for the lab's traces (see labs/AUTHORING.md, Traces).
export { default } from '../../03-protocol/tests/trace.js';
