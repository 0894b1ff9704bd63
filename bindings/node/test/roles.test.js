'use strict';
// Who may do what, through the Node binding: every cell of the table in
// docs/SECURITY.md ("Who may do what"), read from the document, done as
// anyone, a resident and a staff member of each role (Staff, made only by
// staffFromToken).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { SITE, fresh, rejectsWith, townhall } = require('./helpers');

const DOC = path.join(__dirname, '..', '..', '..', 'docs', 'SECURITY.md');
const PAGE = 'https://www.camden.gov.uk/bins';
const CALLERS = ['anyone', 'resident', 'moderator', 'councillor', 'admin'];

/** { action: { caller: cell } } from the document's table. */
function readTable() {
  const text = fs.readFileSync(DOC, 'utf8');
  const section = text.split('\n## Who may do what\n')[1].split('\n## ')[0];
  const rows = section.split('\n').filter((l) => l.startsWith('|') && !l.startsWith('|---'))
    .map((l) => l.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim()));
  const [header, ...body] = rows;
  const table = {};
  for (const row of body) {
    table[row[0]] = Object.fromEntries(CALLERS.map((c) => [c, row[header.indexOf(c)]]));
  }
  return table;
}

async function setUp(t) {
  const { th } = await fresh(t, { moderateIdeas: true });
  const callers = { anyone: null, resident: null };
  for (const [role, label] of [['moderator', 'Mo Moderator'], ['councillor', 'Cy Councillor'],
    ['admin', 'Al Admin']]) {
    const { token } = await th.createToken(role, label, { site: SITE, actor: 'test' });
    callers[role] = await th.staffFromToken(token, SITE);
  }
  let n = 0;
  const idea = async (what) => (await th.submitIdea(SITE, { resident: 'alice' },
    `${what}, number ${++n}`)).id;
  const publicIdea = async (what) => {
    const id = await idea(what);
    await th.moderateIdea(SITE, id, 'publish', { reason: 'fixture' });
    return id;
  };
  const pub = await publicIdea('A public idea');
  const hidden = await publicIdea('An idea hidden later');
  await th.vote(SITE, { resident: 'bob' }, pub, 1);
  await th.vote(SITE, { resident: 'bob' }, hidden, 1);
  await th.moderateIdea(SITE, hidden, 'hide', { reason: 'spam' });
  return { th, callers, idea, publicIdea, pub, hidden, next: () => ++n };
}

/** "yes", "no" (TH_EPERM), "not found" (TH_ENOTFOUND). */
async function answer(promise) {
  try {
    await promise;
    return 'yes';
  } catch (e) {
    if (e.code === 'TH_EPERM') return 'no';
    if (e.code === 'TH_ENOTFOUND') return 'not found';
    return e.code || String(e);
  }
}

async function act(f, action, staff) {
  const { th } = f;
  const see = async (id) => {
    const a = await answer(th.getIdeaAs(staff, SITE, id));
    const b = await answer(th.voteHistoryAs(staff, SITE, id));
    return a === b ? a : 'the idea and its history disagree';
  };
  const audited = async (act, promise) => {
    const a = await answer(promise);
    if (a !== 'yes') return a;
    const [last] = await th.auditLog(SITE, { limit: 1 });
    return last.action === act && last.actor === staff.actor ? 'yes'
      : 'recorded, but not audited under the staff member';
  };
  switch (action) {
    case 'See a public idea and its vote history':
      return see(f.pub);
    case 'See an idea the public may not (pending, hidden, withdrawn) and its vote history':
      return see(f.hidden);
    case "List ideas of the public's statuses":
      return answer(th.listIdeasAs(staff, SITE));
    case 'List ideas of other statuses':
      return answer(th.listIdeasAs(staff, SITE, { statuses: ['pending', 'hidden'] }));
    case "Read a page's feedback figures":
      return summary(f, staff);
    case "List the pages' feedback, worst first":
      return answer(th.feedbackPagesAs(staff, SITE));
    case "Read a page's feedback comments":
      return answer(th.feedbackCommentsAs(staff, SITE, PAGE));
    case "Set an idea's status and official response": {
      const id = await f.publicIdea('Status to set');
      return audited('status', th.setIdeaStatusAs(staff, SITE, id, 'accepted',
        { response: 'We will.' }));
    }
    case 'Publish, hide, reject or merge an idea': {
      const id = await f.idea('Idea to moderate');
      return audited('moderate:publish', th.moderateIdeaAs(staff, SITE, id, 'publish',
        { reason: 'fine' }));
    }
    case 'Open a consultation':
      return audited('consultation:create',
        th.createConsultationAs(staff, SITE, `roles-${f.next()}`, 'Parks'));
    case 'Read the audit log':
      return answer(th.auditLogAs(staff, SITE));
    default:
      return `no test for the row ${action}`;
  }
}

test('roles: every cell of SECURITY.md\'s "Who may do what"', async (t) => {
  const f = await setUp(t);
  const table = readTable();
  assert.ok(Object.keys(table).length >= 11, 'the table has its rows');
  const wrong = [];
  for (const [action, cells] of Object.entries(table)) {
    for (const caller of CALLERS) {
      const got = await act(f, action, f.callers[caller]);
      if (got !== cells[caller]) wrong.push(`${caller}: ${action}: got ${got}, want ${cells[caller]}`);
    }
  }
  assert.deepEqual(wrong, []);
});

/** The figures a caller gets for PAGE: "exact", or "published" when they
 * are exactly what feedbackSummary(..., { public: true }) gives. The
 * binding has no clock to set, so the answers are this week's and the
 * published figures are none yet (TH_ENOTFOUND, as for a page with no
 * feedback before this week): then "published" is both answering that. */
async function summary(f, staff) {
  if (!f.answered) {
    for (let k = 0; k < 12; k++) {
      await f.th.answerFeedback(SITE, townhall.device('192.0.2.1', 'test'), PAGE,
        { useful: k % 3 !== 0, rating: 4, comment: 'The page was clear.' });
    }
    f.answered = true;
  }
  const [got, published] = await Promise.all([
    f.th.feedbackSummaryAs(staff, SITE, PAGE).catch((e) => e.code),
    f.th.feedbackSummary(SITE, PAGE, { public: true }).catch((e) => e.code)]);
  if (typeof got === 'object' && got.exact) return 'exact';
  return JSON.stringify(got) === JSON.stringify(published) ? 'published' : String(got);
}

test('roles: Staff is made only from a token, and says who', async (t) => {
  const f = await setUp(t);
  const m = f.callers.moderator;
  assert.equal(m.role, 'moderator');
  assert.equal(m.label, 'Mo Moderator');
  assert.equal(m.site, SITE);
  assert.equal(m.actor, `token ${m.tokenId} (Mo Moderator)`);
  assert.throws(() => new townhall.Staff(), TypeError);
  await assert.rejects(f.th.auditLogAs('admin', SITE), TypeError);
  await f.th.setSiteSecret(SITE, Buffer.from('a site secret of 32 bytes, ok..!'));
  const jwt = await f.th.residentToken(SITE, 'alice', { ttl: 600 });
  await rejectsWith(f.th.staffFromToken(jwt, SITE), 'TH_EAUTH');
  await assert.rejects(f.th.moderateIdeaAs(f.callers.councillor, SITE, f.pub, 'hide',
    { reason: 'no' }), (e) => e.code === 'TH_EPERM' &&
    /a councillor may not moderate ideas: only a moderator or an admin may/.test(e.message));
  await f.th.createSite('barnet', 'Barnet');
  await rejectsWith(f.th.auditLogAs(f.callers.admin, 'barnet'), 'TH_EPERM');
});
