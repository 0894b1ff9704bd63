#!/usr/bin/env node
// Keeps the Subresource Integrity chain of the widgets in step with web/:
// widget.js carries the SHA-256 of widget.css and of each
// web/i18n/LANG.json (it loads them with integrity), and docs/embedding.md
// carries the SHA-384 of widget.js and widget.css (the hashes a council
// pastes into its integrity attributes).
//
//   node sri.js           report what is out of step (exit 1 if anything)
//   node sri.js --write   bring it in step
//
// Run it after editing any file of web/ that the widgets load.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const src = process.env.TH_SRC || path.resolve(__dirname, '..', '..');
const web = path.join(src, 'web');
const hash = (alg, file) =>
  alg + '-' + crypto.createHash(alg).update(fs.readFileSync(file)).digest('base64');

function expected() {
  const want = { css: hash('sha256', path.join(web, 'widget.css')) };
  for (const f of fs.readdirSync(path.join(web, 'i18n')).sort()) {
    if (f.endsWith('.json')) want[f.slice(0, -5)] = hash('sha256', path.join(web, 'i18n', f));
  }
  return want;
}

// Rewrites `key: 'sha256-...'` entries of a script's SRI table.
function fixScript(file, want, write) {
  const text = fs.readFileSync(file, 'utf8');
  const problems = [];
  const out = text.replace(/\b(css|[a-z]{2,3}): '(sha256-[^']*)'/g, (m, k, v) => {
    if (!want[k]) return m;
    if (v !== want[k]) problems.push(`${path.basename(file)}: ${k} is ${v}, want ${want[k]}`);
    return `${k}: '${want[k]}'`;
  });
  for (const k of Object.keys(want)) {
    if (!new RegExp(`\\b${k}: 'sha256-`).test(text)) problems.push(`${path.basename(file)}: no entry for ${k}`);
  }
  if (write && out !== text) fs.writeFileSync(file, out);
  return problems;
}

// Rewrites integrity="sha384-..." on the tags of docs/embedding.md that
// load /v/VERSION/NAME.js or NAME.css: the files of web/ for the current
// version, those of web/v/VERSION/ for a released one the server still
// serves (which never change).
function fixDocs(file, write) {
  if (!fs.existsSync(file)) return [`${file} is missing`];
  const text = fs.readFileSync(file, 'utf8');
  const problems = [];
  const out = text.replace(/((?:src|href)="[^"]*\/v\/([^/"]+)\/([a-z]+\.(?:js|css))"[^>]*integrity=")(sha384-[^"]*)(")/g, (m, a, ver, name, v, b) => {
    const released = path.join(web, 'v', ver, name);
    const f = fs.existsSync(released) ? released : path.join(web, name);
    if (!fs.existsSync(f)) return m;
    const h = hash('sha384', f);
    if (v !== h) problems.push(`embedding.md: ${name} is ${v}, want ${h}`);
    return a + h + b;
  });
  const found = (text.match(/integrity="sha384-/g) || []).length;
  if (found < 2) problems.push(`embedding.md: ${found} integrity hashes, want those of widget.js and widget.css`);
  if (write && out !== text) fs.writeFileSync(file, out);
  return problems;
}

function check(write) {
  const want = expected();
  let problems = [];
  problems = problems.concat(fixScript(path.join(web, 'widget.js'), want, write));
  // The documentation's hashes cover the scripts as they are now.
  problems = problems.concat(fixDocs(path.join(src, 'docs', 'embedding.md'), write));
  return problems;
}

module.exports = { check, hash };

if (require.main === module) {
  const write = process.argv.includes('--write');
  const problems = check(write);
  for (const p of problems) console.log((write ? 'fixed: ' : '') + p);
  process.exit(!write && problems.length ? 1 : 0);
}
