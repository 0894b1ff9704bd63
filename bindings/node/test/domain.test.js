'use strict';
// Sites, consultations, ideas, votes, feedback, residents' rights, tokens,
// purge, audit and key rotation: success and the library's errors.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { SITE, ORIGIN, fresh, rejectsWith, townhall } = require('./helpers');

test('sites: create, get, list, update', async (t) => {
  const { th, site } = await fresh(t);
  assert.equal(site.slug, SITE);
  assert.equal(site.origins, ORIGIN);
  assert.ok(site.commentDays > 0, 'defaults are filled in');
  assert.deepEqual(await th.getSite(SITE), site);
  await th.createSite('barnet', 'Barnet Council');
  assert.deepEqual((await th.sites()).map((s) => s.slug), ['barnet', SITE]);
  assert.equal(await th.updateSite(SITE, { allowAnonymous: true }), true);
  assert.equal(await th.updateSite(SITE, { allowAnonymous: true }), false);
  const after = await th.getSite(SITE);
  assert.equal(after.allowAnonymous, true);
  assert.equal(after.origins, ORIGIN);
});

test('sites: wards, categories and contacts', async (t) => {
  const { th, site } = await fresh(t);
  assert.deepEqual([site.wards, site.categories, site.contacts], [[], [], []]);
  assert.equal(await th.updateSite(SITE, {
    wards: ['Kentish Town', 'Highgate'], categories: ['Parks'], contacts: ['020 7974 4444'],
  }), true);
  const s = await th.getSite(SITE);
  assert.deepEqual(s.wards, ['Kentish Town', 'Highgate']);
  assert.deepEqual(s.categories, ['Parks']);
  assert.deepEqual(s.contacts, ['020 7974 4444']);
  await th.updateSite(SITE, { name: 'Camden' });
  assert.deepEqual((await th.getSite(SITE)).wards, s.wards, 'kept by other changes');
  assert.deepEqual((await th.sites())[0].wards, s.wards);
  const b = await th.createSite('barnet', 'Barnet', { wards: ['East', 'West'] });
  assert.deepEqual(b.wards, ['East', 'West']);
  await rejectsWith(th.updateSite(SITE, { wards: ['A', 'a'] }), 'TH_EINVAL');
  await assert.rejects(th.updateSite(SITE, { wards: 'Highgate' }), TypeError);
  await assert.rejects(th.updateSite(SITE, { wards: ['Two\nlines'] }), TypeError);
  await rejectsWith(th.submitIdea(SITE, 'r-lists', 'Benches', { ward: 'Nowhere' }), 'TH_EINVAL');
  const { id } = await th.submitIdea(SITE, 'r-lists', 'Benches', { ward: 'highgate' });
  assert.equal((await th.getIdea(SITE, id)).ward, 'Highgate');
});

test('sites: errors', async (t) => {
  const { th } = await fresh(t);
  await rejectsWith(th.createSite(SITE, 'Again'), 'TH_EEXIST');
  await rejectsWith(th.createSite('Not A Slug', 'X'), 'TH_EINVAL');
  await rejectsWith(th.createSite('long', 'x'.repeat(121)), 'TH_ETOOLONG');
  await rejectsWith(th.getSite('nowhere'), 'TH_ENOTFOUND');
  await rejectsWith(th.getSiteSecret(SITE), 'TH_ENOTFOUND');
  await rejectsWith(th.setSiteSecret(SITE, Buffer.from('short')), 'TH_ETOOSHORT');
  await assert.rejects(th.setSiteSecret(SITE, 'a string'), TypeError);
  const secret = Buffer.from([...Array(40).keys()]);
  await th.setSiteSecret(SITE, secret);
  assert.deepEqual(await th.getSiteSecret(SITE), secret);
});

