import outline from 'belgium-outline';
import { geoMercator, geoPath } from 'd3-geo';
import { belaqiColour, textOn } from './belaqi.js';
import { s, setAttributes } from './dom.js';
import { formatTime, formatValue } from './format.js';
import { belaqiLabel, type Language, POLLUTANT_SYMBOLS, t } from './i18n.js';
import { cityLabel } from './names.js';
import { creditOf } from './sources.js';
import { type CityWindow, cityKey, type Station } from './types.js';

const WIDTH = 420;
const HEIGHT = 343;
/** A city marker's radius, in the map's units. */
const RADIUS = 13;

export interface BelgiumMap {
  readonly element: SVGSVGElement;
  /** Draws or updates the city's marker and its stations' markers, in place. */
  update(window: CityWindow, language: Language): void;
  /** Redraws every label in another language. */
  relabel(windows: Iterable<CityWindow>, language: Language): void;
}

function stationTitle(station: Station, language: Language): string {
  const values = station.latest.map(
    (m) =>
      `${POLLUTANT_SYMBOLS[m.parameter] ?? m.parameter} ${formatValue(language, m.value)} µg/m³ (${formatTime(language, m.measuredAt)})`,
  );
  const source = station.sourceName
    ? ` · ${t(language, 'source', { source: creditOf(station, language).name })}`
    : '';
  return `${t(language, 'stationLabel', { name: station.name })}: ${values.join(', ')}${source}`;
}

/**
 * The SVG map: Belgium's outline (Natural Earth, projected with d3-geo's Mercator fitted to the
 * box), a marker per city in its BelAQI colour with the number on it and the city's name beside
 * it, and a dot per station. City markers take the keyboard focus; Enter or a click calls onPick.
 */
