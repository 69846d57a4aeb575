/** `node dist/src/temporal/provision.js`: resolve (building or downloading if needed) the Temporal CLI and print its path. */
import { resolveTemporalCli } from './cli-binary.js';

try {
  console.log(await resolveTemporalCli({ log: (line) => console.error(line) }));
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
}