test('consultations', async (t) => {
  const { th } = await fresh(t);
  const c = await th.createConsultation(SITE, 'parks-2030', 'Parks for 2030', {
    ward: 'Kentish Town', closes: new Date(Date.UTC(2099, 0, 1)),
  });
  assert.equal(c.closes, Date.UTC(2099, 0, 1));
  assert.equal(c.ward, 'Kentish Town');
  assert.deepEqual(await th.getConsultation(SITE, 'parks-2030'), c);
  assert.ok((await th.consultations(SITE)).some((x) => x.slug === 'ideas'));
  await rejectsWith(th.createConsultation(SITE, 'parks-2030', 'Again'), 'TH_EEXIST');
  await rejectsWith(th.createConsultation(SITE, 'back', 'Back', { opens: 2000, closes: 1000 }), 'TH_EINVAL');
  await rejectsWith(th.getConsultation(SITE, 'nothing'), 'TH_ENOTFOUND');
  const now = Date.now();
  await th.createConsultation(SITE, 'past', 'Past', { opens: now - 2000, closes: now - 1000 });
  await rejectsWith(th.submitIdea(SITE, 'r1', 'Too late', { consultation: 'past' }), 'TH_ECLOSED');
});

test('ideas: submit, get, duplicates, scrubbing', async (t) => {
  const { th } = await fresh(t);
  const a = await th.submitIdea(SITE, 'r1', 'Café seating ✓ on Chalk Farm Road', {
    body: 'Ring 020 7946 0018', category: 'streets', ward: 'Camden',
  });
  assert.deepEqual(a, { id: a.id, duplicate: false });
  const idea = await th.getIdea(SITE, a.id);
  assert.equal(idea.title, 'Café seating ✓ on Chalk Farm Road');
  assert.equal(idea.body, 'Ring [phone]');
  assert.equal(idea.status, 'published');
  const again = await th.submitIdea(SITE, 'r1', 'Café seating ✓ on Chalk Farm Road');
  assert.deepEqual(again, { id: a.id, duplicate: true });
});

test('ideas: errors', async (t) => {
  const { th } = await fresh(t);
  await rejectsWith(th.submitIdea(SITE, 'r1', 'ab'), 'TH_ETOOSHORT');
  await rejectsWith(th.submitIdea(SITE, 'r1', 'x'.repeat(141)), 'TH_ETOOLONG');
  await rejectsWith(th.submitIdea(SITE, townhall.device('192.0.2.1', 'UA'), 'Anonymous'), 'TH_EPERM');
  await rejectsWith(th.submitIdea('nowhere', 'r1', 'An idea'), 'TH_ENOTFOUND');
  await rejectsWith(th.submitIdea(SITE, 'r1', 'An idea', { consultation: 'nothing' }), 'TH_ENOTFOUND');
  await rejectsWith(th.getIdea(SITE, 999), 'TH_ENOTFOUND');
});

test('ideas: lists with sorts, filters and cursors', async (t) => {
  const { th } = await fresh(t);
  const ids = [];
  for (let k = 0; k < 5; k++) {
    const { id } = await th.submitIdea(SITE, `author-${k}`, `Idea number ${k}`, {
      category: k % 2 ? 'parks' : 'roads', ward: k < 3 ? 'North' : 'South',
    });
    ids.push(id);
    for (let v = 0; v < k; v++) await th.vote(SITE, `voter-${v}`, id, 1);
    await th.vote(SITE, 'grump', id, -1);
  }
  const top = await th.listIdeas(SITE, { sort: 'top' });
  assert.deepEqual(top.items.map((i) => i.id), [...ids].reverse());
  assert.equal(top.nextCursor, null);
  const north = await th.listIdeas(SITE, { ward: 'North' });
  assert.deepEqual(north.items.map((i) => i.id).sort(), ids.slice(0, 3));
  const parks = await th.listIdeas(SITE, { category: 'parks' });
  assert.equal(parks.items.length, 2);
  const seen = [];
  let cursor = null;
  do {
    const page = await th.listIdeas(SITE, { sort: 'hot', limit: 2, cursor });
    assert.ok(page.items.length <= 2);
    seen.push(...page.items.map((i) => i.id));
    cursor = page.nextCursor;
  } while (cursor);
  assert.deepEqual([...seen].sort(), ids);
  const iterated = [];
  for await (const i of th.iterateIdeas(SITE, { sort: 'hot', limit: 2 })) iterated.push(i.id);
  assert.deepEqual(iterated, seen);
  const r1 = []; const r2 = [];
  for await (const i of th.iterateIdeas(SITE, { sort: 'random', seed: 42n, limit: 2 })) r1.push(i.id);
  for await (const i of th.iterateIdeas(SITE, { sort: 'random', seed: 42, limit: 3 })) r2.push(i.id);
  assert.deepEqual(r1, r2);
  await th.moderateIdea(SITE, ids[0], 'hide', { reason: 'off-topic' });
  const hidden = await th.listIdeas(SITE, { statuses: ['hidden'] });
  assert.deepEqual(hidden.items.map((i) => i.id), [ids[0]]);
  const page = await th.listIdeas(SITE, { sort: 'top', limit: 2 });
  await rejectsWith(th.listIdeas(SITE, { sort: 'new', cursor: page.nextCursor }), 'TH_EINVAL');
  await rejectsWith(th.listIdeas(SITE, { cursor: 'not-a-cursor' }), 'TH_EINVAL');
  await rejectsWith(th.listIdeas(SITE, { statuses: ['lost'] }), 'TH_EINVAL');
});

