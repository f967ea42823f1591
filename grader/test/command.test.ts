// Splitting --cmd: quotes keep paths with spaces in one word, Windows paths need no quoting, and
// a program Windows runs through cmd.exe (.cmd, .bat) gets its arguments as they were split; each
// --cmd goes to a program the lab has, once.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { assignCommands, CommandSyntaxError, parseCommand, splitCommand } from '../harness/command.js';
import { root } from './support.js';
import { GradeFailure } from '../harness/wait.js';
import { labDirs, loadLab } from '../labs.js';

describe('splitting --cmd', () => {
  test.each([
    ['python3 server.py', ['python3', 'server.py']],
    ['  python3\tserver.py  ', ['python3', 'server.py']],
    ['python "my server.py"', ['python', 'my server.py']],
    ["python 'my server.py'", ['python', 'my server.py']],
    ['"C:\\Program Files\\Python312\\python.exe" "C:\\Users\\Ana Li\\lab 1\\server.py"', ['C:\\Program Files\\Python312\\python.exe', 'C:\\Users\\Ana Li\\lab 1\\server.py']],
    ['C:\\Users\\me\\server.exe --verbose', ['C:\\Users\\me\\server.exe', '--verbose']],
    ['./my\\ server', ['./my server']],
    ['java -cp "out:lib/*" Main', ['java', '-cp', 'out:lib/*', 'Main']],
    ['node --name="my server" x.js', ['node', '--name=my server', 'x.js']],
    ['echo "say \\"hi\\"" \'it\'"\'"\'s\'', ['echo', 'say "hi"', "it's"]],
    ['prog "C:\\dir\\\\"', ['prog', 'C:\\dir\\']],
    ['prog "" \'\'', ['prog', '', '']],
    ['prog $HOME *.py a|b >out', ['prog', '$HOME', '*.py', 'a|b', '>out']],
    ['', []],
  ])('%s', (line, words) => {
    expect(splitCommand(line)).toEqual(words);
  });

  test('an unclosed quote is a failure the student can read, naming where it opened', () => {
    expect(() => splitCommand('python "my server.py')).toThrow('--cmd: the double quote at column 8 is never closed: python "my server.py');
    expect(() => splitCommand("python 'x")).toThrow(CommandSyntaxError);
    expect(() => splitCommand('python "x\\"')).toThrow(/never closed/);
    try {
      splitCommand("a 'b");
    } catch (error) {
      expect(error).toBeInstanceOf(GradeFailure);
    }
  });

  test('a .cmd or .bat program on Windows cannot take an argument with a line break: refused, saying why', () => {
    expect(() => parseCommand('run.cmd "two\nlines"', 'win32')).toThrow(/run\.cmd runs under cmd\.exe, which cannot pass an argument holding a line break/);
    expect(parseCommand('run.cmd "my arg"', 'win32')).toEqual(['run.cmd', 'my arg']);
    expect(parseCommand('run.sh "two\nlines"', 'linux')).toEqual(['run.sh', 'two\nlines']);
  });

  // Node 20.12 and later refuse to spawn a .cmd or .bat without a shell; execa (through
  // cross-spawn) runs it as cmd.exe /d /s /c "...", quoting each argument. Only Windows can show it.
  test.runIf(process.platform === 'win32')('on Windows, a .cmd program gets its arguments intact, spaces and cmd.exe characters included', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard command-'));
    try {
      writeFileSync(path.join(dir, 'print-args.mjs'), 'process.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
      writeFileSync(path.join(dir, 'print args.cmd'), '@node "%~dp0print-args.mjs" %*\r\n');
      const [file, ...args] = parseCommand(`"${path.join(dir, 'print args.cmd')}" "my server.py" a&b 100% --port 7007`);
      const run = await execa(file!, args, { reject: false, windowsHide: true });
      expect(run.exitCode, String(run.stderr)).toBe(0);
      expect(JSON.parse(String(run.stdout))).toEqual(['my server.py', 'a&b', '100%', '--port', '7007']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('which program each --cmd replaces', () => {
  // The kit's own registries, so that a lab that gains or loses a program keeps these honest.
  const labs = Promise.all(labDirs(root).map((dir) => loadLab(root, dir)));
  const lab = async (n: number) => (await labs).find((l) => l.number === n)!;

  test('a plain --cmd is the main program\'s, NAME= the program NAME\'s', async () => {
    expect(assignCommands(['python3 replica.py', 'client=python3 client.py'], await lab(6), await labs)).toEqual({ replica: 'python3 replica.py', client: 'python3 client.py' });
    expect(assignCommands(['replica=./r'], await lab(7), await labs)).toEqual({ replica: './r' });
    // An = further in is an argument, not a name: java -Dx=y, --name=x, a path.
    expect(assignCommands(['java -Dport=1 Main', 'client=./c --name=x'], await lab(5), await labs)).toEqual({ server: 'java -Dport=1 Main', client: './c --name=x' });
    expect(assignCommands(['./bin/a=b'], await lab(1), await labs)).toEqual({ server: './bin/a=b' });
  });

  test('a program the lab does not have is refused, naming its programs and the nearest lab that has one', async () => {
    const refuse = async (given: string[], n: number) => {
      try {
        assignCommands(given, await lab(n), await labs);
      } catch (error) {
        expect(error).toBeInstanceOf(CommandSyntaxError);
        return (error as Error).message;
      }
      throw new Error(`${given.join(' ')} was accepted for lab ${n}`);
    };
    expect(await refuse(['python3 replica.py', 'client=python3 client.py'], 7)).toBe("--cmd client=...: lab 7 has no program 'client' (its programs: replica); lab 6 has one");
    expect(await refuse(['replica=./r'], 5)).toBe("--cmd replica=...: lab 5 has no program 'replica' (its programs: server, client); lab 6 has one");
    expect(await refuse(['srever=./s'], 1)).toBe("--cmd srever=...: lab 1 has no program 'srever' (its programs: server, client)");
  });

  test('two --cmd for one program are refused, never the later one quietly winning', async () => {
    expect(() => assignCommands(['./a', 'replica=./b'], { number: 6, mainProgram: 'replica', programs: { replica: {}, client: {} } })).toThrow(
      '--cmd for replica is given twice (a plain --cmd is replica\'s): "./a" and "./b"; give one',
    );
    expect(() => assignCommands(['client=./a', 'client=./b'], { number: 6, mainProgram: 'replica', programs: { replica: {}, client: {} } })).toThrow(/--cmd for client is given twice: "\.\/a" and "\.\/b"/);
    expect(() => assignCommands(['client='], { number: 6, mainProgram: 'replica', programs: { replica: {}, client: {} } })).toThrow('--cmd for client is empty');
    expect(() => assignCommands(['client=python "x'], { number: 6, mainProgram: 'replica', programs: { replica: {}, client: {} } })).toThrow(/^--cmd for client: the double quote/);
  });
});
