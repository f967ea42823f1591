// Splitting a --cmd into the program and its arguments, without a shell, the same on every OS.
//
// The rules are a small, predictable part of a POSIX shell's, so that one command line works
// from bash, zsh, PowerShell and cmd.exe alike:
//   - words are separated by spaces or tabs;
//   - '...' keeps everything inside as it is;
//   - "..." keeps everything inside as it is, except that \" stands for " and \\ for \;
//   - outside quotes, a backslash before a space, a tab, a quote or a backslash makes that
//     character ordinary; any other backslash is an ordinary character, so a Windows path
//     (C:\Users\me\server.exe) needs no quoting;
//   - quoted and unquoted parts next to each other make one word: --name="my server".
// Nothing else is special: no variables, globs, pipes or redirections, since no shell runs.
//
// Programs that Windows runs through cmd.exe (.cmd and .bat files, npm's shims among them) are
// started by execa, whose cross-spawn wraps them as `cmd.exe /d /s /c "..."`, quoting each
// argument and escaping cmd.exe's special characters. What cmd.exe cannot pass on at all, a line
// break inside an argument, is refused here with a message that says so.

import { GradeFailure } from './wait.js';

/** A --cmd that cannot be split: the student reads the message. */
export class CommandSyntaxError extends GradeFailure {}

/** The program and arguments of a --cmd: split by the rules above, and startable on this OS. */
export function parseCommand(line: string, platform: NodeJS.Platform = process.platform): string[] {
  const words = splitCommand(line);
  const problem = windowsProblem(words, platform);
  if (problem) throw new CommandSyntaxError(problem);
  return words;
}

/** The words of a command line, by the rules above; throws CommandSyntaxError on an unclosed quote. */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'" || c === '"') {
      const close = closingQuote(line, i);
      if (close < 0) {
        throw new CommandSyntaxError(`--cmd: the ${c === "'" ? 'single' : 'double'} quote at column ${i + 1} is never closed: ${line}`);
      }
      const inside = line.slice(i + 1, close);
      word += c === '"' ? inside.replace(/\\(["\\])/g, '$1') : inside;
      i = close;
    } else if (c === '\\' && i + 1 < line.length && ' \t"\'\\'.includes(line[i + 1]!)) {
      word += line[++i];
    } else {
      word += c;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** The index of the quote that closes the one at `open`, or -1. In "...", \" and \\ do not close it. */
function closingQuote(line: string, open: number): number {
  const quote = line[open]!;
  for (let i = open + 1; i < line.length; i++) {
    if (quote === '"' && line[i] === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) i++;
    else if (line[i] === quote) return i;
  }
  return -1;
}

/**
 * Why Windows cannot start this command as given, or undefined. A .cmd or .bat program runs
 * under cmd.exe, which ends a command at a line break: an argument holding one cannot reach it.
 */
export function windowsProblem(words: string[], platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform !== 'win32' || !/\.(cmd|bat)$/i.test(words[0] ?? '')) return undefined;
  const broken = words.find((w) => /[\r\n]/.test(w));
  return broken === undefined ? undefined : `${words[0]} runs under cmd.exe, which cannot pass an argument holding a line break: ${JSON.stringify(broken)}`;
}

/** A lab as far as --cmd cares: its number, its programs, and the one a plain --cmd replaces. */
export interface CommandTargets {
  number: number;
  mainProgram: string;
  programs: Record<string, unknown>;
}

/**
 * Which program each --cmd replaces. `--cmd "COMMAND"` is the lab's main program's;
 * `--cmd NAME="COMMAND"` is program NAME's. A NAME the lab does not have, or two --cmd for one
 * program, is refused before anything starts, since either would otherwise turn into a later
 * "command not found" in every phase. `others` are the kit's other labs, to say where a NAME
 * the lab lacks does exist.
 */
export function assignCommands(given: string[], lab: CommandTargets, others: CommandTargets[] = []): Record<string, string> {
  const commands: Record<string, string> = {};
  const programs = Object.keys(lab.programs);
  for (const option of given) {
    // A first word NAME=... (a name with no space, no path) names a program: no program's
    // command can start so, since no shell runs it to read an assignment.
    const named = /^([\w-]+)=(.*)$/s.exec(option);
    const [program, command] = named ? [named[1]!, named[2]!] : [lab.mainProgram, option];
    if (!lab.programs[program]) {
      // The nearest lab that has one: most likely the lab whose command line this was copied from.
      const nearest = others
        .filter((other) => other.number !== lab.number && other.programs[program])
        .sort((a, b) => Math.abs(a.number - lab.number) - Math.abs(b.number - lab.number) || a.number - b.number)[0];
      const hint = nearest ? `; lab ${nearest.number} has one` : '';
      throw new CommandSyntaxError(`--cmd ${program}=...: lab ${lab.number} has no program '${program}' (its programs: ${programs.join(', ')})${hint}`);
    }
    if (commands[program] !== undefined) {
      const plain = program === lab.mainProgram ? ` (a plain --cmd is ${program}'s)` : '';
      throw new CommandSyntaxError(`--cmd for ${program} is given twice${plain}: "${commands[program]}" and "${command}"; give one`);
    }
    if (!command.trim()) throw new CommandSyntaxError(`--cmd for ${program} is empty`);
    try {
      parseCommand(command);
    } catch (error) {
      throw new CommandSyntaxError((error as Error).message.replace(/^--cmd:/, `--cmd for ${program}:`));
    }
    commands[program] = command;
  }
  return commands;
}