test('ideas: status, moderation, merge, withdrawal', async (t) => {
  const { th } = await fresh(t, { moderateIdeas: true });
  const { id } = await th.submitIdea(SITE, 'author', 'Resurface Camden Road');
  assert.equal((await th.getIdea(SITE, id)).status, 'pending');
  await rejectsWith(th.setIdeaStatus(SITE, id, 'accepted'), 'TH_ESTATE');
  await rejectsWith(th.moderateIdea(SITE, id, 'publish', { reason: '' }), 'TH_EINVAL');
  assert.equal(await th.moderateIdea(SITE, id, 'publish', { reason: 'fine', actor: 'mod-1' }), true);
  assert.equal(await th.moderateIdea(SITE, id, 'publish', { reason: 'again' }), false);
  assert.equal(await th.setIdeaStatus(SITE, id, 'under_review', {
    response: 'Officers are looking.', actor: 'cllr-smith',
  }), true);
  const idea = await th.getIdea(SITE, id);
  assert.equal(idea.status, 'under_review');
  assert.equal(idea.response, 'Officers are looking.');
  const audit = await th.auditLog(SITE);
  assert.equal(audit[0].action, 'status');
  assert.equal(audit[0].actor, 'cllr-smith');
  assert.equal(audit[0].ideaId, id);
  const { id: dup } = await th.submitIdea(SITE, 'other', 'Resurface Camden Rd');
  await th.moderateIdea(SITE, dup, 'publish', { reason: 'ok' });
  await th.vote(SITE, 'v1', dup, 1);
  assert.equal(await th.moderateIdea(SITE, dup, 'merge', { into: id, reason: 'same' }), true);
  assert.equal((await th.getIdea(SITE, dup)).mergedInto, id);
  assert.equal((await th.getIdea(SITE, id)).up, 1);
  assert.equal((await th.getPublicIdea(SITE, dup)).public, true, 'public before the merge: still public');
  // A pending idea merged away stays private (issue 12).
  const { id: secret } = await th.submitIdea(SITE, 'other-2', 'Not approved: number 12');
  assert.equal(await th.moderateIdea(SITE, secret, 'merge', { into: id, reason: 'same' }), true);
  assert.equal((await th.getIdea(SITE, secret)).public, false);
  await rejectsWith(th.getPublicIdea(SITE, secret), 'TH_ENOTFOUND');
  await rejectsWith(th.withdrawIdea(SITE, 'someone-else', id), 'TH_EPERM');
  assert.equal(await th.withdrawIdea(SITE, 'author', id), true);
  assert.equal(await th.withdrawIdea(SITE, 'author', id), false);
  await rejectsWith(th.moderateIdea(SITE, 999, 'hide', { reason: 'x' }), 'TH_ENOTFOUND');
});

