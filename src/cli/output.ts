// Terminal output: colours (off for NO_COLOR or a non-TTY), log prefixes, tables.
import { escapeControl } from '../config/problems.js';
const PALETTE = [36, 33, 32, 35, 34, 96, 93, 92, 95, 94];

export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return !('NO_COLOR' in process.env) && Boolean(stream.isTTY);
}

export function paint(code: number, text: string, enabled = useColor()): string {
  return enabled ? `\x1b[${code}m${text}\x1b[0m` : text;
}

export const bold = (text: string) => paint(1, text);
export const dim = (text: string) => paint(2, text);
export const red = (text: string) => paint(31, text);
export const green = (text: string) => paint(32, text);
export const yellow = (text: string) => paint(33, text);

export interface Colors {
  enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

/** The colour functions with colour decided by the caller, for pure renderers (the view models). */
export function colors(enabled: boolean): Colors {
  const as = (code: number) => (text: string) => paint(code, text, enabled);
  return { enabled, bold: as(1), dim: as(2), red: as(31), green: as(32), yellow: as(33), cyan: as(36) };
}

// SGR sequences (colours) and the few cursor sequences the live view writes.
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** The width of `text` on a terminal: its characters without escape sequences. */
export function visibleLength(text: string): number {
  return [...text.replace(ANSI, '')].length;
}

/** `text` cut to `width` visible characters, escape sequences kept (and colour reset when cut). */
export function truncateVisible(text: string, width: number): string {
  if (visibleLength(text) <= width) return text;
  let out = '';
  let shown = 0;
  let coloured = false;
  for (let i = 0; i < text.length; ) {
    ANSI.lastIndex = i;
    const escape = text.startsWith('\x1b[', i) ? ANSI.exec(text) : null;
    if (escape && escape.index === i) {
      out += escape[0];
      coloured = escape[0] !== '\x1b[0m';
      i += escape[0].length;
      continue;
    }
    const char = String.fromCodePoint(text.codePointAt(i)!);
    if (shown >= width) break;
    out += char;
    shown++;
    i += char.length;
  }
  return coloured ? out + '\x1b[0m' : out;
}

/** `text` padded with spaces to `width` visible characters. */
export function padVisible(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - visibleLength(text)));
}

/** `name |` prefixes padded to the longest name, each service in its own colour. */
export function prefixer(names: string[]): (name: string) => string {
  const width = Math.max(0, ...names.map((n) => n.length));
  const colours = new Map(names.map((n, i) => [n, PALETTE[i % PALETTE.length]]));
  return (name) => paint(colours.get(name) ?? 37, `${name.padEnd(width)} |`);
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [bold(line(header)), ...rows.map(line)].join('\n');
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes}m${Math.floor((ms % 60_000) / 1000)}s`;
  return `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)}K`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)}M`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)}G`;
}

/**
 * A service's error as every command prints it: `<name>: [<state>: ]<error>`, the service named
 * once (an error that already starts with `<name>: ` or `<name> ` is not prefixed again), and a
 * multi-line error (a start failure's last log lines) as indented lines, each escaped on its own,
 * as `status <svc>` shows it.
 */
export function serviceErrorText(name: string, error: string, state?: string): string {
  const [first = '', ...rest] = error.trimEnd().split('\n');
  const own = first.startsWith(`${name}: `) ? first.slice(name.length + 2) : first;
  const head = !state && own.startsWith(`${name} `) ? own : `${name}: ${state ? `${state}: ` : ''}${own}`;
  return [head, ...rest.map((line) => (line.startsWith('  ') ? line : `  ${line}`))].map(escapeControl).join('\n');
}
