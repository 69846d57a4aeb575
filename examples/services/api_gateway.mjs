// api_gateway: the single entry point of the demo stack.
//   GET /                 -> health of every backend (200 when all answer, 503 otherwise)
//   ANY /<backend>/<path> -> proxied to <BACKEND>_URL/<path>, e.g. /data/items -> $DATA_URL/items
// Backends: data, ai, compute, viz, user; their addresses come from the DATA_URL, AI_URL,
// COMPUTE_URL, VIZ_URL and USER_URL variables that stackflow injects for each dependency.
import { startService, HttpError, getJson, dependencyUrl, proxy, reply } from './lib/http-service.mjs';

const BACKENDS = ['data', 'ai', 'compute', 'viz', 'user'];

async function backendHealth(name) {
  const started = performance.now();
  let url = null;
  try {
    url = dependencyUrl(name);
    const body = await getJson(`${url}/health`, { timeoutMs: 1000 });
    return { url, status: body?.status ?? 'ok', latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return { url, status: 'down', error: err.message };
  }
}

startService({
  name: 'api_gateway',
  defaultPort: 8000,
  routes: {
    'GET /': async () => {
      const results = await Promise.all(BACKENDS.map(backendHealth));
      const backends = Object.fromEntries(BACKENDS.map((name, i) => [name, results[i]]));
      const ok = results.every((r) => r.status === 'ok');
      const body = { service: 'api_gateway', status: ok ? 'ok' : 'degraded', backends };
      return reply(JSON.stringify(body, null, 2) + '\n', { status: ok ? 200 : 503, type: 'application/json' });
    },
  },
  fallback: ({ req, res, url }) => {
    const [, backend, rest = '/'] = url.pathname.match(/^\/([^/]+)(\/.*)?$/) ?? [];
    if (!BACKENDS.includes(backend)) return null; // 404
    const base = dependencyUrl(backend); // 503 when the variable is missing
    proxy(req, res, new URL(`${base}${rest}${url.search}`));
    return undefined;
  },
});