test('votes', async (t) => {
  const { th } = await fresh(t);
  const { id } = await th.submitIdea(SITE, 'author', 'Longer library hours');
  let c = await th.vote(SITE, 'r1', id, 1);
  assert.deepEqual(c, { up: 1, down: 0, anonUp: 0, anonDown: 0, myVote: 1, changed: true });
  c = await th.vote(SITE, 'r1', id, 1);
  assert.equal(c.changed, false);
  c = await th.vote(SITE, 'r1', id, -1);
  assert.deepEqual([c.up, c.down, c.myVote], [0, 1, -1]);
  const history = await th.voteHistory(SITE, id);
  assert.equal(history.length, 1);
  assert.equal(history[0].day % 86400000, 0);
  await rejectsWith(th.vote(SITE, 'r1', id, 2), 'TH_EINVAL');
  await rejectsWith(th.vote(SITE, 'r1', 999, 1), 'TH_ENOTFOUND');
  await rejectsWith(th.vote(SITE, townhall.device('192.0.2.1', 'UA'), id, 1), 'TH_EPERM');
  await th.moderateIdea(SITE, id, 'hide', { reason: 'spam' });
  await rejectsWith(th.vote(SITE, 'r1', id, 1), 'TH_ESTATE');
  await rejectsWith(th.voteHistory(SITE, 999), 'TH_ENOTFOUND');
});

test('votes: a resident\'s own votes on a list of ideas', async (t) => {
  const { th } = await fresh(t);
  const a = (await th.submitIdea(SITE, 'author', 'Longer library hours')).id;
  const b = (await th.submitIdea(SITE, 'author', 'Bins on the towpath')).id;
  await th.vote(SITE, 'r1', a, 1);
  await th.vote(SITE, 'r1', b, -1);
  await th.vote(SITE, 'r2', b, 1);
  assert.deepEqual(await th.myVotes(SITE, 'r1', [a, b, 999]), { [a]: 1, [b]: -1, 999: 0 });
  assert.deepEqual(await th.myVotes(SITE, 'r2', [a, b]), { [a]: 0, [b]: 1 });
  assert.deepEqual(await th.myVotes(SITE, 'r3', []), {});
  await rejectsWith(th.myVotes('nowhere', 'r1', [a]), 'TH_ENOTFOUND');
  await assert.rejects(th.myVotes(SITE, 'r1', 'not a list'), TypeError);
  await assert.rejects(th.myVotes(SITE, 'r1', ['x']), TypeError);
});

test('resident tokens', async (t) => {
  const { th } = await fresh(t);
  await rejectsWith(th.residentToken(SITE, 'r1'), 'TH_ENOTFOUND');
  const secret = Buffer.alloc(32, 's');
  await th.setSiteSecret(SITE, secret);
  const tok = await th.residentToken(SITE, 'r1', { ttl: 600 });
  const [head, body, sig] = tok.split('.');
  assert.equal(JSON.parse(Buffer.from(head, 'base64url')).alg, 'HS256');
  const claims = JSON.parse(Buffer.from(body, 'base64url'));
  assert.deepEqual([claims.sub, claims.aud, claims.exp - claims.iat], ['r1', SITE, 600]);
  const want = require('node:crypto').createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  assert.equal(sig, want);
  await rejectsWith(th.residentToken(SITE, 'r1', { ttl: 7200 }), 'TH_EINVAL');
});

test('feedback: answer, amend, summary, pages, comments', async (t) => {
  const { th } = await fresh(t);
  const page = `${ORIGIN}/bins`;
  const d1 = townhall.device('192.0.2.1', 'Firefox');
  const d2 = townhall.device('192.0.2.2', 'Chrome');
  const a1 = await th.answerFeedback(SITE, d1, `${page}?email=jo@example.com#top`, {
    useful: false, rating: 2, comment: 'Collection day not listed. jo@example.com',
  });
  assert.equal(a1.recorded, true);
  assert.match(a1.handle, /^[A-Za-z0-9_-]{22}$/);
  const a2 = await th.answerFeedback(SITE, d2, page, { useful: true, rating: 5 });
  // The same answer again, with no key, is an answer of its own.
  const a3 = await th.answerFeedback(SITE, d2, page, { useful: true, rating: 5 });
  assert.equal(a3.recorded, true);
  assert.notEqual(a3.handle, a2.handle);
  // A changed answer amends through its handle, and only that answer.
  assert.equal(await th.amendFeedback(SITE, a2.handle, { rating: 4 }), true);
  assert.equal(await th.amendFeedback(SITE, a2.handle, { rating: 4 }), false);
  const s = await th.feedbackSummary(SITE, page);
  assert.equal(s.page, page);
  assert.equal(s.exact, true);
  assert.deepEqual([s.yes, s.no, s.responses, s.ratingCount, s.comments], [2, 1, 3, 3, 1]);
  assert.deepEqual(s.ratings, [0, 1, 0, 1, 1]);
  assert.ok(Math.abs(s.ratingMean - 11 / 3) < 1e-9);
  const comments = await th.feedbackComments(SITE, page);
  assert.deepEqual(comments.map((c) => [c.text, c.useful, c.rating]),
    [['Collection day not listed. [email]', false, 2]]);
  for (let k = 0; k < 4; k++) {
    await th.answerFeedback(SITE, d1, `${ORIGIN}/page-${k}`, { useful: k > 1 });
  }
  const first = await th.feedbackPages(SITE, { limit: 3 });
  assert.equal(first.items.length, 3);
  assert.ok(first.nextCursor);
  const rest = await th.feedbackPages(SITE, { limit: 3, cursor: first.nextCursor });
  assert.equal(rest.nextCursor, null);
  const all = [...first.items, ...rest.items];
  assert.equal(new Set(all.map((p) => p.page)).size, 5);
  assert.ok(all.every((p) => p.exact === true && p.responses === p.yes + p.no));
});

