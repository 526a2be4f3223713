// demo_page.mjs - the demo page in headless Chromium, for the end-to-end tests: the site built
// into a temporary folder (tools/build-demo.mjs, from dist/), served on free localhost ports
// with and without the cross-origin isolation headers (tools/serve-demo.mjs), and Debian's
// /usr/bin/chromium driven by playwright-core (never a downloaded browser).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildDemo } from '../tools/build-demo.mjs';
import { startServer } from '../tools/serve-demo.mjs';

export const CHROMIUM = '/usr/bin/chromium';
export const noChromium = existsSync(CHROMIUM) ? false
  : `${CHROMIUM} is absent (apt-get install chromium); CI installs it, so this test runs there`;

/** Build the site and start Chromium: { tmp, site, serve({ isolated }), open(url), close() }. */
export async function demoBrowser() {
  const { chromium } = await import('playwright-core');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'lstm-demo-e2e-'));
  const site = path.join(tmp, 'web');
  await buildDemo({ outDir: site });
  const servers = [];
  const context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  return {
    tmp,
    site,
    /** Serve the site; resolves to its URL. */
    async serve({ isolated = true } = {}) {
      const server = await startServer({ root: site, port: 0, isolated });
      servers.push(server);
      return server.url;
    },
    /** A page at `url`: { page, demo(fn), waitFor(fn, arg, timeout), errors, failed }. errors:
     * uncaught page errors; failed: requests that did not load (blocked, or not 2xx/3xx). */
    async open(url) {
      const page = await context.newPage();
      const errors = [];
      const failed = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('dialog', (d) => d.accept());
      page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
      page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.url()}: HTTP ${r.status()}`); });
      // On a timeout, say what the page said: its notices usually name the cause.
      const waitFor = async (fn, arg, timeout = 15_000) => {
        try {
          return await page.waitForFunction(fn, arg, { timeout, polling: 50 });
        } catch (e) {
          const notices = await page.$$eval('.notice', (list) => list.map((n) => n.textContent)).catch(() => []);
          if (notices.length) e.message += `\npage notices: ${notices.join(' | ')}`;
          throw e;
        }
      };
      await page.goto(url);
      return { page, demo: (fn, arg) => page.evaluate(fn, arg), waitFor, errors, failed };
    },
    async close() {
      await context.close(); // first: Chromium writes into its profile under tmp until it exits
      for (const s of servers) await s.close();
      rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/** Wait until the page has started and chosen its text (the built-in corpus at first). */
export const ready = ({ waitFor }) => waitFor(() => window.lstmDemo && !window.lstmDemo.busy && window.lstmDemo.corpus?.chars > 0, null, 30_000);
