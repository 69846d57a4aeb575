// Shared plumbing for the example services: one small HTTP server per process,
// built on node:http only (no npm dependencies).
//
//   import { startService, HttpError, getJson, dependencyUrl } from './lib/http-service.mjs';
//   startService({
//     name: 'data',
//     defaultPort: 8001,
//     routes: { 'GET /items': () => ({ items }), 'GET /items/:id': ({ params }) => ... },
//   });
//
// A route handler receives { req, res, url, params, query } and returns either
//   - a plain value        -> 200 application/json
//   - reply(body, opts)    -> any status / content type
//   - undefined            -> the handler wrote `res` itself (e.g. proxy())
// and may throw HttpError(status, message) for a JSON error answer.
//
// Every service gets `GET /health` -> 200 {"status":"ok"} and `GET /` (a route list)
// unless it defines them itself. The server listens on 127.0.0.1:$PORT, logs
// "<name> listening on http://127.0.0.1:<port>", and on SIGTERM/SIGINT logs
// "<name> stopping", stops accepting connections and exits 0.

import http from 'node:http';

const REPLY = Symbol('reply');
const HOST = process.env.HOST || '127.0.0.1';

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** A response with an explicit status and content type. */
export function reply(body, { status = 200, type = 'text/plain; charset=utf-8', headers = {} } = {}) {
  return { [REPLY]: true, status, body, headers: { 'content-type': type, ...headers } };
}

/** The base URL of a dependency, from the `<NAME>_URL` variable stackflow injects. */
export function dependencyUrl(name) {
  const variable = `${name.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}_URL`;
  const value = process.env[variable];
  if (!value) throw new HttpError(503, `${name} is not configured (${variable} is not set)`);
  return value.replace(/\/+$/, '');
}

/** GET a JSON document; a dependency that is down or answers non-2xx becomes a 502. */
export async function getJson(url, { timeoutMs = 2000 } = {}) {
  let response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new HttpError(502, `GET ${url} failed: ${err.cause?.code ?? err.name ?? err.message}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new HttpError(502, `GET ${url} answered ${response.status}`);
  }
  return response.json();
}

/** Read a JSON request body (at most `limit` bytes). */
export async function readJson(req, limit = 64 * 1024) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}

const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

function withoutHopByHop(headers) {
  const copy = { ...headers };
  for (const name of HOP_BY_HOP) delete copy[name];
  return copy;
}

/** Stream `req` to `target` (a URL) and the answer back to `res`. */
export function proxy(req, res, target, { timeoutMs = 10_000 } = {}) {
  const upstream = http.request(
    target,
    {
      method: req.method,
      headers: {
        ...withoutHopByHop(req.headers),
        host: target.host,
        'x-forwarded-for': req.socket.remoteAddress ?? '',
      },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, withoutHopByHop(answer.headers));
      answer.pipe(res);
    },
  );
  upstream.setTimeout(timeoutMs, () => upstream.destroy(new Error('timeout')));
  upstream.on('error', (err) => {
    if (res.headersSent) {
      res.destroy(err);
      return;
    }
    send(res, reply(JSON.stringify({ error: `${target.origin} unavailable: ${err.code ?? err.message}` }) + '\n', {
      status: 502,
      type: 'application/json',
    }));
  });
  req.pipe(upstream);
}

function send(res, result) {
  if (result === undefined) return; // the handler answered itself
  const r = result?.[REPLY] ? result : reply(JSON.stringify(result) + '\n', { type: 'application/json' });
  res.writeHead(r.status, r.headers);
  res.end(r.body);
}

function parseUrl(raw = '/') {
  try {
    // A fixed base: only the path and query matter, and "//x" must not become a host.
    return new URL(raw.replace(/^\/+/, '/'), 'http://localhost');
  } catch {
    return new URL('http://localhost/');
  }
}

function compile(key) {
  const space = key.indexOf(' ');
  const method = key.slice(0, space);
  const segments = key.slice(space + 1).split('/').filter(Boolean);
  return {
    key,
    method,
    match(pathname) {
      const parts = pathname.split('/').filter(Boolean);
      if (parts.length !== segments.length) return null;
      const params = {};
      for (let i = 0; i < segments.length; i++) {
        if (segments[i].startsWith(':')) params[segments[i].slice(1)] = decodeURIComponent(parts[i]);
        else if (segments[i] !== parts[i]) return null;
      }
      return params;
    },
  };
}

/**
 * Start the HTTP server of one service.
 * @param {object} options
 * @param {string} options.name          service name, used in log lines and `GET /`
 * @param {number} options.defaultPort   used when PORT is not set (running by hand)
 * @param {Record<string, Function>} options.routes  'METHOD /path/:param' -> handler
 * @param {Function} [options.fallback]  called for paths no route matches (return null for 404)
 */
export function startService({ name, defaultPort, routes, fallback }) {
  const table = {
    'GET /health': () => ({ status: 'ok' }),
    'GET /': () => ({ service: name, routes: Object.keys(table) }),
    ...routes,
  };
  const compiled = Object.keys(table).map(compile);
  const port = Number(process.env.PORT || defaultPort);

  const server = http.createServer(async (req, res) => {
    const started = performance.now();
    const url = parseUrl(req.url);
    if (url.pathname !== '/health') {
      res.once('finish', () =>
        console.log(`${name}: ${req.method} ${url.pathname}${url.search} ${res.statusCode} ${(performance.now() - started).toFixed(1)}ms`),
      );
    }
    try {
      let handled = false;
      for (const route of compiled) {
        if (route.method !== req.method) continue;
        const params = route.match(url.pathname);
        if (!params) continue;
        handled = true;
        send(res, await table[route.key]({ req, res, url, params, query: url.searchParams }));
        break;
      }
      if (!handled && fallback) {
        const result = await fallback({ req, res, url, params: {}, query: url.searchParams });
        if (result !== null) {
          handled = true;
          send(res, result);
        }
      }
      if (!handled) throw new HttpError(404, `no route for ${req.method} ${url.pathname}`);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) console.error(`${name}: ${req.method} ${url.pathname}:`, err);
      if (!res.headersSent) send(res, reply(JSON.stringify({ error: err.message }) + '\n', { status, type: 'application/json' }));
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 5_000;

  server.on('error', (err) => {
    const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.message;
    console.error(`${name}: cannot listen on ${HOST}:${port}: ${why}`);
    process.exit(1);
  });
  server.listen(port, HOST, () => console.log(`${name} listening on http://${HOST}:${port}`));

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log(`${name} stopping`);
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    // Requests still in flight get a moment to finish, then their connections are cut.
    setTimeout(() => server.closeAllConnections(), 1_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return server;
}
