// A lab 4 test's whole network, and the grader's judgement of it.
//
// A test builds a tree of your servers (real processes) and attaches machines the grader plays
// (peers.ts). Before each change it makes to the real network (a server started, a client
// joining, a quit, a killed server, a cut link), it makes the same change to its model
// (model.ts). From the model alone it knows what each of its links must receive:
//
//   - a link from a grader machine M to your server S leads to everything on S's side of the
//     tree (everything reachable from S without passing M). M must get the registration of each
//     of those machines once (clients: of each client), with last hop 0 for S itself and S's id
//     for the others; when one of them leaves that side (a quit, a dead server, a cut link), M
//     must get its quit, once;
//   - a chat or a status must arrive, once, on each grader link along the one path from its
//     source to its destination, and on no other link.
//
// settle() waits until every link has received all it must, fails at once on anything it must
// not receive, and then listens a little longer for strays. A failure names the link, what was
// expected and what came, and gives the account of what the grader saw on each link.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { onTestFinished } from 'vitest';
import { GradeFailure, type FaultProxy, type Harness, type Proc } from '../../../grader/harness/index.js';
import { NeverReady, describeExit } from '../../../grader/harness/process.js';
import { bounded, deferred, scaled, seconds, withDeadline } from '../../../grader/harness/wait.js';
import { Code, T, describe, encode, texts, type Msg } from './crc.js';
import { Node, connect, disconnect, path as treePath, side } from './model.js';
import { GraderClient, GraderServer, type Style, type VirtualSpec } from './peers.js';
import { describeTree, type ServerSpec, type Topology } from './topologies.js';
import type { Expect, Mode, Wire, WireHooks } from './wire.js';

export class StudentServer extends Node {
  proc!: Proc;
  /** The proxy on its link to its parent, when the test asked for one. */
  uplink: FaultProxy | undefined;
  parent: Node | undefined;
  stopping = false;

  get port(): number {
    return this.proc.port!;
  }
}

export class ProgramClient extends Node {
  proc!: Proc;
}

const settleMs = 10_000;
/** How long the last check of a test listens for strays after everything expected came. */
const quietMs = 250;

export class World {
  readonly nodes = new Map<number, Node>();
  readonly students: StudentServer[] = [];
  /**
   * Where your servers find their parents: with a host, every link to a parent goes through a
   * proxy listening there, and --connect_to_host names it (another loopback address, 127.0.0.2 on
   * Linux, catches a server that dials 127.0.0.1 whatever the flag says).
   */
  parentHost: string | undefined;
  private readonly wires: Wire[] = [];
  private readonly began = Date.now();
  private problem: { text: string; focus: Wire[]; cause: boolean } | undefined;
  private wake = deferred<void>();
  private ending = false;
  private readonly closers: (() => void)[] = [];
  /** Links your server closed unasked, while the grader waits to learn whether it crashed. */
  private readonly unexplained = new Set<Wire>();
  private readonly context: string[] = [];
  /** Messages the grader sent in someone else's name (forge()), and why they must go nowhere. */
  private readonly forged = new Map<string, string>();
  /** Registrations the grader sent that must go nowhere (expectNowhere()), by type, id and name. */
  private readonly nowhere = new Map<string, string>();
  /** The link of the grader server that watches which servers have joined (see joined()). */
  private watch: Promise<Wire> | undefined;
  readonly hooks: WireHooks;

  constructor(readonly h: Harness) {
    this.hooks = {
      now: () => Date.now() - this.began,
      onMessage: (wire, msg, raw) => this.received(wire, msg, raw),
      onUnreadable: (wire, problem) => this.report(`${wire.far?.title ?? 'your server'} sent ${wire.owner.title} ${problem}: no message starts that way (spec section 3)`, [wire]),
      onClose: (wire, how) => this.closed(wire, how),
      transcript: (who, arrow, text) => this.h.transcript.add(who, arrow, text),
      trace: this.h.trace,
      // Drawn on only by a ragged link: a test that makes none is not marked as seeded.
      get random() {
        return h.random;
      },
    };
    // The test is over: stop judging at once, and close the grader's links only after the
    // harness has explained a failure, so that the servers' last lines are about the test.
    onTestFinished(() => {
      this.ending = true;
    });
    h.onTeardown(() => {
      this.ending = true;
      for (const wire of this.wires) wire.destroy();
      for (const close of this.closers) close();
    });
  }

  note(text: string): void {
    this.h.note(text);
  }

  /** A note that every failure of this test repeats (the seed of a random tree, say). */
  remember(text: string): void {
    this.note(text);
    this.context.push(text);
  }

  onEnd(close: () => void): void {
    this.closers.push(close);
  }

  track(wire: Wire): void {
    this.wires.push(wire);
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = deferred<void>();
    wake.resolve();
  }

  // ---- the model -------------------------------------------------------------------------

  join(node: Node, to: Node): void {
    this.nodes.set(node.id, node);
    connect(node, to);
  }

  /** Takes a machine out of the network; with `withBehind`, also what it announced behind itself. */
  remove(node: Node, options: { withBehind?: boolean } = {}): void {
    for (const other of [...node.neighbours]) {
      disconnect(node, other);
      if (options.withBehind && other.role === 'virtual' && other.neighbours.size === 0) this.nodes.delete(other.id);
    }
    this.nodes.delete(node.id);
  }

