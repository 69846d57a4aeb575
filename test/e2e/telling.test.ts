// What the terminal tells, as a user sees it through the CLI: a line per crash retry during `up`,
// words that match the facts (attached, crash vs manual restarts, an ERROR column that keeps the
// table whole, the dependents a restart bounced), the supervisor's markers and times in `logs`, and a
// line per service stopped during `down`.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { execa } from 'execa';
import YAML from 'yaml';
import { stackProcesses } from '../support/harness.js';
import { crashyStack } from '../support/cli-stack.js';

const CLI = resolve('bin/stackflow.js');
let file: string;
let name: string;
let env: Record<string, string>;

function stackflow(args: string[]) {
  return execa(process.execPath, [CLI, ...args, '-c', file], { reject: false, env });
}

beforeAll(async () => {
  ({ file, name, env } = await crashyStack('telling', 2));
});

afterAll(async () => {
  await stackflow(['down']);
});

describe('what the terminal tells', () => {
  test('up, status, restart, logs and down say what happened', async () => {
    // 9: one line per crash retry while `up` waits.
    const up = await stackflow(['up', '-d']);
    expect(up.exitCode).toBe(1);
    expect(up.stdout).toMatch(/^crashy exited \(code 1\) during start; retry 1\/2 in \d+ms$/m);
    expect(up.stdout).toMatch(/^crashy exited \(code 1\) during start; retry 2\/2 in \d+ms$/m);
    expect(up.stderr).not.toMatch(/\n\s+at /);

    // 11: `up` on what already runs attaches and says so.
    const again = await stackflow(['up', '-d', 'api']);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain(`stack ${name} is already running: 2 healthy`);
    expect(again.stdout).not.toMatch(/is up in/);

    // 11: the ERROR column is one line, without the service's name; the table stays whole.
    const table = await stackflow(['status']);
    expect(table.exitCode).toBe(0);
    const rows = table.stdout.split('\n');
    const crashyRow = rows.find((row) => row.startsWith('crashy '));
    expect(crashyRow).toMatch(/failed .*gave up after 2 restarts within 10m: /);
    expect(crashyRow).not.toMatch(/: crashy: /);
    // The header, the column names, one row per service and the pointer to the full text: nothing else.
    expect(rows.filter((row) => row !== '')).toHaveLength(6);
    expect(rows.at(-1)).toContain('status --json');

    // 11: `restart --with-dependents` names what it bounced; manual restarts are counted apart.
    const restartedAt = Date.now();
    const restart = await stackflow(['restart', 'db', '--with-dependents']);
    expect(restart.exitCode).toBe(0);
    expect(restart.stdout).toMatch(/^db restarted and healthy in \S+; dependents stopped and started again: api$/m);
    const json = JSON.parse((await stackflow(['status', '--json'])).stdout);
    expect(json.services.db).toMatchObject({ state: 'healthy', restarts: 0, manualRestarts: 1 });
    expect(json.services.api).toMatchObject({ state: 'healthy', restarts: 0, manualRestarts: 1, error: null });
    expect(json.services.crashy).toMatchObject({ state: 'failed', restarts: 2, manualRestarts: 0 });
    expect(json.services.crashy.error).toContain('\n');

    // 10: the supervisor's markers in the log stream, each on a line of its own.
    const crashyLogs = (await stackflow(['logs', 'crashy'])).stdout;
    expect(crashyLogs).toMatch(/^crashy +\| — run 1: node /m);
    expect(crashyLogs).toMatch(/^crashy +\| — exited \(code 1\), restarting in \d+ms$/m);
    expect(crashyLogs).toMatch(/^crashy +\| — run 3 \(after 2 crash restarts\): node /m);
    expect(crashyLogs).toMatch(/^crashy +\| — exited \(code 1\), not restarted: gave up after 2 restarts/m);
    const dbLogs = (await stackflow(['logs', 'db'])).stdout.split('\n');
    const stopped = dbLogs.findIndex((l) => /— exited \(code 0\), restarting now \(restart requested\)$/.test(l));
    expect(stopped).toBeGreaterThan(0);
    expect(dbLogs[stopped + 1]).toMatch(/— run 2 \(after 1 manual restart\): node /);

    // 10: -t stamps each line with its time; --since cuts by line: the first run's lines are older.
    const stamped = (await stackflow(['logs', 'db', '-t'])).stdout.split('\n').filter(Boolean);
    for (const line of stamped) expect(line).toMatch(/^db +\| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
    const times = stamped.map((line) => Date.parse(line.split('| ')[1]!.split(' ')[0]!));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const since = (await stackflow(['logs', 'db', '--since', new Date(restartedAt).toISOString()])).stdout;
    expect(since).not.toMatch(/— run 1/);
    expect(since).toMatch(/— run 2/);
    expect(since.match(/db listening on/g)).toHaveLength(1);

    // 9: `reload` of a changed crash-looping service prints its retries too; a reload counts as manual.
    const edited = YAML.parse(await readFile(file, 'utf8'));
    edited.services.crashy.env.EXIT_AFTER_MS = '160';
    await writeFile(file, YAML.stringify(edited));
    const reload = await stackflow(['reload']);
    expect(reload.exitCode).toBe(1);
    expect(reload.stdout).toMatch(/^crashy exited \(code 1\) during start; retry 1\/2 in \d+ms$/m);
    expect(reload.stdout).toMatch(/^crashy exited \(code 1\) during start; retry 2\/2 in \d+ms$/m);
    const reloaded = JSON.parse((await stackflow(['status', '--json'])).stdout);
    expect(reloaded.services.crashy).toMatchObject({ state: 'failed', restarts: 4, manualRestarts: 1 });

    // 9: `down` tells each service as it stops, dependents first.
    const down = await stackflow(['down']);
    expect(down.exitCode).toBe(0);
    const apiLine = down.stdout.search(/^api stopped \+\S+$/m);
    const dbLine = down.stdout.search(/^db stopped \+\S+$/m);
    expect(apiLine).toBeGreaterThanOrEqual(0);
    expect(dbLine).toBeGreaterThan(apiLine);
    expect(await stackProcesses(name)).toEqual([]);
  });
});
