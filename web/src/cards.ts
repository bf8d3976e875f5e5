import { belaqiColour, textOn } from './belaqi.js';
import { h } from './dom.js';
import { formatAgo, formatDateTime, formatTime, formatValue } from './format.js';
import { belaqiLabel, eaqiLabel, type Language, POLLUTANT_SYMBOLS, t } from './i18n.js';
import { cityLabel } from './names.js';
import { creditOf } from './sources.js';
import { sparkline } from './sparkline.js';
import type { CityWindow, HistoryPoint, Station } from './types.js';

/** How far back the sparkline reaches. */
export const HISTORY_MS = 24 * 3_600_000;

export interface CardData {
  readonly window: CityWindow;
  readonly history: readonly HistoryPoint[];
}

/** The words and numbers of a BelAQI level: "BelAQI 5 — moderate". */
export function levelText(language: Language, level: number | null): string {
  return `BelAQI ${level ?? '–'} — ${belaqiLabel(language, level)}`;
}

function pollutantTable(window: CityWindow, language: Language): HTMLTableElement {
  const header = (key: Parameters<typeof t>[1]) => h('th', { scope: 'col' }, t(language, key));
  return h(
    'table',
    { class: 'pollutants' },
    h('caption', {}, t(language, 'unitNote')),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        header('pollutant'),
        header('average'),
        header('range'),
        header('count'),
        header('latest'),
      ),
    ),
    h(
      'tbody',
      {},
      ...window.pollutants.map((p) =>
        h(
          'tr',
          {},
          h(
            'th',
            { scope: 'row' },
            POLLUTANT_SYMBOLS[p.parameter] ?? p.parameter,
            p.belaqi === null
              ? null
              : h(
                  'span',
                  {
                    class: 'sub-index',
                    'data-level': p.belaqi,
                    title: levelText(language, p.belaqi),
                  },
                  String(p.belaqi),
                ),
          ),
          h('td', {}, formatValue(language, p.average)),
          h('td', {}, `${formatValue(language, p.min)}–${formatValue(language, p.max)}`),
          h('td', {}, `${p.count} (${p.locations})`),
          h('td', {}, formatTime(language, p.latestMeasuredAt)),
        ),
      ),
    ),
  );
}

function stationItem(station: Station, language: Language): HTMLLIElement {
  const values = station.latest.map(
    (m) =>
      `${POLLUTANT_SYMBOLS[m.parameter] ?? m.parameter} ${formatValue(language, m.value)} µg/m³ (${formatDateTime(language, m.measuredAt)})`,
  );
  return h(
    'li',
    {},
    h('strong', {}, station.name),
    ` ${values.join(' · ')}`,
    station.sourceName
      ? h(
          'span',
          { class: 'source' },
          ` — ${t(language, 'source', { source: creditOf(station, language).name })}`,
        )
      : null,
  );
}

function historyFigure(data: CardData, language: Language, now: number): HTMLElement {
  const from = now - HISTORY_MS;
  const levels = data.history
    .filter((p) => new Date(p.windowEnd).getTime() >= from)
    .map((p) => p.belaqi)
    .filter((level): level is number => level !== null);
  const summary =
    levels.length === 0
      ? t(language, 'noHistory')
      : t(language, levels.length === 1 ? 'historySummaryOne' : 'historySummary', {
          count: levels.length,
          min: Math.min(...levels),
          max: Math.max(...levels),
        });
  return h(
    'figure',
    { class: 'history' },
    sparkline(data.history, from, now),
    h('figcaption', {}, `${t(language, 'history')}: ${summary}`),
  );
}

/** Fills (or refills, in place) a city's card. */
export function renderCard(
  card: HTMLElement,
  data: CardData,
  language: Language,
  now: number,
): void {
  const { window } = data;
  const colour = belaqiColour(window.belaqi);
  const headingId = `${card.id}-name`;
  card.setAttribute('aria-labelledby', headingId);
  card.replaceChildren(
    h(
      'header',
      {},
      h(
        'span',
        { class: 'badge', 'aria-hidden': 'true', 'data-level': window.belaqi ?? '' },
        window.belaqi === null ? '–' : String(window.belaqi),
      ),
      h(
        'div',
        {},
        h('h3', { id: headingId }, cityLabel(window.city, language)),
        h('p', { class: 'level-text' }, levelText(language, window.belaqi)),
        h('p', { class: 'eaqi' }, `EAQI — ${eaqiLabel(language, window.eaqi)}`),
      ),
    ),
    h(
      'p',
      { class: 'meta' },
      t(language, 'window', {
        start: formatTime(language, window.windowStart),
        end: formatTime(language, window.windowEnd),
      }),
      ' · ',
      h(
        'span',
        { 'data-ago': window.run.evaluatedAt },
        t(language, 'updated', { ago: formatAgo(language, window.run.evaluatedAt, now) }),
      ),
    ),
    historyFigure(data, language, now),
    h('div', { class: 'table-wrap' }, pollutantTable(window, language)),
    h(
      'details',
      { class: 'stations' },
      h('summary', {}, t(language, 'stations', { count: window.city.locations.length })),
      h(
        'ul',
        { class: 'station-list' },
        ...window.city.locations.map((station) => stationItem(station, language)),
      ),
    ),
  );
  const badge = card.querySelector('.badge') as HTMLElement;
  badge.style.backgroundColor = colour;
  badge.style.color = textOn(colour);
  for (const sub of card.querySelectorAll<HTMLElement>('.sub-index')) {
    const subColour = belaqiColour(Number(sub.dataset.level));
    sub.style.backgroundColor = subColour;
    sub.style.color = textOn(subColour);
  }
}

/** Refreshes every "updated N s ago" in the page. */
export function tickAgo(root: ParentNode, language: Language, now: number): void {
  for (const span of root.querySelectorAll<HTMLElement>('[data-ago]')) {
    span.textContent = t(language, 'updated', {
      ago: formatAgo(language, span.dataset.ago ?? '', now),
    });
  }
}
