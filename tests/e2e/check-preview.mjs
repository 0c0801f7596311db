// Loads an app preview in headless Chromium (Debian's chromium driven by playwright-core) and
// checks that the built app rendered.
//
// Usage: node check-preview.mjs BASE_URL PREVIEW_PATH COOKIE_VALUE EXPECTED_TEXT OUT_DIR
// The browser gets the session cookie for BASE_URL, opens a page of the platform's origin that
// frames PREVIEW_PATH the way the workspace UI does (an iframe with the sandbox the preview is
// served with), and waits for EXPECTED_TEXT inside the frame. It also opens the preview on its
// own, as a top-level page. Console errors, failed requests and CSP violations fail the check.
// A screenshot of each page goes to OUT_DIR. Prints one line per finding; exit 1 on failure.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [base, previewPath, cookie, expected, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: check-preview.mjs BASE_URL PREVIEW_PATH COOKIE EXPECTED_TEXT OUT_DIR');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const problems = [];

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--disable-background-networking', '--no-first-run', '--no-default-browser-check'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const url = new URL(base);
  await context.addCookies([{ name: 'second_session', value: cookie, domain: url.hostname,
    path: '/', httpOnly: true, sameSite: 'Lax' }]);
  const watch = (page, label) => {
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning')
        problems.push(`${label}: console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`${label}: page error: ${err.message}`));
    page.on('requestfailed', (r) =>
      problems.push(`${label}: request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${label}: HTTP ${r.status()} for ${r.url()}`);
    });
  };

  // 1. Framed by a page of the platform's own origin, sandboxed as the UI frames it.
  const host = await context.newPage();
  watch(host, 'framed');
  await host.route(`${base}/__preview-host`, (route) => route.fulfill({
    status: 200,
    contentType: 'text/html; charset=utf-8',
    body: '<!doctype html><title>host</title><iframe id="p" style="width:1000px;height:700px"' +
      ` sandbox="allow-scripts allow-forms allow-modals" src="${previewPath}"></iframe>`,
  }));
  await host.goto(`${base}/__preview-host`);
  const frame = host.frameLocator('#p');
  try {
    await frame.getByText(expected).first().waitFor({ timeout: 20000 });
    console.log(`framed: found "${expected}"`);
  } catch (err) {
    problems.push(`framed: "${expected}" never appeared: ${err.message.split('\n')[0]}`);
  }
  // The frame runs in an opaque origin: it cannot read the platform's storage or cookies.
  const f = host.frames().find((x) => x !== host.mainFrame());
  if (f) {
    const origin = await f.evaluate(() => self.origin).catch((e) => `error ${e.message}`);
    if (origin !== 'null') problems.push(`framed: origin is ${origin}, not opaque`);
    else console.log('framed: origin is opaque');
  }
  await host.screenshot({ path: join(outDir, 'preview-framed.png') });

  // 2. The preview on its own, as a top-level page.
  const page = await context.newPage();
  watch(page, 'top-level');
  await page.goto(`${base}${previewPath}`);
  try {
    await page.getByText(expected).first().waitFor({ timeout: 20000 });
    console.log(`top-level: found "${expected}"`);
  } catch (err) {
    problems.push(`top-level: "${expected}" never appeared: ${err.message.split('\n')[0]}`);
  }
  await page.screenshot({ path: join(outDir, 'preview-top-level.png') });
} finally {
  await browser.close();
}
for (const p of problems) console.log(`problem: ${p}`);
process.exit(problems.length ? 1 : 0);
