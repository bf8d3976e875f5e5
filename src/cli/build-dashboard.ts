import { buildDashboard, DashboardBudgetError } from '../server/dashboard-build.js';
import { isEntryPoint } from './options.js';

/**
 * npm run build:dashboard: builds the page served at / into web/dist/ (always, even when up to
 * date), and fails when its JavaScript is over budget. The API builds it by itself at start when
 * missing or stale; this is for images and checks.
 */
export async function main(): Promise<number> {
  try {
    const built = await buildDashboard({ force: true });
    console.log(
      `dashboard built in ${built.ms} ms into ${built.dir}: ${built.assets.join(', ')}; JavaScript ${(built.jsGzipBytes / 1024).toFixed(1)} KB gzipped`,
    );
    return 0;
  } catch (error) {
    console.error(error instanceof DashboardBudgetError ? error.message : error);
    return 1;
  }
}

if (isEntryPoint(import.meta.url)) process.exitCode = await main();
