// data: the data store of the demo stack. Keeps a small in-memory table of
// measurements that ai, compute and viz read through DATA_URL.
//   GET  /items       -> { items: [{ id, name, x, y }] }
//   GET  /items/:id   -> one item, or 404
//   POST /items       -> add { name, x, y }; answers 201 with the new item
import { startService, HttpError, readJson, reply } from './lib/http-service.mjs';

const items = [
  { id: 1, name: 'mon', x: 1, y: 2.9 },
  { id: 2, name: 'tue', x: 2, y: 5.1 },
  { id: 3, name: 'wed', x: 3, y: 7.2 },
  { id: 4, name: 'thu', x: 4, y: 8.8 },
  { id: 5, name: 'fri', x: 5, y: 11.0 },
];

startService({
  name: 'data',
  defaultPort: 8001,
  routes: {
    'GET /items': () => ({ items }),
    'GET /items/:id': ({ params }) => {
      const item = items.find((i) => i.id === Number(params.id));
      if (!item) throw new HttpError(404, `no item ${params.id}`);
      return item;
    },
    'POST /items': async ({ req }) => {
      const body = await readJson(req);
      if (typeof body?.name !== 'string' || !Number.isFinite(body.x) || !Number.isFinite(body.y)) {
        throw new HttpError(400, 'expected {"name": string, "x": number, "y": number}');
      }
      const item = { id: Math.max(0, ...items.map((i) => i.id)) + 1, name: body.name, x: body.x, y: body.y };
      items.push(item);
      return reply(JSON.stringify(item) + '\n', { status: 201, type: 'application/json' });
    },
  },
});
