/**
 * The remote side of legacy scp is an exec of `scp -t TARGET` (the client uploads, the
 * remote scp is the sink) or `scp -f SOURCE…` (the client downloads). OpenSSH quotes paths
 * for the remote shell, so the command is split as a shell would (quotes, backslashes).
 */
export interface ScpCommand {
  mode: 'sink' | 'source';
  paths: string[];
  recursive: boolean;
  /** `-d`: the target must be a directory (several files were given). */
  targetIsDirectory: boolean;
}

export function parseScpCommand(command: string): ScpCommand | null {
  const words = shellWords(command);
  if (!words || words.length < 2) return null;
  const program = words[0]!;
  if (program !== 'scp' && !program.endsWith('/scp')) return null;
  let mode: ScpCommand['mode'] | null = null;
  let recursive = false;
  let targetIsDirectory = false;
  let index = 1;
  for (; index < words.length; index++) {
    const word = words[index]!;
    if (word === '--') {
      index += 1;
      break;
    }
    if (!word.startsWith('-') || word === '-') break;
    for (const flag of word.slice(1)) {
      if (flag === 't') mode = 'sink';
      else if (flag === 'f') mode = 'source';
      else if (flag === 'r') recursive = true;
      else if (flag === 'd') targetIsDirectory = true;
      else if (!'pvqTB'.includes(flag)) return null;
    }
  }
  const paths = words.slice(index);
  if (!mode || paths.length === 0) return null;
  return { mode, paths, recursive, targetIsDirectory };
}

/**
 * POSIX shell word splitting for quotes and backslashes; null when the command uses
 * anything else (operators, substitutions, control characters such as a newline, which
 * would start another command that must not pass as a file transfer).
 */
export function shellWords(command: string): string[] | null {
  for (let i = 0; i < command.length; i++) {
    const code = command.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return null;
  }
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < command.length; i++) {
    const char = command[i]!;
    if (char === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) return null;
      word += command.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (char === '"') {
      let j = i + 1;
      for (; j < command.length && command[j] !== '"'; j++) {
        if (command[j] === '\\' && j + 1 < command.length && '"\\$`'.includes(command[j + 1]!)) j += 1;
        word += command[j];
      }
      if (j >= command.length) return null;
      inWord = true;
      i = j;
    } else if (char === '\\') {
      if (i + 1 < command.length) word += command[++i];
      inWord = true;
    } else if (char === ' ' || char === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (';&|<>()$`'.includes(char)) {
      return null;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
