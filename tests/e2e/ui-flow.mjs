// Browser flows of the platform UI for tests/e2e/ui.c: Debian's headless Chromium, driven by
// playwright-core, uses the built www/dist through lighttpd while the demo agent
// (contrib/demo/demo.json on the scripted model) answers: a plan first, the build after Approve.
//
// Usage: node ui-flow.mjs MODE BASE_URL OUT_DIR
//   onboarding  a new user signs in, creates a workspace, sends a prompt from the home page,
//               sees the answer stream in and the plan card block the composer, approves, and
//               the sandboxed preview shows the built app
//   reload      a reload during the build turn re-attaches: the same messages, no duplicate
//               answer, and the turn still finishes into the preview
//   stop        Stop during the build turn: the chat says Stopped and offers Try again, and the
//               run is failed with user_stopped
//   keyboard    Tab and Shift+Tab alone reach the skip link, the composer, Approve and Stop;
//               Enter approves and Space stops, and focus stays in the chat after each
//   agents      a prompt asking for a triage agent: the agents card lists it and blocks the
//               composer; Approve records the approval (POST .../agents/approval) before the
//               agent goes on, and the card shows Approved
//   budget      prints the gzipped size of the JavaScript index.html loads (fails over the
//               budget) and the time from navigation to an enabled composer
// Every mode fails on a console error or warning or an uncaught page error. Screenshots go to
// OUT_DIR/ui-<n>-<step>.png (onboarding) or ui-<mode>-<n>-<step>.png. One line per finding on
// stdout; exit 0 when every check passed, 1 otherwise, 2 on bad usage.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const [mode, base, outDir] = process.argv.slice(2);
const MODES = ['onboarding', 'reload', 'stop', 'keyboard', 'agents', 'budget'];
if (!MODES.includes(mode) || !base || !outDir) {
  console.error(`usage: ui-flow.mjs ${MODES.join('|')} BASE_URL OUT_DIR`);
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const TURN_MS = 150000; // a build turn installs the app's dependencies and builds it
const UI_MS = 30000; // anything else the UI shows
const JS_BUDGET = 250 * 1024; // gzipped JavaScript index.html loads
const PROMPT = 'A board where the team adds tasks, gives each an owner and ticks them off.';
const APPROVE_TEXT = 'Approved. Go ahead and build it.';
// What the demo agent says, in order: the plan turn, then the build turn.
const SAY = {
  plan: 'Here is what I will build for you.',
  build: 'Great, building it now.',
  writing: 'Writing the board with its form and task list.',
  done: 'The Team Tasks board is built and live in the preview.',
};
// What it says when asked for a triage agent: agents.json and the agents card, then after Approve.
const SAY_AGENTS = {
  presented: "I'll add a triage agent that works on the tickets collection.",
  approved: 'The Triage agent is approved.',
};
const AGENTS_PROMPT = 'A ticket desk with a triage agent that sorts new tickets.';

const problems = [];
const fail = (msg) => problems.push(msg);
const info = (msg) => console.log(msg);
let shot = 0;

// Console messages and page errors of every page and frame: none is expected, not even on a
// first visit before sign-in (the UI asks GET /api/auth/session, which answers 200).
function watch(page) {
  page.on('console', (m) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    const where = m.location()?.url ?? '';
    fail(`console ${m.type()}: ${m.text()} (${where})`);
  });
  page.on('pageerror', (err) => fail(`page error: ${err.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) info(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
  });
}

// In the page, from its first script on: when each phrase first shows in the conversation,
// and whether a turn was running then (the Stop button is only there while one runs).
function recorder(phrases) {
  window.__seen = {};
  window.__turnEnds = [];
  let running = false;
  const look = () => {
    const stopShown = !!document.querySelector('button[aria-label="Stop"]');
    if (running && !stopShown) window.__turnEnds.push(performance.now());
    running = stopShown;
    const conv = document.querySelector('[aria-label="Conversation"]');
    if (!conv) return;
    const text = conv.textContent || '';
    for (const p of phrases)
      if (!window.__seen[p] && text.includes(p))
        window.__seen[p] = { at: performance.now(), busy: !!document.querySelector('button[aria-label="Stop"]') };
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, characterData: true });
}

// The accessible name of the focused element, as a screen reader would announce it (enough of
// the computation for the markup this UI uses).
function focusedName() {
  const el = document.activeElement;
  if (!el || el === document.body) return { tag: 'BODY', name: '' };
  const by = el.getAttribute('aria-labelledby');
  let name = '';
  if (by) name = by.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join(' ');
  else if (el.getAttribute('aria-label')) name = el.getAttribute('aria-label');
  else if (el.labels && el.labels.length) name = [...el.labels].map((l) => l.textContent).join(' ');
  else if (/^(BUTTON|A)$/.test(el.tagName)) name = el.textContent;
  if (!name.trim()) name = el.getAttribute('title') || el.getAttribute('placeholder') || '';
  return { tag: el.tagName, name: name.replace(/\s+/g, ' ').trim(), disabled: !!el.disabled };
}

async function screenshot(page, step) {
  shot += 1;
  const file = mode === 'onboarding' ? `ui-${shot}-${step}.png` : `ui-${mode}-${shot}-${step}.png`;
  await page.screenshot({ path: join(outDir, file) });
  info(`screenshot ${file}`);
}

async function check(label, fn) {
  try {
    await fn();
    info(`ok: ${label}`);
    return true;
  } catch (err) {
    fail(`${label}: ${String(err.message ?? err).split('\n')[0]}`);
    return false;
  }
}

function must(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function seen(page, phrase, timeout = TURN_MS) {
  const h = await page.waitForFunction((p) => window.__seen?.[p], phrase, { timeout });
  return h.jsonValue();
}

// Signs a new person in and gives them a workspace, through the API the onboarding screens use
// (the session cookie lands in the browser context).
async function signIn(context, name, email, workspaceName) {
  const post = async (path, data) => {
    const r = await context.request.post(`${base}${path}`, { data });
    must(r.ok(), `POST ${path}: ${r.status()} ${await r.text()}`);
    return r.json();
  };
  await post('/api/onboarding/identity', { displayName: name, profileRole: 'Operations lead', email });
  const { workspace } = await post('/api/onboarding/workspace', { workspaceName });
  await post('/api/onboarding/complete', {});
  return workspace.id;
}

// The workspace home's composer, once it takes input.
const homeComposer = (page) => page.getByLabel('What do you want to build?');
const chatComposer = (page) => page.getByRole('textbox', { name: 'Message' });
const approveButton = (page) => page.getByRole('button', { name: 'Approve', exact: true });
const stopButton = (page) => page.getByRole('button', { name: 'Stop', exact: true });
const previewText = (page) =>
  page.frameLocator('iframe[title="App preview"]').getByText('Team Tasks board').first();

// From the home page: the prompt, Build, and the app page once the plan waits for an answer.
async function promptToPlan(page) {
  await homeComposer(page).fill(PROMPT);
  await page.getByRole('button', { name: 'Build', exact: true }).click();
  await page.waitForURL(/#\/w\/[^/]+\/apps\/[^/]+$/, { timeout: UI_MS });
  await approveButton(page).waitFor({ timeout: TURN_MS });
}

// The conversation as shown: one entry per message, its role and text.
async function conversation(page) {
  return page.locator('[aria-label="Conversation"] > li').evaluateAll((items) =>
    items.map((li) => {
      const text = (li.textContent || '').replace(/\s+/g, ' ').trim();
      const role = text.startsWith('You: ') ? 'user' : text.startsWith('Agent:') ? 'assistant' : 'status';
      return { role, text: text.replace(/^(You: |Agent:)/, '').trim() };
    }),
  );
}

// The app and run the UI created, and the run's stored chat, as the signed-in person.
async function storedChat(context) {
  const get = async (path) => {
    const r = await context.request.get(`${base}${path}`);
    must(r.ok(), `GET ${path}: ${r.status()}`);
    return r.json();
  };
  const me = await get('/api/me');
  const ws = me.memberships[0].workspaceId;
  const { items } = await get(`/api/workspaces/${ws}/apps`);
  must(items.length === 1, `${items.length} apps`);
  const { runs } = await get(`/api/workspaces/${ws}/apps/${items[0].id}/runs`);
  must(runs.length === 1, `${runs.length} runs`);
  return get(`/api/workspaces/${ws}/apps/${items[0].id}/runs/${runs[0].id}/chat`);
}

const count = (hay, needle) => hay.split(needle).length - 1;

// Whether the element lies within its scrolling container's visible part, waiting up to 3 s
// for the UI to scroll it there.
async function scrolledIntoView(locator) {
  for (let i = 0; i < 30; i++) {
    const ok = await locator.evaluate((el) => {
      const r = el.getBoundingClientRect();
      let p = el.parentElement;
      while (p && !/(auto|scroll)/.test(getComputedStyle(p).overflowY)) p = p.parentElement;
      const c = p ? p.getBoundingClientRect() : { top: 0, bottom: window.innerHeight };
      return r.top >= c.top - 1 && r.bottom <= c.bottom + 1;
    });
    if (ok) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('it stays out of view');
}

async function onboarding(context, page) {
  await page.goto(`${base}/`);
  await check('a first visit shows the identity form', async () => {
    await page.getByRole('heading', { name: 'Welcome to Second' }).waitFor({ timeout: UI_MS });
  });
  await screenshot(page, 'identity');
  await page.getByLabel('Display name').fill('Nora New');
  await page.getByLabel('Email').fill('nora@example.com');
  await page.getByLabel('Role').fill('Operations lead');
  await page.getByRole('button', { name: 'Continue' }).click();
  await check('the workspace step follows', async () => {
    await page.getByLabel('Workspace name').waitFor({ timeout: UI_MS });
  });
  await screenshot(page, 'workspace');
  await page.getByLabel('Workspace name').fill('Nora Works');
  await page.getByRole('button', { name: 'Create workspace' }).click();
  await check('the workspace home shows an enabled composer', async () => {
    await homeComposer(page).waitFor({ timeout: UI_MS });
    await page.waitForURL(/#\/w\/[^/]+$/, { timeout: UI_MS });
    must(await homeComposer(page).isEnabled(), 'the composer is disabled');
    await page.getByRole('button', { name: 'Workspace: Nora Works' }).waitFor({ timeout: UI_MS });
  });
  await screenshot(page, 'home');

  await homeComposer(page).fill(PROMPT);
  await page.getByRole('button', { name: 'Build', exact: true }).click();
  // The plan turn ends a few tens of milliseconds after its text (the present_plan call is
  // all that follows), often within one render: that the text streams before a turn ends is
  // checked on the build turn, which runs for seconds after its first words.
  await check('the answer shows', async () => {
    await seen(page, SAY.plan);
  });
  await screenshot(page, 'streaming');
  await check('the plan card waits for an answer and blocks the composer', async () => {
    await approveButton(page).waitFor({ timeout: TURN_MS });
    const gap = await page.evaluate((p) => (window.__turnEnds.at(-1) ?? NaN) - window.__seen[p].at, SAY.plan);
    info(`the plan turn ended ${Math.round(gap)} ms after its text showed`);
    await page.getByRole('button', { name: 'Request changes' }).waitFor();
    await page.getByRole('heading', { name: 'Team Tasks board' }).waitFor();
    must(await chatComposer(page).isDisabled(), 'the composer takes input');
    const ph = await chatComposer(page).getAttribute('placeholder');
    must(/Approve the plan/.test(ph ?? ''), `placeholder "${ph}"`);
    must(await page.getByRole('button', { name: 'Send' }).isDisabled(), 'Send is enabled');
  });
  await screenshot(page, 'plan');
  await approveButton(page).click();
  await check('the build turn streams: its text shows while the turn runs', async () => {
    const s = await seen(page, SAY.build);
    must(s.busy, 'the build text showed only after the turn had ended');
    await page.getByText(APPROVE_TEXT).waitFor();
    const w = await seen(page, SAY.writing);
    must(w.busy, 'the second text showed only after the turn had ended');
  });
  await screenshot(page, 'building');
  await check('the sandboxed preview renders the built app', async () => {
    await previewText(page).waitFor({ timeout: TURN_MS });
    const sandbox = await page.locator('iframe[title="App preview"]').getAttribute('sandbox');
    must(sandbox === 'allow-scripts allow-forms allow-modals', `sandbox "${sandbox}"`);
  });
  await check('the turn ends with the summary and an idle composer', async () => {
    await seen(page, SAY.done);
    await stopButton(page).waitFor({ state: 'detached', timeout: TURN_MS });
    must(await chatComposer(page).isEnabled(), 'the composer is still disabled');
  });
  await screenshot(page, 'preview');
}

async function reload(context, page) {
  const ws = await signIn(context, 'Rita Reload', 'rita@example.com', 'Reload Works');
  await page.goto(`${base}/#/w/${ws}`);
  await promptToPlan(page);
  await approveButton(page).click();
  await seen(page, SAY.build);
  const before = await conversation(page);
  await screenshot(page, 'before-reload');
  const head = (c) => c.slice(0, 3).map((m) => `${m.role}:${m.text}`);
  const second = await context.newPage();
  watch(second);
  await second.goto(page.url());
  await check('a second tab during the turn attaches to it and shows the same conversation', async () => {
    await stopButton(second).waitFor({ timeout: UI_MS });
    const other = await conversation(second);
    must(JSON.stringify(head(other)) === JSON.stringify(head(before)),
      `first tab ${JSON.stringify(head(before))}, second tab ${JSON.stringify(head(other))}`);
  });
  await screenshot(second, 'second-tab');
  await page.reload();
  await check('after the reload the chat re-attaches to the running turn', async () => {
    await stopButton(page).waitFor({ timeout: UI_MS });
    const after = await conversation(page);
    must(JSON.stringify(head(after)) === JSON.stringify(head(before)),
      `before ${JSON.stringify(head(before))}, after ${JSON.stringify(head(after))}`);
    await seen(page, SAY.build, UI_MS);
  });
  await screenshot(page, 'after-reload');
  await check('the re-attached turn finishes into the preview', async () => {
    await previewText(page).waitFor({ timeout: TURN_MS });
    await seen(page, SAY.done);
    await stopButton(page).waitFor({ state: 'detached', timeout: TURN_MS });
  });
  await check('the second tab follows the turn to its end', async () => {
    await seen(second, SAY.done);
    await stopButton(second).waitFor({ state: 'detached', timeout: TURN_MS });
    await previewText(second).waitFor({ timeout: UI_MS });
  });
  await check('every message shows once, in both tabs', async () => {
    for (const [name, p] of [['first', page], ['second', second]]) {
      const conv = (await conversation(p)).filter((m) => m.role !== 'status');
      const roles = conv.map((m) => m.role).join(',');
      must(roles === 'user,assistant,user,assistant', `${name} tab: roles ${roles}`);
      must(conv[0].text === PROMPT && conv[2].text === APPROVE_TEXT, `${name} tab: ${JSON.stringify(conv)}`);
      const all = conv.map((m) => m.text).join('\n');
      for (const x of Object.values(SAY))
        must(count(all, x) === 1, `${name} tab: "${x}" shows ${count(all, x)} times`);
    }
    const chat = await storedChat(context);
    must(chat.status === 'completed', `run ${chat.status}`);
    must(chat.messages.length === 4, `${chat.messages.length} stored messages`);
  });
  await screenshot(page, 'finished');
}

async function stop(context, page) {
  const ws = await signIn(context, 'Sam Stop', 'sam@example.com', 'Stop Works');
  await page.goto(`${base}/#/w/${ws}`);
  await promptToPlan(page);
  await approveButton(page).click();
  await check('Stop shows while the build turn streams', async () => {
    const s = await seen(page, SAY.build);
    must(s.busy, 'the turn had ended');
    must(await stopButton(page).isEnabled(), 'Stop is disabled');
  });
  await screenshot(page, 'streaming');
  await stopButton(page).click();
  await check('the chat shows the stopped turn and offers Try again', async () => {
    await page.getByText('Stopped', { exact: true }).waitFor({ timeout: UI_MS });
    await page.getByRole('button', { name: 'Try again' }).waitFor();
    await scrolledIntoView(page.getByRole('button', { name: 'Try again' }));
    must((await page.getByText('The agent ran into a problem').count()) === 0, 'shown as an error');
    must(await chatComposer(page).isEnabled(), 'the composer is disabled');
  });
  await screenshot(page, 'stopped');
  await check('the run is failed with user_stopped', async () => {
    let chat;
    for (let i = 0; i < 60; i++) {
      chat = await storedChat(context);
      if (chat.status !== 'streaming') break;
      await page.waitForTimeout(500);
    }
    must(chat.status === 'failed', `status ${chat.status}`);
    must(chat.failure?.code === 'user_stopped', `failure ${JSON.stringify(chat.failure)}`);
  });
  await check('the stopped state survives a reload', async () => {
    await page.reload();
    await page.getByText('Stopped', { exact: true }).waitFor({ timeout: UI_MS });
    await page.getByRole('button', { name: 'Try again' }).waitFor();
  });
}

async function agents(context, page) {
  const ws = await signIn(context, 'Ada Agents', 'ada@example.com', 'Agents Desk');
  await page.goto(`${base}/#/w/${ws}`);
  await homeComposer(page).fill(AGENTS_PROMPT);
  await page.getByRole('button', { name: 'Build', exact: true }).click();
  await page.waitForURL(/#\/w\/[^/]+\/apps\/[^/]+$/, { timeout: UI_MS });
  const card = page.getByRole('region', { name: "Review the app's agents" });
  await check('the agents card lists the triage agent and blocks the composer', async () => {
    await seen(page, SAY_AGENTS.presented);
    await card.waitFor({ timeout: TURN_MS });
    await approveButton(page).waitFor({ timeout: TURN_MS });
    await card.getByText('Triage', { exact: true }).waitFor();
    await card.getByText('Data: tickets', { exact: true }).waitFor();
    must(await chatComposer(page).isDisabled(), 'the composer takes input');
    const ph = await chatComposer(page).getAttribute('placeholder');
    must(/Approve the agents/.test(ph ?? ''), `placeholder "${ph}"`);
  });
  await screenshot(page, 'agents');
  const approval = page.waitForResponse(
    (r) => r.url().endsWith('/agents/approval') && r.request().method() === 'POST',
    { timeout: UI_MS },
  );
  await approveButton(page).click();
  await check('Approve records the approval before the agent goes on', async () => {
    const r = await approval;
    const body = await r.json();
    must(r.status() === 200, `approval: ${r.status()} ${JSON.stringify(body)}`);
    must(body.hasAgentsJson === true && body.mockOnly === false, JSON.stringify(body));
    must(/^v1:[0-9a-f]{64}$/.test(body.hash ?? ''), `hash ${body.hash}`);
    await seen(page, SAY_AGENTS.approved);
    await card.getByText('Approved', { exact: true }).waitFor({ timeout: UI_MS });
    must((await approveButton(page).count()) === 0, 'Approve is still offered');
  });
  await screenshot(page, 'agents-approved');
}

// Presses `key` until the focused element is `name` (at most `max` presses); the names passed.
async function tabTo(page, name, key = 'Tab', max = 40) {
  const path = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(key);
    const f = await page.evaluate(focusedName);
    path.push(f.name || f.tag);
    if (f.name === name) return path;
  }
  throw new Error(`${key} never reached "${name}": ${path.join(' > ')}`);
}

async function focused(page) {
  return (await page.evaluate(focusedName)).name;
}

async function keyboard(context, page) {
  const ws = await signIn(context, 'Kim Keys', 'kim@example.com', 'Keyboard Works');
  await page.goto(`${base}/#/w/${ws}`);
  await homeComposer(page).waitFor({ timeout: UI_MS });
  await check('from page load, Tab reaches the home composer', async () => {
    const path = await tabTo(page, 'What do you want to build?');
    info(`tab order: ${path.join(' > ')}`);
  });
  await page.reload();
  await homeComposer(page).waitFor({ timeout: UI_MS });
  await check('the first Tab reaches the skip link, which moves focus to the content', async () => {
    await page.keyboard.press('Tab');
    must((await focused(page)) === 'Skip to content', `focus on "${await focused(page)}"`);
    await page.keyboard.press('Enter');
    await page.waitForTimeout(300);
    must(page.url().endsWith(`#/w/${ws}`), `the skip link navigated to ${page.url()}`);
    await homeComposer(page).waitFor({ timeout: UI_MS });
    const id = await page.evaluate(() => document.activeElement?.id);
    must(id === 'main', `focus on #${id}`);
    const path = await tabTo(page, 'What do you want to build?', 'Tab', 1);
    info(`tab order: ${path.join(' > ')}`);
  });
  await check('Tab leaves the composer, Shift+Tab comes back to it', async () => {
    await page.keyboard.type(PROMPT);
    await page.keyboard.press('Tab');
    must((await focused(page)) !== 'What do you want to build?', 'Tab stayed in the composer');
    await tabTo(page, 'What do you want to build?', 'Shift+Tab', 10);
  });
  await screenshot(page, 'home-composer');
  await page.keyboard.press('Control+Enter');
  await page.waitForURL(/#\/w\/[^/]+\/apps\/[^/]+$/, { timeout: UI_MS });
  await approveButton(page).waitFor({ timeout: TURN_MS });
  await check('Tab reaches Approve, Shift+Tab comes back from Request changes', async () => {
    const path = await tabTo(page, 'Approve');
    info(`tab order: ${path.join(' > ')}`);
    await page.keyboard.press('Tab');
    must((await focused(page)) === 'Request changes', `focus on "${await focused(page)}"`);
    await page.keyboard.press('Shift+Tab');
    must((await focused(page)) === 'Approve', `focus on "${await focused(page)}"`);
  });
  await screenshot(page, 'approve-focused');
  await page.keyboard.press('Enter');
  await check('Enter on Approve approves the plan and focus moves to the message box', async () => {
    await page.getByText(APPROVE_TEXT).waitFor({ timeout: UI_MS });
    await page.waitForFunction(() => document.activeElement?.tagName === 'TEXTAREA', null, { timeout: UI_MS });
    must((await focused(page)) === 'Message', `focus on "${await focused(page)}"`);
    await seen(page, SAY.build);
  });
  await check('the next Tab reaches Stop, and Space stops the turn', async () => {
    await stopButton(page).waitFor({ timeout: UI_MS });
    await tabTo(page, 'Stop', 'Tab', 1);
    await page.keyboard.press('Space');
    await page.getByText('Stopped', { exact: true }).waitFor({ timeout: UI_MS });
    must((await focused(page)) === 'Message', `focus on "${await focused(page)}"`);
  });
  await check('Shift+Tab from the message box reaches Try again', async () => {
    await tabTo(page, 'Try again', 'Shift+Tab', 1);
  });
  await screenshot(page, 'stopped');
}

async function budget(context, page) {
  await check(`the JavaScript index.html loads is under ${JS_BUDGET / 1024} KiB gzipped`, async () => {
    const html = await (await context.request.get(`${base}/`)).text();
    const urls = [...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g), ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)]
      .map((m) => m[1]);
    must(urls.length > 0, 'index.html loads no script');
    let total = 0;
    for (const u of urls) {
      const body = await (await context.request.get(new URL(u, base).href)).body();
      const gz = gzipSync(body, { level: 9 }).length;
      total += gz;
      info(`budget: ${u} ${body.length} bytes, ${gz} gzipped`);
    }
    info(`budget: initial JavaScript ${(total / 1024).toFixed(1)} KiB gzipped (budget ${JS_BUDGET / 1024} KiB)`);
    must(total < JS_BUDGET, `${total} bytes gzipped`);
  });
  const ws = await signIn(context, 'Bea Budget', 'bea@example.com', 'Budget Works');
  const ready = () => {
    const t = document.getElementById('build-prompt');
    return t && !t.disabled && t.getClientRects().length > 0 ? performance.now() : null;
  };
  for (const label of ['first load', 'reload']) {
    const t0 = Date.now();
    if (label === 'first load') await page.goto(`${base}/#/w/${ws}`);
    else await page.reload();
    const inPage = await (await page.waitForFunction(ready, null, { timeout: UI_MS, polling: 'raf' })).jsonValue();
    info(`budget: composer visible and enabled ${Math.round(inPage)} ms after navigation start (${label}; ${Date.now() - t0} ms around the wait)`);
  }
  await screenshot(page, 'home');
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--disable-background-networking', '--no-first-run', '--no-default-browser-check'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
  await context.addInitScript(recorder, [...Object.values(SAY), ...Object.values(SAY_AGENTS)]);
  const page = await context.newPage();
  watch(page);
  const flows = { onboarding, reload, stop, keyboard, agents, budget };
  try {
    await flows[mode](context, page);
  } catch (err) {
    fail(`${mode}: ${String(err.message ?? err).split('\n')[0]}`);
    await page.screenshot({ path: join(outDir, `ui-${mode}-failure.png`) }).catch(() => {});
  }
} finally {
  await browser.close();
}
for (const p of problems) console.log(`problem: ${p}`);
console.log(problems.length ? `${mode}: ${problems.length} problem(s)` : `${mode}: all checks passed`);
process.exit(problems.length ? 1 : 0);
