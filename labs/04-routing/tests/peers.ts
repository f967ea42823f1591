// The machines the grader plays: a server that stands anywhere in the tree (a leaf that watches
// what reaches it, or a server on the path between two of yours, that must pass messages on),
// and a client. Both speak the protocol with the grader's own codec (crc.ts). The grader's server
// is a complete server of the spec, written separately from the reference solution: it relays
// registrations and quits, routes chats and statuses, and forgets what was behind a link that
// closes, so your servers can depend on it as on any other.
import net from 'node:net';
import { Code, T, texts, type Msg } from './crc.js';
import { Node } from './model.js';
import { Wire, type Mode } from './wire.js';
import type { World } from './world.js';

interface Entry {
  kind: 'server' | 'client';
  name: string;
  info: string;
  /** The link towards it; undefined for the grader server itself and what it announces. */
  wire: Wire | undefined;
}

export interface VirtualSpec {
  id: number;
  kind: 'server' | 'client';
  name?: string;
  info?: string;
}

/**
 * How a grader server behaves where the spec leaves a choice. kit: as the reference solution
 * does. course: as the course's own servers do (spec section 10): its answer to a new neighbour
 * starts with its own registration carrying its own id as the last hop, and it refuses a taken
 * id with status 0x02 but leaves the link open.
 */
export type Style = 'kit' | 'course';

export class GraderServer extends Node {
  readonly wires = new Set<Wire>();
  readonly table = new Map<number, Entry>();
  /** Your servers started with this one as their parent, that have not registered yet. */
  readonly awaiting = new Set<Node>();
  /**
   * Your servers this one does not let join: it refuses their id (status 0x02, the link left
   * open, as the course does), or answers with these messages instead of its registration.
   */
  readonly rejecting = new Map<number, 'refuse' | Msg[]>();
  /**
   * Your servers whose answer this one holds back until the test releases it (release()): the
   * answer is computed when their registration arrives, and sent only then.
   */
  readonly holding = new Map<number, (() => void) | undefined>();
  port = 0;

  constructor(
    readonly world: World,
    id: number,
    name: string,
    info: string,
    readonly mode: Mode,
    readonly style: Style = 'kit',
  ) {
    super(id, 'server', 'grader', name, info);
  }

  /** Its own registration as it registers itself (last hop 0), or as the first of its answer. */
  ownRegistration(answer = false): Msg {
    return { type: T.serverRegistration, source: this.id, lastHop: answer && this.style === 'course' ? this.id : 0, name: this.name, info: this.info };
  }

  registrationOf(id: number, entry: Entry): Msg {
    return { type: entry.kind === 'server' ? T.serverRegistration : T.clientRegistration, source: id, lastHop: this.id, name: entry.name, info: entry.info };
  }

  /** Opens a link to `target` and registers, announcing `behind` in the same step. */
  async attach(target: Node & { port: number }, behind: VirtualSpec[] = [], options: { refused?: boolean } = {}): Promise<Wire> {
    const socket = await this.world.dial(target.port, `${this.label} to connect to ${target.label}`);
    const wire = new Wire(this, socket, this.mode, this.world.hooks);
    const virtuals = behind.map((v) => this.world.virtualNode(v));
    if (options.refused) {
      // Refused: the status must come; closing the link after it is the server's choice (6.3).
      wire.far = target;
      wire.state = 'detached';
      wire.refused = true;
      this.world.expectUnicast({ type: T.status, source: target.id, destination: 0, code: Code.duplicateId, text: texts.duplicateId(this.id, 'server') }, target, this, wire);
    } else {
      this.world.change(() => {
        this.world.join(this, target);
        for (const v of virtuals) this.world.join(v, this);
      });
      this.world.bind(wire, target);
    }
    this.world.track(wire);
    this.wires.add(wire);
    for (const v of virtuals) this.table.set(v.id, { kind: v.kind, name: v.name, info: v.info, wire: undefined });
    wire.send([this.ownRegistration(), ...virtuals.map((v) => this.registrationOf(v.id, this.table.get(v.id)!))]);
    return wire;
  }

  /** Listens, so that your servers can be started with this one as their parent. */
  async listen(): Promise<void> {
    const listener = net.createServer((socket) => {
      const wire = new Wire(this, socket, this.mode, this.world.hooks);
      this.world.track(wire);
      this.wires.add(wire);
      wire.note('•', `${this.label} accepted a connection`);
    });
    // On a port claimed for this test, like every port the grader hands out (grader/harness/ports.ts).
    this.port = await this.world.h.listen(listener, `${this.label} of ${this.world.h.testName}`);
    this.world.onEnd(() => listener.close());
  }

  /** Announces more machines behind this server. */
  announce(behind: VirtualSpec[]): void {
    const virtuals = behind.map((v) => this.world.virtualNode(v));
    this.world.change(() => {
      for (const v of virtuals) this.world.join(v, this);
    });
    for (const v of virtuals) this.table.set(v.id, { kind: v.kind, name: v.name, info: v.info, wire: undefined });
    const regs = virtuals.map((v) => this.registrationOf(v.id, this.table.get(v.id)!));
    for (const wire of this.live()) wire.send(regs);
  }

