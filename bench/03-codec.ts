// Lab 3: the binary encoding against JSON, on a fixed corpus of the service's own messages.
// Bytes per message, and encode and decode throughput of whole frames (header included), for the
// reference codec. The two encodings run side by side in alternating rounds of the same run, and
// only their ratios are worth comparing: the machines are shared and noisy.
import { decodeValue } from '../solutions/03-protocol/decode.js';
import { encodeValue } from '../solutions/03-protocol/encode.js';
import { FrameReader, encodeFrame } from '../solutions/03-protocol/frames.js';
import { decodeJson, encodeJson } from '../solutions/03-protocol/json.js';
import { Type } from '../solutions/03-protocol/messages.js';
import { valueMap, type Value, type ValueMap } from '../solutions/03-protocol/values.js';

export const title = 'binary against JSON: bytes per message, encode and decode throughput';

interface Codec {
  name: string;
  encode: (value: Value) => Buffer;
  decode: (payload: Buffer) => Value;
}

const codecs: Codec[] = [
  { name: 'binary', encode: encodeValue, decode: decodeValue },
  { name: 'json', encode: encodeJson, decode: decodeJson },
];

/** A small deterministic generator, so that every run measures the same corpus. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const words = ['hi', 'are', 'you', 'there', 'meeting', 'at', 'noon', 'ok', 'see', 'you', 'later', 'thanks', 'déjà', 'vu', '✓', 'on', 'my', 'way', 'the', 'build', 'is', 'green', 'again', '🚀'];

interface Sample {
  kind: string;
  type: bigint;
  payload: ValueMap;
}

/** The corpus: what a busy server sends and receives, in rough proportion. */
function corpus(): Sample[] {
  const next = random(2024);
  const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)]!;
  const names = Array.from({ length: 60 }, (_, i) => `${pick(['alice', 'bob', 'carol', 'dave', 'erin', 'frank'])}${i}`);
  const text = () => Array.from({ length: 2 + Math.floor(next() * 14) }, () => pick(words)).join(' ');
  let id = 1_000n;
  const message = () => valueMap({ from: pick(names), id: id++, text: text() });
  const samples: Sample[] = [];
  /** `times` samples of one kind, each with a payload of its own. */
  const add = (kind: string, type: bigint, payload: () => ValueMap, times = 1) => {
    for (let i = 0; i < times; i++) samples.push({ kind, type, payload: payload() });
  };
  for (let round = 0; round < 50; round++) {
    add('SEND', Type.SEND, () => valueMap({ to: pick(names), text: text() }), 8);
    add('SENT', Type.SENT, () => valueMap({ id: id++ }), 8);
    add('MESSAGE', Type.MESSAGE, message, 6);
    add('READ', Type.READ, () => valueMap({ limit: 10n }));
    add('MESSAGES', Type.MESSAGES, () => valueMap({ messages: Array.from({ length: 10 }, message), remaining: 3n }));
    add('LOGIN', Type.LOGIN, () => valueMap({ name: pick(names), password: 'correct horse battery' }));
    add('LOGGED_IN', Type.LOGGED_IN, () => valueMap({ name: pick(names), waiting: 4n }));
    add('PING', Type.PING, () => valueMap({ value: valueMap({ seq: BigInt(round), sent: 1_700_000_000_000n + BigInt(round) }) }));
    if (round % 5 === 0) add('ACCOUNTS', Type.ACCOUNTS, () => valueMap({ names: names.slice(0, 40) }));
    if (round % 5 === 1) add('ERROR', Type.ERROR, () => valueMap({ code: 'no-such-account', message: 'no account is named zed' }));
  }
  return samples;
}

/** Messages per second for `work` over the corpus, best of the rounds given to it. */
function rate(count: number, work: () => void, state: { best: number }): void {
  const started = process.hrtime.bigint();
  work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  state.best = Math.max(state.best, count / seconds);
}

export default async function bench(): Promise<string[]> {
  const samples = corpus();
  const lines: string[] = [];
  const frames = codecs.map((codec) => samples.map((s) => encodeFrame(s.type, codec.encode(s.payload))));
  const streams = frames.map((list) => Buffer.concat(list));

  // Sizes, over all and per kind of message.
  const size = (i: number) => streams[i]!.length / samples.length;
  lines.push(`corpus: ${samples.length} frames of real service messages (${[...new Set(samples.map((s) => s.kind))].join(', ')})`);
  lines.push(`bytes per message      binary ${size(0).toFixed(1).padStart(7)}   json ${size(1).toFixed(1).padStart(7)}   json/binary ${(size(1) / size(0)).toFixed(2)}`);
  for (const kind of [...new Set(samples.map((s) => s.kind))]) {
    const which = samples.map((s, i) => (s.kind === kind ? i : -1)).filter((i) => i >= 0);
    const avg = (c: number) => which.reduce((n, i) => n + frames[c]![i]!.length, 0) / which.length;
    lines.push(`  ${kind.padEnd(20)} binary ${avg(0).toFixed(1).padStart(7)}   json ${avg(1).toFixed(1).padStart(7)}   json/binary ${(avg(1) / avg(0)).toFixed(2)}`);
  }

  // Throughput: whole frames, encoded from values and decoded from one stream, rounds alternating.
  const encodeRate = codecs.map(() => ({ best: 0 }));
  const decodeRate = codecs.map(() => ({ best: 0 }));
  const repeat = 10;
  for (let round = 0; round < 8; round++) {
    for (const [c, codec] of codecs.entries()) {
      rate(samples.length * repeat, () => {
        for (let r = 0; r < repeat; r++) for (const s of samples) encodeFrame(s.type, codec.encode(s.payload));
      }, encodeRate[c]!);
      rate(samples.length * repeat, () => {
        for (let r = 0; r < repeat; r++) {
          const reader = new FrameReader();
          reader.push(streams[c]!);
          for (let f = reader.next(); f; f = reader.next()) codec.decode(f.payload);
        }
      }, decodeRate[c]!);
    }
  }
  const show = (n: number) => `${(n / 1000).toFixed(0).padStart(6)} k/s`;
  lines.push(`encode (messages/s)    binary ${show(encodeRate[0]!.best)}   json ${show(encodeRate[1]!.best)}   json/binary ${(encodeRate[1]!.best / encodeRate[0]!.best).toFixed(2)}`);
  lines.push(`decode (messages/s)    binary ${show(decodeRate[0]!.best)}   json ${show(decodeRate[1]!.best)}   json/binary ${(decodeRate[1]!.best / decodeRate[0]!.best).toFixed(2)}`);
  lines.push('(best of 8 alternating rounds. json/binary: for bytes, below 1 means JSON is smaller; for messages/s, above 1 means JSON is faster)');
  return lines;
}
