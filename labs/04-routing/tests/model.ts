// The grader's picture of the network under test: every machine (your servers, the grader's own
// servers and clients, the machines the grader announces behind its servers) and the tree links
// between them. The grader changes this picture just before it changes the real network, and
// from it alone predicts what each of its own links must receive (see world.ts).

export type Kind = 'server' | 'client';
/**
 * student: a server under test, a real process. grader: a server or client the grader plays,
 * over a real TCP link. virtual: a machine a grader server announces behind itself (it exists
 * only in registrations). program: the lab's client program, run as a process.
 */
export type Role = 'student' | 'grader' | 'virtual' | 'program';

export class Node {
  readonly neighbours = new Set<Node>();

  constructor(
    readonly id: number,
    readonly kind: Kind,
    readonly role: Role,
    readonly name: string,
    readonly info: string,
  ) {}

  /** A short tag for accounts: S3 (your server 3), G201, C101, V3001, P105. */
  get label(): string {
    const prefix = { student: 'S', grader: this.kind === 'server' ? 'G' : 'C', virtual: 'V', program: 'P' }[this.role];
    return `${prefix}${this.id}`;
  }

  /** The same in words. */
  get title(): string {
    switch (this.role) {
      case 'student':
        return `your server ${this.id} "${this.name}"`;
      case 'grader':
        return `the grader's ${this.kind} ${this.id}`;
      case 'virtual':
        return `${this.kind} ${this.id} (announced by the grader)`;
      case 'program':
        return `the client program ${this.id}`;
    }
  }
}

export function connect(a: Node, b: Node): void {
  a.neighbours.add(b);
  b.neighbours.add(a);
}

export function disconnect(a: Node, b: Node): void {
  a.neighbours.delete(b);
  b.neighbours.delete(a);
}

/** Every node reachable from `start` without passing through `avoid` (start included). */
export function side(start: Node, avoid: Node): Set<Node> {
  const seen = new Set<Node>([start]);
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of node.neighbours) {
      if (next === avoid || seen.has(next)) continue;
      seen.add(next);
      queue.push(next);
    }
  }
  return seen;
}

/** The one path from `from` to `to` along the tree, both ends included; undefined if cut off. */
export function path(from: Node, to: Node): Node[] | undefined {
  const previous = new Map<Node, Node | undefined>([[from, undefined]]);
  const queue = [from];
  while (queue.length > 0) {
    const node = queue.shift()!;
    if (node === to) break;
    for (const next of node.neighbours) {
      if (previous.has(next)) continue;
      previous.set(next, node);
      queue.push(next);
    }
  }
  if (!previous.has(to)) return undefined;
  const out: Node[] = [];
  for (let at: Node | undefined = to; at; at = previous.get(at)) out.unshift(at);
  return out;
}
