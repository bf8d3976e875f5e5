import type { Browser, BrowserContext, ConsoleMessage, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestMeasurements } from '../src/ingest/ingest-measurements.js';
import { type ApiProcess, startApiProcess } from './helpers/api-process.js';
import { launchChromium } from './helpers/chromium.js';
import {
  callRefresh,
  createTestDatabase,
  type TestDatabase,
  waitFor,
  withEventScheduler,
} from './helpers/database.js';

/**
 * The dashboard in a real browser (Debian's Chromium), against the real API process (npm start's
 * entry point) on a test database: what a person sees, compared with what the API answers.
 */

const TOKEN = 'dashboard-token';
const MINUTE = 60_000;

let t: TestDatabase;
let api: ApiProcess | null = null;
let port = 0;
let base = '';
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Requests the page tried outside this machine (all refused). */
const outside: string[] = [];
const consoleErrors: string[] = [];
const pageErrors: string[] = [];
/** While the API is down, Chromium reports each failed WebSocket attempt as a console error. */
let apiDown = false;
const refusedSockets: string[] = [];

async function startApi(onPort: number) {
  // The entry point turns the global event scheduler on where it is off: hold it ON meanwhile.
  return withEventScheduler('ON', async () => {
    api = await startApiProcess({
      DB_DATABASE: t.db.database,
      PORT: String(onPort),
      API_TOKENS: TOKEN,
      POLL_INTERVAL_MS: '200',
    });
    return api.port;
  });
}

async function graphql(query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: a test reads whatever shape the query asked for
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  expect(body.errors).toBeUndefined();
  return body.data;
}

const STATIONS = {
  Antwerpen: { location: 'BETR801', latitude: 51.2094, longitude: 4.4312 },
  Gent: { location: 'BETN012', latitude: 51.0583, longitude: 3.7298 },
  Leuven: { location: 'BETL001', latitude: 50.8795, longitude: 4.7006 },
} as const;

function measurement(
  city: keyof typeof STATIONS,
  parameter: string,
  value: number,
  minutesAgo: number,
) {
  return {
    ...STATIONS[city],
    city,
    country: 'BE',
    parameter,
    value,
    unit: 'µg/m³',
    measuredAt: new Date(Date.now() - minutesAgo * MINUTE).toISOString(),
    // As the irceline feed stores its stations: the licence and whom it asks to credit.
    sourceName: 'IRCEL-CELINE',
    licence: 'CC BY 4.0',
    attribution: 'IRCEL-CELINE, https://www.irceline.be',
  };
}

async function ingest(items: ReturnType<typeof measurement>[]) {
  const data = await graphql(
    'mutation ($m: [MeasurementInput!]!) { ingestMeasurements(measurements: $m) { rejected { reason } } }',
    { m: items },
  );
  expect(data.ingestMeasurements.rejected).toEqual([]);
}

async function refresh() {
  await graphql('mutation { refreshAirQuality { id } }');
}

/** What the API says of every city: the names and numbers the (English) page must show. */
async function apiView() {
  const data = await graphql(
    '{ airQuality(country: "BE") { city { names { en } } belaqi pollutants { parameter average } } }',
  );
  return (
    data.airQuality as {
      city: { names: { en: string } };
      belaqi: number;
      pollutants: { parameter: string; average: number }[];
    }[]
  ).map((w) => ({
    city: w.city.names.en,
    belaqi: w.belaqi,
    no2: w.pollutants.find((p) => p.parameter === 'NO2')?.average.toFixed(1) ?? null,
  }));
}

/** What the page shows of every city: its card's BelAQI line and its NO₂ average. */
async function pageView() {
  const cards = page.getByRole('article');
  const seen = [];
  for (const card of await cards.all()) {
    const city = await visibleText(card.getByRole('heading', { level: 3 }));
    const level = await visibleText(card.getByText(/^BelAQI \d+ — /));
    const no2 = card.getByRole('row', { name: /^NO₂/ });
    seen.push({
      city,
      belaqi: Number(/^BelAQI (\d+) — /.exec(level)?.[1]),
      no2: (await no2.count()) > 0 ? await visibleText(no2.getByRole('cell').first()) : null,
    });
  }
  return seen;
}

async function until<T>(check: () => Promise<T | undefined | false>, ms: number, what: string) {
  return waitFor(async () => (await check()) || undefined, ms, what, 50);
}

/** The text as a person sees it (CSS applied), which is why it is innerText. */
function visibleText(locator: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText, what is seen
  return locator.innerText();
}

const connectionText = () => visibleText(page.getByRole('status'));

