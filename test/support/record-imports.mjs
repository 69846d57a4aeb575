// `node --import ./record-imports.mjs ...`: appends every module URL the process resolves to
// $RECORD_IMPORTS_FILE, one a line (module customization hooks run on their own thread).
import { register } from 'node:module';

register(
  `data:text/javascript,${encodeURIComponent(`
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(process.env.RECORD_IMPORTS_FILE)}, resolved.url + '\\n');
  return resolved;
}`)}`,
);
