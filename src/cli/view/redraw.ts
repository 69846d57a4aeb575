// Redrawing a block of lines in place on a terminal: move the cursor back up over the previous
// frame, rewrite each line (cleared first), and clear what an earlier, longer frame left below.
import { truncateVisible } from '../output.js';

export interface ViewStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): unknown;
}

const CURSOR_UP = (n: number) => `\x1b[${n}A`;
const CLEAR_LINE = '\x1b[2K';
const CLEAR_BELOW = '\x1b[J';

/** Whether to redraw in place: a terminal that takes escape sequences, and NO_COLOR unset. */
export function isLiveTerminal(stream: ViewStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !('NO_COLOR' in env) && env.TERM !== 'dumb';
}

/** The escape sequences of one frame (pure): `previous` is the number of lines the last frame drew. */
export function frame(lines: readonly string[], previous: number, columns: number): string {
  // Lines must not wrap, or moving up by the number of lines would not reach the first one.
  const width = Math.max(20, columns - 1);
  const up = previous ? CURSOR_UP(previous) + '\r' : '';
  return up + lines.map((line) => CLEAR_LINE + truncateVisible(line, width) + '\n').join('') + CLEAR_BELOW;
}

export class InPlace {
  private drawn = 0;

  constructor(private readonly stream: ViewStream) {}

  draw(lines: readonly string[]): void {
    // A pseudo-terminal without a size reports 0 columns.
    this.stream.write(frame(lines, this.drawn, this.stream.columns || 80));
    this.drawn = lines.length;
  }

  /** Prints `lines` where the frame was (they scroll up with the terminal); the next draw starts below them. */
  printAbove(lines: readonly string[]): void {
    this.draw(lines);
    this.drawn = 0;
  }
}
