// `stackflow validate`: check the stack file (its values, and its size as a Temporal payload) and print the start order as levels.
import { EXIT } from '../errors.js';
import { bold, dim } from '../output.js';
import { loadStackOrExit } from '../stack-file.js';
import { payloadBytes } from '../../config/payload.js';

export async function validate(options: { config: string }): Promise<number> {
  const loaded = await loadStackOrExit(options.config);
  const count = Object.keys(loaded.spec.services).length;
  const disabled = loaded.disabled.length ? dim(` (${loaded.disabled.length} disabled: ${loaded.disabled.join(', ')})`) : '';
  console.log(`${bold(loaded.spec.name)}: ${count} service(s) OK${disabled}`);
  console.log('start order:');
  loaded.levels.forEach((level, i) => console.log(`  ${i + 1}. ${level.join(', ')}`));
  // what `up` sends to Temporal; over the limit, loading has already failed with exit 2 (config/payload.ts)
  console.log(dim(`resolved stack: ${Math.ceil(payloadBytes(loaded.spec) / 1024)} KiB (a Temporal payload holds at most 2 MB)`));
  return EXIT.ok;
}