test('feedback: two answers from one device are two records', async (t) => {
  const { th } = await fresh(t);
  const page = `${ORIGIN}/bins`;
  // Two residents behind one address with the same browser.
  const d = townhall.device('192.0.2.1', 'Firefox');
  const a = await th.answerFeedback(SITE, d, page, { useful: true });
  const b = await th.answerFeedback(SITE, d, page, { useful: false });
  assert.deepEqual([a.recorded, b.recorded], [true, true]);
  assert.notEqual(a.handle, b.handle);
  let s = await th.feedbackSummary(SITE, page);
  assert.deepEqual([s.yes, s.no, s.responses], [1, 1, 2]);
  assert.equal(await th.amendFeedback(SITE, b.handle, { useful: true }), true);
  s = await th.feedbackSummary(SITE, page);
  assert.deepEqual([s.yes, s.no, s.responses], [2, 0, 2]);
  // recordFeedback (deprecated) is a new answer every time too.
  for (let i = 0; i < 3; i++) {
    assert.equal(await th.recordFeedback(SITE, d, page, { useful: true, rating: 5 }), true);
  }
  s = await th.feedbackSummary(SITE, page);
  assert.deepEqual([s.yes, s.no, s.responses, s.ratingCount], [5, 0, 5, 3]);
});

test('feedback: a retry with the same key folds; another answer conflicts', async (t) => {
  const { th } = await fresh(t);
  const page = `${ORIGIN}/bins`;
  const d1 = townhall.device('192.0.2.1', 'Firefox');
  const d2 = townhall.device('192.0.2.2', 'Firefox');
  const answer = { useful: false, rating: 2, comment: 'No dates', key: 'answer-1' };
  const first = await th.answerFeedback(SITE, d1, page, answer);
  assert.equal(first.recorded, true);
  const retry = await th.answerFeedback(SITE, d1, page, answer);
  assert.deepEqual(retry, { recorded: false, handle: first.handle });
  let s = await th.feedbackSummary(SITE, page);
  assert.deepEqual([s.yes, s.no, s.ratingCount, s.comments], [0, 1, 1, 1]);
  // One key handed to many browsers by a cached page: another answer.
  const other = await th.answerFeedback(SITE, d2, page, answer);
  assert.equal(other.recorded, true);
  assert.notEqual(other.handle, first.handle);
  // The same key and device with another answer.
  await rejectsWith(th.answerFeedback(SITE, d1, page, { ...answer, useful: true }), 'TH_ECONFLICT');
  await rejectsWith(th.answerFeedback(SITE, d1, page, { ...answer, rating: 3 }), 'TH_ECONFLICT');
  s = await th.feedbackSummary(SITE, page);
  assert.deepEqual([s.yes, s.no], [0, 2]);
  assert.equal(townhall.ERRORS.TH_ECONFLICT.errno, -24);
  // The handle a retry returned amends the first answer.
  assert.equal(await th.amendFeedback(SITE, retry.handle, { useful: true }), true);
  s = await th.feedbackSummary(SITE, page);
  assert.deepEqual([s.yes, s.no], [1, 1]);
  await rejectsWith(th.answerFeedback(SITE, d1, page, { useful: true, key: 'tab\there' }), 'TH_EINVAL');
  await rejectsWith(th.answerFeedback(SITE, d1, page, { useful: true, key: 'k'.repeat(256) }), 'TH_EINVAL');
});

