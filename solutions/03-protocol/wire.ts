// The two encodings of a payload behind one interface, chosen once by the --wire flag. Frames,
// types and everything above them are the same whichever is used.
import { decodeValue } from './decode.js';
import { encodeValue } from './encode.js';
import { decodeJson, encodeJson } from './json.js';
import type { Value } from './values.js';

export interface Wire {
  name: 'binary' | 'json';
  encode(value: Value): Buffer;
  /** Throws DecodeError for a payload that does not decode. */
  decode(payload: Buffer): Value;
}

export const wires: Record<string, Wire> = {
  binary: { name: 'binary', encode: encodeValue, decode: decodeValue },
  json: { name: 'json', encode: encodeJson, decode: decodeJson },
};
