// ai: a "model" trained on the data service's items (least-squares line y = slope*x + intercept).
//   GET /predict?x=6  -> { x, prediction, model: { slope, intercept }, trainedOn }
// Reads the training set from DATA_URL on every call.
import { startService, HttpError, getJson, dependencyUrl } from './lib/http-service.mjs';

function fit(points) {
  const n = points.length;
  if (n < 2) throw new HttpError(503, `need at least 2 items to train, data has ${n}`);
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  if (sxx === 0) throw new HttpError(503, 'all items have the same x; cannot fit a line');
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

const round = (v) => Math.round(v * 1000) / 1000;

startService({
  name: 'ai',
  defaultPort: 8002,
  routes: {
    'GET /predict': async ({ query }) => {
      const x = Number(query.get('x'));
      if (query.get('x') === null || !Number.isFinite(x)) throw new HttpError(400, 'usage: /predict?x=<number>');
      const { items } = await getJson(`${dependencyUrl('data')}/items`);
      const model = fit(items);
      return {
        x,
        prediction: round(model.slope * x + model.intercept),
        model: { slope: round(model.slope), intercept: round(model.intercept) },
        trainedOn: items.length,
      };
    },
  },
});
