'use strict';
// The module, the handle's life cycle, open failures, and the promise
// machinery: work off the JavaScript thread, one call at a time per handle.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { SITE, fresh, rejectsWith, townhall } = require('./helpers');

function tmp(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'townhall-node-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('module: version, names and error table', () => {
  assert.match(townhall.version, /^\d+\.\d+\.\d+$/);
  assert.equal(townhall.version, require('../package.json').version);
  assert.deepEqual(townhall.SORTS, ['top', 'hot', 'new', 'controversial', 'random']);
  assert.deepEqual(townhall.ROLES, ['moderator', 'councillor', 'admin']);
  assert.equal(townhall.STATUSES[2], 'under_review');
  assert.equal(townhall.ERRORS.TH_ENOTFOUND.errno, -3);
  assert.equal(townhall.ERRORS.TH_ENOTFOUND.description, 'not found');
  assert.equal(townhall.ERRORS.TH_ECONFLICT.errno, -24);
  assert.ok(Object.keys(townhall.ERRORS).length >= 24);
});

test('module: text utilities', () => {
  assert.equal(townhall.redact('mail jo@example.com'), 'mail [email]');
  assert.equal(townhall.normalizeUrl('HTTPS://Example.org:443/a?x=1&id=2#f', 'id'),
    'https://example.org/a?id=2');
  assert.throws(() => townhall.normalizeUrl('ftp://example.org/'),
    (e) => e instanceof townhall.TownhallError && e.code === 'TH_EINVAL');
  assert.throws(() => townhall.redact('nul\0inside'), (e) => e.code === 'TH_EINVAL');
  assert.throws(() => townhall.redact(42), TypeError);
});

test('open: creates the database and a private key file', async (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'x.db');
  const th = await townhall.open(file);
  const info = await th.info();
  assert.equal(info.schemaVersion, townhall.schemaLatest);
  assert.ok(Math.abs(info.now - Date.now()) < 60000);
  await th.close();
  await th.close(); // idempotent
  assert.equal(th.closed, true);
  assert.equal(fs.statSync(`${file}.key`).mode & 0o777, 0o600);
  await rejectsWith(th.sites(), 'TH_ESTATE');
});

test('open: failures carry the library code and message', async (t) => {
  const dir = tmp(t);
  await rejectsWith(townhall.open(path.join(dir, 'none.db'), { create: false }), 'TH_ENOTFOUND');
  const text = path.join(dir, 'minutes.db');
  fs.writeFileSync(text, 'minutes of the planning committee\n'.repeat(200));
  await rejectsWith(townhall.open(text), 'TH_ENOTDB');
  const good = path.join(dir, 'good.db');
  await (await townhall.open(good)).close();
  fs.chmodSync(`${good}.key`, 0o644);
  await rejectsWith(townhall.open(good), 'TH_EKEY');
  await assert.rejects(townhall.open(good, { synchronous: 'sometimes' }), /synchronous/);
});

test('open: readonly handles refuse writes', async (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'x.db');
  await (await townhall.open(file)).close();
  const ro = await townhall.open(file, { readonly: true });
  t.after(() => ro.close());
  assert.deepEqual(await ro.sites(), []);
  await rejectsWith(ro.createSite('a', 'A'), 'TH_EREADONLY');
});

test('open: a newer schema is refused and left alone', async (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'x.db');
  await (await townhall.open(file)).close();
  let sqlite;
  try {
    execFileSync('sqlite3', [file, 'PRAGMA user_version = 999']);
    sqlite = true;
  } catch {
    sqlite = false;
  }
  if (!sqlite) {
    // Without the sqlite3 command, write user_version (offset 60) directly.
    const fd = fs.openSync(file, 'r+');
    const b = Buffer.alloc(4);
    b.writeUInt32BE(999);
    fs.writeSync(fd, b, 0, 4, 60);
    fs.closeSync(fd);
  }
  await rejectsWith(townhall.open(file), 'TH_ENEWER');
});

