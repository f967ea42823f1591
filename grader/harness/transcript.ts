// The numbered steps of one test, as the grader saw them: what was sent, what arrived, what was
// started. A failure replays the last of them, so the student sees what led up to it.
import { StringDecoder } from 'node:string_decoder';
import { bytes, quote } from './show.js';

export interface Step {
  ms: number;
  who: string;
  /** '→' sent by the grader, '←' received by the grader, '!' something went wrong, '•' anything else. */
  arrow: '→' | '←' | '!' | '•';
  text: string;
}

const keep = 400;

export class Transcript {
  private readonly steps: Step[] = [];
  private dropped = 0;
  private readonly began = Date.now();

  add(who: string, arrow: Step['arrow'], text: string): void {
    this.steps.push({ ms: Date.now() - this.began, who, arrow, text });
    if (this.steps.length > keep) {
      this.steps.shift();
      this.dropped++;
    }
  }

  sent(who: string, data: Buffer | string): void {
    this.add(who, '→', describe(data));
  }

  received(who: string, data: Buffer | string): void {
    this.add(who, '←', describe(data));
  }

  note(text: string): void {
    this.add('grader', '•', text);
  }

  /** Something went wrong that the grader did not ask for: a reset, a program that died. */
  trouble(text: string): void {
    this.add('grader', '!', text);
  }

  /** The last `n` steps, numbered from the start of the test. */
  last(n: number): string[] {
    const from = Math.max(0, this.steps.length - n);
    return this.steps.slice(from).map((step, i) => this.format(step, from + i));
  }

  /**
   * What a report shows: the steps that led to the first thing that went wrong, then the last
   * few steps, with a line saying how many are left out between them. Without any trouble, the
   * last steps.
   */
  excerpt(before = 8, after = 4): string[] {
    const first = this.steps.findIndex((step) => step.arrow === '!');
    if (first < 0) return this.last(before + after);
    const head = { from: Math.max(0, first - before + 1), to: first + 1 };
    const tail = { from: Math.max(head.to, this.steps.length - after), to: this.steps.length };
    const lines = this.steps.slice(head.from, head.to).map((step, i) => this.format(step, head.from + i));
    const gap = tail.from - head.to;
    if (gap > 0) lines.push(`          … ${gap} more step${gap === 1 ? '' : 's'} …`);
    lines.push(...this.steps.slice(tail.from, tail.to).map((step, i) => this.format(step, tail.from + i)));
    return lines;
  }

  private format(step: Step, index: number): string {
    const number = String(this.dropped + index + 1).padStart(3);
    const time = `${(step.ms / 1000).toFixed(2)}s`.padStart(7);
    return `${number} ${time}  ${step.who} ${step.arrow} ${step.text}`;
  }
}

/** How much of a buffer is decoded for its line: the line shows 100 characters at most. */
const headBytes = 512;

function describe(data: Buffer | string): string {
  if (typeof data === 'string') return quote(data, 100);
  // Only the head is decoded and looked at: a test may send megabytes, in many chunks, and a
  // transcript line for each.
  const long = data.length > headBytes;
  const text = new StringDecoder('utf8').write(long ? data.subarray(0, headBytes) : data);
  const printable = !text.includes('\ufffd') && !/[\x00-\x08\x0e-\x1f]/.test(text);
  if (!printable) {
    const head = data.subarray(0, 24).toString('hex').replace(/(..)/g, '$1 ').trim();
    return `${bytes(data.length)}: ${head}${data.length > 24 ? ' …' : ''}`;
  }
  return long ? `${quote(text.slice(0, 100))}… (${bytes(data.length)} in all)` : quote(text, 100);
}