  /** One machine announced behind this server leaves, with a quit. */
  quitBehind(id: number, text: string): void {
    const entry = this.table.get(id);
    const node = this.world.nodes.get(id);
    if (!entry || entry.wire || !node) throw new Error(`${this.label} announced no machine ${id}`);
    this.world.change(() => this.world.remove(node), new Map([[node, text]]));
    this.table.delete(id);
    const quit = quitOf(entry.kind, id, text);
    for (const wire of this.live()) if (entry.kind === 'client' || this.isServerLink(wire)) wire.send([quit]);
  }

  /** This server leaves the network: a server quit on every link, then it closes them. */
  async quit(text: string): Promise<void> {
    this.world.change(() => this.world.remove(this, { withBehind: true }), new Map([[this as Node, text]]));
    const quit = quitOf('server', this.id, text);
    await Promise.all(
      [...this.wires].map(async (wire) => {
        if (wire.closed) return;
        wire.send([quit]);
        await wire.end();
      }),
    );
  }

  /** Sends a chat from a machine announced behind this server, towards `to` (or on the link to `via`). */
  chat(from: number, to: number, text: string, via?: Node): void {
    const msg: Msg = { type: T.chat, source: from, destination: to, text };
    this.world.expectChat(msg, this.world.nodes.get(from)!, via ?? this.entryTowards(to));
    this.wireTowards(to, via).send([msg]);
  }

  /** Sends a status from this server (or a machine behind it) to `to`. */
  status(from: number, to: number, code: number, text: string, via?: Node): void {
    const msg: Msg = { type: T.status, source: from, destination: to, code, text };
    this.world.expectStatus(msg, this.world.nodes.get(from)!);
    this.wireTowards(to, via).send([msg]);
  }

  private entryTowards(to: number): Node {
    const wire = this.table.get(to)?.wire;
    if (!wire?.far) throw new Error(`${this.label} has no route to ${to}; give it a link with via`);
    return wire.far;
  }

  wireTowards(to: number, via?: Node): Wire {
    if (via) {
      const wire = [...this.wires].find((w) => w.far === via && !w.closed);
      if (!wire) throw new Error(`${this.label} has no link to ${via.label}`);
      return wire;
    }
    const wire = this.table.get(to)?.wire;
    if (!wire) throw new Error(`${this.label} has no route to ${to}`);
    return wire;
  }

  private live(): Wire[] {
    return [...this.wires].filter((w) => !w.closed && w.state !== 'retired' && w.far);
  }

  private isServerLink(wire: Wire): boolean {
    return wire.far?.kind === 'server';
  }

  /** The grader's server at work: every message on every one of its links. */
  handle(wire: Wire, msg: Msg, raw: Buffer): void {
    const others = this.live().filter((w) => w !== wire);
    switch (msg.type) {
      case T.serverRegistration:
      case T.clientRegistration: {
        const newcomer = !this.table.has(msg.source) && msg.source !== this.id;
        if (!newcomer) return;
        const kind = msg.type === T.serverRegistration ? 'server' : 'client';
        this.table.set(msg.source, { kind, name: msg.name, info: msg.info, wire });
        const passed: Msg = { ...msg, lastHop: this.id };
        for (const other of others) other.send([passed]);
        return;
      }
      case T.clientQuit:
      case T.serverQuit: {
        const entry = this.table.get(msg.source);
        if (!entry || entry.wire === undefined || (entry.kind === 'server') !== (msg.type === T.serverQuit)) return;
        this.table.delete(msg.source);
        for (const other of others) if (msg.type === T.clientQuit || this.isServerLink(other)) other.send([{ msg, raw }]);
        if (wire.far?.id === msg.source) this.lost(wire);
        return;
      }
      case T.chat: {
        const entry = this.table.get(msg.destination);
        if (entry?.kind !== 'client') {
          wire.send([{ type: T.status, source: this.id, destination: msg.source, code: Code.unknownId, text: texts.unknownId(msg.destination) }]);
        } else if (entry.wire && entry.wire !== wire) {
          entry.wire.send([{ msg, raw }]);
        }
        return;
      }
      case T.status: {
        if (msg.destination === 0 || msg.destination === this.id) return;
        const entry = this.table.get(msg.destination);
        if (entry?.wire && entry.wire !== wire) entry.wire.send([{ msg, raw }]);
        return;
      }
    }
  }

