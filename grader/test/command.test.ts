// Splitting --cmd: quotes keep paths with spaces in one word, Windows paths need no quoting, and
// a program Windows runs through cmd.exe (.cmd, .bat) gets its arguments as they were split.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { CommandSyntaxError, parseCommand, splitCommand } from '../harness/command.js';
import { GradeFailure } from '../harness/wait.js';

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
