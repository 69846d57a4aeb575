// compute: arithmetic over numbers or over the data service's items.
//   GET /sum?a=2&b=3  -> { a: 2, b: 3, sum: 5 }
//   GET /sum          -> { sum, count, source: "data" }   (sum of every item's y, read from DATA_URL)
import { startService, HttpError, getJson, dependencyUrl } from './lib/http-service.mjs';

function number(query, name) {
  const v = Number(query.get(name));
  if (!Number.isFinite(v)) throw new HttpError(400, `${name} must be a number (usage: /sum?a=<n>&b=<n>, or /sum for the data total)`);
  return v;
}

startService({
  name: 'compute',
  defaultPort: 8003,
  routes: {
    'GET /sum': async ({ query }) => {
      if (query.has('a') || query.has('b')) {
        const a = number(query, 'a');
        const b = number(query, 'b');
        return { a, b, sum: a + b };
      }
      const { items } = await getJson(`${dependencyUrl('data')}/items`);
      const sum = items.reduce((s, i) => s + i.y, 0);
      return { sum: Math.round(sum * 1000) / 1000, count: items.length, source: 'data' };
    },
  },
});