  /** A new link from one of your servers: its first message says which one it is. */
  identify(wire: Wire, msg: Msg): boolean {
    const node = msg.type === T.serverRegistration ? [...this.awaiting].find((n) => n.id === msg.source) : undefined;
    if (!node) return false;
    this.awaiting.delete(node);
    const rejection = this.rejecting.get(node.id);
    if (rejection) {
      wire.far = node;
      wire.state = 'detached';
      wire.refusedBy = 'grader';
      if (rejection === 'refuse') {
        // Refused as the course refuses: the status, and the link left open (spec section 6.3).
        wire.send([{ type: T.status, source: this.id, destination: 0, code: Code.duplicateId, text: texts.duplicateId(node.id, 'server') }]);
      } else {
        // An answer that is not this server's registration: a protocol error (spec section 4.1).
        this.world.expectUnicast({ type: T.status, source: node.id, destination: 0, code: Code.protocolError, text: 'Expected a registration' }, node, this, wire);
        wire.expectClose = true;
        wire.send(rejection);
      }
      return true;
    }
    this.world.bind(wire, node);
    // The answer to a new neighbour (spec section 4.2): this server, then all it knows.
    const known = [...this.table].filter(([id]) => id !== msg.source).map(([id, entry]) => this.registrationOf(id, entry));
    const answer = [this.ownRegistration(true), ...known];
    if (this.holding.has(node.id)) {
      wire.note('•', `${this.label} holds back its answer to ${node.label}`);
      this.holding.set(node.id, () => wire.send(answer));
      return true;
    }
    wire.send(answer);
    return true;
  }

  /** Sends the answer held back for your server `id` (see holding). */
  release(id: number): void {
    const send = this.holding.get(id);
    if (!send) throw new Error(`${this.label} holds no answer for ${id}`);
    this.holding.delete(id);
    send();
  }

  /** A link closed: what was behind it is gone, and the other links are told, one quit per id. */
  lost(wire: Wire): void {
    if (!this.wires.delete(wire)) return;
    const others = this.live();
    for (const [id, entry] of [...this.table]) {
      if (entry.wire !== wire) continue;
      this.table.delete(id);
      const quit = quitOf(entry.kind, id, 'Connection lost');
      for (const other of others) if (entry.kind === 'client' || this.isServerLink(other)) other.send([quit]);
    }
  }
}

/** A quit for a machine that left: a server quit names no replacement (0). */
export function quitOf(kind: 'server' | 'client', source: number, text: string): Msg {
  return kind === 'server' ? { type: T.serverQuit, source, replacement: 0, text } : { type: T.clientQuit, source, text };
}

export class GraderClient extends Node {
  wire: Wire | undefined;

  constructor(
    readonly world: World,
    id: number,
    name: string,
    info: string,
    readonly mode: Mode,
  ) {
    super(id, 'client', 'grader', name, info);
  }

  /** Connects to `server` and registers; `chats` go in the same step (in one write, if coalesced). */
  async attach(server: Node & { port: number }, options: { refused?: boolean; chats?: { to: number; text: string }[] } = {}): Promise<Wire> {
    const socket = await this.world.dial(server.port, `${this.label} to connect to ${server.label}`);
    const wire = new Wire(this, socket, this.mode, this.world.hooks);
    this.wire = wire;
    const registration: Msg = { type: T.clientRegistration, source: this.id, lastHop: 0, name: this.name, info: this.info };
    if (options.refused) {
      wire.far = server;
      wire.state = 'detached';
      wire.refused = true;
      this.world.expectUnicast({ type: T.status, source: server.id, destination: 0, code: Code.duplicateId, text: texts.duplicateId(this.id, 'client') }, server, this, wire);
    } else {
      this.world.change(() => this.world.join(this, server));
      this.world.bind(wire, server);
      // The welcome's destination is the client's id, or 0 as the course's servers send it (4.2).
      const welcome: Msg = { type: T.status, source: server.id, destination: this.id, code: Code.welcome, text: texts.welcome(this.name) };
      this.world.expectUnicast(welcome, server, this, wire, [{ ...welcome, destination: 0 }]);
    }
    this.world.track(wire);
    const chats: Msg[] = (options.chats ?? []).map(({ to, text }) => ({ type: T.chat, source: this.id, destination: to, text }));
    for (const chat of chats) this.world.expectChat(chat as Msg & { type: 0x81 }, this, server);
    wire.send([registration, ...chats]);
    return wire;
  }

  chat(to: number, text: string): void {
    const msg: Msg = { type: T.chat, source: this.id, destination: to, text };
    this.world.expectChat(msg, this, this.wire!.far!);
    this.wire!.send([msg]);
  }

  /** Leaves with a quit, and closes its side. */
  async quit(text: string): Promise<void> {
    this.world.change(() => this.world.remove(this), new Map([[this as Node, text]]));
    this.wire!.send([{ type: T.clientQuit, source: this.id, text }]);
    await this.wire!.end();
  }

  /** Vanishes without a quit: a reset, or (`halfMessage`) a FIN in the middle of a message. */
  async vanish(how: 'reset' | 'halfMessage'): Promise<void> {
    this.world.change(() => this.world.remove(this));
    const wire = this.wire!;
    if (how === 'reset') {
      wire.note('•', `${this.label} vanishes: a TCP reset, no quit`);
      await wire.flushed();
      wire.reset();
    } else {
      const chat = Buffer.from([T.chat, 0, 0, 0, 0]);
      chat.writeUInt32BE(this.id, 1);
      wire.sendBytes(chat, `the first 5 bytes of a chat (type and source, no more), then ${this.label} closes the link`);
      await wire.end();
    }
  }
}
