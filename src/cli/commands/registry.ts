// `stackflow registry [--json]`: the stack's registry as its workflow knows it, across hosts: one row
// per running instance with the url other hosts reach it at. Each host's registry.json is only that
// host's view of its own services.
import { escapeControl } from '../../config/index.js';
import type { RegistryEntry } from '../../workflows/definitions.js';
import { EXIT } from '../errors.js';
import { table } from '../output.js';
import { openSession } from '../session.js';
import { locateStackOrExit } from '../locate-stack.js';

export interface RegistryOptions {
  config: string;
  /** The stack's name (compose's -p/--project-name): the stack file is then not read at all. */
  projectName?: string;
  json?: boolean;
}

export async function registry(options: RegistryOptions): Promise<number> {
  const spec = await locateStackOrExit(options);
  const session = await openSession(spec.home, (line) => console.error(line));
  let entries: RegistryEntry[] | null;
  try {
    entries = await session.stacks.registry(spec.name);
  } finally {
    await session.close();
  }
  if (options.json) {
    console.log(JSON.stringify(entries ?? [], null, 2));
    return EXIT.ok;
  }
  if (!entries) {
    console.log(`stack ${spec.name} is not running`);
    return EXIT.ok;
  }
  const rows = entries.map((e) => [e.service, e.host, e.url ?? '-', e.pid === null ? '-' : String(e.pid), e.state].map(escapeControl));
  console.log(rows.length ? table(['SERVICE', 'HOST', 'URL', 'PID', 'STATE'], rows) : `stack ${spec.name}: no service registered yet`);
  return EXIT.ok;
}
