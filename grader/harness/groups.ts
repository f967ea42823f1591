// Every program a test starts runs in its own process group, and the whole group is killed
// when the test ends: killing only the spawned process can leave a grandchild behind.
//
// Each group is also recorded on disk while it lives. If the grader itself is killed with
// SIGKILL it cannot clean up, so the next run reads the records, finds groups whose owner is
// gone, and reaps them. On Windows there are no process groups; `taskkill /T` kills the tree.
//
// A pid can be reused, so the reaper kills only what it can prove is its own. On Linux, the
// leader's start time in /proc is recorded and must match. Elsewhere the record's time is the
// proof: it is written just after the spawn returned, so our process was created before it,
// while a process that reused the pid was created after ours ended, so after the record. The
// creation time comes from `ps -o lstart=` (macOS and other Unix) or, on Windows, from
// PowerShell's Get-Process, asked only at reaping time and only about the pids to check.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { processAlive } from './procfs.js';

export const isWindows = process.platform === 'win32';

interface GroupRecord {
  pgid: number;
  /** The process that started the group: a test worker. */
  owner: number;
  /** The grader run it belongs to: the CLI's process. */
  run: number;
  command: string;
  /** When the record was written, just after the spawn returned: the process was created before. */
  started: string;
  /** Start time of the group leader from /proc (Linux), to tell a reused pid from ours. */
  startTicks?: string;
}


function groupAlive(pgid: number): boolean {
  if (isWindows) return processAlive(pgid);
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

/** ps's or PowerShell's answer, as pid to creation time in ms since the epoch. */
export function parseCreationTimes(output: string, format: 'lstart' | 'filetime'): Map<number, number> {
  const times = new Map<number, number>();
  for (const line of output.split(/\r?\n/)) {
    const match = /^\s*(\d+)\s+(.+?)\s*$/.exec(line);
    if (!match) continue;
    // A Windows FILETIME counts 100 ns steps from 1601; lstart is a local time, to the second.
    const ms = format === 'filetime' ? (/^\d+$/.test(match[2]!) ? Number(BigInt(match[2]!) / 10_000n) - 11_644_473_600_000 : NaN) : Date.parse(match[2]!);
    if (Number.isFinite(ms)) times.set(Number(match[1]), ms);
  }
  return times;
}

/** When these processes were created, for those the OS tells (ps, or PowerShell on Windows). */
export function creationTimes(pids: number[]): Map<number, number> {
  if (pids.length === 0) return new Map();
  if (isWindows) {
    const script = `Get-Process -Id ${pids.join(',')} -ErrorAction SilentlyContinue | ForEach-Object { try { '{0} {1}' -f $_.Id, $_.StartTime.ToFileTimeUtc() } catch {} }`;
    const ps = spawnSync('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', script], { encoding: 'utf8', windowsHide: true, timeout: 30_000 });
    return parseCreationTimes(ps.stdout ?? '', 'filetime');
  }
  // LC_ALL=C: the date in English, which Date.parse reads, as a local time like ps prints it.
  const ps = spawnSync('ps', ['-o', 'pid=,lstart=', ...pids.flatMap((pid) => ['-p', String(pid)])], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, timeout: 10_000 });
  return parseCreationTimes(ps.stdout ?? '', 'lstart');
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
    // Written aside and renamed into place: the CLI or another worker may read the folder at
    // any moment (Ctrl+C), and must never see half a record.
    const file = path.join(this.dir, `${pgid}.json`);
    writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify(record));
    renameSync(`${file}.${process.pid}.tmp`, file);
  }

  forget(pgid: number): void {
    rmSync(path.join(this.dir, `${pgid}.json`), { force: true });
  }

  private records(): GroupRecord[] {
    if (!existsSync(this.dir)) return [];
    const records: GroupRecord[] = [];
    for (const name of readdirSync(this.dir)) {
      const file = path.join(this.dir, name);
      // PGID.json.WRITER.tmp: a record being written, or left by a writer killed mid-write.
      const writing = /^\d+\.json\.(\d+)\.tmp$/.exec(name);
      if (writing) {
        if (!processAlive(Number(writing[1]))) rmSync(file, { force: true });
        continue;
      }
      try {
        records.push(JSON.parse(readFileSync(file, 'utf8')) as GroupRecord);
      } catch {
        // Not a record (records are renamed into place whole): nothing to kill from it.
        rmSync(file, { force: true });
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
   * Kills groups left by earlier runs whose owner process is gone (a grader killed with SIGKILL),
   * when it can prove they are the ones recorded (see the top of this file); a record it cannot
   * prove is dropped and its process left alone. Returns the commands it reaped, so the caller
   * can say so.
   */
  reapOrphans(): string[] {
    const orphans = this.records().filter((record) => record.run !== this.run && !processAlive(record.owner) && !processAlive(record.run));
    // Where /proc cannot tell, ask the OS once for the creation times of every live leader.
    const unproven = orphans.filter((record) => processAlive(record.pgid) && (record.startTicks === undefined || startTicks(record.pgid) === undefined));
    const created = creationTimes(unproven.map((record) => record.pgid));
    const reaped: string[] = [];
    for (const record of orphans) {
      if (groupAlive(record.pgid) && isOurs(record, created)) {
        killGroup(record.pgid, 'SIGKILL');
        reaped.push(record.command);
      }
      this.forget(record.pgid);
    }
    return reaped;
  }
}

/** Whether the live group with this record's id is the one the record was written for. */
function isOurs(record: GroupRecord, created: Map<number, number>): boolean {
  // Leader gone, group alive: a group's id is not given to a new process while the group has a
  // member, so these are the remains of ours.
  if (!isWindows && !processAlive(record.pgid)) return true;
  const ticks = startTicks(record.pgid);
  if (record.startTicks !== undefined && ticks !== undefined) return ticks === record.startTicks;
  const at = created.get(record.pgid);
  return at !== undefined && at <= Date.parse(record.started);
}