  virtualNode(spec: VirtualSpec): Node {
    return new Node(spec.id, spec.kind, 'virtual', spec.name ?? `${spec.kind[0]}${spec.id}`, spec.info ?? `announced by the grader`);
  }

  /** What the machine at the grader's end of `wire` must know of through it. */
  private knows(wire: Wire): Set<Node> {
    const out = new Set<Node>();
    if (!wire.far || !wire.owner.neighbours.has(wire.far)) return out;
    for (const node of side(wire.far, wire.owner)) {
      if (wire.owner.kind === 'client' && node.kind !== 'client') continue;
      out.add(node);
    }
    return out;
  }

  private registrationOf(wire: Wire, node: Node): Expect {
    return { kind: 'reg', type: node.kind === 'server' ? T.serverRegistration : T.clientRegistration, lastHop: node === wire.far ? 0 : wire.far!.id, name: node.name, info: node.info };
  }

  /** Starts grading `wire` against the model: it must learn all of the far side. */
  bind(wire: Wire, far: Node): void {
    wire.far = far;
    wire.state = 'bound';
    for (const node of this.knows(wire)) wire.expect(node.id, this.registrationOf(wire, node));
    this.poke();
  }

  /**
   * Applies a change to the model, and expects on every link the registrations and quits it
   * implies. `quits` gives the text of the quits the grader knows (the others may say anything).
   */
  change(apply: () => void, quits: Map<Node, string> = new Map()): void {
    const live = this.wires.filter((w) => w.state === 'bound');
    const before = live.map((w) => this.knows(w));
    apply();
    live.forEach((wire, i) => {
      if (!wire.owner.neighbours.has(wire.far!)) {
        wire.state = 'detached';
        return;
      }
      const after = this.knows(wire);
      for (const node of after) if (!before[i]!.has(node)) wire.expect(node.id, this.registrationOf(wire, node));
      for (const node of before[i]!) {
        if (!after.has(node)) wire.expect(node.id, { kind: 'quit', type: node.kind === 'server' ? T.serverQuit : T.clientQuit, text: quits.get(node) });
      }
    });
    this.poke();
  }

  /**
   * Expects `msg` on each grader link along the path from `from` to `to` (on `only`, if given);
   * any of `alternatives` is accepted in its place.
   */
  expectUnicast(msg: Msg, from: Node, to: Node, only?: Wire, alternatives: Msg[] = []): void {
    const why = `${describe(msg)}, on its way from ${from.label} to ${to.label}`;
    if (only) {
      only.unicast.push({ msg, alternatives, done: false, why });
      return;
    }
    const route = treePath(from, to);
    if (!route) throw new Error(`the model has no path from ${from.label} to ${to.label}`);
    for (let i = 1; i < route.length; i++) {
      const [a, b] = [route[i - 1]!, route[i]!];
      if (a.role !== 'student' || b.role !== 'grader') continue;
      const wire = this.wires.find((w) => w.owner === b && w.far === a && w.state !== 'retired');
      if (!wire) throw new Error(`no grader link from ${b.label} to ${a.label}`);
      wire.unicast.push({ msg, alternatives, done: false, why });
    }
  }

  /**
   * `from` sends `msg` on `wire` into your server `to`, in the name of a machine that is not
   * behind that link: a chat or a quit must be refused with status 0x04, a status dropped, and
   * nothing delivered or forgotten (spec section 6.5). With `silent`, `msg` is a quit for an id
   * `to` does not know, or of the wrong kind: dropped without a status, `why` says which.
   */
  forge(wire: Wire, from: Node, to: Node, msg: Msg, silent?: { why: string }): void {
    this.note(`${from.label} sends, in the name of ${msg.source}, ${describe(msg)}`);
    const why = silent?.why ?? `${from.label} sent it in the name of ${msg.source}, on a link ${msg.source} is not behind: a server takes a message only from the link its source is behind, and refuses it otherwise (spec section 6.5)`;
    this.forged.set(encode(msg).toString('hex'), why);
    if (msg.type !== T.status && !silent) this.expectUnicast({ type: T.status, source: to.id, destination: 0, code: Code.notBehind, text: texts.notBehind(msg.source) }, to, from, wire);
    wire.send([msg]);
  }

  /**
   * The grader server `from` passes on, into your server `to`, the registration of an id already
   * on the network (as when two machines with one id join at two places at once): it must be
   * dropped, not recorded and not passed on (spec section 4.3). Nothing is expected anywhere.
   */
  relayTaken(wire: Wire, from: Node, msg: Msg & { type: 0x00 | 0x80 }): void {
    this.note(`${from.label} passes on ${describe(msg)}, an id already on the network`);
    this.expectNowhere(msg, `${from.label} passed on this registration for ${msg.source}, an id already on the network: a server drops a registration for an id it knows (or its own) that a neighbour passes on, and neither records it nor passes it on (spec section 4.3)`);
    wire.send([msg]);
  }

  /** A registration the grader is about to send must reach no link; `why` explains it if it does. */
  expectNowhere(msg: Msg & { type: 0x00 | 0x80 }, why: string): void {
    this.nowhere.set(`${msg.type}:${msg.source}:${msg.name}`, why);
  }

