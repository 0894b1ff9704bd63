#!/usr/bin/env node
// examples/node/server.js in Chromium, as a resident uses it: the council's
// page loads, the resident signs in, townhall's ideas widget appears with
// the site's ideas, and a vote through it is saved. Every subresource the
// page loads must load: a 404 (a widget at an address townhall does not
// serve) or a request the browser refuses (CORS) fails the check.
//
// Run by tests/suites/71-examples.sh against the app and a real townhall:
//   APP=http://127.0.0.1:PORT TH=http://127.0.0.1:PORT2 SITE=riverside \
//   IDEA="an idea's title" node tests/browser/examples.js
// Prints "ok - name" / "not ok - name" lines (and detail lines) for the
// suite to number.
'use strict';
const { chromium } = require('playwright-core');

const { APP, TH, SITE, IDEA } = process.env;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function check(name, cond, detail) {
  console.log(`${cond ? 'ok' : 'not ok'} - node app in Chromium: ${name}`);
  if (!cond && detail !== undefined) console.log(typeof detail === 'string' ? detail : JSON.stringify(detail));
  return cond;
}

(async () => {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const bad = [];
    const loaded = [];
    page.on('response', (r) => {
      loaded.push(`${r.status()} ${r.url()}`);
      // The sign-in form answers 303; the token endpoint may say 401 before
      // sign-in. Anything else at 400 or above is a broken page.
      if (r.status() >= 400 && !r.url().endsWith('/townhall/token')) bad.push(`${r.status()} ${r.url()}`);
    });
    page.on('requestfailed', (q) => bad.push(`failed ${q.url()}: ${q.failure() && q.failure().errorText}`));
    page.on('console', (m) => {
      if (m.type() === 'error') bad.push(`console: ${m.text()} (${m.location().url})`);
    });

    await page.goto(APP + '/');
    await page.getByLabel('User name').fill('bob');
    await page.getByLabel('Password').fill('bob-demo-password');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
    check('signing in shows the signed-in page', await page.getByText('Signed in as Bob.').count() === 1,
      await page.content());

    const widget = page.locator(`[data-townhall-ideas][data-site="${SITE}"]`);
    let appeared = true;
    try {
      await widget.locator('li.th-idea').first().waitFor({ timeout: 15000 });
    } catch (e) {
      appeared = false;
    }
    check("townhall's ideas widget appears, listing the site's ideas",
      appeared && await widget.getByText(IDEA).count() === 1,
      { html: await widget.innerHTML().catch(() => null), loaded, bad });
    // The token handed over by the app's sign-in script: the widget offers
    // the vote buttons and the new-idea form only to a signed-in resident.
    const idea = widget.locator('li.th-idea', { hasText: IDEA });
    const support = idea.getByRole('button', { name: 'Support' });
    let offered = true;
    try {
      await support.waitFor({ timeout: 10000 });
    } catch (e) {
      offered = false;
    }
    check('the widget got the resident token (it offers the vote)', offered,
      { html: await widget.innerHTML().catch(() => null), bad });
    if (offered) {
      const before = await idea.locator('p', { hasText: ' for, ' }).textContent();
      await support.click();
      await page.getByText('Your vote has been saved.').waitFor({ timeout: 10000 }).catch(() => {});
      const after = await idea.locator('p', { hasText: ' for, ' }).textContent();
      const r = await fetch(`${TH}/v1/sites/${SITE}/ideas?sort=new&limit=50`);
      const listed = (await r.json()).items.find((i) => i.title === IDEA);
      check('a vote through the widget is saved (its count goes up, townhall agrees)',
        before !== after && listed && listed.votes.up === 2, { before, after, listed });
      check('the support button shows the vote', await support.getAttribute('aria-pressed') === 'true');
    }
    check('every subresource loaded (no 404, nothing refused)', bad.length === 0, { bad, loaded });
    check('the widget script came from townhall, under its versioned address',
      loaded.some((l) => l.startsWith('200 ') && /\/v\/\d+\.\d+\.\d+\/widget\.js$/.test(l)), loaded);
  } finally {
    await browser.close();
  }
})().catch((e) => { console.log(`not ok - node app in Chromium: the checks ran (${e.stack})`); });