export function createMap(onPick: (key: string) => void): BelgiumMap {
  const projection = geoMercator().fitExtent(
    [
      [12, 12],
      [WIDTH - 12, HEIGHT - 12],
    ],
    outline,
  );
  const path = geoPath(projection);
  const element = s('svg', {
    class: 'map',
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: 'group',
  });
  const title = s('title');
  element.append(title, s('path', { class: 'outline', d: path(outline) ?? '' }));
  const stationLayer = s('g', { class: 'station-layer', 'aria-hidden': 'true' });
  const cityLayer = s('g', { class: 'cities' });
  element.append(stationLayer, cityLayer);
  const markers = new Map<string, SVGGElement>();
  const stationDots = new Map<string, SVGCircleElement>();

  const place = (latitude: number | null, longitude: number | null) => {
    if (latitude === null || longitude === null) return null;
    return projection([longitude, latitude]);
  };

  function drawStations(window: CityWindow, language: Language) {
    for (const station of window.city.locations) {
      const at = place(station.latitude, station.longitude);
      if (!at) continue;
      const key = `${cityKey(window.city)}/${station.name}`;
      let dot = stationDots.get(key);
      if (!dot) {
        dot = s('circle', { class: 'station', r: 3.5 });
        dot.append(s('title'));
        stationDots.set(key, dot);
        stationLayer.append(dot);
      }
      setAttributes(dot, { cx: at[0].toFixed(1), cy: at[1].toFixed(1) });
      (dot.firstChild as SVGTitleElement).textContent = stationTitle(station, language);
    }
  }

  const anchors = new Map<string, [number, number]>();

  /**
   * Markers of nearby cities (Hasselt, Genk, Diepenbeek) would cover each other: they are pushed
   * apart until they touch no more, with a line back to where the city is; each name goes on the
   * first side of its marker where it covers no other marker or name.
   */
  function layout() {
    const items = [...markers.entries()].map(([key, marker]) => {
      const [x, y] = anchors.get(key) as [number, number];
      return { marker, ax: x, ay: y, x, y };
    });
    const gap = 2 * RADIUS + 3;
    for (let round = 0; round < 80; round += 1) {
      let moved = false;
      for (const [i, a] of items.entries()) {
        for (const b of items.slice(i + 1)) {
          let dx = b.x - a.x;
          let dy = b.y - a.y;
          let d = Math.hypot(dx, dy);
          if (d >= gap) continue;
          if (d === 0) [dx, dy, d] = [1, 0, 1];
          const push = (gap - d) / 2 + 0.01;
          a.x -= (dx / d) * push;
          a.y -= (dy / d) * push;
          b.x += (dx / d) * push;
          b.y += (dy / d) * push;
          moved = true;
        }
      }
      if (!moved) break;
    }
    type Box = readonly [number, number, number, number];
    const overlap = (p: Box, q: Box) =>
      Math.max(0, Math.min(p[2], q[2]) - Math.max(p[0], q[0])) *
      Math.max(0, Math.min(p[3], q[3]) - Math.max(p[1], q[1]));
    const taken: Box[] = items.map(({ x, y }) => [x - RADIUS, y - RADIUS, x + RADIUS, y + RADIUS]);
    for (const item of items) {
      const [leader, , , label] = item.marker.children as unknown as [
        SVGLineElement,
        SVGCircleElement,
        SVGTextElement,
        SVGTextElement,
      ];
      setAttributes(item.marker, {
        transform: `translate(${item.x.toFixed(1)} ${item.y.toFixed(1)})`,
      });
      setAttributes(leader, {
        x1: (item.ax - item.x).toFixed(1),
        y1: (item.ay - item.y).toFixed(1),
      });
      const width = label.getComputedTextLength?.() || (label.textContent?.length ?? 0) * 7.5;
      const near = RADIUS + 4;
      const diagonal = RADIUS - 2;
      // Where the name may go, in order of preference: right, left, below, above, diagonals.
      const sides = [
        { x: near, y: 0, anchor: 'start', left: near },
        { x: -near, y: 0, anchor: 'end', left: -near - width },
        { x: 0, y: RADIUS + 11, anchor: 'middle', left: -width / 2 },
        { x: 0, y: -RADIUS - 11, anchor: 'middle', left: -width / 2 },
        { x: diagonal, y: -RADIUS - 4, anchor: 'start', left: diagonal },
        { x: diagonal, y: RADIUS + 4, anchor: 'start', left: diagonal },
        { x: -diagonal, y: -RADIUS - 4, anchor: 'end', left: -diagonal - width },
        { x: -diagonal, y: RADIUS + 4, anchor: 'end', left: -diagonal - width },
      ] as const;
      const boxOf = (side: (typeof sides)[number]): Box => [
        item.x + side.left,
        item.y + side.y - 8,
        item.x + side.left + width,
        item.y + side.y + 8,
      ];
      // The side that covers the least of the other markers and names (the first one when tied).
      let best: (typeof sides)[number] = sides[0];
      let bestCost = Number.POSITIVE_INFINITY;
      for (const side of sides) {
        const box = boxOf(side);
        const outside = box[0] < 0 || box[2] > WIDTH || box[1] < 0 || box[3] > HEIGHT ? 1e6 : 0;
        const cost = outside + taken.reduce((sum, other) => sum + overlap(box, other), 0);
        if (cost < bestCost) [best, bestCost] = [side, cost];
        if (cost === 0) break;
      }
      taken.push(boxOf(best));
      setAttributes(label, { x: best.x, y: best.y, 'text-anchor': best.anchor });
    }
  }

  function update(window: CityWindow, language: Language) {
    title.textContent = t(language, 'map');
    element.setAttribute('aria-label', t(language, 'map'));
    drawStations(window, language);
    const at = place(window.city.latitude, window.city.longitude);
    if (!at) return;
    const key = cityKey(window.city);
    anchors.set(key, [at[0], at[1]]);
    let marker = markers.get(key);
    if (!marker) {
      marker = s(
        'g',
        { class: 'city', tabindex: 0, role: 'button', 'data-city': key },
        s('line', { class: 'leader', x2: 0, y2: 0 }),
        s('circle', { r: RADIUS }),
        s('text', { class: 'level', 'text-anchor': 'middle', dy: '0.35em' }),
        s('text', { class: 'name', dy: '0.35em' }),
      );
      marker.addEventListener('click', () => onPick(key));
      marker.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          onPick(key);
        }
      });
      markers.set(key, marker);
      cityLayer.append(marker);
    }
    const colour = belaqiColour(window.belaqi);
    const name = cityLabel(window.city, language);
    setAttributes(marker, {
      'aria-label': t(language, 'markerLabel', {
        city: name,
        level: window.belaqi ?? '–',
        label: belaqiLabel(language, window.belaqi),
      }),
    });
    const [, circle, level, label] = marker.children as unknown as [
      SVGLineElement,
      SVGCircleElement,
      SVGTextElement,
      SVGTextElement,
    ];
    setAttributes(circle, { fill: colour });
    setAttributes(level, { fill: textOn(colour) });
    level.textContent = window.belaqi === null ? '–' : String(window.belaqi);
    const renamed = label.textContent !== name;
    label.textContent = name;
    if (renamed || !marker.hasAttribute('transform')) layout();
  }

  return {
    element,
    update,
    relabel(windows, language) {
      for (const window of windows) update(window, language);
    },
  };
}