beforeAll(async () => {
  t = await createTestDatabase(import.meta.filename);
  port = await startApi(0);
  base = `http://127.0.0.1:${port}`;
  await ingest([
    measurement('Antwerpen', 'NO2', 32.5, 30),
    measurement('Antwerpen', 'NO2', 35.5, 90),
    measurement('Antwerpen', 'PM10', 22, 30),
    measurement('Gent', 'NO2', 14, 40),
    measurement('Gent', 'O3', 70, 40),
    measurement('Leuven', 'PM25', 6, 20),
  ]);
  await refresh();

  browser = await launchChromium();
  context = await browser.newContext({
    locale: 'en-GB',
    timezoneId: 'Europe/Brussels',
    viewport: { width: 1280, height: 900 },
  });
  // The network, as far as the page is concerned, is this machine: everything else is refused
  // and written down.
  await context.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url());
    if (hostname === '127.0.0.1' || hostname === 'localhost') return route.continue();
    outside.push(route.request().url());
    return route.abort();
  });
  page = await context.newPage();
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    if (
      apiDown &&
      /^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/graphql' failed/.test(text)
    ) {
      refusedSockets.push(text);
    } else {
      consoleErrors.push(text);
    }
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${base}/`);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  api?.child.kill('SIGKILL');
  await api?.exited;
  await t?.drop();
});

describe('the dashboard', () => {
  it('shows every city of airQuality with the BelAQI and NO₂ average the API gives', async () => {
    await until(async () => (await connectionText()) === 'Live', 20_000, 'the page to be live');
    const expected = await apiView();
    expect(expected).toEqual([
      { city: 'Antwerp', belaqi: 5, no2: '34.0' },
      { city: 'Ghent', belaqi: 3, no2: '14.0' },
      { city: 'Leuven', belaqi: 2, no2: null },
    ]);
    await until(async () => (await page.getByRole('article').count()) === 3, 10_000, 'three cards');
    expect(await pageView()).toEqual(expected);
    // The same on the map, in words for those who do not see the colours.
    for (const [city, text] of [
      ['Antwerp', 'Antwerp: BelAQI 5, moderate'],
      ['Ghent', 'Ghent: BelAQI 3, good'],
      ['Leuven', 'Leuven: BelAQI 2, very good'],
    ]) {
      expect([city, await page.getByRole('button', { name: text }).count()]).toEqual([city, 1]);
    }
    const antwerpen = page.getByRole('article', { name: 'Antwerp' });
    expect(await visibleText(antwerpen.getByText(/^BelAQI \d+ — /))).toBe('BelAQI 5 — moderate');
    expect(await visibleText(antwerpen.getByText(/^EAQI/))).toBe('EAQI — fair');
    expect(await visibleText(page.getByRole('contentinfo'))).toContain('IRCEL-CELINE (CC BY 4.0)');
  });

  it('shows a new run within 3 s, in place, without reloading', async () => {
    // A mark on the window: a reload would wipe it; the card element must stay the same node.
    await page.evaluate(() => {
      (window as unknown as { mark: number }).mark = 42;
      (window as unknown as { card: Element | null }).card = document.querySelector('article');
    });
    await ingest([measurement('Antwerpen', 'NO2', 58, 10), measurement('Gent', 'NO2', 16, 10)]);
    const started = Date.now();
    await refresh();
    const expected = await apiView();
    expect(expected.slice(0, 2)).toEqual([
      { city: 'Antwerp', belaqi: 6, no2: '42.0' },
      { city: 'Ghent', belaqi: 3, no2: '15.0' },
    ]);
    await until(
      async () => JSON.stringify(await pageView()) === JSON.stringify(expected),
      3_000,
      'the new values',
    );
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(
      await page.evaluate(() => {
        const w = window as unknown as { mark?: number; card?: Element | null };
        return { mark: w.mark, same: w.card === document.querySelector('article') };
      }),
    ).toEqual({ mark: 42, same: true });
  });

  it('shows an alert when a city crosses the threshold, and when it falls back', async () => {
    await page.getByLabel('Alert at BelAQI').selectOption('8');
    const alerts = page.getByRole('region', { name: 'Alerts' });
    await until(
      async () => (await visibleText(alerts)).includes('No city at or above BelAQI 8.'),
      5_000,
      'no alert',
    );
    // Gent's NO₂ jumps: (14 + 16 + 150) / 3 = 60, BelAQI 8.
    await ingest([measurement('Gent', 'NO2', 150, 5)]);
    await refresh();
    await until(
      async () => (await visibleText(alerts)).includes('Ghent: BelAQI 8 (bad), at or above 8'),
      3_000,
      'the alert banner',
    );
    await page.getByLabel('Alert at BelAQI').selectOption('9');
    await until(
      async () => (await visibleText(alerts)).includes('No city at or above BelAQI 9.'),
      5_000,
      'the banner of the new threshold',
    );
    await page.getByLabel('Alert at BelAQI').selectOption('8');
    // A new subscription: its first push is the current state.
    await until(
      async () => (await visibleText(alerts)).includes('Ghent: BelAQI 8 (bad), at or above 8'),
      5_000,
      'the current state of the new subscription',
    );
    // (14 + 16 + 150 + 0) / 4 = 45: BelAQI 6, back below 8.
    await ingest([measurement('Gent', 'NO2', 0, 3)]);
    await refresh();
    await until(
      async () => (await visibleText(alerts)).includes('Ghent is back below 8: BelAQI 6 (poor)'),
      3_000,
      'the notice that Gent fell back',
    );
    expect(await visibleText(alerts)).not.toContain('at or above 8');
  });

  it('reaches every city marker with the keyboard and opens its card', async () => {
    await page.locator('body').focus();
    let focused = '';
    for (let i = 0; i < 40 && !focused.startsWith('Ghent:'); i += 1) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '');
    }
    expect(focused).toBe('Ghent: BelAQI 6, poor');
    await page.keyboard.press('Enter');
    expect(
      await page.evaluate(() => document.activeElement?.querySelector('h3')?.textContent),
    ).toBe('Ghent');
  });

  it('speaks the browser language, and switches language on request', async () => {
    const dutch = await browser.newContext({
      locale: 'nl-BE',
      viewport: { width: 390, height: 844 },
    });
    await dutch.route('**/*', (route) => {
      const { hostname } = new URL(route.request().url());
      if (hostname === '127.0.0.1') return route.continue();
      outside.push(route.request().url());
      return route.abort();
    });
    const phone = await dutch.newPage();
    phone.on('pageerror', (error) => pageErrors.push(error.message));
    await phone.goto(`${base}/`);
    await until(
      async () => (await visibleText(phone.getByRole('status'))) === 'Live',
      20_000,
      'live',
    );
    expect(await visibleText(phone.getByRole('heading', { level: 1 }))).toBe(
      'belair Luchtkwaliteit in België',
    );
    await until(async () => (await phone.getByRole('article').count()) === 3, 10_000, 'the cards');
    expect(
      await visibleText(
        phone.getByRole('article', { name: 'Antwerpen' }).getByText(/^BelAQI \d+ — /),
      ),
    ).toBe('BelAQI 6 — middelmatig');
    // A phone's width: nothing wider than the screen.
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
    await dutch.close();

    await page.getByRole('button', { name: 'FR', exact: true }).click();
    expect(await visibleText(page.getByRole('heading', { level: 1 }))).toBe(
      "belair Qualité de l'air en Belgique",
    );
    // The city's French name, as City.names gives it.
    const antwerpen = page.getByRole('article', { name: 'Anvers' });
    expect(await visibleText(antwerpen.getByText(/^BelAQI \d+ — /))).toBe('BelAQI 6 — médiocre');
    // French decimals.
    expect(
      await visibleText(antwerpen.getByRole('row', { name: /^NO₂/ }).getByRole('cell').first()),
    ).toBe('42,0');
    await page.getByRole('button', { name: 'EN', exact: true }).click();
    expect(
      await visibleText(page.getByRole('article', { name: 'Antwerp' }).getByText(/^BelAQI \d+ — /)),
    ).toBe('BelAQI 6 — poor');
  });

  it('says when the API goes away, and recovers by itself with the current state', async () => {
    apiDown = true;
    api?.child.kill('SIGKILL');
    await api?.exited;
    await until(
      async () =>
        /^(Connection lost, reconnecting…|Offline: the server does not answer)/.test(
          await connectionText(),
        ),
      10_000,
      'the page to say the connection is lost',
    );
    // Meanwhile, a new run is made without the API: the page must show it once back.
    await ingestMeasurements(t.pool, [
      { ...measurement('Leuven', 'NO2', 9, 5), parameter: 'no2' },
    ] as never);
    await callRefresh(t.db);
    await startApi(port);
    await until(
      async () => (await connectionText()) === 'Live',
      45_000,
      'the page to be live again',
    );
    apiDown = false;
    await until(
      async () => (await pageView()).find((c) => c.city === 'Leuven')?.no2 === '9.0',
      5_000,
      "Leuven's new window",
    );
    expect(await pageView()).toEqual(await apiView());
  });

  it('wrote no error to the console and asked nothing of the network beyond this machine', async () => {
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(outside).toEqual([]);
    // Only the refused reconnection attempts while the API was down.
    expect(refusedSockets.length).toBeGreaterThan(0);
  });
});
