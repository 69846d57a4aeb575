// The startup timeline printed at the end of `up`'s startup: the table with bars, then the critical
// chain (computed in src/lifecycle/timeline.ts).
import type { Timeline, TimelineRow } from '../../lifecycle/timeline.js';
import { colors, formatDuration, padVisible } from '../output.js';

export { buildTimeline, type Timeline } from '../../lifecycle/timeline.js';

const BAR_WIDTH = 30;

/** A Gantt bar: `·` from the first spawn to this spawn, `█` from spawn to ready. */
function bar(row: TimelineRow, totalMs: number): string {
  if (row.spawnMs === null || totalMs <= 0) return '';
  const scale = (ms: number) => Math.round((Math.min(ms, totalMs) / totalMs) * BAR_WIDTH);
  const start = scale(row.spawnMs);
  const end = row.readyMs === null ? BAR_WIDTH : Math.max(start + 1, scale(row.readyMs));
  return ' '.repeat(start) + (row.readyMs === null ? '░' : '█').repeat(Math.max(1, end - start));
}

/** The timeline as lines: a table with bars, then the critical chain. */
export function renderTimeline(timeline: Timeline, color: boolean): string[] {
  const c = colors(color);
  if (timeline.origin === null || !timeline.rows.length) return [];
  const width = Math.max(...timeline.rows.map((r) => r.service.length));
  const ms = (v: number | null) => (v === null ? '-' : `+${formatDuration(v)}`);
  const onChain = new Set(timeline.chain.map((s) => s.service));
  const lines = [c.bold(`startup timeline (from the first spawn; total ${formatDuration(timeline.totalMs)})`)];
  lines.push(c.dim(`  ${'service'.padEnd(width)}  ${'spawn'.padStart(8)}  ${'ready'.padStart(8)}  ${'took'.padStart(7)}`));
  const sorted = [...timeline.rows].sort(
    (a, b) => (a.spawnMs ?? Infinity) - (b.spawnMs ?? Infinity) || a.service.localeCompare(b.service),
  );
  for (const row of sorted) {
    const took = row.readyMs !== null && row.spawnMs !== null ? formatDuration(row.readyMs - row.spawnMs) : row.state;
    const name = padVisible(onChain.has(row.service) ? c.yellow(row.service) : row.service, width);
    const restarts = row.restarts ? c.yellow(` (${row.restarts} restart${row.restarts === 1 ? '' : 's'})`) : '';
    const ready = row.readyMs === null ? c.red(row.state.padStart(8)) : ms(row.readyMs).padStart(8);
    lines.push(
      `  ${name}  ${ms(row.spawnMs).padStart(8)}  ${ready}  ${took.padStart(7)}  ${c.dim(bar(row, timeline.totalMs))}${restarts}`,
    );
  }
  if (timeline.chain.length) {
    // Each step: its wait (for the first, since the first spawn) + its own spawn -> ready; they add up to the total.
    const steps = timeline.chain.map((step) => {
      const wait = step.waitMs >= 1 ? `waited ${formatDuration(step.waitMs)} + ` : '';
      return `${c.yellow(step.service)} ${c.dim(`(${wait}${formatDuration(step.spawnToReadyMs)})`)}`;
    });
    lines.push(`${c.bold('critical chain')} ${formatDuration(timeline.totalMs)}: ${steps.join(' → ')}`);
  }
  return lines;
}
