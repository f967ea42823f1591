// Where the packages (the Gradescope zip, the student export) take the kit's files from. By
// default from what is committed, the files of HEAD, read with git itself (ls-tree, cat-file),
// so that an instructor's trial run in starter/, or a stray file, never reaches students or
// Gradescope. Before building from HEAD, a package is refused while any file it would hold
// differs from HEAD or is untracked: the instructor meant to ship something, and should say
// which. `--from-working-tree` takes the files as they are on disk instead.
//
// Everything runs git as a program with arguments (no shell), so it works the same on Windows.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { filesUnder } from './kit-files.js';

export interface KitSource {
  /** Where the files come from, for the tool's output: "HEAD (commit 1a2b3c4 ...)" or "the working tree". */
  description: string;
  /** Every file, relative to the kit's root, with forward slashes, sorted. */
  files: string[];
  has(file: string): boolean;
  read(file: string): Buffer;
  /** Unix permissions: 0o755 for an executable, else 0o644. */
  mode(file: string): number;
}

/** A package that is not built, and why: the tool prints the message and exits 1. */
export class PackageRefused extends Error {}

function git(root: string, args: string[], input?: string): Buffer {
  return execFileSync('git', ['-C', root, ...args], { input, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
}

/** The kit's folder inside its git repository ("" at the top), or undefined outside a checkout. */
function repositoryPrefix(root: string): string | undefined {
  try {
    return git(root, ['rev-parse', '--show-prefix']).toString('utf8').trim();
  } catch {
    return undefined;
  }
}

/** The files of HEAD. */
export function committedSource(root: string): KitSource {
  const prefix = repositoryPrefix(root);
  if (prefix === undefined) {
    throw new PackageRefused(`${root} is not a git checkout (or git is not installed), so there is no commit to build from: pass --from-working-tree to build from the files as they are`);
  }
  let head: string;
  try {
    head = git(root, ['log', '-1', '--format=%h of %cd', '--date=format:%Y-%m-%d %H:%M', 'HEAD']).toString('utf8').trim();
  } catch {
    throw new PackageRefused('nothing is committed yet, so there is no commit to build from: commit the kit, or pass --from-working-tree');
  }
  // "<mode> <type> <object>\t<path>", NUL-separated; paths from the top of the repository.
  const entries = new Map<string, { mode: string; object: string }>();
  for (const entry of git(root, ['ls-tree', '-r', '-z', '--full-tree', 'HEAD']).toString('utf8').split('\0')) {
    const match = /^(\d+) (\w+) ([0-9a-f]+)\t(.*)$/s.exec(entry);
    if (!match || match[2] !== 'blob' || match[1] === '120000' || !match[4]!.startsWith(prefix)) continue;
    entries.set(match[4]!.slice(prefix.length), { mode: match[1]!, object: match[3]! });
  }
  let contents: Map<string, Buffer> | undefined;
  const load = () => {
    // One `git cat-file --batch` for every blob: "<object> blob <size>\n<bytes>\n" each.
    const objects = [...new Set([...entries.values()].map((e) => e.object))];
    const out = git(root, ['cat-file', '--batch'], `${objects.join('\n')}\n`);
    const byObject = new Map<string, Buffer>();
    let at = 0;
    while (at < out.length) {
      const eol = out.indexOf(0x0a, at);
      const [object, , size] = out.subarray(at, eol).toString('utf8').split(' ');
      const start = eol + 1;
      byObject.set(object!, out.subarray(start, start + Number(size)));
      at = start + Number(size) + 1;
    }
    return new Map([...entries].map(([file, e]) => [file, byObject.get(e.object)!]));
  };
  return {
    description: `HEAD (commit ${head})`,
    files: [...entries.keys()].sort(),
    has: (file) => entries.has(file),
    read(file) {
      contents ??= load();
      const data = contents.get(file);
      if (!data) throw new Error(`${file} is not committed`);
      return data;
    },
    mode: (file) => (entries.get(file)?.mode === '100755' ? 0o755 : 0o644),
  };
}

/** The files on disk: in a checkout, the tracked and untracked ones git does not ignore. */
export function workingTreeSource(root: string): KitSource {
  let files: string[];
  if (repositoryPrefix(root) !== undefined) {
    files = git(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])
      .toString('utf8')
      .split('\0')
      .filter((file) => file && existsSync(path.join(root, file)) && statSync(path.join(root, file)).isFile());
  } else {
    files = filesUnder(root, '.').map((file) => file.replace(/^\.\//, ''));
  }
  const set = new Set(files);
  return {
    description: 'the working tree (--from-working-tree), not a commit',
    files: [...set].sort(),
    has: (file) => set.has(file),
    read: (file) => readFileSync(path.join(root, file)),
    mode: (file) => (process.platform !== 'win32' && statSync(path.join(root, file)).mode & 0o111 ? 0o755 : 0o644),
  };
}

export interface Change {
  file: string;
  /** "modified", "untracked", "deleted", "added", ... */
  state: string;
}

const states: Record<string, string> = { M: 'modified', T: 'modified', A: 'added', D: 'deleted', R: 'renamed', C: 'copied', U: 'unmerged', '?': 'untracked' };

/** The files whose working tree or index differs from HEAD, and the untracked ones (not the ignored). */
export function changesFromHead(root: string): Change[] {
  const prefix = repositoryPrefix(root) ?? '';
  const changes: Change[] = [];
  // "XY path", NUL-separated, paths from the top of the repository; X is the index, Y the working tree.
  for (const entry of git(root, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames']).toString('utf8').split('\0')) {
    if (entry.length < 4 || !entry.slice(3).startsWith(prefix)) continue;
    const code = entry[1] !== ' ' ? entry[1]! : entry[0]!;
    changes.push({ file: entry.slice(3 + prefix.length), state: states[code] ?? 'changed' });
  }
  return changes;
}

/**
 * The source a package is built from, and the files it takes from it (`select` names every file
 * the tool reads: what it packs and the templates it fills). From HEAD, unless a file that
 * `select` names, in HEAD or in the working tree, differs from HEAD: then it is refused.
 */
export function packageSource(root: string, fromWorkingTree: boolean, select: (source: KitSource) => string[]): { source: KitSource; files: string[] } {
  if (fromWorkingTree) {
    const source = workingTreeSource(root);
    return { source, files: select(source) };
  }
  const source = committedSource(root);
  const files = select(source);
  const changes = changesFromHead(root);
  if (changes.length) {
    const packed = new Set([...files, ...select(workingTreeSource(root))]);
    const differing = changes.filter((change) => packed.has(change.file));
    if (differing.length) {
      const width = Math.max(...differing.map((c) => c.state.length));
      throw new PackageRefused(
        [
          `refused: the package is built from what is committed, ${source.description}, and ${differing.length === 1 ? 'a file it would hold differs' : `${differing.length} files it would hold differ`} from it:`,
          ...differing.map((c) => `  ${c.state.padEnd(width)}  ${c.file}`),
          'Commit them, undo them (git restore FILE; remove the untracked ones), or pass --from-working-tree to build from the files as they are now.',
        ].join('\n'),
      );
    }
  }
  return { source, files };
}

/** The lab folders of a source: each labs/NN-name/ with a lab.ts. */
export function sourceLabDirs(source: KitSource): string[] {
  return source.files.map((file) => /^labs\/(\d\d-[^/]+)\/lab\.ts$/.exec(file)?.[1]).filter((dir): dir is string => dir !== undefined);
}

/**
 * The relative imports reachable from `entries` (TypeScript and JavaScript files of the source,
 * `./x.js` meaning `./x.ts` where that is the file), entries included.
 */
export function importClosure(source: KitSource, entries: string[]): Set<string> {
  const found = new Set<string>();
  const queue = [...entries];
  while (queue.length) {
    const file = queue.pop()!;
    if (found.has(file) || !source.has(file)) continue;
    found.add(file);
    if (!/\.(ts|mts|js|mjs)$/.test(file)) continue;
    const text = source.read(file).toString('utf8');
    for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), match[1]!));
      const asTs = target.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts');
      queue.push(source.has(asTs) ? asTs : target);
    }
  }
  return found;
}
