#!/usr/bin/env node
// townhall's widgets, demo page and councillors' dashboard in a real
// browser: Debian's Chromium driven by playwright-core, audited with
// axe-core. Starts its own `townhall serve --demo` on a free port with a
// temporary database and prints TAP ("ok N - name") on standard output.
//
// Environment: TH_BIN (the townhall command), TH_SRC (the source tree),
// CHROMIUM (default /usr/bin/chromium), TH_SCREENSHOTS (where to write
// the screenshots: tests/suites/80-browser.sh sets the run's artifacts;
// default TH_SRC/docs/screenshots, which is how they are refreshed;
// "none" to skip writing them).
'use strict';
const { chromium } = require('playwright-core');
const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const sri = require('./sri.js');

const SRC = process.env.TH_SRC || path.resolve(__dirname, '..', '..');
const BIN = process.env.TH_BIN || path.join(SRC, 'build', 'townhall');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.TH_SCREENSHOTS || path.join(SRC, 'docs', 'screenshots');
const BUDGET = 6 * 1024;
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

// ---- TAP ----------------------------------------------------------------------

let count = 0;
let failed = 0;
function diag(s) {
  for (const line of String(s).split('\n')) console.log('# ' + line);
}
function point(ok, name, detail) {
  count++;
  if (!ok) failed++;
  console.log(`${ok ? 'ok' : 'not ok'} ${count} - ${name}`);
  if (!ok && detail) diag(detail);
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
function eq(actual, want, what) {
  if (JSON.stringify(actual) !== JSON.stringify(want)) {
    throw new Error(`${what}: got ${JSON.stringify(actual)}, want ${JSON.stringify(want)}`);
  }
}
async function step(name, fn, ms = 120000) {
  let timer;
  try {
    await Promise.race([fn(), new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Error(`timed out after ${ms / 1000} s`)), ms);
    })]);
    point(true, name);
  } catch (e) {
    point(false, name, e && e.stack ? e.stack : String(e));
  } finally {
    clearTimeout(timer);
  }
}

// ---- the server ------------------------------------------------------------------

