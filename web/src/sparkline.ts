import { belaqiColour } from './belaqi.js';
import { s } from './dom.js';
import type { HistoryPoint } from './types.js';

const WIDTH = 240;
const HEIGHT = 48;
const PAD = 4;

/**
 * A city's BelAQI over the last day as a line, each point a window; the last point in its level's
 * colour. Decorative for screen readers: its caption says the same in words.
 */
export function sparkline(
  points: readonly HistoryPoint[],
  fromMs: number,
  toMs: number,
): SVGSVGElement {
  const svg = s('svg', {
    class: 'sparkline',
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    width: WIDTH,
    height: HEIGHT,
    'aria-hidden': 'true',
    focusable: 'false',
  });
  // Levels 1 (bottom) to 10 (top); the band of "poor" and worse (6+) shaded.
  const y = (level: number) => PAD + ((10 - level) / 9) * (HEIGHT - 2 * PAD);
  const x = (ms: number) => PAD + ((ms - fromMs) / Math.max(1, toMs - fromMs)) * (WIDTH - 2 * PAD);
  svg.append(s('rect', { class: 'poor-band', x: 0, y: 0, width: WIDTH, height: y(5.5) }));
  const known = points.filter(
    (p): p is HistoryPoint & { belaqi: number } =>
      p.belaqi !== null && new Date(p.windowEnd).getTime() >= fromMs,
  );
  if (known.length === 0) return svg;
  const coordinates = known.map(
    (p) => `${x(new Date(p.windowEnd).getTime()).toFixed(1)},${y(p.belaqi).toFixed(1)}`,
  );
  svg.append(s('polyline', { class: 'line', points: coordinates.join(' ') }));
  const last = known.at(-1) as HistoryPoint & { belaqi: number };
  svg.append(
    s('circle', {
      class: 'last',
      cx: x(new Date(last.windowEnd).getTime()).toFixed(1),
      cy: y(last.belaqi).toFixed(1),
      r: 3.5,
      fill: belaqiColour(last.belaqi),
    }),
  );
  return svg;
}
