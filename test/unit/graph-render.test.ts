import { describe, expect, test } from '@jest/globals';
import { resolve } from 'node:path';
import { loadStack } from '../../src/config/index.js';
import { renderGraph } from '../../src/cli/commands/graph.js';

describe('renderGraph', () => {
  test('draws the example stack with the condition on every edge, in mermaid and in dot', async () => {
    const { spec } = await loadStack(resolve('stack.yaml'), { env: { PATH: process.env.PATH } });
    const mermaid = renderGraph(spec, 'mermaid').split('\n');
    expect(mermaid[0]).toBe('graph LR');
    expect(mermaid).toContain('  ai -->|healthy| data');
    expect(mermaid).toContain('  api_gateway -->|healthy| user');
    expect(mermaid.filter((l) => l.includes('-->'))).toHaveLength(8);
    expect(mermaid.some((l) => l.includes('legacy_flask'))).toBe(false);

    const dot = renderGraph(spec, 'dot');
    expect(dot.startsWith('digraph "demo" {')).toBe(true);
    expect(dot).toContain('"viz" -> "data" [label="healthy"];');
    expect(dot.trimEnd().endsWith('}')).toBe(true);
  });
});