  /** A chat sent by `from` into your server `entry`: delivered along the path, or answered "Unknown ID". */
  expectChat(msg: Msg & { type: 0x81 }, from: Node, entry: Node): void {
    const to = this.nodes.get(msg.destination);
    if (to?.kind === 'client' && treePath(from, to)) return this.expectUnicast(msg, from, to);
    this.expectUnicast({ type: T.status, source: entry.id, destination: from.id, code: Code.unknownId, text: texts.unknownId(msg.destination) }, entry, from);
  }

  /** A status sent by `from`: delivered along the path if its destination is known, else dropped. */
  expectStatus(msg: Msg & { type: 0x01 }, from: Node): void {
    const to = this.nodes.get(msg.destination);
    if (to && treePath(from, to)) this.expectUnicast(msg, from, to);
  }

  // ---- building the network ----------------------------------------------------------------

  /** Opens a TCP connection for a grader machine, with a deadline. */
  async dial(port: number, what: string): Promise<net.Socket> {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const connected = new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const timeoutMs = scaled(5_000);
    try {
      await withDeadline(connected, timeoutMs, () => `nothing answered within ${seconds(timeoutMs)}`);
    } catch (error) {
      socket.destroy();
      this.fail(`the grader waited for ${what} on port ${port}, and could not: ${(error as Error).message}`);
    }
    this.onEnd(() => socket.destroy());
    return socket;
  }

  /**
   * Starts one of your servers, as a child of `parent` (yours or the grader's); with `proxy`, its
   * link to its parent goes through a proxy the test can cut.
   */
  async startServer(spec: ServerSpec, parent?: Node & { port: number }, options: { proxy?: boolean } = {}): Promise<StudentServer> {
    this.raise();
    const server = new StudentServer(spec.id, 'server', 'student', spec.name, spec.info ?? `server ${spec.id} of the grader's network`);
    server.parent = parent;
    if (parent) this.change(() => this.join(server, parent));
    else this.nodes.set(server.id, server);
    if (parent instanceof GraderServer) parent.awaiting.add(server);
    let connectTo = parent?.port;
    if (parent && (options.proxy || this.parentHost)) {
      server.uplink = await this.h.proxy(parent.port, {}, this.parentHost);
      connectTo = server.uplink.port;
    }
    try {
      server.proc = await this.h.start('server', {
        name: `server ${spec.id}`,
        params: { id: spec.id, servername: spec.name, info: server.info, connect_to_host: parent ? this.parentHost : undefined, connect_to_port: connectTo },
      });
    } catch (error) {
      // A server that cannot join because its parent already failed: report the parent's failure.
      this.raise();
      if (error instanceof GradeFailure && parent && this.parentHost) {
        throw new GradeFailure(`${error.message}\n(Its parent was at --connect_to_host ${this.parentHost} --connect_to_port ${connectTo}, another loopback address: a server that dials 127.0.0.1 whatever --connect_to_host says reaches nothing there; spec section 2.1.)`);
      }
      throw error;
    }
    this.students.push(server);
    server.proc.exited.then((status) => {
      if (server.stopping || this.ending) return;
      this.report(`${server.title} stopped: ${describeExit(status)}${server.proc.tailText()}`, this.wires.filter((w) => w.far === server), { cause: true });
    });
    if (parent) await this.joined(server, parent);
    return server;
  }

  /**
   * Waits until `server` is on the network. That it accepts connections does not say so: a server
   * may listen before it has joined (spec section 2.1). Its parent's side does: a grader parent
   * has its registration, and a parent of yours has passed it on to the grader's watching server
   * on the first of your servers.
   */
  private async joined(server: StudentServer, parent: Node): Promise<void> {
    let seen: () => boolean;
    let where: string;
    if (parent instanceof GraderServer) {
      seen = () => !parent.awaiting.has(server);
      where = `${parent.title}, its parent`;
    } else {
      const watch = await this.watcher();
      seen = () => watch.got.get(server.id)?.some((m) => m.type === T.serverRegistration) ?? false;
      where = `${watch.owner.title}, which watches the network from ${watch.far!.label}`;
    }
    const timeoutMs = scaled(settleMs);
    const end = Date.now() + timeoutMs;
    while (!seen()) {
      if (this.unexplained.size === 0) this.raise();
      if (server.proc.exit) this.raise();
      const left = end - Date.now();
      if (left <= 0) {
        this.fail(`${server.title} accepts connections, but after ${seconds(timeoutMs)} its registration has not reached ${where}: a server joins by sending its own registration to its parent, which passes it on to every other server (spec sections 4.1 and 4.3)${this.parentHost ? `. Its parent is at --connect_to_host ${this.parentHost} (another loopback address): a server that dials 127.0.0.1 whatever the flag says reaches nothing there (spec section 2.1)` : ''}${server.proc.tailText()}`, this.wires.filter((w) => w.far === server || w.far === parent).slice(0, 4));
      }
      await Promise.race([this.wake.promise, delay(Math.min(left, 200))]);
    }
    this.note(`${server.label} has joined the network`);
  }

