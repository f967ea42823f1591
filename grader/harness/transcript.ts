// The numbered steps of one test, as the grader saw them: what was sent, what arrived, what was
// started. A failure replays the last of them, so the student sees what led up to it.
import { quote } from './show.js';

export interface Step {
  ms: number;
  who: string;
  /** '→' sent by the grader, '←' received by the grader, '•' anything else. */
  arrow: '→' | '←' | '•';
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

  /** The last `n` steps, numbered from the start of the test. */
  last(n: number): string[] {
    const from = Math.max(0, this.steps.length - n);
    return this.steps.slice(from).map((step, i) => {
      const number = String(this.dropped + from + i + 1).padStart(3);
      const time = `${(step.ms / 1000).toFixed(2)}s`.padStart(7);
      return `${number} ${time}  ${step.who} ${step.arrow} ${step.text}`;
    });
  }
}

function describe(data: Buffer | string): string {
  if (typeof data === 'string') return quote(data, 100);
  const text = data.toString('utf8');
  const printable = !text.includes('\ufffd') && !/[\x00-\x08\x0e-\x1f]/.test(text);
  if (printable) return quote(text, 100);
  const head = data.subarray(0, 24).toString('hex').replace(/(..)/g, '$1 ').trim();
  return `${data.length} bytes: ${head}${data.length > 24 ? ' …' : ''}`;
}
