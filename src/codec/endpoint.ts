// The Temporal codec endpoint the Web UI (and `temporal --codec-endpoint`) calls to show payloads:
// `POST /encode` and `POST /decode`, body and answer `{ "payloads": [{ "metadata": { k: base64 },
// "data": base64 }] }` (the Temporal docs' "codec server" contract; the UI sends `X-Namespace`).
// Served by the worker on loopback. `/decode` hides secrets: a person looking at the UI sees the
// names of secret variables and `***`, never their values (workers decode in-process, in full).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { redactSecrets } from './redact.js';

/** 127.0.0.1:8234, beside the embedded UI on 8233; STACKFLOW_CODEC_ENDPOINT moves it or turns it off. */
export const DEFAULT_CODEC_PORT = 8234;
const MAX_BODY_BYTES = 16 * 1024 * 1024;

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export interface CodecEndpointOptions {
  codec: PayloadCodec;
  /** 0 picks a free port. */
  port: number;
  /** Loopback only by default: the endpoint decrypts for whoever can reach it. */
  host?: string;
  /** Origins allowed besides loopback ones (http(s)://127.0.0.1|localhost|[::1]:any port), e.g. a remote UI's. */
  extraOrigins?: string[];
}

export interface CodecEndpoint {
  /** `http://127.0.0.1:<port>`: what the UI's codec endpoint setting takes. */
  url: string;
  close(): Promise<void>;
}

const LOOPBACK_ORIGIN = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/;

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

/** A decoded `json/plain` payload with its secrets hidden; other encodings unchanged. */
function redactPayload(payload: Payload, known: Set<string>): Payload {
  const encoding = Buffer.from(payload.metadata?.[METADATA_ENCODING_KEY] ?? new Uint8Array()).toString('utf8');
  if (encoding !== 'json/plain' || !payload.data) return payload;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload.data).toString('utf8'));
  } catch {
    return payload;
  }
  return { ...payload, data: Buffer.from(JSON.stringify(redactSecrets(value, known)), 'utf8') };
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Starts the codec endpoint. Rejects with the listen error (EADDRINUSE when another worker of this
 * machine already serves the port). Secrets met while decoding are remembered for the endpoint's
 * life, so a summary decoded later has them hidden too.
 */
export async function startCodecEndpoint(opts: CodecEndpointOptions): Promise<CodecEndpoint> {
  const known = new Set<string>();
  const extra = new Set(opts.extraOrigins ?? []);
  const server = http.createServer((req, res) => {
    const origin = req.headers.origin;
    if (origin && (LOOPBACK_ORIGIN.test(origin) || extra.has(origin))) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
      // Chrome's Private Network Access preflight (a page reaching a loopback address).
      res.setHeader('Access-Control-Allow-Private-Network', 'true');
      res.writeHead(204).end();
      return;
    }
    void handle(req, opts.codec, known).then(
      (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 400;
        res.writeHead(status, { 'content-type': 'text/plain' }).end((err as Error).message);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function handle(req: http.IncomingMessage, codec: PayloadCodec, known: Set<string>): Promise<{ payloads: JsonPayload[] }> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (req.method !== 'POST' || (path !== '/decode' && path !== '/encode')) throw new HttpError(404, 'POST /decode or /encode');
  let body: { payloads?: JsonPayload[] };
  try {
    body = JSON.parse(await readBody(req)) as { payloads?: JsonPayload[] };
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, 'body must be JSON: { "payloads": [{ "metadata": {...}, "data": "<base64>" }] }');
  }
  if (!Array.isArray(body.payloads)) throw new HttpError(400, 'body must have a "payloads" array');
  const payloads = body.payloads.map(fromJson);
  if (path === '/encode') return { payloads: (await codec.encode(payloads)).map(toJson) };
  const decoded = await codec.decode(payloads);
  return { payloads: decoded.map((p) => toJson(redactPayload(p, known))) };
}