  /** The grader server that watches the network from the first of your servers, attached on first use. */
  private watcher(): Promise<Wire> {
    // Servers start side by side (build()): the first to ask attaches it, the others wait for it.
    this.watch ??= (async () => {
      const root = this.students.find((s) => !s.parent);
      if (!root) throw new Error('no server of yours was started without a parent for the grader to watch from');
      let id = 200;
      while (this.nodes.has(id)) id--;
      const server = await this.graderServer(id, { to: root, name: 'grader-watch', info: 'the grader, watching which servers have joined' });
      return [...server.wires][0]!;
    })();
    return this.watch;
  }

  /**
   * Starts one of your servers with a grader parent that does not let it join: it refuses the
   * id as the course's servers do (status 0x02, the link left open), or (`answer`) answers with
   * other messages than its registration. Your server must not hang: it exits with an error
   * status, or stays up on its own (spec section 2.1). Returns its process if it stays up.
   */
  async startUnjoined(spec: ServerSpec, parent: GraderServer, answer: 'refuse' | Msg[] = 'refuse'): Promise<Proc | undefined> {
    this.raise();
    const server = new StudentServer(spec.id, 'server', 'student', spec.name, `server ${spec.id}, which the grader does not let join`);
    parent.awaiting.add(server);
    parent.rejecting.set(server.id, answer);
    const how = answer === 'refuse' ? `refused its id with status 0x02 and left the link open, as the course's servers do` : 'answered with something other than its own registration';
    let proc: Proc | undefined;
    let stopped: string | undefined;
    try {
      proc = await this.h.start('server', { name: `server ${spec.id}`, params: { id: spec.id, servername: spec.name, info: server.info, connect_to_port: parent.port } });
    } catch (error) {
      if (error instanceof NeverReady) {
        this.fail(`${parent.title} ${how}; then ${server.title} neither exited nor accepted connections: a server that cannot join must not hang (spec section 2.1).\n${(error as Error).message}`, [...parent.wires]);
      }
      stopped = (error as Error).message;
    }
    if (parent.awaiting.has(server)) this.fail(`${server.title} never registered with ${parent.title}, its parent${stopped ? `: ${stopped}` : ''}`, [...parent.wires]);
    if (stopped !== undefined && /exited with code 0\b/.test(stopped)) {
      this.fail(`${parent.title} ${how}; then ${server.title} exited with status 0: a server that cannot join exits with an error status, or stays up on its own (spec section 2.1).\n${stopped}`, [...parent.wires]);
    }
    this.note(proc ? `${server.label} stays up after the grader ${how}` : `${server.label} exited with an error status after the grader ${how}`);
    return proc;
  }

  /**
   * Starts one of your servers under a grader parent that holds back its answer, and, while the
   * answer is held, attaches the grader's client `ids.client` and server `ids.server` to it if it
   * accepts connections. A
   * server may listen before its parent has answered, as the course's servers do; it must then
   * treat the link to its parent as a neighbour's from its own registration on, so that what it
   * learns meanwhile reaches the parent (spec section 2.1). A server that listens only once it
   * has joined, as the reference does, refuses the connection: the two join after the answer.
   * The answer is released as soon as your server has answered both, or after a few seconds if
   * it does not before it has joined (which the spec allows).
   */
  async startWithHeldAnswer(spec: ServerSpec, parent: GraderServer, ids: { client: number; server: number }): Promise<StudentServer> {
    this.raise();
    const server = new StudentServer(spec.id, 'server', 'student', spec.name, spec.info ?? `server ${spec.id} of the grader's network`);
    server.parent = parent;
    this.change(() => this.join(server, parent));
    parent.awaiting.add(server);
    parent.holding.set(server.id, undefined);
    const port = await this.h.claimPort(`server ${spec.id}`);
    server.proc = await this.h.start('server', {
      name: `server ${spec.id}`,
      params: { id: spec.id, servername: spec.name, info: server.info, port, connect_to_port: parent.port },
      ready: false,
    });
    this.students.push(server);
    server.proc.exited.then((status) => {
      if (server.stopping || this.ending) return;
      this.report(`${server.title} stopped: ${describeExit(status)}${server.proc.tailText()}`, this.wires.filter((w) => w.far === server), { cause: true });
    });
    const until = async (done: () => boolean, timeoutMs: number): Promise<boolean> => {
      const end = Date.now() + timeoutMs;
      while (!done()) {
        this.raise();
        const left = end - Date.now();
        if (left <= 0) return false;
        await Promise.race([this.wake.promise, delay(Math.min(left, 200))]);
      }
      return true;
    };
    const registered = await until(() => !parent.awaiting.has(server), scaled(settleMs));
    if (!registered) this.fail(`${server.title} did not register with ${parent.title}, its parent, within ${seconds(scaled(settleMs))}${server.proc.tailText()}`, [...parent.wires]);
    const early = await canConnect(port);
    if (early) {
      this.note(`${server.label} accepts connections before its parent has answered; client ${ids.client} and server ${ids.server} join it now`);
      const client = await this.client(ids.client, server);
      const neighbour = await this.graderServer(ids.server, { to: server });
      const wire = [...neighbour.wires][0]!;
      const answered = await until(() => client.wire!.unicast.every((u) => u.done) && (wire.got.get(server.id)?.length ?? 0) > 0, scaled(3_000));
      this.note(answered ? `${server.label} answered both before its parent answered` : `${server.label} has not answered both before its parent's answer`);
    } else this.note(`${server.label} does not accept connections before its parent has answered`);
    this.note(`${parent.label} sends its answer to ${server.label}`);
    parent.release(server.id);
    await server.proc.waitReady(port);
    if (!early) {
      await this.client(ids.client, server);
      await this.graderServer(ids.server, { to: server });
    }
    return server;
  }