test('feedback: amended through its handle only', async (t) => {
  const { th } = await fresh(t);
  const page = `${ORIGIN}/bins`;
  const other = `${ORIGIN}/parking`;
  const d = townhall.device('192.0.2.1', 'Firefox');
  const a = await th.answerFeedback(SITE, d, page, { useful: true });
  const b = await th.answerFeedback(SITE, d, other, { useful: true });
  assert.equal(await th.amendFeedback(SITE, a.handle, { useful: false }), true);
  let s = await th.feedbackSummary(SITE, page);
  assert.deepEqual([s.yes, s.no, s.responses], [0, 1, 1]);
  assert.equal(await th.amendFeedback(SITE, a.handle, { rating: 3, comment: 'Add the dates' }), true);
  s = await th.feedbackSummary(SITE, page);
  assert.deepEqual([s.ratings, s.ratingCount, s.comments], [[0, 0, 1, 0, 0], 1, 1]);
  // Nothing given, or white space for a comment: nothing changes.
  assert.equal(await th.amendFeedback(SITE, a.handle), false);
  assert.equal(await th.amendFeedback(SITE, a.handle, { comment: '  ' }), false);
  // The page, when given, must be the answer's.
  assert.equal(await th.amendFeedback(SITE, a.handle, { useful: true, page: `${page}#top` }), true);
  const before = await th.feedbackSummary(SITE, page);
  assert.deepEqual([before.yes, before.no], [1, 0]);
  await rejectsWith(th.amendFeedback(SITE, a.handle, { useful: false, page: other }), 'TH_ENOTFOUND');
  await rejectsWith(th.amendFeedback(SITE, b.handle, { useful: false, page }), 'TH_ENOTFOUND');
  // Forged, malformed, or of another site: one answer for all.
  const forged = a.handle.slice(0, 15) + (a.handle[15] === 'A' ? 'B' : 'A') + a.handle.slice(16);
  const secretChanged = a.handle.slice(0, 11) + b.handle.slice(11);
  await th.createSite('islington', 'Islington Council', { origins: ORIGIN });
  for (const [site, handle] of [[SITE, forged], [SITE, secretChanged], [SITE, 'not-a-handle'],
    [SITE, ''], [SITE, `${a.handle}A`], ['islington', a.handle]]) {
    await rejectsWith(th.amendFeedback(site, handle, { useful: false }), 'TH_ENOTFOUND');
  }
  assert.deepEqual(await th.feedbackSummary(SITE, page), before);
  assert.equal((await th.feedbackSummary(SITE, other)).yes, 1);
  await rejectsWith(th.amendFeedback(SITE, a.handle, { rating: 6 }), 'TH_ERANGE');
  await assert.rejects(th.amendFeedback(SITE, null, { useful: false }), TypeError);
  await assert.rejects(th.amendFeedback(SITE, a.handle, { useful: 'no' }), TypeError);
});

test('feedback: the public summary waits for a complete week', async (t) => {
  const { th } = await fresh(t);
  const page = `${ORIGIN}/bins`;
  for (let i = 0; i < 12; i++) {
    await th.answerFeedback(SITE, townhall.device(`192.0.2.${i}`, 'UA'), page, { useful: true, rating: 5 });
  }
  // Every answer is in the week in progress: nothing is published yet.
  await rejectsWith(th.feedbackSummary(SITE, page, { public: true }), 'TH_ENOTFOUND');
  const s = await th.feedbackSummary(SITE, page, { public: false });
  assert.equal(s.exact, true);
  assert.deepEqual([s.yes, s.responses, s.ratingCount], [12, 12, 12]);
  assert.deepEqual(await th.feedbackSummary(SITE, page), s);
  // A flag that is not a boolean never falls back to the exact figures.
  await assert.rejects(th.feedbackSummary(SITE, page, { public: 'yes' }), TypeError);
});

