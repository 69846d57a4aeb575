// Replays recorded histories against the current workflow code: a change that would break running
// workflows (a non-deterministic one) fails here. Re-record with `npm run record-histories`.
import { describe, expect, test } from '@jest/globals';
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Worker } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_PATH } from '../../src/paths.js';
import { testDataConverter } from '../support/temporal-server.js';
import { REPLAY_ENCRYPTION_KEY } from './replay-key.js';

const HISTORIES = resolve('test/histories');

describe('recorded histories replay against the current workflow code', () => {
  test('every recorded run replays without a determinism error', async () => {
    const files = (await readdir(HISTORIES)).filter((f) => f.endsWith('.json'));
    const runs: { workflowId: string; history: unknown }[] = [];
    for (const file of files) runs.push(...JSON.parse(await readFile(join(HISTORIES, file), 'utf8')));
    expect(runs.map((r) => r.workflowId)).toEqual(expect.arrayContaining([expect.stringMatching(/^stack-[^.]+$/)]));

    // Recorded as users run: encrypted (the codec must decode them for the replay to pass).
    const encrypted = Buffer.from('binary/encrypted').toString('base64');
    expect(runs.every((r) => JSON.stringify(r.history).includes(encrypted))).toBe(true);

    const results: { workflowId: string; error: string | null }[] = [];
    const dataConverter = await testDataConverter(REPLAY_ENCRYPTION_KEY);
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH }, dataConverter }, runs)) {
      results.push({ workflowId: result.workflowId, error: result.error?.message ?? null });
    }
    expect(results.filter((r) => r.error)).toEqual([]);
    expect(results).toHaveLength(runs.length);
  });
});
