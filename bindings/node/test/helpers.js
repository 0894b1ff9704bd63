'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const assert = require('node:assert/strict');
const townhall = require('..');

const SITE = 'camden';
const ORIGIN = 'https://www.camden.gov.uk';

/** A new directory and database with one site; closed and removed by
 * t.after. */
async function fresh(t, siteOptions = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'townhall-node-'));
  const file = path.join(dir, 'council.db');
  const th = await townhall.open(file);
  const site = await th.createSite(SITE, 'Camden Council', { origins: ORIGIN, ...siteOptions });
  t.after(async () => {
    await th.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { th, site, dir, file };
}

/** Awaits a promise that must reject with a TownhallError of this code,
 * with a message from the library. */
async function rejectsWith(promise, code) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof townhall.TownhallError, `not a TownhallError: ${e}`);
    assert.equal(e.code, code);
    assert.equal(e.errno, townhall.ERRORS[code].errno);
    assert.ok(e.message.length > 0, 'empty message');
    return true;
  });
}

module.exports = { SITE, ORIGIN, fresh, rejectsWith, townhall };