test('feedback: errors', async (t) => {
  const { th } = await fresh(t);
  const page = `${ORIGIN}/bins`;
  const d = townhall.device('192.0.2.1', 'Firefox');
  for (const answer of [th.answerFeedback, th.recordFeedback].map((f) => f.bind(th))) {
    await rejectsWith(answer(SITE, d, page, { useful: true, rating: 6 }), 'TH_ERANGE');
    await rejectsWith(answer(SITE, d, 'https://elsewhere.example/', { useful: true }), 'TH_EINVAL');
    await rejectsWith(answer(SITE, d, page, { useful: true, comment: 'x'.repeat(2001) }), 'TH_ETOOLONG');
    await rejectsWith(answer('nowhere', d, page, { useful: true }), 'TH_ENOTFOUND');
    await assert.rejects(answer(SITE, d, page, {}), TypeError);
  }
  await rejectsWith(th.feedbackSummary(SITE, page), 'TH_ENOTFOUND');
  await rejectsWith(th.feedbackSummary(SITE, page, { public: true }), 'TH_ENOTFOUND');
  await rejectsWith(th.feedbackComments(SITE, page), 'TH_ENOTFOUND');
  await rejectsWith(th.feedbackPages(SITE, { limit: 101 }), 'TH_ERANGE');
  await rejectsWith(th.feedbackPages(SITE, { cursor: 'nope' }), 'TH_EINVAL');
});

test('open data: the files, and the window refused clearly', async (t) => {
  // Exactly the server's bytes (tests/opendata/test_same_bytes.py); here,
  // a fresh site: answers of the week in progress are never published.
  const { th } = await fresh(t);
  const page = `${ORIGIN}/bins`;
  for (let i = 0; i < 12; i++) {
    await th.answerFeedback(SITE, townhall.device(`192.0.2.${i}`, 'UA'), page, { useful: true });
  }
  const head = '\ufeffpage,week,yes,no,rating_1,rating_2,rating_3,rating_4,rating_5,responses\r\n';
  const fb = await th.openDataFeedback(SITE);
  assert.ok(Buffer.isBuffer(fb));
  assert.equal(fb.toString('utf8'), head);
  assert.equal((await th.openDataFeedback(SITE, { from: new Date(Date.UTC(2026, 0, 5)), weeks: 2 }))
    .toString('utf8'), head);
  assert.equal((await th.openDataFeedback(SITE, { from: '2026-01-05' })).toString('utf8'), head);
  await th.submitIdea(SITE, 'author-1', 'More benches');
  const ideas = (await th.openDataIdeas(SITE)).toString('utf8');
  assert.equal(ideas, '\ufeffid,consultation,title,status,category,ward,created,votes_for,' +
    'votes_against,response,response_date\r\n', 'an idea of this week: not yet');
  await rejectsWith(th.openDataFeedback('nowhere'), 'TH_ENOTFOUND');
  await rejectsWith(th.openDataIdeas('nowhere'), 'TH_ENOTFOUND');
  await assert.rejects(th.openDataFeedback(SITE, { from: 'soon' }), (e) => {
    assert.equal(e.code, 'TH_EINVAL');
    assert.equal(e.message, 'from is a date such as 2026-01-05.');
    return true;
  });
  await rejectsWith(th.openDataFeedback(SITE, { weeks: 105 }), 'TH_ERANGE');
  await rejectsWith(th.openDataFeedback(SITE, { weeks: -1 }), 'TH_ERANGE');
  await assert.rejects(th.openDataFeedback(SITE, { from: 20260105 }), TypeError);
});

