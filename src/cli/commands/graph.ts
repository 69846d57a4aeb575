// `stackflow graph [--format mermaid|dot]`: the dependency graph with the condition on each edge.
import type { StackSpec } from '../../model.js';
import { CliError, EXIT } from '../errors.js';
import { loadStackOrExit } from '../stack-file.js';

export const GRAPH_FORMATS = ['mermaid', 'dot'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

export async function graph(options: { config: string; format: string }): Promise<number> {
  if (!GRAPH_FORMATS.includes(options.format as GraphFormat)) {
    throw new CliError(`--format: unknown format "${options.format}" (use ${GRAPH_FORMATS.join(' or ')})`, EXIT.usage);
  }
  const { spec } = await loadStackOrExit(options.config);
  console.log(renderGraph(spec, options.format as GraphFormat));
  return EXIT.ok;
}

export function renderGraph(spec: StackSpec, format: GraphFormat): string {
  const edges = Object.values(spec.services).flatMap((s) =>
    Object.entries(s.dependsOn).map(([dep, { condition }]) => ({ from: s.name, to: dep, condition })),
  );
  const names = Object.keys(spec.services);
  if (format === 'dot') {
    return [
      `digraph "${spec.name}" {`,
      '  rankdir=LR;',
      ...names.map((n) => `  "${n}";`),
      ...edges.map((e) => `  "${e.from}" -> "${e.to}" [label="${e.condition}"];`),
      '}',
    ].join('\n');
  }
  const id = (n: string) => n.replace(/[^A-Za-z0-9_]/g, '_');
  return [
    'graph LR',
    ...names.map((n) => `  ${id(n)}["${n}"]`),
    ...edges.map((e) => `  ${id(e.from)} -->|${e.condition}| ${id(e.to)}`),
  ].join('\n');
}
