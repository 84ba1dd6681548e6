/**
 * Commands an operator typed into a terminal, rebuilt from the recorded input: printable
 * characters are collected, Backspace/DEL removes the last one, Ctrl-C and Ctrl-U discard the
 * line, Enter ends it, and escape sequences (arrow keys, …) are dropped. It is what the
 * keyboard sent, not what the shell ran (history recall or tab completion is not expanded):
 * the recording's output shows the rest. The viewer's replay markers and the story's
 * commands are both this.
 */
export class TypedCommands {
  private line = '';

  /** Feeds recorded input; returns the command lines it completed (trimmed, non-empty). */
  feed(input: string): string[] {
    const done: string[] = [];
    for (const char of stripEscapes(input)) {
      if (char === '\r' || char === '\n') {
        if (this.line.trim()) done.push(this.line.trim());
        this.line = '';
      } else if (char === '\x7f' || char === '\b') this.line = this.line.slice(0, -1);
      else if (char === '\x03' || char === '\x15') this.line = '';
      else if (char >= ' ' && this.line.length < MAX_LINE) this.line += char;
    }
    return done;
  }
}

const MAX_LINE = 500;

/** Removes CSI and SS3 sequences (arrow keys, …) and OSC strings. */
export function stripEscapes(text: string): string {
  // eslint-disable-next-line no-control-regex -- escape sequences are what is removed
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1bO.|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|\x1b./g, '');
}
