import { launchChromium } from '../test/helpers/chromium.js';

/**
 * A screenshot of the dashboard as a person sees it, for docs/dashboard.png:
 *   npm run demo            (in another terminal)
 *   npx tsx scripts/dashboard-screenshot.ts http://localhost:4000/ docs/dashboard.png
 * Waits until the page is live and has its cards, then shoots the full page at 1400 px wide.
 */
const [url = 'http://localhost:4000/', path = 'docs/dashboard.png', width = '1400'] =
  process.argv.slice(2);
const browser = await launchChromium();
try {
  const page = await browser.newPage({
    locale: 'en-GB',
    timezoneId: 'Europe/Brussels',
    viewport: { width: Number(width), height: 900 },
  });
  await page.goto(url);
  await page
    .getByRole('status')
    .filter({ hasText: /^Live$/ })
    .waitFor({ timeout: 30_000 });
  await page.getByRole('article').first().waitFor();
  // The history arrives in a second query; give the sparklines a moment.
  await page.waitForTimeout(1500);
  await page.screenshot({ path, fullPage: true });
  console.log(`${path}: ${url} at ${width} px`);
} finally {
  await browser.close();
}