  /**
   * Starts a whole topology, parent first: each round starts, side by side, every server whose
   * parent is already running (and accepting, hence joined).
   */
  async build(topology: Topology): Promise<Map<number, StudentServer>> {
    this.note(`building ${topology.name}: ${describeTree(topology)}`);
    const servers = new Map<number, StudentServer>();
    let waiting = [...topology.servers];
    while (waiting.length > 0) {
      const ready = waiting.filter((spec) => spec.parent === undefined || servers.has(spec.parent));
      if (ready.length === 0) throw new Error(`${topology.name}: servers ${waiting.map((s) => s.id).join(', ')} have no parent`);
      waiting = waiting.filter((spec) => !ready.includes(spec));
      const started = await Promise.all(ready.map((spec) => this.startServer(spec, spec.parent === undefined ? undefined : servers.get(spec.parent))));
      for (const server of started) servers.set(server.id, server);
    }
    return new Map(topology.servers.map((spec) => [spec.id, servers.get(spec.id)!]));
  }

  /**
   * A server the grader plays: attached to `to` as a leaf, and/or (`listen`) accepting your
   * servers started with it as their parent.
   */
  async graderServer(
    id: number,
    options: { mode?: Mode; to?: StudentServer; listen?: boolean; behind?: VirtualSpec[]; name?: string; info?: string; refused?: boolean; style?: Style } = {},
  ): Promise<GraderServer> {
    this.raise();
    const server = new GraderServer(this, id, options.name ?? `grader-${id}`, options.info ?? `played by the grader`, options.mode ?? 'whole', options.style);
    if (options.listen) await server.listen();
    if (options.to) await server.attach(options.to, options.behind, { refused: options.refused });
    else {
      this.nodes.set(id, server);
      if (options.behind?.length) server.announce(options.behind);
    }
    return server;
  }

  /** One grader server attached to each of `servers`, with ids from `firstId`; modes take turns. */
  async observers(servers: Iterable<StudentServer>, firstId: number, modes: Mode[] = ['whole']): Promise<GraderServer[]> {
    const out: GraderServer[] = [];
    for (const server of servers) {
      out.push(await this.graderServer(firstId + out.length, { to: server, mode: modes[out.length % modes.length] }));
    }
    return out;
  }

  /** A client the grader plays, joining through `server`. */
  async client(id: number, server: StudentServer, options: { mode?: Mode; name?: string; refused?: boolean; chats?: { to: number; text: string }[] } = {}): Promise<GraderClient> {
    this.raise();
    const client = new GraderClient(this, id, options.name ?? `user${id}`, `client ${id}, played by the grader`, options.mode ?? 'whole');
    await client.attach(server, { refused: options.refused, chats: options.chats });
    return client;
  }

  /** The lab's client program, run as a process and joined through `server`. */
  async program(id: number, name: string, server: StudentServer): Promise<ProgramClient> {
    this.raise();
    const client = new ProgramClient(id, 'client', 'program', name, `the client program ${id}`);
    this.change(() => this.join(client, server));
    client.proc = await this.h.start('client', {
      name: `client ${id}`,
      params: { id, username: name, info: client.info, serverport: server.port },
    });
    return client;
  }

  /** Kills one of your servers outright (SIGKILL): its links die without a word. */
  async kill(server: StudentServer): Promise<void> {
    server.stopping = true;
    this.change(() => this.remove(server));
    await server.proc.kill('SIGKILL');
  }

  /** Cuts the link between one of your servers and its parent (both ends see a reset). */
  cut(server: StudentServer): void {
    if (!server.uplink || !server.parent) throw new Error(`${server.label} was not started with a proxy to its parent`);
    this.note(`the grader cuts the link between ${server.label} and ${server.parent.label}`);
    this.change(() => disconnect(server, server.parent!));
    server.uplink.cut();
  }

  // ---- judging what arrives ------------------------------------------------------------------

  /**
   * Records a problem; the first one is the one a failure explains, except that a `cause` (your
   * server stopped, or closed a link unasked) replaces what merely followed from it, such as the
   * quits its neighbours then sent.
   */
  private report(text: string, focus: Wire[], options: { cause?: boolean } = {}): void {
    if (this.ending) return;
    const cause = options.cause ?? false;
    if (!this.problem || (cause && !this.problem.cause)) this.problem = { text, focus, cause };
    this.poke();
  }

