#!/usr/bin/env node
// Runs scenario.json through townhall's Node.js binding and prints what
// happened as JSON (the same shape as scenario.c and scenario.py print).
//
//   node scenario.js scenario.json /tmp/scenario.db
// (the binding is found as 'townhall', or in ../../bindings/node)
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function load() {
  try {
    return require('townhall');
  } catch {
    return require(path.join(__dirname, '..', '..', 'bindings', 'node'));
  }
}
const townhall = load();

// The C name of what a call returned: TH_RECORDED, TH_DUPLICATE or the
// error's code.
async function rcOf(promise, changed = () => true) {
  try {
    const result = await promise;
    return [changed(result) ? 'TH_RECORDED' : 'TH_DUPLICATE', result];
  } catch (e) {
    if (e instanceof townhall.TownhallError) return [e.code, null];
    throw e;
  }
}

// JSON with sorted keys, as the C and Python versions print it.
function sorted(value) {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted(value[k])]));
  }
  return value;
}

async function main(scenarioPath, dbPath) {
  const sc = JSON.parse(fs.readFileSync(scenarioPath, 'utf8'));
  const out = {};
  const th = await townhall.open(dbPath);
  try {
    const s = sc.site;
    const site = s.slug;
    [out.site] = await rcOf(th.createSite(site, s.name, { origins: s.origins }));
    [out.site_again] = await rcOf(th.createSite(site, s.name, { origins: s.origins }));

    const i = sc.idea;
    const [rc, sub] = await rcOf(th.submitIdea(site, i.author, i.title, {
      body: i.body, category: i.category, ward: i.ward,
    }), (r) => !r.duplicate);
    out.idea = { rc, id: sub.id, body: (await th.getIdea(site, sub.id)).body };

    out.votes = [];
    for (const v of sc.votes) {
      const [vrc, c] = await rcOf(th.vote(site, v.resident, v.idea ?? sub.id, v.value),
        (r) => r.changed);
      out.votes.push(c ? { rc: vrc, up: c.up, down: c.down, my_vote: c.myVote } : { rc: vrc });
    }
    let idea = await th.getIdea(site, sub.id);
    out.after_votes = { up: idea.up, down: idea.down };

    out.feedback = [];
    for (const f of sc.feedback) {
      const [frc] = await rcOf(th.answerFeedback(site, townhall.device(f.ip, f.user_agent), f.page, {
        useful: f.useful, rating: f.rating, comment: f.comment, key: f.key,
      }), (a) => a.recorded);
      out.feedback.push(frc);
    }

    const page = sc.summary_page;
    const p = await th.feedbackSummary(site, page);
    out.summary = {
      page: p.page,
      yes: p.yes,
      no: p.no,
      ratings: p.ratings,
      rating_count: p.ratingCount,
      rating_mean: p.ratingMean,
      comments: p.comments,
      comment_texts: (await th.feedbackComments(site, page)).map((c) => c.text),
    };

    const gone = sc.erase;
    const c0 = (await th.exportResident(site, gone)).consultations[0];
    out.export_before = { votes: c0.votes.length, ideas: c0.ideas.length };
    out.erased = await th.eraseResident(site, gone);
    idea = await th.getIdea(site, sub.id);
    out.after_erase = { up: idea.up, down: idea.down };
    out.export_after = { consultations: (await th.exportResident(site, gone)).consultations.length };
    out.top = (await th.listIdeas(site, { sort: 'top' })).items.map((x) => x.id);
  } finally {
    await th.close();
  }
  process.stdout.write(`${JSON.stringify(sorted(out), null, 2)}\n`);
}

if (process.argv.length !== 4) {
  process.stderr.write('usage: node scenario.js SCENARIO.json DATABASE\n');
  process.exit(2);
}
main(process.argv[2], process.argv[3]).catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
