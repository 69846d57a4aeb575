// viz: renders the data service's items as a small SVG bar chart.
//   GET /chart -> image/svg+xml (one bar per item, height = y)
import { startService, getJson, dependencyUrl, reply } from './lib/http-service.mjs';

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function barChart(items, { width = 320, height = 160, pad = 20 } = {}) {
  const max = Math.max(1, ...items.map((i) => i.y));
  const slot = (width - 2 * pad) / Math.max(1, items.length);
  const bars = items.map((item, n) => {
    const h = ((height - 2 * pad) * Math.max(0, item.y)) / max;
    const x = pad + n * slot + slot * 0.15;
    const y = height - pad - h;
    return (
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${h.toFixed(1)}" fill="#4c78a8"><title>${escape(item.name)}: ${item.y}</title></rect>` +
      `<text x="${(x + slot * 0.35).toFixed(1)}" y="${height - 6}" font-size="10" text-anchor="middle">${escape(item.name)}</text>`
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#333"/>` +
    bars.join('') +
    `</svg>\n`
  );
}

startService({
  name: 'viz',
  defaultPort: 8004,
  routes: {
    'GET /chart': async () => {
      const { items } = await getJson(`${dependencyUrl('data')}/items`);
      return reply(barChart(items), { type: 'image/svg+xml' });
    },
  },
});