  private closed(wire: Wire, how: string): void {
    if (wire.owner instanceof GraderServer) wire.owner.lost(wire);
    if (this.ending) return;
    if (wire.state === 'pending') this.report(`a connection to ${wire.owner.title} closed before it registered`, [wire]);
    else if (wire.state === 'bound' && !wire.expectClose) {
      const far = wire.far!;
      const unasked = () => this.report(`${far.title} ${how} to ${wire.owner.title}, and nothing in this test asked for that (a server closes a link only after a refusal or a protocol error, spec section 6)`, [wire], { cause: true });
      if (far instanceof StudentServer) {
        // A server that crashed closes its links a moment before the grader learns of its exit,
        // which startServer() reports with the server's last words: wait for the exit, briefly,
        // before blaming the close. settle() does not return while a verdict is pending.
        this.unexplained.add(wire);
        void bounded(far.proc.exited, scaled(1_000)).then((exited) => {
          this.unexplained.delete(wire);
          if (!exited) unasked();
          this.poke();
        });
      } else unasked();
    }
    this.poke();
  }

  private received(wire: Wire, msg: Msg, raw: Buffer): void {
    if (wire.state === 'pending') {
      if (!(wire.owner instanceof GraderServer && wire.owner.identify(wire, msg))) {
        this.report(`${wire.owner.title} accepted a connection whose first message is ${describe(msg)}; it expected the registration of one of your servers started with it as parent (last hop 0)`, [wire]);
        return;
      }
      // The registration the grader refused: nothing more to judge in it.
      if (wire.refusedBy) return this.poke();
    }
    this.judge(wire, msg);
    if (wire.owner instanceof GraderServer && wire.state !== 'retired') wire.owner.handle(wire, msg, raw);
    this.poke();
  }

  private judge(wire: Wire, msg: Msg): void {
    const at = `${wire.owner.title} (${wire.name}) got ${describe(msg)}`;
    if (wire.owner.kind === 'client' && wire.received === 1 && !(msg.type === T.status && (msg.code === Code.welcome || msg.code === Code.duplicateId))) {
      return this.report(`${at} as its first message; a new client's first message must be its welcome status (spec section 4.2)`, [wire]);
    }
    if (msg.type === T.status || msg.type === T.chat) {
      const waiting = wire.unicast.find((u) => !u.done && [u.msg, ...u.alternatives].some((m) => sameMessage(m, msg)));
      if (waiting) {
        waiting.done = true;
        return;
      }
      const close = wire.unicast.find((u) => !u.done && u.msg.type === msg.type);
      const hint = close ? `\n${diffMessages(close.msg, msg)}` : '';
      const seen = wire.unicast.some((u) => u.done && [u.msg, ...u.alternatives].some((m) => sameMessage(m, msg)));
      const pieces = { whole: '', bytes: ', and the grader sent every message on this link one byte per write: a message may arrive in pieces', coalesced: ', and the grader sent several messages in each write on this link: one read may hold several', ragged: ', and the grader cut its writes on this link at random places: one read may end a message, hold whole ones and start another, its header cut anywhere' };
      const forged = this.forged.get(encode(msg).toString('hex'));
      const reason = forged
        ? forged
        : msg.type === T.status && msg.code === Code.notBehind
        ? 'the grader expected no (more) such refusal on this link: a quit for an id your server does not know, or for a machine of the other kind, is dropped without a status (spec section 6.5)'
        : seen
        ? 'it already came once on this link: each chat and each status must arrive exactly once'
        : msg.type === T.status && msg.code === Code.protocolError && msg.text === 'Message too long'
          ? 'the grader sent no text longer than 1 MiB: a text of up to 1048576 bytes, that many included, is allowed (spec section 3.7)'
        : msg.type === T.status && msg.code === Code.protocolError
          ? `the grader sent nothing wrong: your server could not read correct messages${pieces[wire.mode]} (spec section 3.1)${wire.owner instanceof GraderServer && wire.owner.style === 'course' ? `; ${wire.owner.label} behaves as the course's servers do, and its own registration carries its own id as last hop, which a server must accept as the source's own (spec sections 4.1 and 10)` : ''}`
          : msg.type === T.chat && this.nodes.get(msg.destination)?.kind === 'server'
          ? `${msg.destination} is a server: a chat goes only to a client, and one for a server's id is answered "Unknown ID" by the first server it reaches (spec section 5)`
          : msg.type === T.chat
          ? 'no chat on this link was expected: a chat goes only along the path to its destination (spec section 5)'
          : 'no such status was expected on this link (spec sections 5 and 6)';
      return this.report(`${at}, but ${reason}${hint}`, [wire]);
    }
    if (wire.state !== 'bound') {
      if (wire.refused) this.report(`${at}, but your server should have refused this ${wire.owner.kind}'s registration (its id is taken, spec section 6.3) and sent nothing but the status 0x02`, [wire]);
      if (wire.refusedBy) this.report(`${at}, but ${wire.owner.title} refused your server's registration: a refused server sends nothing more on that link (spec section 2.1)`, [wire]);
      return;
    }
    const list = wire.got.get(msg.source) ?? [];
    list.push(msg);
    wire.got.set(msg.source, list);
    const expected = wire.expected.get(msg.source) ?? [];
    const want = expected[list.length - 1];
    if (!want) return this.report(`${at}, but ${this.stray(wire, msg)}`, [wire]);
    const wrong = mismatch(want, msg, wire);
    if (wrong) this.report(`${at}; ${wrong}`, [wire]);
  }

