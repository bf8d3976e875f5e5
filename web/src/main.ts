import '../styles.css';
import { AlertBanner } from './alerts.js';
import { type ConnectionState, createApi } from './api.js';
import { BELAQI_COLOURS, textOn } from './belaqi.js';
import { type CardData, HISTORY_MS, renderCard, tickAgo } from './cards.js';
import { renderConnection } from './connection.js';
import { h } from './dom.js';
import { belaqiLabel, browserLanguage, isLanguage, LANGUAGES, type Language, t } from './i18n.js';
import { createMap } from './map.js';
import { cityLabel } from './names.js';
import { type Credit, creditOf } from './sources.js';
import { type CityWindow, cityKey, type HistoryPoint } from './types.js';

/** The page: wires the API's pushes to the map, the cards and the alert banner. */

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function stored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}
function store(key: string, value: string) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Private mode: the choice lasts as long as the page.
  }
}

const savedLanguage = stored('belair.language');
let language: Language = isLanguage(savedLanguage)
  ? savedLanguage
  : browserLanguage(navigator.languages);
const savedThreshold = Number(stored('belair.threshold'));
let threshold =
  Number.isInteger(savedThreshold) && savedThreshold >= 1 && savedThreshold <= 10
    ? savedThreshold
    : 6;

const windows = new Map<string, CityWindow>();
const histories = new Map<string, HistoryPoint[]>();
const cards = new Map<string, HTMLElement>();
let connection: ConnectionState = { kind: 'connecting' };