// Under tests/run.py what this run leaves (database, WAL, server log) stays in
// $TH_ARTIFACTS for the final privacy scan (tests/suites/99-privacy.sh), and
// the user agents and resident ids it used are recorded in probes.txt there
// (as tests/api/harness.py does), so the scan looks for them.
const ARTIFACTS = process.env.TH_ARTIFACTS || '';
function probe(kind, value) {
  if (ARTIFACTS && value && value.length >= 8) {
    fs.appendFileSync(path.join(ARTIFACTS, 'probes.txt'), JSON.stringify({ kind, value }) + '\n');
  }
}
const tmp = fs.mkdtempSync(path.join(ARTIFACTS || os.tmpdir(), 'townhall-browser-'));
const db = path.join(tmp, 'townhall.db');
let server = null;
let port = 0;
let BASE = '';   // http://127.0.0.1:PORT: townhall, and one origin of the demo site
let OTHER = '';  // http://localhost:PORT: the demo site's other origin, our "council"
let VER = '';
let staff = '';  // the demo admin's token (townhall serve --demo prints one per role)
let resident = ''; // a demo resident's JWT
let modStaff = ''; // a token for the moderated site

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function startServer() {
  port = await freePort();
  BASE = `http://127.0.0.1:${port}`;
  OTHER = `http://localhost:${port}`;
  // A second site that moderates ideas and takes anonymous ones, so that
  // the moderation queue has something in it.
  execFileSync(BIN, ['site', 'add', 'mod', '--name', 'Moderated Borough', '--origin', BASE,
    '--moderate', '--anonymous', '--db', db], { stdio: 'pipe' });
  const tok = execFileSync(BIN, ['token', 'create', '--role', 'admin', '--label', 'browser tests',
    '--site', 'mod', '--db', db], { encoding: 'utf8' });
  modStaff = tok.match(/th_\S+/)[0];
  const log = fs.openSync(path.join(tmp, 'server.log'), 'w');
  server = spawn(BIN, ['serve', '--demo', '--listen', `127.0.0.1:${port}`, '--db', db,
    '--rate-limit', '1000', '--rate-limit-page', '1000', '--log-level', 'warning'],
  { stdio: ['ignore', 'pipe', log] });
  let out = '';
  server.stdout.on('data', (d) => { out += d; });
  const t0 = Date.now();
  for (;;) {
    if (server.exitCode != null) throw new Error('townhall serve exited: ' + out);
    const m = out.match(/admin token:\s+(\S+)/);
    const j = out.match(/resident's JWT:\s+(\S+)/);
    if (m && j) {
      try {
        const r = await fetch(BASE + '/healthz');
        if (r.ok) {
          VER = (await r.json()).version;
          staff = m[1];
          resident = j[1];
          probe('sub', 'demo-resident-you');
          for (let v = 0; v < 9; v++) probe('sub', `demo-resident-${v}`);
          probe('ua', 'moderation-test');
          probe('ua', 'xss-test');
          return;
        }
      } catch (e) { /* not listening yet */ }
    }
    if (Date.now() - t0 > 20000) throw new Error('townhall serve did not start: ' + out);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopServer() {
  return new Promise((resolve) => {
    if (!server || server.exitCode != null) return resolve();
    const t = setTimeout(() => server.kill('SIGKILL'), 5000);
    server.once('exit', () => { clearTimeout(t); resolve(); });
    server.kill('SIGTERM');
  });
}

// The API, as a councillor (or anyone) would call it from outside the browser.
async function api(method, p, { token, body, site = 'demo' } = {}) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body) headers['Content-Type'] = 'application/json';
  const r = await fetch(`${BASE}/v1/sites/${site}${p}`, {
    method, headers, body: body ? JSON.stringify(body) : undefined
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* CSV, HTML */ }
  return { status: r.status, headers: r.headers, text, json };
}

async function summary(page) {
  const r = await api('GET', '/feedback/summary?page=' + encodeURIComponent(page), { token: staff });
  eq(r.status, 200, 'feedback summary status');
  return r.json;
}

// ---- the browser -------------------------------------------------------------------

let browser;
let uaN = 0;
const setCookies = [];
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// Every page comes from a new context, with a user agent of its own unless
// `userAgent` is given (two residents on one device share one).
async function open(opts = {}) {
  const userAgent = opts.userAgent ||
    `Mozilla/5.0 (X11; Linux x86_64) townhall-browser-test/${++uaN} Chrome/120`;
  probe('ua', userAgent);
  const ctx = await browser.newContext({
    userAgent,
    viewport: { width: 1024, height: 800 }, ...opts
  });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  const log = { errors: [], dialogs: [] };
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(`${m.text()} (${m.location().url || ''})`);
  });
  page.on('pageerror', (e) => log.errors.push('pageerror: ' + e.message));
  page.on('dialog', (d) => { log.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('response', (r) => {
    if (r.headers()['set-cookie']) setCookies.push(r.url());
  });
  return { ctx, page, log };
}

// A council's page on its own origin (localhost:PORT, one of the demo
// site's origins), embedding the widgets from townhall (127.0.0.1:PORT)
// exactly as docs/embedding.md says, under a strict CSP unless csp=false.
const sriCache = {};
async function sri384(name) {
  if (!sriCache[name]) {
    const r = await fetch(`${BASE}/v/${VER}/${name}`);
    sriCache[name] = 'sha384-' + crypto.createHash('sha384').update(Buffer.from(await r.arrayBuffer())).digest('base64');
  }
  return sriCache[name];
}

const STRICT_CSP = () => [
  "default-src 'none'",
  `script-src ${BASE}`,
  `style-src 'self' ${BASE}`,
  `connect-src ${BASE}`,
  `form-action ${BASE}`,
  "img-src 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'"
].join('; ');

async function councilPage(ctx, p, { lang = 'en', dir = 'ltr', csp = true, ideas = true, feedback = true, token = '', script = '' } = {}) {
  const url = OTHER + '/council/' + p;
  const html = `<!doctype html>
<html lang="${lang}" dir="${dir}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Council page ${p}</title>
<link rel="icon" href="/v/${VER}/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/council/council.css">
${script || `<script src="${BASE}/v/${VER}/widget.js" integrity="${await sri384('widget.js')}" crossorigin="anonymous" defer></script>`}
</head>
<body>
<a href="#main" class="skip">Skip to main content</a>
<header><p class="brand">Test Borough Council</p><nav aria-label="Main"><a href="/council/home">Home</a></nav></header>
<main id="main">
<h1>Parking permits</h1>
<p>Apply for a resident parking permit, renew one or change the car on it.</p>
${ideas ? `<div data-townhall-ideas data-site="demo"${token ? ` data-token="${token}"` : ''}></div>` : ''}
${feedback ? '<div data-townhall-feedback data-site="demo"></div>' : ''}
</main>
<footer><p>Test Borough Council</p></footer>
</body>
</html>`;
  const css = `:root { --townhall-accent: #7b2d8e; --townhall-focus: #ffdd00; }
body { margin: 0 auto; max-width: 48rem; padding: 1rem; font-family: Georgia, "DejaVu Serif", serif; color: #1b1b1b; background: #fff; }
.skip { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.skip:focus { position: static; width: auto; height: auto; clip-path: none; }
a { color: #1a4b8c; }`;
  await ctx.route(OTHER + '/council/**', (route) => {
    const u = route.request().url();
    if (u.endsWith('/council.css')) {
      return route.fulfill({ status: 200, contentType: 'text/css', body: css });
    }
    if (u.split('?')[0] !== url) return route.fallback();
    const headers = { 'Content-Type': 'text/html; charset=utf-8' };
    if (csp) headers['Content-Security-Policy'] = STRICT_CSP();
    return route.fulfill({ status: 200, headers, body: html });
  });
  return url;
}

async function axe(page, name, context) {
  // Injected as a CDP evaluation, which a strict page CSP does not block
  // (a <script> tag would be).
  if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(axeSource);
  // Audit what a reader sees once the widget's short fade-in has ended.
  await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished)));
  const result = await page.evaluate(async ({ tags, ctxSel }) => {
    const r = await window.axe.run(ctxSel ? document.querySelector(ctxSel) : document,
      { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n  ` +
      v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\n/g, ' ')).join('\n  '));
  }, { tags: AXE_TAGS, ctxSel: context || null });
  point(result.length === 0, `axe-core: no violations on ${name}`, result.join('\n'));
}

async function shot(locator, name) {
  if (SHOTS === 'none') return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await locator.screenshot({ path: path.join(SHOTS, name + '.png'), animations: 'disabled' });
}

async function noCspTrouble(page, log, what) {
  const v = await page.evaluate(() => window.__csp);
  eq(v, [], `CSP violations on ${what}`);
  // A page without an icon link makes the browser ask for /favicon.ico.
  const errors = log.errors.filter((e) => !/\/favicon\.ico\)$/.test(e));
  eq(errors, [], `console errors on ${what}`);
}

const fb = (page) => page.locator('[data-townhall-feedback]');

// ---- the tests ------------------------------------------------------------------------

async function tests() {
  await step('assets: widget JavaScript + CSS under 6 KB gzipped (as built into the library)', async () => {
    // Each file gzipped on its own, as it travels: the one script (both
    // widgets) and the one stylesheet.
    let total = 0;
    const parts = [];
    for (const f of ['widget.js', 'widget.css']) {
      const r = await fetch(`${BASE}/v/${VER}/${f}`);
      eq(r.status, 200, f);
      const body = Buffer.from(await r.arrayBuffer());
      const gz = zlib.gzipSync(body, { level: 9 }).length;
      parts.push(`${f} ${body.length} B, ${gz} B gzipped`);
      total += gz;
    }
    diag(parts.join('; ') + `; together ${total} B gzipped of a ${BUDGET} B budget`);
    assert(total < BUDGET, `widget.js + widget.css are ${total} B gzipped`);
  });

  await step('assets: the SRI chain (widget.css and strings in the scripts, scripts in docs/embedding.md) is in step', async () => {
    const problems = sri.check(false);
    assert(problems.length === 0, problems.join('\n') + '\n(run: node tests/browser/sri.js --write)');
  });

  await step('assets: versioned URLs are immutable with an ETag and CORS; other versions and templates are not served', async () => {
    let r = await fetch(`${BASE}/v/${VER}/widget.js`);
    eq(r.status, 200, 'versioned status');
    assert(/immutable/.test(r.headers.get('cache-control')), 'immutable: ' + r.headers.get('cache-control'));
    assert(/max-age=31536000/.test(r.headers.get('cache-control')), 'a year');
    eq(r.headers.get('access-control-allow-origin'), '*', 'CORS');
    eq(r.headers.get('content-type'), 'text/javascript; charset=utf-8', 'content type');
    const etag = r.headers.get('etag');
    assert(/^"[0-9a-f]{16}"$/.test(etag), 'etag ' + etag);
    r = await fetch(`${BASE}/v/${VER}/widget.js`, { headers: { 'If-None-Match': etag } });
    eq(r.status, 304, 'If-None-Match');
    eq(r.headers.get('content-length'), null, 'no Content-Length on a 304 (RFC 9110 8.6)');
    r = await fetch(`${BASE}/v/0.0.1/widget.js`);
    eq(r.status, 404, 'a version never released');
    // Released versions stay, byte for byte: pages pin them with SRI.
    r = await fetch(`${BASE}/v/0.1.0/widget.js`);
    eq(r.status, 200, 'the 0.1.0 widget');
    eq('sha384-' + crypto.createHash('sha384').update(Buffer.from(await r.arrayBuffer())).digest('base64'),
      'sha384-EIsV7KuXklFFSsr2lGIa9X+Rp0ZYRa+FpsWL3A+RWAVd3UDQ7EhNILur4UTD2zHe', 'as released (its published SRI)');
    assert(/immutable/.test(r.headers.get('cache-control')), '0.1.0 immutable too');
    r = await fetch(`${BASE}/v/0.1.0/i18n/cy.json`);
    eq(r.status, 200, 'and its strings');
    r = await fetch(`${BASE}/v/${VER}/v/0.1.0/widget.js`);
    eq(r.status, 404, 'a released file only under its own version');
    r = await fetch(`${BASE}/demo.html`);
    eq(r.status, 404, 'the demo template');
    r = await fetch(`${BASE}/v/${VER}/../widget.js`);
    assert(r.status === 404 || r.status === 200, 'dot segments');
    r = await fetch(`${BASE}/widget.js`);
    assert(/max-age=300/.test(r.headers.get('cache-control')), 'unversioned: five minutes');
    r = await fetch(`${BASE}/dashboard`, { redirect: 'manual' });
    eq(r.status, 301, '/dashboard redirects');
    r = await fetch(`${BASE}/dashboard/`);
    assert(/script-src 'self'/.test(r.headers.get('content-security-policy')), 'dashboard CSP');
  });

  await step('demo page: both widgets embedded, served under a strict CSP, no violation or error', async () => {
    const { ctx, page, log } = await open();
    const resp = await page.goto(BASE + '/');
    const csp = resp.headers()['content-security-policy'];
    assert(csp && !/unsafe-inline|unsafe-eval/.test(csp) && /script-src 'self'/.test(csp), 'CSP: ' + csp);
    await page.locator('.th-fb button', { hasText: 'Yes' }).waitFor();
    await page.locator('.th-idea').first().waitFor();
    eq(await page.locator('.th-idea').count(), 5, 'seeded ideas shown');
    await noCspTrouble(page, log, 'the demo page');
    if (SHOTS !== 'none') await page.screenshot({ path: path.join(SHOTS, 'demo-page.png'), fullPage: true, animations: 'disabled' });
    await ctx.close();
  });

  await step('feedback with JavaScript: Yes, then a rating and a comment amend the same record, then thanks', async () => {
    const { ctx, page, log } = await open();
    await page.goto(BASE + '/');
    const posts = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/feedback')) {
        posts.push({ body: r.postDataJSON(), key: r.headers()['idempotency-key'] });
      }
    });
    const answers = [];
    page.on('response', async (r) => {
      if (r.request().method() === 'POST' && r.url().endsWith('/feedback')) {
        const d = await r.json();
        answers.push(d);
        probe('handle', d.answer);
      }
    });
    await fb(page).locator('button', { hasText: 'Yes' }).waitFor();
    await axe(page, 'the feedback widget, question state (English)');
    await shot(fb(page), 'feedback-en-1-question');
    await fb(page).locator('button', { hasText: 'Yes' }).click();
    await fb(page).locator('.th-h', { hasText: 'Tell us more' }).waitFor();
    await axe(page, 'the feedback widget, rating state (English)');
    await fb(page).getByLabel('4 Good').check();
    await fb(page).getByLabel('Comments (optional)').fill('Clear and short, thank you.');
    await shot(fb(page), 'feedback-en-2-rating');
    await fb(page).locator('button', { hasText: 'Send' }).click();
    await fb(page).locator('.th-h', { hasText: 'Thank you for your feedback' }).waitFor();
    await axe(page, 'the feedback widget, thanks state (English)');
    await shot(fb(page), 'feedback-en-3-thanks');
    eq(await fb(page).locator('[role=status]').textContent(), 'Thank you for your feedback', 'announced');
    eq(posts.length, 2, 'two posts');
    eq(posts[0].body, { page: BASE + '/', useful: 'yes' }, 'the first post');
    assert(/^[0-9a-f]{32}$/.test(posts[0].key || ''), 'an idempotency key made in the page: ' + posts[0].key);
    const handle = answers[0] && answers[0].answer;
    assert(/^[A-Za-z0-9_-]{22}$/.test(handle || ''), 'the first answer returns a handle');
    eq(posts[1].body, { rating: 4, comment: 'Clear and short, thank you.', page: BASE + '/', answer: handle },
      'the second post amends through the handle');
    eq(posts[1].key, undefined, 'no key on the amendment');
    assert(!(await page.evaluate(() => document.cookie + JSON.stringify(localStorage) +
      JSON.stringify(sessionStorage) + location.href)).includes(handle), 'the handle in no cookie, storage or URL');
    const s = await summary(BASE + '/');
    eq([s.yes, s.no, s.responses, s.ratings, s.comments], [1, 0, 1, [0, 0, 0, 1, 0], 1], 'one amended record');
    await noCspTrouble(page, log, 'the demo page');
    await ctx.close();
  });

  await step('feedback with JavaScript: two residents on one device (one address, one browser) are two answers', async () => {
    const target = OTHER + '/council/shared-computer';
    const userAgent = 'Mozilla/5.0 (X11; Linux x86_64) townhall-library-pc/1 Chrome/120';
    probe('ua', userAgent);
    for (const [answer, rating] of [['Yes', '5 Very good'], ['No', '1 Very poor']]) {
      const { ctx, page } = await open({ userAgent });
      await councilPage(ctx, 'shared-computer', { ideas: false });
      await page.goto(target);
      await fb(page).locator('button', { hasText: answer }).click();
      await fb(page).getByLabel(rating).check();
      await fb(page).locator('button', { hasText: 'Send' }).click();
      await fb(page).locator('.th-h', { hasText: 'Thank you for your feedback' }).waitFor();
      await ctx.close();
    }
    const s = await summary(target);
    eq([s.yes, s.no, s.responses, s.ratings], [1, 1, 2, [1, 0, 0, 0, 1]], 'both answers kept, each with its own rating');
  });

  await step('the 0.1.0 snippet documented in docs/embedding.md, on a page against this server: Yes then a rating counts once', async () => {
    const doc = fs.readFileSync(path.join(SRC, 'docs', 'embedding.md'), 'utf8');
    const block = doc.split('```html\n').map((b) => b.split('```')[0]).find((b) => b.includes('/v/0.1.0/widget.js'));
    assert(block, 'the 0.1.0 snippet in docs/embedding.md');
    const script = block.replace(/https:\/\/feedback\.example\.gov\.uk/g, BASE);
    const target = OTHER + '/council/still-on-010';
    const { ctx, page, log } = await open();
    const posts = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/feedback')) posts.push(r.postDataJSON());
    });
    await councilPage(ctx, 'still-on-010', { ideas: false, script });
    await page.goto(target);
    await fb(page).locator('button', { hasText: 'Yes' }).click();
    await fb(page).getByLabel('3 OK').check();
    await fb(page).getByLabel('Comments (optional)').fill('Still on the old widget.');
    await fb(page).locator('button', { hasText: 'Send' }).click();
    await fb(page).locator('.th-h', { hasText: 'Thank you for your feedback' }).waitFor();
    eq(posts.length, 2, 'the 0.1.0 widget posted twice');
    eq(posts[1].answer, undefined, 'its second post carries no handle');
    const s = await summary(target);
    eq([s.yes, s.responses, s.ratings, s.comments], [1, 1, [0, 0, 1, 0, 0], 1],
      'one answer, amended by the follow-up');
    await noCspTrouble(page, log, 'a page still on 0.1.0');
    await ctx.close();
  });

  await step('feedback without JavaScript: the form posts, answered by the localised thank-you page, recorded', async () => {
    const { ctx, page } = await open({ javaScriptEnabled: false });
    await page.goto(OTHER + '/');
    const form = page.locator('form.th-fb');
    eq(await form.getAttribute('method'), 'post', 'method');
    eq(await form.getAttribute('action'), '/v1/sites/demo/feedback', 'action');
    eq(await page.locator('form.th-fb input[name=website]').isVisible(), false, 'the honeypot is hidden');
    await shot(fb(page), 'feedback-en-0-no-javascript');
    await page.getByLabel('No', { exact: true }).check();
    await page.getByLabel('2 Poor').check();
    await page.getByLabel('Comments (optional)').fill('I could not find the collection days.');
    // The form carries a signed timestamp: a human takes at least 2 s.
    await page.waitForTimeout(2200);
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.locator('form.th-fb button[type=submit]').click()
    ]);
    eq(resp.status(), 200, 'the post is answered with the thank-you page');
    eq(resp.headers().location, undefined, 'no redirect: nothing in a URL');
    eq(resp.headers()['cache-control'], 'no-store', 'not cached');
    await page.locator('h1', { hasText: 'Thank you for your feedback' }).waitFor();
    eq(await page.locator('a', { hasText: 'Go back' }).getAttribute('href'), OTHER + '/', 'the link back');
    eq(await page.locator('form').count(), 0, 'everything was given: no follow-up form');
    await shot(page.locator('main'), 'thanks-en-no-javascript');
    const s = await summary(OTHER + '/');
    eq([s.yes, s.no, s.ratings, s.comments], [0, 1, [0, 1, 0, 0, 0], 1], 'recorded');
    await ctx.close();
  });

  await step('feedback without JavaScript: only Yes, then the thank-you page asks for more and amends that answer', async () => {
    const target = OTHER + '/council/follow-up';
    // /form and the thank-you page run no script: JavaScript stays on here
    // only so that axe-core can audit them.
    const { ctx, page } = await open();
    await page.goto(`${BASE}/form?site=demo&page=${encodeURIComponent(target)}`);
    await page.getByLabel('Yes', { exact: true }).check();
    await page.waitForTimeout(2200);
    await page.locator('button[type=submit]').click();
    await page.locator('h2', { hasText: 'Tell us more' }).waitFor();
    eq(await page.locator('input[name=answer]').count(), 1, 'the follow-up carries the handle');
    probe('handle', await page.locator('input[name=answer]').getAttribute('value'));
    assert(!page.url().includes(await page.locator('input[name=answer]').getAttribute('value')),
      'the handle is not in the URL');
    await axe(page, 'the thank-you page with its follow-up form');
    await shot(page.locator('main'), 'thanks-en-follow-up');
    await page.getByLabel('5 Very good').check();
    await page.getByLabel('Comments (optional)').fill('Found it at once.');
    await page.waitForTimeout(2200);
    await page.locator('button[type=submit]').click();
    await page.locator('h1', { hasText: 'Thank you for your feedback' }).waitFor();
    eq(await page.locator('form').count(), 0, 'no second follow-up');
    const s = await summary(target);
    eq([s.yes, s.responses, s.ratings, s.comments], [1, 1, [0, 0, 0, 0, 1], 1], 'one answer, amended');
    await ctx.close();
  });

  await step('feedback without JavaScript in Arabic: /form and /thanks speak Arabic, right to left', async () => {
    const { ctx, page } = await open({ javaScriptEnabled: false });
    const target = OTHER + '/council/arabic-no-js';
    await page.goto(`${BASE}/form?site=demo&lang=ar&page=${encodeURIComponent(target)}`);
    eq(await page.locator('html').getAttribute('dir'), 'rtl', 'dir');
    eq(await page.locator('legend').first().textContent(), 'هل هذه الصفحة مفيدة؟', 'question');
    await page.getByLabel('نعم').check();
    await page.waitForTimeout(2200);
    await page.locator('button[type=submit]').click();
    await page.locator('h1', { hasText: 'شكرًا لك على ملاحظاتك' }).waitFor();
    eq(await page.locator('html').getAttribute('lang'), 'ar', 'lang');
    eq(await page.locator('h1').textContent(), 'شكرًا لك على ملاحظاتك', 'thanks');
    eq(await page.locator('main a').getAttribute('href'), target, 'back link');
    eq(await page.locator('h2').textContent(), 'شكرًا لك. أخبرنا بالمزيد (اختياري)', 'the follow-up, in Arabic');
    await shot(page.locator('main'), 'thanks-ar-no-javascript');
    const s = await summary(target);
    eq(s.yes, 1, 'recorded');
    await ctx.close();
  });

  await step('feedback without JavaScript: the HTML snippet in docs/embedding.md, pasted into a council page, works', async () => {
    const doc = fs.readFileSync(path.join(SRC, 'docs', 'embedding.md'), 'utf8');
    const block = doc.split('```html\n').map((b) => b.split('```')[0]).find((b) => b.includes('method="post"'));
    assert(block, 'the snippet in docs/embedding.md');
    const target = OTHER + '/council/docs-snippet';
    const snippet = block.split('\n').map((l) => l.replace(/^ {3}/, '')).join('\n')
      .replace(/https:\/\/feedback\.example\.gov\.uk/g, BASE)
      .replace(/bins-council/g, 'demo')
      .replace('https://www.example.gov.uk/bins', target);
    const { ctx, page } = await open({ javaScriptEnabled: false });
    await ctx.route(target, (route) => route.fulfill({
      status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': STRICT_CSP() },
      body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Snippet</title>
<link rel="icon" href="/v/${VER}/favicon.svg"><link rel="stylesheet" href="${BASE}/v/${VER}/widget.css"></head>
<body><main><h1>Pasted snippet</h1>${snippet}</main></body></html>`
    }));
    await page.goto(target);
    await page.getByLabel('Yes', { exact: true }).check();
    await page.getByLabel('3 OK').check();
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.locator('button[type=submit]').click()
    ]);
    eq(resp.status(), 200, 'the post is answered with the thank-you page');
    await page.locator('h1', { hasText: 'Thank you for your feedback' }).waitFor();
    eq(await page.locator('main a').getAttribute('href'), target, 'the link back');
    const s = await summary(target);
    eq([s.yes, s.ratings[2]], [1, 1], 'recorded');
    await ctx.close();
  });

  await step('thank-you page links back only to the site\'s own origins', async () => {
    let r = await fetch(`${BASE}/thanks?site=demo&lang=cy&return=${encodeURIComponent('https://evil.example/phish')}`);
    let html = await r.text();
    assert(!/evil\.example/.test(html) && !/<a /.test(html), 'no link to a foreign origin');
    assert(/Diolch am eich adborth/.test(html), 'Welsh');
    r = await fetch(`${BASE}/thanks?site=demo&return=${encodeURIComponent('javascript:alert(1)')}`);
    html = await r.text();
    assert(!/<a /.test(html), 'no javascript: link');
    r = await fetch(`${BASE}/thanks?site=demo&return=${encodeURIComponent(OTHER + '/bins?x=1')}`);
    html = await r.text();
    assert(html.includes(`<a href="${OTHER}/bins">`), 'a link to the site, query dropped: ' + html);
    r = await fetch(`${BASE}/form?site=demo&page=${encodeURIComponent('https://evil.example/')}`);
    eq(r.status, 404, 'no form for a foreign page');
    r = await fetch(`${BASE}/form?site=demo&fragment=1&lang=so&page=${encodeURIComponent(OTHER + '/x')}`);
    html = await r.text();
    assert(html.startsWith('<div class="townhall-feedback"'), 'a fragment');
    assert(html.includes(`action="//127.0.0.1:${port}/v1/sites/demo/feedback"`), 'absolute action: ' + html.slice(0, 400));
    assert(html.includes('Boggan ma waxtar buu leeyahay?'), 'Somali');
  });

  await step('feedback widget under a strict CSP on a council origin: whole flow, no violation, no console error', async () => {
    const { ctx, page, log } = await open();
    // The CSP really is enforced on these pages: an inline script is refused.
    await ctx.route(OTHER + '/canary', (route) => route.fulfill({
      status: 200, headers: { 'Content-Type': 'text/html', 'Content-Security-Policy': STRICT_CSP() },
      body: '<!doctype html><title>c</title><script>window.ran = 1</script>'
    }));
    await page.goto(OTHER + '/canary');
    eq(await page.evaluate(() => window.ran), undefined, 'inline script under the CSP');
    assert((await page.evaluate(() => window.__csp)).length > 0, 'the canary violation was seen');
    log.errors.length = 0;
    const url = await councilPage(ctx, 'parking');
    await page.goto(url);
    await fb(page).locator('button', { hasText: 'Yes' }).click();
    await fb(page).getByLabel('5 Very good').check();
    await fb(page).locator('textarea').fill('Found the permit form straight away.');
    await fb(page).locator('button', { hasText: 'Send' }).click();
    await fb(page).locator('.th-h', { hasText: 'Thank you for your feedback' }).waitFor();
    await page.locator('.th-idea').first().waitFor();
    await noCspTrouble(page, log, 'the council page');
    const s = await summary(url);
    eq([s.yes, s.ratings[4], s.comments], [1, 1, 1], 'recorded from the council origin');
    await ctx.close();
  });

  await step('feedback widget by keyboard alone: Tab, Enter, arrows, typing; visible focus; focus moves with the flow', async () => {
    const { ctx, page, log } = await open();
    const url = await councilPage(ctx, 'keyboard', { ideas: false });
    await page.goto(url);
    await fb(page).locator('button', { hasText: 'Yes' }).waitFor();
    let found = false;
    for (let i = 0; i < 30 && !found; i++) {
      await page.keyboard.press('Tab');
      found = await page.evaluate(() => document.activeElement.textContent === 'Yes');
    }
    assert(found, 'Tab reaches Yes');
    const ring = await page.evaluate(() => {
      const s = getComputedStyle(document.activeElement);
      return { style: s.outlineStyle, width: parseFloat(s.outlineWidth), shadow: s.boxShadow };
    });
    assert(ring.style !== 'none' && ring.width >= 2, 'visible focus: ' + JSON.stringify(ring));
    await page.keyboard.press('Enter');
    await fb(page).locator('.th-h', { hasText: 'Tell us more' }).waitFor();
    eq(await page.evaluate(() => document.activeElement.textContent), 'Thank you. Tell us more (optional)', 'focus moved to the next step');
    await page.keyboard.press('Tab');
    eq(await page.evaluate(() => document.activeElement.value), '1', 'first rating');
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
    eq(await page.evaluate(() => document.querySelector('.th-fb :checked').value), '4', 'arrows choose 4');
    await page.keyboard.press('Tab');
    eq(await page.evaluate(() => document.activeElement.tagName), 'TEXTAREA', 'then the comment');
    await page.keyboard.type('Typed with the keyboard only.');
    await page.keyboard.press('Tab');
    eq(await page.evaluate(() => document.activeElement.textContent), 'Send', 'then Send');
    await page.keyboard.press('Enter');
    await fb(page).locator('.th-h', { hasText: 'Thank you for your feedback' }).waitFor();
    eq(await page.evaluate(() => document.activeElement.textContent), 'Thank you for your feedback', 'focus on the thanks');
    const s = await summary(url);
    eq([s.yes, s.ratings[3], s.comments], [1, 1, 1], 'recorded');
    await noCspTrouble(page, log, 'the keyboard page');
    await ctx.close();
  });

  await step('feedback widget: targets at least 24×24 px, reduced motion respected, council theme inherited', async () => {
    const { ctx, page } = await open();
    const url = await councilPage(ctx, 'theme', { ideas: false });
    await page.goto(url);
    const yes = fb(page).locator('button', { hasText: 'Yes' });
    await yes.waitFor();
    const look = await yes.evaluate((b) => {
      const s = getComputedStyle(b);
      return { colour: s.borderTopColor, font: s.fontFamily };
    });
    eq(look.colour, 'rgb(123, 45, 142)', 'the council accent colour');
    assert(/Georgia/.test(look.font), 'the council font: ' + look.font);
    eq(await fb(page).locator('.th-fb').evaluate((e) => getComputedStyle(e).animationName), 'th-in', 'animated normally');
    await yes.click();
    await fb(page).locator('.th-h', { hasText: 'Tell us more' }).waitFor();
    const small = await page.evaluate(() => Array.from(document.querySelectorAll('.th-fb button, .th-fb .th-opt, .th-fb textarea'))
      .map((e) => e.getBoundingClientRect()).filter((r) => r.width < 24 || r.height < 24).length);
    eq(small, 0, 'targets under 24×24 px');
    await ctx.close();
    const reduced = await open({ reducedMotion: 'reduce' });
    await councilPage(reduced.ctx, 'theme', { ideas: false });
    await reduced.page.goto(url);
    await fb(reduced.page).locator('button', { hasText: 'Yes' }).click();
    await fb(reduced.page).locator('.th-h', { hasText: 'Tell us more' }).waitFor();
    eq(await fb(reduced.page).locator('.th-fb').evaluate((e) => getComputedStyle(e).animationName), 'none', 'no animation with reduced motion');
    await reduced.ctx.close();
  });

  const LANGS = {
    cy: "Ydy'r dudalen hon yn ddefnyddiol?", bn: 'এই পৃষ্ঠাটি কি উপকারী?',
    so: 'Boggan ma waxtar buu leeyahay?', ar: 'هل هذه الصفحة مفيدة؟', fr: 'Is this page useful?'
  };
  for (const [lang, question] of Object.entries(LANGS)) {
    await step(`feedback widget speaks the page's language: ${lang}${lang === 'fr' ? ' (not carried: English)' : ''}`, async () => {
      const { ctx, page, log } = await open();
      const url = await councilPage(ctx, 'lang-' + lang, { lang, dir: lang === 'ar' ? 'rtl' : 'ltr', ideas: false });
      await page.goto(url);
      await fb(page).locator('.th-h').waitFor();
      eq(await fb(page).locator('.th-h').textContent(), question, 'question');
      eq(await fb(page).locator('.th-fb').getAttribute('dir'), lang === 'ar' ? 'rtl' : 'ltr', 'direction');
      eq(await fb(page).locator('.th-fb').getAttribute('lang'), lang === 'fr' ? 'en' : lang, 'lang of the widget');
      await noCspTrouble(page, log, 'a ' + lang + ' page');
      await ctx.close();
    });
  }

  await step('feedback widget in Arabic, right to left: question, rating and thanks states', async () => {
    const { ctx, page, log } = await open();
    const url = await councilPage(ctx, 'arabic', { lang: 'ar', dir: 'rtl', ideas: false });
    await page.goto(url);
    const strings = JSON.parse(fs.readFileSync(path.join(SRC, 'web', 'i18n', 'ar.json'), 'utf8'));
    await fb(page).locator('button', { hasText: strings.yes }).waitFor();
    await axe(page, 'the feedback widget, question state (Arabic)');
    await shot(fb(page), 'feedback-ar-1-question');
    await fb(page).locator('button', { hasText: strings.yes }).click();
    await fb(page).locator('.th-h', { hasText: strings.more }).waitFor();
    await fb(page).getByLabel(strings.rating_4).check();
    await fb(page).locator('textarea').fill('الصفحة واضحة');
    await axe(page, 'the feedback widget, rating state (Arabic)');
    await shot(fb(page), 'feedback-ar-2-rating');
    await fb(page).locator('button', { hasText: strings.send }).click();
    await fb(page).locator('.th-h', { hasText: strings.thanks }).waitFor();
    await axe(page, 'the feedback widget, thanks state (Arabic)');
    await shot(fb(page), 'feedback-ar-3-thanks');
    // The rating runs right to left: 1 is rightmost.
    await noCspTrouble(page, log, 'the Arabic page');
    await ctx.close();
  });

  await step('ideas widget in Arabic, right to left', async () => {
    const { ctx, page, log } = await open();
    const url = await councilPage(ctx, 'arabic-ideas', { lang: 'ar', dir: 'rtl', feedback: false, token: resident });
    await page.goto(url);
    const ideas = page.locator('[data-townhall-ideas]');
    await ideas.locator('.th-idea').first().waitFor();
    eq(await ideas.locator('h2').textContent(), 'أفكار من السكان', 'heading');
    eq(await ideas.locator('section').getAttribute('dir'), 'rtl', 'direction');
    await ideas.locator('.th-status', { hasText: 'قيد المراجعة' }).waitFor();
    await axe(page, 'the ideas widget, signed in (Arabic)');
    await shot(ideas, 'ideas-ar-signed-in');
    await noCspTrouble(page, log, 'the Arabic ideas page');
    await ctx.close();
  });

  await step('accessibility of the no-JavaScript form and the thank-you page', async () => {
    const { ctx, page } = await open();
    // The widget script blocked: what a reader without JavaScript gets.
    await ctx.route(`${BASE}/v/${VER}/widget.js`, (r) => r.abort());
    await page.goto(BASE + '/');
    await page.locator('form.th-fb').waitFor();
    await axe(page, 'the demo page with the no-JavaScript form');
    await page.goto(`${BASE}/form?site=demo&lang=ar&page=${encodeURIComponent(OTHER + '/x')}`);
    await axe(page, 'the /form page (Arabic)');
    await page.goto(`${BASE}/thanks?site=demo&lang=bn&return=${encodeURIComponent(OTHER + '/x')}`);
    await axe(page, 'the /thanks page (Bengali)');
    await ctx.close();
  });

  // ---- ideas ----
  let benchId = 0;
  await step('ideas widget: sign in, vote up, withdraw, vote down, submit an idea; the API agrees', async () => {
    const { ctx, page, log } = await open();
    await page.goto(BASE + '/');
    const ideas = page.locator('[data-townhall-ideas]');
    await ideas.locator('.th-idea').first().waitFor();
    eq(await ideas.getByRole('button', { name: 'Support', exact: true }).count(), 0, 'no vote buttons before signing in');
    await axe(page, 'the ideas widget, signed out');
    await page.locator('#demo-sign-in').click();
    await ideas.locator('form').waitFor();
    const trees = ideas.locator('.th-idea', { hasText: 'Plant street trees' });
    await trees.locator('text=3 for, 0 against').waitFor();
    await trees.getByRole('button', { name: 'Support', exact: true }).click();
    await trees.locator('text=4 for, 0 against').waitFor();
    eq(await trees.getByRole('button', { name: 'Support', exact: true }).getAttribute('aria-pressed'), 'true', 'pressed');
    eq(await ideas.locator('.th-live').textContent(), 'Your vote has been saved.', 'announced');
    await axe(page, 'the ideas widget, signed in after a vote');
    await shot(ideas, 'ideas-en-signed-in');
    await trees.locator('button', { hasText: 'Withdraw my vote' }).click();
    await trees.locator('text=3 for, 0 against').waitFor();
    eq(await page.evaluate(() => document.activeElement.textContent), 'Support', 'focus after withdrawing');
    await trees.locator('button', { hasText: 'Oppose' }).click();
    await trees.locator('text=3 for, 1 against').waitFor();
    const list = await api('GET', '/ideas?sort=new&limit=100');
    const t = list.json.items.find((i) => i.title.startsWith('Plant street trees'));
    eq([t.votes.up, t.votes.down], [3, 1], 'the API counts');
    const form = ideas.locator('form');
    await form.getByLabel('Title').fill('A bench by the duck pond');
    await form.getByLabel('Describe your idea').fill('Somewhere to sit and watch the ducks.');
    await form.getByLabel('Category (optional)').fill('parks');
    await form.getByLabel('Ward (optional)').fill('North');
    await form.locator('button[type=submit]').click();
    await ideas.locator('form .th-hint', { hasText: 'Thank you. Your idea has been published.' }).waitFor();
    await ideas.locator('button', { hasText: 'Newest' }).click();
    const mine = ideas.locator('.th-idea').first();
    await mine.locator('text=A bench by the duck pond').waitFor();
    await mine.getByRole('button', { name: 'Support', exact: true }).click();
    await mine.locator('text=1 for, 0 against').waitFor();
    const after = await api('GET', '/ideas?sort=new&limit=100');
    const bench = after.json.items.find((i) => i.title === 'A bench by the duck pond');
    assert(bench && bench.category === 'parks' && bench.ward === 'North' && bench.status === 'published', 'the idea: ' + JSON.stringify(bench));
    benchId = bench.id;
    await noCspTrouble(page, log, 'the demo page');
    await ctx.close();
  });

  await step('ideas widget: a site with lists of wards and categories offers them as a choice', async () => {
    const set = (...args) => execFileSync(BIN, ['site', 'set', 'demo', ...args, '--db', db], { stdio: 'pipe' });
    set('--wards', 'North,South', '--categories', 'Parks,Roads and pavements');
    try {
      const { ctx, page, log } = await open();
      await page.goto(BASE + '/');
      const ideas = page.locator('[data-townhall-ideas]');
      await ideas.locator('.th-idea').first().waitFor();
      await page.locator('#demo-sign-in').click();
      const form = ideas.locator('form');
      await form.waitFor();
      const category = form.getByLabel('Category (optional)');
      eq(await category.evaluate((e) => e.tagName), 'SELECT', 'a list, not a text box');
      eq(await category.locator('option').allTextContents(), ['Not given', 'Parks', 'Roads and pavements'], 'its choices');
      eq(await form.getByLabel('Ward (optional)').locator('option').allTextContents(), ['Not given', 'North', 'South'], 'the wards');
      await axe(page, 'the ideas form with lists');
      // What the widget posts is the point here (the server's side is
      // tests/api's Vocabularies): the post is answered in the browser, so
      // that the demo's ideas stay as the later steps expect them.
      let sent = null;
      await page.route('**/v1/sites/demo/ideas', (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        sent = route.request().postDataJSON();
        return route.fulfill({ status: 201, contentType: 'application/json',
          headers: { 'Access-Control-Allow-Origin': BASE },
          body: JSON.stringify({ id: 999999, status: 'published' }) });
      });
      await form.getByLabel('Title').fill('Swings for the small park');
      await category.selectOption({ label: 'Roads and pavements' });
      await form.locator('button[type=submit]').click();
      await ideas.locator('form .th-hint', { hasText: 'Thank you.' }).waitFor();
      eq(sent, { title: 'Swings for the small park', category: 'Roads and pavements' },
        'the chosen category is sent; "Not given" sends no ward');
      eq(await category.inputValue(), '', 'the form is reset to "Not given"');
      await noCspTrouble(page, log, 'the demo page with lists');
      await ctx.close();
    } finally {
      set('--wards', '', '--categories', '');
    }
  });

  // ---- the dashboard ----
  async function dashboard(site = 'demo') {
    const o = await open();
    await o.page.goto(`${BASE}/dashboard/?site=${site}`);
    return o;
  }
  async function signIn(page, token) {
    await page.getByLabel('Staff token').fill(token);
    await page.locator('#sign-in-form button[type=submit]').click();
    await page.locator('#view-ideas h1').waitFor();
  }

  await step('dashboard: a wrong token is refused; the right one signs in; the token is in no cookie or storage', async () => {
    const { ctx, page, log } = await dashboard();
    await axe(page, 'the dashboard sign-in page');
    await page.getByLabel('Staff token').fill('th_1_not-a-real-token');
    await page.locator('#sign-in-form button[type=submit]').click();
    await page.locator('#sign-in-error', { hasText: 'not accepted' }).waitFor();
    log.errors.length = 0; // the browser logs the 401 it was meant to get
    await signIn(page, staff);
    const kept = await page.evaluate(() => ({ c: document.cookie, l: localStorage.length, s: sessionStorage.length }));
    eq(kept, { c: '', l: 0, s: 0 }, 'cookie and storage');
    eq(await ctx.cookies(), [], 'cookies in the browser');
    await page.locator('#ideas-table tbody tr').first().waitFor();
    await page.locator('#sign-out').click();
    await page.locator('#view-sign-in h1').waitFor();
    eq(await page.locator('#ideas-table tbody tr').count(), 0, 'signing out clears what was read');
    await signIn(page, staff);
    await page.reload();
    await page.locator('#view-sign-in h1').waitFor();
    assert(await page.locator('#view-sign-in').isVisible(), 'a reload signs out');
    await noCspTrouble(page, log, 'the dashboard');
    await ctx.close();
  });

  await step('dashboard: a councillor sets a status and response, and the ideas widget shows them', async () => {
    assert(benchId, 'the idea from the ideas test');
    const { ctx, page, log } = await dashboard();
    await signIn(page, staff);
    await page.locator('#ideas-table a', { hasText: 'A bench by the duck pond' }).click();
    await page.locator('#idea-title', { hasText: 'A bench by the duck pond' }).waitFor();
    await axe(page, 'the dashboard idea detail');
    await page.locator('#s-status').selectOption('accepted');
    await page.locator('#s-response').fill('We will put a bench by the pond this spring.');
    await page.locator('#status-form button[type=submit]').click();
    await page.locator('#status-saved').waitFor();
    await shot(page.locator('main'), 'dashboard-2-idea');
    const i = await api('GET', '/ideas/' + benchId);
    eq([i.json.status, i.json.response && i.json.response.text], ['accepted', 'We will put a bench by the pond this spring.'], 'the API');
    await noCspTrouble(page, log, 'the dashboard');
    await ctx.close();
    const w = await open();
    await w.page.goto(BASE + '/');
    const ideas = w.page.locator('[data-townhall-ideas]');
    await ideas.locator('.th-idea').first().waitFor();
    await ideas.locator('button', { hasText: 'Newest' }).click();
    const item = ideas.locator('.th-idea', { hasText: 'A bench by the duck pond' });
    await item.locator('.th-status', { hasText: 'Accepted' }).waitFor();
    await item.locator('text=We will put a bench by the pond this spring.').waitFor();
    await shot(ideas, 'ideas-en-status-and-response');
    await w.ctx.close();
  });

  await step('dashboard: filters (status, ward, category, date range) and sorts', async () => {
    const { ctx, page, log } = await dashboard();
    await signIn(page, staff);
    await page.locator('#ideas-table tbody tr').first().waitFor();
    await axe(page, 'the dashboard proposals page');
    const rows = async () => page.locator('#ideas-table tbody tr').evaluateAll((trs) => trs.filter((tr) => tr.querySelector('th')).map((tr) => tr.querySelector('th').textContent));
    const apply = async (set) => {
      await page.locator('#filters').evaluate((f) => f.reset());
      for (const [k, v] of Object.entries(set)) {
        const e = page.locator(`#filters [name=${k}]`);
        if (await e.evaluate((x) => x.tagName) === 'SELECT') await e.selectOption(v);
        else await e.fill(v);
      }
      // Emptied here, filled again by the dashboard once the answer is in.
      await page.locator('#ideas-table tbody').evaluate((b) => { b.textContent = ''; });
      await page.locator('#filters button[type=submit]').click();
      await page.locator('#ideas-table tbody tr').first().waitFor();
      return rows();
    };
    eq(await apply({ category: 'libraries' }), ['Longer library opening hours on Saturdays'], 'category');
    eq(await apply({ ward: 'North' }), ['A bench by the duck pond'], 'ward');
    eq(await apply({ status: 'under_review' }), ['Safer crossing outside the primary school'], 'status');
    eq(await apply({ status: 'accepted' }), ['A bench by the duck pond'], 'status accepted');
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86400000).toISOString().slice(0, 10);
    eq((await apply({ from: tomorrow })).length, 0, 'from tomorrow');
    eq((await apply({ to: yesterday })).length, 0, 'to yesterday');
    const pub = (await api('GET', '/ideas?limit=100')).json.items.length;
    eq((await apply({ from: today, to: today })).length, pub, 'today, public statuses');
    eq((await apply({ sort: 'new' }))[0], 'A bench by the duck pond', 'newest first');
    const top = await apply({ sort: 'top' });
    eq(top[0], 'More bins along the canal towpath', 'most supported first');
    eq(await page.locator('#ideas-chart-table tbody tr').count(), Math.min(top.length, 10), 'the chart table follows the view');
    eq(await page.locator('#ideas-chart svg rect.a').count(), Math.min(top.length, 10) + 1, 'a bar per proposal (and the key)');
    await shot(page.locator('main'), 'dashboard-1-proposals');
    await noCspTrouble(page, log, 'the dashboard');
    await ctx.close();
  });

  await step('dashboard: CSV export of a filtered view: UTF-8 BOM, formula cells neutralised, numbers kept', async () => {
    const r = await api('POST', '/ideas', { token: resident, body: { title: '=HYPERLINK("https://evil.example","x")', body: 'A formula.', category: 'formulas', ward: '@ward' } });
    assert(r.status === 201, 'submitting the formula idea: ' + r.text);
    const { ctx, page } = await dashboard();
    await signIn(page, staff);
    await page.locator('#f-category').fill('formulas');
    await page.locator('#filters button[type=submit]').click();
    await page.locator('#ideas-table tbody tr').first().waitFor();
    const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('#ideas-csv').click()]);
    eq(dl.suggestedFilename(), 'demo-ideas.csv', 'file name');
    const buf = fs.readFileSync(await dl.path());
    eq([...buf.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'BOM');
    const lines = buf.toString('utf8').slice(1).trim().split('\r\n');
    eq(lines.length, 2, 'header and one filtered row: ' + lines.join(' | '));
    eq(lines[0], 'id,consultation,title,status,category,ward,up,down,anon_up,anon_down,created,response', 'header');
    const row = lines[1];
    assert(row.includes(`"'=HYPERLINK(""https://evil.example"",""x"")"`), 'neutralised title: ' + row);
    assert(row.includes(`,"'@ward",0,0,0,0,`), 'neutralised ward and numbers as numbers: ' + row);
    // The page-feedback export.
    await page.locator('a[data-nav=feedback]').click();
    await page.locator('#pages-table tbody tr').first().waitFor();
    const [dl2] = await Promise.all([page.waitForEvent('download'), page.locator('#pages-csv').click()]);
    const buf2 = fs.readFileSync(await dl2.path());
    eq([...buf2.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'BOM (pages)');
    const p = buf2.toString('utf8').slice(1).split('\r\n');
    eq(p[0], 'page,yes,no,rating_1,rating_2,rating_3,rating_4,rating_5,rating_mean,useful_lower,comments', 'pages header');
    assert(p.some((l) => l.startsWith(OTHER + '/,0,1,0,1,')), 'the no-JS answer in the pages CSV');
    await ctx.close();
  });

  await step('dashboard: page feedback worst first, charts with their tables, comments', async () => {
    const { ctx, page, log } = await dashboard();
    await signIn(page, staff);
    await page.locator('a[data-nav=feedback]').click();
    await page.locator('#pages-table tbody tr').first().waitFor();
    const first = await page.locator('#pages-table tbody tr').first().locator('th').textContent();
    eq(first, OTHER + '/', 'the only page with a No comes first');
    const chart = await page.locator('#pages-chart-table tbody tr').count();
    eq(await page.locator('#pages-chart svg[role=img]').count(), 1, 'an SVG chart');
    eq(chart, Math.min(await page.locator('#pages-table tbody tr').count(), 10), 'a table beside it');
    await page.locator('#pages-table button', { hasText: OTHER + '/' }).first().click();
    await page.locator('#comments-list', { hasText: 'I could not find the collection days.' }).waitFor();
    await axe(page, 'the dashboard page-feedback page with comments');
    await shot(page.locator('main'), 'dashboard-3-feedback');
    await noCspTrouble(page, log, 'the dashboard');
    await ctx.close();
  });

  await step('dashboard: moderation queue: a pending idea is published with a reason', async () => {
    const r = await fetch(`${BASE}/v1/sites/mod/ideas`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'User-Agent': 'moderation-test' },
      body: JSON.stringify({ title: 'Repaint the bandstand', body: 'The paint is peeling badly.', category: 'parks' })
    });
    const j = await r.json();
    eq([r.status, j.status], [201, 'pending'], 'submitted for moderation');
    const { ctx, page, log } = await dashboard('mod');
    await signIn(page, modStaff);
    await page.locator('a[data-nav=moderation]').click();
    const card = page.locator('#moderation-list .card', { hasText: 'Repaint the bandstand' });
    await card.waitFor();
    await axe(page, 'the dashboard moderation queue');
    await shot(page.locator('main'), 'dashboard-4-moderation');
    await card.getByLabel('Reason').fill('Clear and civil.');
    await card.locator('button', { hasText: 'Publish' }).click();
    await page.locator('#moderation-empty').waitFor();
    const after = await api('GET', '/ideas/' + j.id, { site: 'mod' });
    eq(after.json.status, 'published', 'published');
    // Hiding a published idea, from its page.
    await page.locator('a[data-nav=ideas]').click();
    await page.locator('#ideas-table a', { hasText: 'Repaint the bandstand' }).click();
    await page.locator('#m-hide').waitFor();
    await page.locator('#m-reason').fill('Duplicate of a council scheme.');
    await page.locator('#m-hide').click();
    await page.locator('#moderate-done', { hasText: 'Hidden' }).waitFor();
    await page.locator('#m-publish').waitFor();
    const hidden = await api('GET', '/ideas/' + j.id, { site: 'mod', token: modStaff });
    eq(hidden.json.status, 'hidden', 'hidden');
    eq((await api('GET', '/ideas/' + j.id, { site: 'mod' })).status, 404, 'gone for the public');
    await noCspTrouble(page, log, 'the dashboard');
    await ctx.close();
  });

  await step('XSS: <script>, <img onerror> and javascript: links in ideas, responses and comments never execute', async () => {
    const title = '<img src=x onerror="window.__xss=\'title\'"> idea';
    const body = '<script>window.__xss=\'body\'</script><a href="javascript:window.__xss=\'link\'">click me</a> javascript:window.__xss=1';
    let r = await api('POST', '/ideas', { token: resident, body: { title, body, category: 'xss', ward: '<b>ward</b>' } });
    eq(r.status, 201, 'idea: ' + r.text);
    const id = r.json.id;
    r = await api('POST', `/ideas/${id}/status`, { token: staff, body: { status: 'under_review', response: '<img src=x onerror="window.__xss=\'response\'"><a href="javascript:window.__xss=\'r\'">more</a>' } });
    eq(r.status, 201, 'response: ' + r.text);
    const xssPage = OTHER + '/council/xss';
    r = await fetch(`${BASE}/v1/sites/demo/feedback`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'User-Agent': 'xss-test' },
      body: JSON.stringify({ page: xssPage, useful: 'no', comment: '<script>window.__xss=\'comment\'</script><img src=x onerror="window.__xss=\'c-img\'"> javascript:window.__xss=2' })
    });
    eq(r.status, 201, 'comment');
    const clean = async (page, where, scope) => {
      const s = await page.evaluate((sel) => ({
        xss: window.__xss,
        imgs: document.querySelectorAll(sel + ' img').length,
        scripts: document.querySelectorAll(sel + ' script').length,
        js: document.querySelectorAll(sel + ' [href^="javascript:" i], ' + sel + ' [src^="javascript:" i]').length,
        on: Array.from(document.querySelectorAll(sel + ' *')).filter((e) => Array.from(e.attributes).some((a) => /^on/i.test(a.name))).length
      }), scope);
      eq(s, { imgs: 0, scripts: 0, js: 0, on: 0 }, 'injected markup in ' + where);
    };
    // The ideas widget on a council page WITHOUT any CSP: only the way it
    // renders can keep the payloads inert.
    const w = await open();
    await councilPage(w.ctx, 'xss', { csp: false, token: resident });
    await w.page.goto(xssPage);
    const ideas = w.page.locator('[data-townhall-ideas]');
    await ideas.locator('button', { hasText: 'Newest' }).click();
    await ideas.locator('.th-idea h3', { hasText: title }).waitFor();
    await ideas.locator('.th-idea', { hasText: title }).locator('text=click me').waitFor();
    await ideas.locator('.th-idea', { hasText: title }).getByRole('button', { name: 'Support', exact: true }).click();
    await ideas.locator('.th-idea', { hasText: title }).locator('text=1 for, 0 against').waitFor();
    await clean(w.page, 'the ideas widget', '[data-townhall-ideas]');
    eq(w.log.dialogs, [], 'dialogs');
    await w.ctx.close();
    // The dashboard with its CSP stripped, for the same reason.
    const d = await open();
    await d.ctx.route((u) => u.pathname === '/dashboard/', async (route) => {
      const resp = await route.fetch();
      const h = resp.headers();
      delete h['content-security-policy'];
      await route.fulfill({ response: resp, headers: h });
    });
    await d.page.goto(BASE + '/dashboard/?site=demo');
    await signIn(d.page, staff);
    await d.page.locator('#f-category').fill('xss');
    await d.page.locator('#filters button[type=submit]').click();
    await d.page.locator('#ideas-table a', { hasText: title }).click();
    await d.page.locator('#idea-title', { hasText: title }).waitFor();
    eq(await d.page.locator('#s-response').inputValue(), '<img src=x onerror="window.__xss=\'response\'"><a href="javascript:window.__xss=\'r\'">more</a>', 'the response is text');
    await clean(d.page, 'the dashboard idea page', 'main');
    await d.page.locator('a[data-nav=feedback]').click();
    await d.page.locator('#pages-table button', { hasText: xssPage }).click();
    await d.page.locator('#comments-list', { hasText: "<script>window.__xss='comment'</script>" }).waitFor();
    await clean(d.page, 'the dashboard comments', 'main');
    await d.page.locator('a[data-nav=moderation]').click();
    await d.page.locator('a[data-nav=ideas]').click();
    await d.page.locator('#ideas-table tbody tr').first().waitFor();
    await clean(d.page, 'the dashboard proposals', 'main');
    eq(await d.page.evaluate(() => window.__xss), undefined, 'window.__xss');
    eq(d.log.dialogs, [], 'dialogs');
    await d.ctx.close();
  });

  await step('privacy: no cookie, no local or session storage, no IndexedDB, no Set-Cookie from townhall', async () => {
    const { ctx, page } = await open();
    await page.addInitScript(() => {
      window.__stored = [];
      const note = (what) => () => window.__stored.push(what);
      for (const s of [Storage.prototype]) {
        const set = s.setItem;
        s.setItem = function (...a) { note('storage')(); return set.apply(this, a); };
      }
      const d = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
      Object.defineProperty(document, 'cookie', { get: () => d.get.call(document), set: (v) => { note('cookie')(); d.set.call(document, v); } });
      const idb = indexedDB.open.bind(indexedDB);
      indexedDB.open = (...a) => { note('indexedDB')(); return idb(...a); };
    });
    const url = await councilPage(ctx, 'privacy', { token: resident });
    await page.goto(url);
    await fb(page).locator('button', { hasText: 'No' }).click();
    await fb(page).locator('button', { hasText: 'Send' }).click();
    await fb(page).locator('.th-h', { hasText: 'Thank you for your feedback' }).waitFor();
    const ideas = page.locator('[data-townhall-ideas]');
    await ideas.locator('.th-idea').first().getByRole('button', { name: 'Support', exact: true }).click();
    await ideas.locator('text=Your vote has been saved.').waitFor();
    eq(await page.evaluate(() => window.__stored), [], 'storage calls');
    eq(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie]), [0, 0, ''], 'what is stored');
    eq(await ctx.cookies(), [], 'cookies');
    eq(setCookies, [], 'responses with Set-Cookie over the whole run');
    await ctx.close();
  });

  await step('screenshots were written (TH_SCREENSHOTS)', async () => {
    if (SHOTS === 'none') return;
    const want = ['demo-page', 'feedback-en-0-no-javascript', 'feedback-en-1-question', 'feedback-en-2-rating',
      'feedback-en-3-thanks', 'feedback-ar-1-question', 'feedback-ar-2-rating', 'feedback-ar-3-thanks',
      'thanks-en-no-javascript', 'thanks-ar-no-javascript', 'ideas-en-signed-in', 'ideas-ar-signed-in', 'ideas-en-status-and-response',
      'dashboard-1-proposals', 'dashboard-2-idea', 'dashboard-3-feedback', 'dashboard-4-moderation'];
    const missing = want.filter((n) => {
      const f = path.join(SHOTS, n + '.png');
      return !fs.existsSync(f) || fs.readFileSync(f).subarray(1, 4).toString() !== 'PNG';
    });
    eq(missing, [], 'missing screenshots');
  });
}

// ---- main ---------------------------------------------------------------------------------

async function main() {
  console.log('TAP version 13');
  try {
    await startServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync',
        // The council pages here are fulfilled by the test (no server, so no
        // address): Chromium counts them as public and would refuse their
        // requests to townhall on 127.0.0.1 (Local Network Access). A
        // council's real page and townhall are both public, or both local.
        '--disable-features=LocalNetworkAccessChecks']
    });
    diag(`townhall ${VER} on ${BASE}; ${browser.version()}; node ${process.version}`);
    await tests();
  } catch (e) {
    point(false, 'setting up (server, browser)', e.stack || String(e));
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopServer();
    if (failed) {
      const log = path.join(tmp, 'server.log');
      if (fs.existsSync(log)) diag('server log (last lines):\n' + fs.readFileSync(log, 'utf8').split('\n').slice(-30).join('\n'));
    }
    if (!ARTIFACTS) fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`1..${count}`);
  process.exit(failed ? 1 : 0);
}

main();
