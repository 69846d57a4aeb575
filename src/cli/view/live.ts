// Drawing the startup view of `up`: on a terminal the service lines are redrawn in place (cursor up,
// clear line) as the status changes and the clock ticks; elsewhere (a pipe, a file, NO_COLOR) each
// state change is printed once as a plain line.
import type { DependencyMap } from '../../graph/index.js';
import type { ServiceStatus, StackStatus } from '../../model.js';
import { InPlace, isLiveTerminal, type ViewStream } from './redraw.js';
import { serviceLine, serviceLines, type StartupViewInput } from './service-lines.js';
import { retryLine } from './events.js';
import { colors } from '../output.js';
import { lookup } from '../../name-map.js';

export { isLiveTerminal, type ViewStream };

export interface StartupViewOptions {
  stream: ViewStream;
  services: readonly string[];
  deps?: DependencyMap;
  upStartedAt: number;
  /** Redraw in place; default: the stream is a TTY and NO_COLOR is unset. */
  live?: boolean;
  color?: boolean;
  now?: () => number;
}

/** A redraw for the clock alone at most this often (state changes redraw at once). */
const TICK_MS = 100;

export class StartupView {
  readonly live: boolean;
  private readonly color: boolean;
  private readonly now: () => number;
  private status: Record<string, ServiceStatus> = {};
  private readonly stateSince: Record<string, number> = {};
  private readonly seen = new Map<string, string>();
  private readonly screen: InPlace;
  private lastDraw = 0;
  private finished = false;

  constructor(private readonly options: StartupViewOptions) {
    this.live = options.live ?? isLiveTerminal(options.stream);
    this.color = options.color ?? this.live;
    this.now = options.now ?? Date.now;
    this.screen = new InPlace(options.stream);
  }

  /** Draws the first frame (every service pending) on a terminal. */
  start(): void {
    // The cursor stays visible: with `up -d` Ctrl-C kills the process outright, and a cursor hidden
    // then would stay hidden in the user's shell.
    if (this.live) this.draw();
  }

  /** A new `status` answer: prints the changed lines (plain) or redraws (live). */
  update(current: StackStatus): void {
    if (this.finished) return;
    const now = this.now();
    const before = this.status;
    this.status = current.services;
    const changed: string[] = [];
    const events: string[] = [];
    for (const name of this.options.services) {
      const s = lookup(current.services, name);
      if (!s) continue;
      const retry = retryLine(name, s, lookup(before, name));
      if (retry) events.push(retry.line);
      const key = `${s.state}/${s.restarts}`;
      if (this.seen.get(name) === key) continue;
      this.seen.set(name, key);
      this.stateSince[name] = now;
      changed.push(name);
    }
    if (this.live) {
      // Events stay in the scrollback above the redrawn lines.
      if (events.length) this.screen.printAbove(events.map((e) => colors(this.color).yellow(e)));
      if (events.length || changed.length || now - this.lastDraw >= TICK_MS) this.draw();
      return;
    }
    for (const event of events) this.options.stream.write(event + '\n');
    const width = Math.max(0, ...this.options.services.map((s) => s.length));
    for (const name of changed) this.options.stream.write(serviceLine(name, this.input(now), width) + '\n');
  }

  /** The last frame; afterwards the view writes nothing. */
  finish(): void {
    if (this.finished) return;
    if (this.live) this.draw();
    this.finished = true;
  }

  private input(now: number): StartupViewInput {
    return {
      services: this.options.services,
      status: this.status,
      stateSince: this.stateSince,
      upStartedAt: this.options.upStartedAt,
      now,
      deps: this.options.deps,
      color: this.color,
      live: this.live,
    };
  }

  private draw(): void {
    const now = this.now();
    this.lastDraw = now;
    this.screen.draw(serviceLines(this.input(now)));
  }
}
