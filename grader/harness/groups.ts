// Every program a test starts runs in its own process group, and the whole group is killed
// when the test ends: killing only the spawned process can leave a grandchild behind.
//
// Each group is also recorded on disk while it lives. If the grader itself is killed with
// SIGKILL it cannot clean up, so the next run reads the records, finds groups whose owner is
// gone, and reaps them. On Windows there are no process groups; `taskkill /T` kills the tree.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';

export const isWindows = process.platform === 'win32';

interface GroupRecord {
  pgid: number;
  /** The process that started the group: a test worker. */
  owner: number;
  /** The grader run it belongs to: the CLI's process. */
  run: number;
  command: string;
  started: string;
  /** Start time of the group leader from /proc, to tell a reused pid from ours. */
  startTicks?: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function groupAlive(pgid: number): boolean {
  if (isWindows) return alive(pgid);
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function startTicks(pid: number): string | undefined {
  try {
    // Field 22 of /proc/PID/stat is the start time; the command name (field 2) may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Sends a signal to a whole process group (a process tree on Windows). Never throws. */
export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  if (isWindows) {
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') return;
    spawnSync('taskkill', ['/pid', String(pgid), '/T', '/F'], { stdio: 'ignore', windowsHide: true });
    return;
  }
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

export class GroupRegistry {
  constructor(
    private readonly dir: string,
    private readonly owner: number,
    private readonly run: number,
  ) {}

  record(pgid: number, command: string): void {
    mkdirSync(this.dir, { recursive: true });
    const record: GroupRecord = {
      pgid,
      owner: this.owner,
      run: this.run,
      command,
      started: new Date().toISOString(),
      startTicks: startTicks(pgid),
    };
    writeFileSync(path.join(this.dir, `${pgid}.json`), JSON.stringify(record));
  }

  forget(pgid: number): void {
    rmSync(path.join(this.dir, `${pgid}.json`), { force: true });
  }

  private records(): GroupRecord[] {
    if (!existsSync(this.dir)) return [];
    const records: GroupRecord[] = [];
    for (const name of readdirSync(this.dir)) {
      try {
        records.push(JSON.parse(readFileSync(path.join(this.dir, name), 'utf8')) as GroupRecord);
      } catch {
        rmSync(path.join(this.dir, name), { force: true });
      }
    }
    return records;
  }

  /** SIGKILLs every group this process started and still has on record. Synchronous, for exit handlers. */
  killOwn(): number {
    return this.killWhere((record) => record.owner === this.owner);
  }

  /** SIGKILLs every group of this run, whichever worker started it: for the CLI on Ctrl+C and at the end. */
  killRun(): number {
    return this.killWhere((record) => record.run === this.run);
  }

  private killWhere(match: (record: GroupRecord) => boolean): number {
    let killed = 0;
    for (const record of this.records()) {
      if (!match(record)) continue;
      if (groupAlive(record.pgid)) {
        killGroup(record.pgid, 'SIGKILL');
        killed++;
      }
      this.forget(record.pgid);
    }
    return killed;
  }

  /**
   * Kills groups left by earlier runs whose owner process is gone (a grader killed with SIGKILL).
   * Returns the commands it reaped, so the caller can say so.
   */
  reapOrphans(): string[] {
    const reaped: string[] = [];
    for (const record of this.records()) {
      if (record.run === this.run || alive(record.owner) || alive(record.run)) continue;
      // A live leader with another start time is an unrelated process that reused the pid.
      const now = startTicks(record.pgid);
      const reused = record.startTicks !== undefined && now !== undefined && now !== record.startTicks;
      if (!reused && groupAlive(record.pgid)) {
        killGroup(record.pgid, 'SIGKILL');
        reaped.push(record.command);
      }
      this.forget(record.pgid);
    }
    return reaped;
  }
}