test('backup: a consistent copy; never over an existing file', async (t) => {
  const { th, dir, file } = await fresh(t);
  const { id } = await th.submitIdea(SITE, 'r1', 'Kept in the backup');
  const dest = path.join(dir, 'copy.db');
  await th.backup(dest);
  fs.copyFileSync(`${file}.key`, `${dest}.key`);
  const copy = await townhall.open(dest, { readonly: true });
  t.after(() => copy.close());
  assert.equal((await copy.getIdea(SITE, id)).title, 'Kept in the backup');
  await rejectsWith(th.backup(dest), 'TH_EEXIST');
});

test('every function of core/townhall.h is used, or left out for a reason', () => {
  const header = path.join(__dirname, '..', '..', '..', 'core', 'townhall.h');
  const src = fs.readFileSync(path.join(__dirname, '..', 'src', 'townhall_node.c'), 'utf8');
  const names = [...fs.readFileSync(header, 'utf8').matchAll(/TH_EXTERN[^;(]*?\b(th_[a-z0-9_]+)\(/g)]
    .map((m) => m[1]);
  assert.ok(names.length > 50);
  const leftOut = {
    th_errcode: 'the code comes back from each call',
    th_utf8_check: 'JavaScript strings always reach C as valid UTF-8',
    th_status_parse: 'index.js maps names with the th_*_name tables',
    th_sort_parse: 'idem',
    th_moderation_parse: 'idem',
    th_role_parse: 'idem',
  };
  const missing = names.filter((n) => !n.startsWith('th_server_') && !(n in leftOut) &&
    !new RegExp(`\\b${n}\\(`).test(src));
  assert.deepEqual(missing, []);
});

test('calls on one handle run one at a time, in the order made', async (t) => {
  const { th } = await fresh(t);
  const { id } = await th.submitIdea(SITE, 'author', 'Ordered votes');
  // Fired without waiting: each sees the state the previous one left.
  const results = await Promise.all([
    th.vote(SITE, 'r1', id, 1),
    th.vote(SITE, 'r1', id, -1),
    th.vote(SITE, 'r1', id, -1),
    th.vote(SITE, 'r1', id, 0),
    th.vote(SITE, 'r1', id, 1),
  ]);
  assert.deepEqual(results.map((c) => [c.up, c.down, c.myVote, c.changed]), [
    [1, 0, 1, true], [0, 1, -1, true], [0, 1, -1, false], [0, 0, 0, true], [1, 0, 1, true],
  ]);
  // Many at once: every one counted.
  const many = [];
  for (let i = 0; i < 300; i++) many.push(th.vote(SITE, `voter-${i}`, id, i % 3 ? 1 : -1));
  await Promise.all(many);
  const idea = await th.getIdea(SITE, id);
  assert.equal(idea.up, 1 + 200);
  assert.equal(idea.down, 100);
});

test('blocking work runs off the JavaScript thread', async (t) => {
  const { th, file } = await fresh(t);
  const { id } = await th.submitIdea(SITE, 'author', 'Waiting for a lock');
  const other = await townhall.open(file, { busyTimeoutMs: 5000 });
  t.after(() => other.close());
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 10);
  let waiting;
  try {
    // th holds the write lock in a batch; other's vote waits for it on a
    // pool thread (SQLite's busy timeout) while the event loop runs on.
    await th.batch(async (tx) => {
      await tx.vote(SITE, 'in-batch', id, 1);
      waiting = other.vote(SITE, 'outside', id, 1);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(ticks >= 10, `the event loop was blocked (${ticks} ticks in 300 ms)`);
    });
  } finally {
    clearInterval(timer);
  }
  // Once the batch has committed, the waiting vote goes through.
  const counts = await waiting;
  assert.equal(counts.up, 2);
  assert.equal((await th.getIdea(SITE, id)).up, 2);
});

test('batch: commits, rolls back, and keeps other calls out', async (t) => {
  const { th } = await fresh(t);
  const r = await th.batch(async (tx) => {
    for (let i = 0; i < 5; i++) await tx.submitIdea(SITE, `r${i}`, `Batched idea ${i}`);
    return 'done';
  });
  assert.equal(r, 'done');
  assert.equal((await th.listIdeas(SITE)).items.length, 5);
  await assert.rejects(th.batch(async (tx) => {
    await tx.submitIdea(SITE, 'rx', 'Rolled back idea');
    throw new Error('stop');
  }), /stop/);
  assert.equal((await th.listIdeas(SITE)).items.length, 5);
  // A call on the handle during a batch waits for it.
  let outsideDone = false;
  await th.batch(async (tx) => {
    th.submitIdea(SITE, 'outside', 'Made outside the batch').then(() => { outsideDone = true; });
    await tx.submitIdea(SITE, 'inside', 'Made inside the batch');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(outsideDone, false);
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(outsideDone, true);
});

test('argument errors reject instead of crashing', async (t) => {
  const { th } = await fresh(t);
  await assert.rejects(th.getSite(42), TypeError);
  await assert.rejects(th.getIdea(SITE, 'one'), TypeError);
  await assert.rejects(th.getIdea(SITE, 1.5), TypeError);
  await assert.rejects(th.submitIdea(SITE, 42, 'Who is 42?'), TypeError);
  await assert.rejects(th.vote(SITE, 'r1', 1, '1'), TypeError);
  await assert.rejects(th.recordFeedback(SITE, townhall.device('192.0.2.1'), 'https://x/', {}), TypeError);
  await assert.rejects(th.answerFeedback(SITE, townhall.device('192.0.2.1'), 'https://x/', {}), TypeError);
  await assert.rejects(th.answerFeedback(SITE, townhall.device('192.0.2.1'), 42, { useful: true }), TypeError);
  await assert.rejects(th.amendFeedback(SITE, 'x'.repeat(22), { comment: 42 }), TypeError);
  await rejectsWith(th.submitIdea(SITE, 'r1', 'NUL\0inside'), 'TH_EINVAL');
  await rejectsWith(th.listIdeas(SITE, { sort: 'best' }), 'TH_EINVAL');
  await assert.rejects(th.updateSite(SITE, { colour: 'red' }), TypeError);
});

test('handles dropped without close() are finalised by the garbage collector', async (t) => {
  const dir = tmp(t);
  const v8 = require('node:v8');
  const vm = require('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  for (let i = 0; i < 20; i++) {
    const th = await townhall.open(path.join(dir, `gc-${i}.db`));
    await th.createSite('a', 'A');
  }
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
  // The files were left consistent: each reopens with its site.
  const th = await townhall.open(path.join(dir, 'gc-7.db'));
  t.after(() => th.close());
  assert.deepEqual((await th.sites()).map((s) => s.slug), ['a']);
});

test('the addon works in worker threads too', async (t) => {
  const dir = tmp(t);
  const { Worker } = require('node:worker_threads');
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const townhall = require(workerData.module);
    (async () => {
      const th = await townhall.open(workerData.file);
      await th.createSite('w' + workerData.n, 'Worker site');
      try { await th.getSite('nowhere'); } catch (e) { parentPort.postMessage(e instanceof townhall.TownhallError && e.code); }
      await th.close();
    })();`;
  const results = await Promise.all([0, 1].map((n) => new Promise((resolve, reject) => {
    const w = new Worker(code, {
      eval: true,
      workerData: { module: path.join(__dirname, '..'), file: path.join(dir, `w${n}.db`), n },
    });
    w.once('message', resolve);
    w.once('error', reject);
  })));
  assert.deepEqual(results, ['TH_ENOTFOUND', 'TH_ENOTFOUND']);
});
