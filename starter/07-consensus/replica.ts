// Lab 7: one replica of the replicated chat service, safe under pauses and partitions
// (spec/07-consensus.md). This is lab 6's replica with terms in every message and record; what is
// yours is in store.ts, node.ts, election.ts and replication.ts: see the handout.
//
//   replica --id N --port P --peers ID=HOST:PORT,... --data DIR [--host H]
//           [--heartbeat-ms H] [--timeout-ms T] [--compact-after N]
//
// The files, from the disk up:
//   store.ts        lab 5's data directory with lab 6's digests and truncation, and lab 7's terms,
//                   the `term` file, compaction of the committed prefix and installed snapshots
//   service.ts      lab 6's service, with snapshots that keep the (client, seq) table
//   outbox.ts       group commit: frames wait until their records are committed on a majority
//   connection.ts   one incoming connection: a client's requests, or another replica's messages
//   peers.ts        the outgoing connections to the other replicas
//   node.ts         the replica's state, roles and terms, and the dispatch of replica messages
//   election.ts     heartbeats, failure detection, the ring's tokens (a pre-vote), and the votes
//   replication.ts  APPEND and its answers, log repair, the commit rule, snapshots for the far behind
// and, unchanged from lab 6: records.ts (with TERM_STARTED), frames.ts, values.ts, encode.ts,
// decode.ts, messages.ts (with lab 7's types), passwords.ts, wildcard.ts, client.ts.
//
// Start-up is lab 5's recovery and the saved term, then the replica listens as a backup that knows
// no primary. It hears the others within H ms, and either a primary's APPEND, or, after T ms of
// silence, starts an election.
import net from 'node:net';
import { parseArgs } from 'node:util';
import { serveConnection } from './connection.js';
import { Replica, type Config } from './node.js';
import { Outbox } from './outbox.js';
import { Peers, type Address } from './peers.js';
import { Service } from './service.js';
import { Locked, Refusal, Store } from './store.js';
import { unlessTodo } from './todo.js';

function parseConfig(): { config: Config; port: number; host: string; data: string } {
  const { values } = parseArgs({
    options: {
      id: { type: 'string' },
      port: { type: 'string' },
      peers: { type: 'string' },
      data: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'heartbeat-ms': { type: 'string', default: '1000' },
      'timeout-ms': { type: 'string', default: '5000' },
      'compact-after': { type: 'string', default: '0' },
    },
  });
  const whole = (name: string, text: string | undefined, min = 1): number => {
    const n = Number(text);
    if (text === undefined) fail(2, `--${name} is required`);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) fail(2, `--${name} must be a whole number of at least ${min}, not ${text}`);
    return n;
  };
  const id = whole('id', values.id);
  const port = whole('port', values.port);
  if (values.data === undefined) fail(2, '--data is required');
  if (values.peers === undefined) fail(2, '--peers is required');
  const peers = new Map<number, Address>();
  for (const item of values.peers.split(',').filter(Boolean)) {
    // ID=HOST:PORT; the host may itself hold colons (an IPv6 address), so the port is after the last.
    const match = /^(\d+)=(.+):(\d+)$/.exec(item);
    if (!match) fail(2, `--peers wants ID=HOST:PORT entries, not ${item}`);
    const peer = Number(match[1]);
    if (peer !== id) peers.set(peer, { host: match[2]!.replace(/^\[(.*)\]$/, '$1'), port: Number(match[3]) });
  }
  const heartbeatMs = whole('heartbeat-ms', values['heartbeat-ms']);
  const timeoutMs = whole('timeout-ms', values['timeout-ms']);
  if (timeoutMs < 2 * heartbeatMs) fail(2, `--timeout-ms (${timeoutMs}) must be at least twice --heartbeat-ms (${heartbeatMs})`);
  const compactAfter = whole('compact-after', values['compact-after'], 0);
  return { config: { id, peers, heartbeatMs, timeoutMs, compactAfter }, port, host: values.host, data: values.data };
}

function main(): void {
  const { config, port, host, data } = parseConfig();
  const store = new Store(data);
  let replica: Replica;
  try {
    store.lock();
    const service = new Service(store);
    const dropped = store.recover((type, payload) => service.apply(type, payload));
    if (dropped) console.error(dropped);
    replica = new Replica(config, store, service);
  } catch (error) {
    if (error instanceof Refusal || error instanceof Locked) {
      store.unlock();
      fail(1, error.message);
    }
    throw error;
  }
  // What the snapshot holds was committed when it was taken.
  replica.commit = store.base;
  console.log(`replica ${config.id}: recovered ${data} up to record ${store.lastIndex} in term ${replica.term}; ${config.peers.size + 1} replicas`);

  replica.outbox = new Outbox(store, () => replica.commit, () => {
    replica.replication.afterSync();
    unlessTodo(() => replica.maybeCompact(), () => undefined);
  });
  replica.peers = new Peers(config.peers, config.heartbeatMs, (id) => replica.replication.connectionOpened(id));

  const server = net.createServer({ allowHalfOpen: true }, (socket) => serveConnection(socket, replica));
  server.on('error', (error) => {
    store.unlock();
    fail(1, `cannot listen on ${host}:${port}: ${error.message}`);
  });
  server.listen(port, host, () => {
    console.log(`replica ${config.id} listening on ${host}:${port}`);
    replica.peers.start();
    setInterval(() => replica.election.tick(), config.heartbeatMs);
  });

  // A clean shutdown: what was appended is synced; the lock is released.
  const shutdown = () => {
    server.close();
    replica.peers.stop();
    store.close();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

function fail(code: number, message: string): never {
  console.error(`replica: ${message}`);
  process.exit(code);
}

main();