test("residents' rights: export and erase", async (t) => {
  const { th } = await fresh(t);
  const mine = await th.submitIdea(SITE, 'alice', 'A bench by the pond');
  const other = await th.submitIdea(SITE, 'bob', 'A bigger playground');
  await th.vote(SITE, 'alice', other.id, 1);
  await th.vote(SITE, 'bob', mine.id, 1);
  const doc = await th.exportResident(SITE, 'alice');
  assert.equal(doc.site, SITE);
  assert.deepEqual(doc.consultations[0].votes.map((v) => v.idea), [other.id]);
  assert.deepEqual(doc.consultations[0].ideas.map((i) => i.id), [mine.id]);
  assert.equal(await th.eraseResident(SITE, 'alice'), 2);
  assert.equal((await th.getIdea(SITE, other.id)).up, 0);
  assert.deepEqual((await th.exportResident(SITE, 'alice')).consultations, []);
  assert.equal(await th.eraseResident(SITE, 'alice'), 0);
  await rejectsWith(th.eraseResident(SITE, ''), 'TH_EINVAL');
  await rejectsWith(th.exportResident('nowhere', 'alice'), 'TH_ENOTFOUND');
});

test('staff tokens', async (t) => {
  const { th } = await fresh(t);
  await th.createSite('barnet', 'Barnet');
  const tok = await th.createToken('councillor', 'Cllr Smith', { site: SITE, actor: 'admin' });
  assert.match(tok.token, new RegExp(`^th_${tok.id}_`));
  const info = await th.checkToken(tok.token, SITE);
  assert.deepEqual([info.id, info.role, info.label, info.site, info.revoked],
    [tok.id, 'councillor', 'Cllr Smith', SITE, false]);
  await rejectsWith(th.checkToken(tok.token, 'barnet'), 'TH_EPERM');
  await rejectsWith(th.checkToken('th_1_guess'), 'TH_EAUTH');
  assert.equal(await th.revokeToken(tok.id), true);
  assert.equal(await th.revokeToken(tok.id), false);
  assert.equal((await th.tokens())[0].revoked, true);
  await rejectsWith(th.checkToken(tok.token, SITE), 'TH_EAUTH');
  await rejectsWith(th.revokeToken(999), 'TH_ENOTFOUND');
  await rejectsWith(th.createToken('admin', 'past', { expires: Date.now() - 1000 }), 'TH_EINVAL');
  await rejectsWith(th.createToken('admin', 'x', { site: 'nowhere' }), 'TH_ENOTFOUND');
  await rejectsWith(th.createToken('emperor', 'x'), 'TH_EINVAL');
});

test('key rotation', async (t) => {
  const { th, dir, file } = await fresh(t);
  const secret = Buffer.from(Array.from({ length: 40 }, (_, i) => i));
  await th.setSiteSecret(SITE, secret);
  const tok = await th.createToken('admin', 'ops');
  const newKey = path.join(dir, 'new.key');
  const other = await townhall.open(file);
  await rejectsWith(th.rotateKey(newKey), 'TH_EBUSY');
  await other.close();
  assert.equal(fs.existsSync(newKey), false);
  await rejectsWith(th.rotateKey(`${file}.key`), 'TH_EEXIST');
  const report = await th.rotateKey(newKey, { backup: path.join(dir, 'before.db'), actor: 'ops desk' });
  assert.deepEqual(report, { siteSecrets: 1, consultationKeys: 1, tokensRevoked: 1 });
  assert.equal(fs.statSync(newKey).mode & 0o777, 0o600);
  assert.deepEqual(await th.getSiteSecret(SITE), secret);
  await rejectsWith(th.checkToken(tok.token), 'TH_EAUTH');
  const again = await townhall.open(file, { keyFile: newKey });
  t.after(() => again.close());
  assert.deepEqual(await again.getSiteSecret(SITE), secret);
  const old = await townhall.open(file);
  t.after(() => old.close());
  await rejectsWith(old.getSiteSecret(SITE), 'TH_EKEY');
});

test('purge and audit paging', async (t) => {
  const { th } = await fresh(t);
  const report = await th.purge();
  assert.deepEqual(Object.keys(report).sort(), ['audit', 'comments', 'dedupTokens', 'keys', 'salts']);
  for (let k = 0; k < 3; k++) await th.createToken('admin', `token ${k}`, { site: SITE });
  const entries = await th.auditLog(SITE, { limit: 2 });
  assert.equal(entries.length, 2);
  const older = await th.auditLog(SITE, { beforeId: entries[1].id });
  assert.ok(older.every((e) => e.id < entries[1].id));
  await rejectsWith(th.auditLog(SITE, { limit: 5000 }), 'TH_ERANGE');
});
