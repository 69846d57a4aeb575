// `logs` and `logs -f` of several services, through the CLI on a running stack: lines written
// alternately by two services (each one 20 ms after the other's) come out in the order written,
// and a line written while following shows up without a poll to wait for.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import YAML from 'yaml';
import { testTemporalAddress } from '../support/temporal-server.js';

const CLI = resolve('bin/stackflow.js');
const ALTERNATE = resolve('test/fixtures/alternate.mjs');
const COUNT = 8;
/** The order the fixture writes its lines in: a 1, b 1, a 2, b 2, … */
const WRITTEN = Array.from({ length: COUNT }, (_, i) => [`a | a ${i + 1}`, `b | b ${i + 1}`]).flat();

let dir: string;
let file: string;
let env: Record<string, string>;

function stackflow(args: string[]) {
  return execa(process.execPath, [CLI, ...args, '-c', file], { reject: false, env });
}

/** Resolves once the child's stdout contains `text` (or rejects with what it printed so far, when it ends). */
function outputOf(child: ResultPromise, text: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(text)) resolvePromise(out);
    });
    child.stdout!.on('end', () => reject(new Error(`ended without printing ${text}; output:\n${out}`)));
  });
}

const serviceLines = (out: string) => out.split('\n').filter((line) => /^[ab] \| [ab] \d+$/.test(line));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stackflow-logs-order-'));
  const name = `l${randomUUID().slice(0, 8)}`;
  const home = join(dir, 'home');
  const logs = join(home, name, 'logs');
  const service = (me: string, other: string, first: boolean) => ({
    command: ['node', ALTERNATE],
    env: {
      ME: me,
      OTHER: other,
      OTHER_LOG: join(logs, `${other}.log`),
      COUNT: String(COUNT),
      FIRST: first ? '1' : '0',
      GO_FILE: join(dir, 'go'),
      ...(first && { PING_FILE: join(dir, 'ping') }),
    },
  });
  file = join(dir, 'stack.yaml');
  await writeFile(file, YAML.stringify({ name, services: { a: service('a', 'b', true), b: service('b', 'a', false) } }));
  env = { TEMPORAL_ADDRESS: testTemporalAddress(), STACKFLOW_TASK_QUEUE: `e2e-logs-order-${randomUUID()}`, STACKFLOW_HOME: home, NO_COLOR: '1' };
  expect((await stackflow(['up', '-d'])).exitCode).toBe(0);
});

afterAll(async () => {
  await stackflow(['down']);
});

describe('logs of several services', () => {
  test('-f and plain logs show lines written alternately in the order written', async () => {
    const follow = execa(process.execPath, [CLI, 'logs', '-f', '-c', file], { reject: false, env });
    const output = outputOf(follow, `b | b ${COUNT}`);
    // Following (each run's first line is the worker's run marker) before the services start writing.
    await outputOf(follow, 'b | — run 1');
    await writeFile(join(dir, 'go'), '');
    await output;
    follow.kill('SIGINT');
    const followed = await follow;
    expect(followed.exitCode).toBe(0);
    expect(serviceLines(followed.stdout)).toEqual(WRITTEN);

    // The whole of each log, merged by the times the worker recorded: the same order.
    const printed = await stackflow(['logs']);
    expect(printed.exitCode).toBe(0);
    expect(serviceLines(printed.stdout)).toEqual(WRITTEN);
    // And the last lines of each, before following.
    const tail = execa(process.execPath, [CLI, 'logs', '-f', '-n', '3', '-c', file], { reject: false, env });
    await outputOf(tail, `b | b ${COUNT}`);
    tail.kill('SIGINT');
    expect(serviceLines((await tail).stdout)).toEqual(WRITTEN.slice(-6));
  });

  test('-f shows a line written while following', async () => {
    const follow = execa(process.execPath, [CLI, 'logs', '-f', 'a', '-n', '1', '-c', file], { reject: false, env });
    await outputOf(follow, 'a | ');
    const pong = outputOf(follow, 'a | a pong');
    await writeFile(join(dir, 'ping'), '');
    await pong;
    follow.kill('SIGINT');
    expect((await follow).exitCode).toBe(0);
  });
});