  /** Why a registration or quit should not have reached `wire`. */
  private stray(wire: Wire, msg: Msg): string {
    const id = msg.source;
    const node = this.nodes.get(id);
    const quit = msg.type === T.clientQuit || msg.type === T.serverQuit;
    // judge() has added `msg` to what came for this id: the one before it is the previous message.
    const previous = wire.got.get(id)!.at(-2);
    const nowhere = quit ? undefined : this.nowhere.get(`${msg.type}:${id}:${(msg as { name: string }).name}`);
    if (nowhere) return nowhere;
    const forged = this.forged.get(encode(msg).toString('hex'));
    if (forged && quit) return node ? `${node.label} has not left: ${forged}` : forged;
    if (previous?.type === msg.type) return `it already came: every machine must get each registration and each quit exactly once`;
    if (id === wire.owner.id) return `that is its own ${quit ? 'quit' : 'registration'}, sent back to it: a server passes a message on to every link except the one it came in on (spec section 4.3)`;
    if (wire.owner.kind === 'client' && (msg.type === T.serverRegistration || msg.type === T.serverQuit)) {
      return 'clients are never sent server registrations or server quits (spec section 4.3)';
    }
    if (node && wire.far && !side(wire.far, wire.owner).has(node)) {
      return `${node.label} is on the grader's side of this link: it reached your server through this very link, and a server never passes a message back on the link it came in on (spec section 4.3)`;
    }
    if (!node) return `no machine with id ${id} is on the network now${quit ? ' (or this link was already told it left)' : ' (a refused registration must go no further, spec section 6.3)'}`;
    return quit ? `${node.label} has not left` : `this link was not expecting it`;
  }

  /** What each link still waits for. */
  private missing(): { name: string; wire?: Wire; items: string[] }[] {
    const out: { name: string; wire?: Wire; items: string[] }[] = [];
    for (const wire of this.wires) {
      if (wire.state === 'retired') continue;
      const items: string[] = [];
      if (wire.state === 'bound') {
        for (const [id, list] of wire.expected) {
          const got = wire.got.get(id)?.length ?? 0;
          for (const want of list.slice(got)) items.push(describeExpect(id, want));
        }
      }
      for (const u of wire.unicast) if (!u.done) items.push(u.why);
      if (wire.expectClose && !wire.closed) items.push('your server to close this link');
      if (this.unexplained.has(wire)) items.push(`to learn whether ${wire.far!.title}, which closed this link, is still running`);
      if (items.length) out.push({ name: wire.name, wire, items });
    }
    for (const server of this.nodes.values()) {
      if (!(server instanceof GraderServer)) continue;
      for (const child of server.awaiting) out.push({ name: `${server.label} ⇄ ${child.label}`, items: [`${child.label} to connect to ${server.label} and register`] });
    }
    return out;
  }

  /**
   * Waits until every grader link has received all it must, and fails at once on anything it
   * must not receive. A stray that comes later still fails the test, at a later settle(); the
   * test's last check is finish(), which listens a while longer for strays.
   */
  async settle(what: string, options: { quietMs?: number; timeoutMs?: number } = {}): Promise<void> {
    this.note(`waiting for ${what}`);
    await this.untilNothingMissing(what, scaled(options.timeoutMs ?? settleMs));
    const quiet = options.quietMs ?? 0;
    if (quiet > 0) {
      await delay(quiet);
      // A link closed during the quiet spell: wait for the verdict on it too.
      await this.untilNothingMissing(what, scaled(settleMs));
    }
    this.raise();
    this.note(`done: ${what}`);
  }

