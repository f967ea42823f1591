// The networks the tests build, as data. Servers are listed parent first: each one, when it
// starts, connects to the server named as its parent, which is already running. A tree is all a
// list like this can describe, since every server but the first joins through exactly one link.

export interface ServerSpec {
  id: number;
  name: string;
  /** The server it connects to at start-up; none for the first. */
  parent?: number;
  /** Its --info; the grader makes one up when there is none. */
  info?: string;
}

export interface Topology {
  /** How failure messages name it. */
  name: string;
  servers: ServerSpec[];
}

export const two: Topology = {
  name: 'two servers',
  servers: [
    { id: 1, name: 'first' },
    { id: 2, name: 'second', parent: 1 },
  ],
};

/** 1 - 2 - 3 - 4 */
export const line4: Topology = {
  name: 'four servers in a line',
  servers: [
    { id: 1, name: 'one' },
    { id: 2, name: 'two', parent: 1 },
    { id: 3, name: 'three', parent: 2 },
    { id: 4, name: 'four', parent: 3 },
  ],
};

/**
 * 1 in the middle, 2, 3 and 4 around it. Their names and infos are not ASCII: every length in a
 * message counts bytes, not characters (spec section 3.2), in a server's own registration too.
 */
export const star4: Topology = {
  name: 'four servers in a star',
  servers: [
    { id: 1, name: 'hub ✓', info: 'the hub — ünïcödé' },
    { id: 2, name: 'nörth', parent: 1, info: 'north, 北' },
    { id: 3, name: 'east 東', parent: 1 },
    { id: 4, name: 'wëst 🚀', parent: 1, info: 'west: ✓✓✓ 🚀' },
  ],
};

/**
 *   1 - 2 - 3
 *       |
 *       4 - 5
 */
export const fork5: Topology = {
  name: 'five servers in a fork',
  servers: [
    { id: 1, name: 'west' },
    { id: 2, name: 'junction', parent: 1 },
    { id: 3, name: 'east', parent: 2 },
    { id: 4, name: 'south', parent: 2 },
    { id: 5, name: 'far-south', parent: 4 },
  ],
};

/**
 * The eleven-server network of the original course:
 *
 *              1 theshire
 *             /          \
 *     2 rivendale      3 grey_havens
 *     /     |     \
 *  5 moria  |  8 mirkwood
 *       4 lothlorien
 *        /        \
 *    6 edoras   7 minastirith
 *       |          /      \
 *  9 isengard  10 osgiliath  11 barad-dur
 */
export const course: Topology = {
  name: "the course's eleven-server tree",
  servers: [
    { id: 1, name: 'theshire' },
    { id: 2, name: 'rivendale', parent: 1 },
    { id: 3, name: 'grey_havens', parent: 1 },
    { id: 4, name: 'lothlorien', parent: 2 },
    { id: 5, name: 'moria', parent: 2 },
    { id: 6, name: 'edoras', parent: 4 },
    { id: 7, name: 'minastirith', parent: 4 },
    { id: 8, name: 'mirkwood', parent: 2 },
    { id: 9, name: 'isengard', parent: 6 },
    { id: 10, name: 'osgiliath', parent: 7 },
    { id: 11, name: 'barad-dur', parent: 7 },
  ],
};

/** The course's clients, and the server each one joins. */
export const courseClients: { id: number; name: string; server: number }[] = [
  { id: 101, name: 'frodobaggins', server: 1 },
  { id: 102, name: 'samgamgee', server: 1 },
  { id: 103, name: 'elrond', server: 2 },
  { id: 104, name: 'bilbobaggins', server: 3 },
  { id: 105, name: 'peregrin', server: 4 },
  { id: 106, name: 'meriadoc', server: 6 },
  { id: 107, name: 'balin', server: 5 },
  { id: 108, name: 'sauron', server: 11 },
];

/** A small deterministic random number generator (mulberry32): the same seed, the same numbers. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed for this run: SWITCHBOARD_SEED if set (to replay a failure), a fresh one otherwise. */
export function seed(): number {
  const given = Number(process.env.SWITCHBOARD_SEED);
  return Number.isInteger(given) && given > 0 ? given : 1 + Math.floor(Math.random() * 999_999);
}

/**
 * A random tree of `n` servers: each server's parent is one of those before it. With `ids:
 * 'wide'` the ids are random 32-bit numbers (some above 2^31, to catch signed arithmetic);
 * otherwise they are 1..n.
 */
export function randomTree(seedValue: number, n: number, options: { ids?: 'small' | 'wide' } = {}): Topology {
  const next = random(seedValue);
  const ids = new Set<number>();
  // Wide ids alternate between the two halves of the 32-bit range: some are above 2^31.
  while (ids.size < n) ids.add(options.ids === 'wide' ? (ids.size % 2 === 0 ? 0x80000000 : 1) + Math.floor(next() * 0x7ffffffe) : ids.size + 1);
  const list = [...ids];
  const servers: ServerSpec[] = list.map((id, i) => ({
    id,
    // Every other name is not ASCII: lengths count bytes (spec section 3.2).
    name: i % 2 === 0 ? `r${i + 1}` : `r${i + 1}-ñ✓`,
    parent: i === 0 ? undefined : list[Math.floor(next() * i)],
  }));
  return { name: `a random tree of ${n} servers from seed ${seedValue}`, servers };
}

/** The tree drawn as "child -> parent" pairs, for the account of a test. */
export function describeTree(topology: Topology): string {
  return topology.servers.map((s) => (s.parent === undefined ? `${s.id} (first)` : `${s.id}->${s.parent}`)).join(', ');
}