const api = createApi(
  `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
);
const cityList = byId<HTMLElement>('cities');
const banner = new AlertBanner(byId('alerts'), threshold);
const map = createMap((key) => {
  const card = cards.get(key);
  card?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  card?.focus({ preventScroll: true });
});
byId('map').append(map.element);

function cardData(key: string): CardData | null {
  const window = windows.get(key);
  return window ? { window, history: histories.get(key) ?? [] } : null;
}

function renderCity(key: string) {
  const data = cardData(key);
  if (!data) return;
  let card = cards.get(key);
  if (!card) {
    card = h('article', {
      class: 'card',
      id: `city-${cards.size + 1}`,
      tabindex: -1,
      'data-city': key,
    });
    cards.set(key, card);
  }
  renderCard(card, data, language, Date.now());
  map.update(data.window, language);
}

/** Cards in the order of their names in the page's language. */
function orderCards() {
  const ordered = [...cards.entries()].sort(([a], [b]) => {
    const [wa, wb] = [windows.get(a), windows.get(b)];
    const label = (w: typeof wa, key: string) => (w ? cityLabel(w.city, language) : key);
    return label(wa, a).localeCompare(label(wb, b), language);
  });
  const current = [...cityList.children];
  if (ordered.some(([, card], i) => current[i] !== card))
    cityList.replaceChildren(...ordered.map(([, card]) => card));
  byId('waiting').hidden = cards.size > 0;
}

function renderCredits() {
  const credits = new Map<string, Credit>();
  for (const window of windows.values()) {
    for (const station of window.city.locations) {
      if (!station.sourceName && !station.attribution) continue;
      const credit = creditOf(station, language);
      credits.set(credit.name, credit);
    }
  }
  const items = [...credits.values()].map((credit) =>
    h(
      'li',
      {},
      credit.url ? h('a', { href: credit.url, rel: 'noreferrer' }, credit.name) : credit.name,
      credit.licence ? ` (${credit.licence})` : '',
    ),
  );
  byId('credits').replaceChildren(
    h('li', { class: 'label' }, `${t(language, 'sources')}:`),
    ...items,
    h('li', {}, t(language, 'outline')),
    h('li', {}, t(language, 'api', { link: '/graphql' })),
  );
}

function renderBanner() {
  banner.render(language, Date.now());
}

/** Everything that holds words: on start and when the language changes. */
function renderChrome() {
  document.documentElement.lang = language;
  document.title = `belair — ${t(language, 'title')}`;
  byId('title').textContent = t(language, 'title');
  byId('intro').textContent = t(language, 'intro');
  byId('skip').textContent = t(language, 'skip');
  byId('alerts-title').textContent = t(language, 'alerts');
  byId('threshold-text').textContent = t(language, 'threshold');
  byId('cities-title').textContent = t(language, 'cities');
  byId('waiting').textContent = t(language, 'waiting');
  const languages = byId('languages');
  languages.setAttribute('aria-label', t(language, 'language'));
  languages.replaceChildren(
    ...LANGUAGES.map((code) => {
      const button = h(
        'button',
        { type: 'button', lang: code, 'aria-pressed': String(code === language) },
        code.toUpperCase(),
      );
      button.addEventListener('click', () => setLanguage(code));
      return button;
    }),
  );
  const select = byId<HTMLSelectElement>('threshold');
  select.replaceChildren(
    ...BELAQI_COLOURS.map((_, i) =>
      h(
        'option',
        { value: i + 1, selected: i + 1 === threshold },
        `${i + 1} — ${belaqiLabel(language, i + 1)}`,
      ),
    ),
  );
  byId('legend').setAttribute('aria-label', t(language, 'legend'));
  byId('legend').replaceChildren(
    ...BELAQI_COLOURS.map((colour, i) => {
      const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' }, String(i + 1));
      swatch.style.backgroundColor = colour;
      swatch.style.color = textOn(colour);
      return h('li', {}, swatch, ` ${i + 1} ${belaqiLabel(language, i + 1)}`);
    }),
  );
  renderConnection(byId('connection'), connection, language);
}

function setLanguage(code: Language) {
  language = code;
  store('belair.language', code);
  renderChrome();
  for (const key of windows.keys()) renderCity(key);
  orderCards();
  renderCredits();
  renderBanner();
}

/** Loads the last day of the given cities' BelAQI (all of them after a reconnect). */
async function loadHistory(keys: readonly string[]) {
  const names = keys.map((key) => windows.get(key)?.city.name).filter((n): n is string => !!n);
  if (names.length === 0) return;
  const to = new Date();
  try {
    const loaded = await api.history(names, new Date(to.getTime() - HISTORY_MS), to);
    for (const [key, points] of loaded) {
      // Windows pushed while the query ran are newer than what it read: keep them.
      const newer = (histories.get(key) ?? []).filter(
        (p) => p.windowEnd > (points.at(-1)?.windowEnd ?? ''),
      );
      histories.set(key, [...points, ...newer]);
      renderCity(key);
    }
  } catch (error) {
    // The sparkline waits for the next reconnect; the live values do not depend on it.
    console.warn('belair: the history could not be loaded', error);
  }
}

let pendingHistory = new Set<string>();
let historyScheduled = false;
/** Cities seen for the first time within 200 ms share one history query. */
function wantHistory(key: string) {
  pendingHistory.add(key);
  if (historyScheduled) return;
  historyScheduled = true;
  setTimeout(() => {
    historyScheduled = false;
    const keys = [...pendingHistory];
    pendingHistory = new Set();
    void loadHistory(keys);
  }, 200);
}

function onWindow(window: CityWindow) {
  const key = cityKey(window.city);
  const isNew = !windows.has(key);
  windows.set(key, window);
  const history = histories.get(key) ?? [];
  if (history.at(-1)?.windowEnd !== window.windowEnd) {
    histories.set(
      key,
      [...history, { windowEnd: window.windowEnd, belaqi: window.belaqi }].filter(
        (p) => new Date(p.windowEnd).getTime() >= Date.now() - HISTORY_MS,
      ),
    );
  }
  renderCity(key);
  if (isNew) {
    orderCards();
    wantHistory(key);
  }
  renderCredits();
}

let stopAlerts: (() => void) | null = null;
function subscribeAlerts() {
  stopAlerts?.();
  banner.reset(threshold);
  renderBanner();
  stopAlerts = api.alerts(threshold, {
    next: (alert) => {
      banner.push(alert);
      renderBanner();
    },
    error: (error) => console.error('belair: alerts', error),
  });
}

byId<HTMLSelectElement>('threshold').addEventListener('change', (event) => {
  threshold = Number((event.target as HTMLSelectElement).value);
  store('belair.threshold', String(threshold));
  subscribeAlerts();
});

api.onState((state) => {
  connection = state;
  renderConnection(byId('connection'), state, language);
});
api.onReconnected(() => {
  // The subscriptions start again on the new connection and push the current state first; the
  // banner is rebuilt from it, and the history refilled where the page missed runs.
  banner.reset(threshold);
  renderBanner();
  void loadHistory([...windows.keys()]);
});

renderChrome();
renderBanner();
api.windows({ next: onWindow, error: (error) => console.error('belair: windows', error) });
subscribeAlerts();
setInterval(() => {
  const now = Date.now();
  tickAgo(cityList, language, now);
  renderBanner();
}, 1000);