  private async untilNothingMissing(what: string, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      // While a closed link awaits its verdict, what followed from it waits too (report()).
      if (this.unexplained.size === 0) this.raise();
      const missing = this.missing();
      if (missing.length === 0) return;
      const left = end - Date.now();
      if (left <= 0) {
        const lines = missing.slice(0, 8).map(({ name, items }) => `  ${name}: ${items.slice(0, 6).join('; ')}${items.length > 6 ? `; and ${items.length - 6} more` : ''}`);
        const focus = missing.flatMap((m) => (m.wire ? [m.wire] : [])).slice(0, 4);
        this.fail(`after ${seconds(timeoutMs)} of waiting for ${what}, these links still wait for:\n${lines.join('\n')}${missing.length > 8 ? `\n  and ${missing.length - 8} more links` : ''}`, focus);
      }
      await Promise.race([this.wake.promise, delay(Math.min(left, 1_000))]);
    }
  }

  /** The last check of a test: settle(), then listen for strays a little longer. */
  async finish(what: string): Promise<void> {
    await this.settle(what, { quietMs });
  }

  /** Fails with the first problem seen, if any: the test stops at the first thing that went wrong. */
  raise(): void {
    const problem = this.problem;
    if (problem) this.fail(problem.text, problem.focus);
  }

  /** Waits for `wire` to close (your server closes it). */
  async closedBy(wire: Wire, what: string): Promise<void> {
    wire.expectClose = true;
    await this.settle(what, { quietMs: 0 });
  }

  fail(text: string, focus: Wire[] = []): never {
    const account = this.account(focus);
    let file = '';
    try {
      file = path.join(this.h.logDir, 'links.txt');
      writeFileSync(file, this.account(this.wires, Infinity));
    } catch {
      file = '';
    }
    const context = this.context.map((line) => `\n(${line})`).join('');
    throw new GradeFailure(`${text}${context}\n\n${account}${file ? `\nevery link, in full: ${path.relative(this.h.config.root, file)}` : ''}`);
  }

  /** What the grader saw on its links: `focus` in full (up to `depth`), the busiest others briefly. */
  account(focus: Wire[], depth = 25): string {
    const out = ['what the grader saw on its links (← from your server, → from the grader, • events):'];
    const describeWire = (wire: Wire, lines: number) => {
      out.push(`  ${wire.name}: ${wire.owner.title} and ${wire.far?.title ?? 'a server not yet known'}`);
      const shown = wire.log.slice(-lines);
      if (shown.length < wire.log.length) out.push(`      … ${wire.log.length - shown.length} earlier`);
      for (const line of shown) out.push(`      ${(line.ms / 1000).toFixed(2).padStart(6)}s ${line.arrow} ${line.text}`);
      if (wire.log.length === 0) out.push('      (nothing yet)');
    };
    for (const wire of focus) describeWire(wire, depth);
    if (depth !== Infinity) {
      const others = this.wires.filter((w) => !focus.includes(w) && w.log.length > 0);
      others.sort((a, b) => b.log[b.log.length - 1]!.ms - a.log[a.log.length - 1]!.ms);
      for (const wire of others.slice(0, 6)) describeWire(wire, 4);
      if (others.length > 6) out.push(`  (${others.length - 6} more links)`);
    } else {
      for (const wire of this.wires.filter((w) => !focus.includes(w))) describeWire(wire, Infinity);
    }
    return out.join('\n');
  }
}

/** True if something accepts a TCP connection on `port` (one attempt, with a deadline). */
async function canConnect(port: number): Promise<boolean> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  let accepted = false;
  const answered = new Promise<void>((resolve) => {
    socket.once('connect', () => {
      accepted = true;
      resolve();
    });
    socket.once('error', () => resolve());
  });
  await bounded(answered, scaled(2_000));
  socket.destroy();
  return accepted;
}

function sameMessage(a: Msg, b: Msg): boolean {
  return encode(a).equals(encode(b));
}

/** The fields that differ between an expected message and the one that came. */
function diffMessages(want: Msg, got: Msg): string {
  const lines: string[] = [];
  for (const key of Object.keys(want) as (keyof Msg)[]) {
    const a = want[key];
    const b = (got as Record<string, unknown>)[key];
    if (a !== b) lines.push(`  ${key}: expected ${JSON.stringify(a)}, got ${JSON.stringify(b)}`);
  }
  return `the nearest one it expected is ${describe(want)}:\n${lines.join('\n')}`;
}

function describeExpect(id: number, want: Expect): string {
  if (want.kind === 'reg') return `${want.type === T.serverRegistration ? 'server' : 'client'} registration ${id} last hop ${want.lastHop}`;
  return `${want.type === T.serverQuit ? 'server' : 'client'} quit ${id}${want.text !== undefined ? ` ${JSON.stringify(want.text)}` : ''}`;
}

/** How a registration or quit differs from what the model expects; undefined if it does not. */
function mismatch(want: Expect, msg: Msg, wire: Wire): string | undefined {
  const far = wire.far!;
  if (want.kind === 'reg') {
    if (msg.type !== T.serverRegistration && msg.type !== T.clientRegistration) {
      return `it expected the registration of ${msg.source} first: a quit for a machine it was never told of`;
    }
    if (msg.type !== want.type) return `${msg.source} is a ${want.type === T.serverRegistration ? 'server' : 'client'}, so its registration has type 0x${want.type.toString(16).padStart(2, '0')}`;
    // A machine's own registration carries last hop 0, or its own id as the course's servers send it.
    const own = want.lastHop === 0 && msg.lastHop === msg.source;
    if (msg.lastHop !== want.lastHop && !own) {
      return want.lastHop === 0
        ? `a server's own registration carries last hop 0 or its own id (spec section 4.1), not ${msg.lastHop}`
        : `expected last hop ${want.lastHop}: ${far.label} passed it on, and a server passing a registration on puts its own id there (spec section 4.3)`;
    }
    if (msg.name !== want.name || msg.info !== want.info) {
      const both = want.name + want.info;
      const wide = Buffer.byteLength(both) !== both.length ? ' (its name and info are not ASCII: their lengths count bytes, not characters, spec section 3.2)' : '';
      return `expected name ${JSON.stringify(want.name)} and info ${JSON.stringify(want.info)}, passed on unchanged${wide}`;
    }
    return undefined;
  }
  if (msg.type !== T.clientQuit && msg.type !== T.serverQuit) return `expected the quit of ${msg.source} (it left the network), not another registration`;
  if (msg.type !== want.type) return `${msg.source} is a ${want.type === T.serverQuit ? 'server: its quit is a server quit, 0x02' : 'client: its quit is a client quit, 0x82'} (spec section 7)`;
  if (want.text !== undefined && msg.text !== want.text) return `expected the quit's text ${JSON.stringify(want.text)}, passed on unchanged`;
  return undefined;
}
