#!/usr/bin/env node
// The council's own app, in plain node:http: residents sign in with the
// council's login (mocked here), and the app hands townhall's widget a
// short-lived resident token (a JWT, HS256) that says who they are. That is
// all it does for townhall: the widget talks to townhall directly, and this
// app proxies nothing.
//
//   TOWNHALL_SITE=riverside \
//   TOWNHALL_SECRET=<the base64url secret `townhall site secret riverside
//                    --generate` printed> \
//   TOWNHALL_ASSETS=https://townhall.riverside.example/v/0.2.0 \
//   node examples/node/server.js
//
// Environment:
//   PORT                 where to listen (3000); HOST (127.0.0.1)
//   TOWNHALL_SITE        the site's slug: the tokens' audience ("aud")
//   TOWNHALL_SECRET      the site's secret, base64url, as `townhall site
//                        secret SLUG --generate` prints it; or
//   TOWNHALL_SECRET_FILE the file given to `townhall site secret SLUG
//                        --from-file` (raw bytes; a final newline is ignored)
//   TOWNHALL_ASSETS      where townhall serves its widget script (widget.js,
//                        for both widgets) under its version, e.g.
//                        https://townhall.riverside.example/v/0.2.0
//                        (`townhall version` says which; townhall must list
//                        this app's origin: townhall site add --origin)
//   TOKEN_TTL_SECONDS    token lifetime (600; townhall refuses more than 3600)
//   COOKIE_SECURE        1 behind HTTPS (the default): cookies only over TLS
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');

// ---- the council's login (a mock: use your own identity provider) --------

// The council's own stable, opaque id for each resident goes in the token's
// "sub". townhall stores only a keyed hash of it, per consultation; still,
// use an opaque id, never an e-mail address.
const RESIDENTS = new Map([
  ['alice', { password: 'alice-demo-password', id: 'uid-1001', name: 'Alice' }],
  ['bob', { password: 'bob-demo-password', id: 'uid-1002', name: 'Bob' }],
]);

function checkLogin(username, password) {
  const r = RESIDENTS.get(username);
  if (!r) return null;
  const a = Buffer.from(String(password));
  const b = Buffer.from(r.password);
  return a.length === b.length && crypto.timingSafeEqual(a, b) ? r : null;
}

// ---- resident tokens --------------------------------------------------------

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** An HS256 JWT for townhall: aud = the site, sub = the resident, exp at
 * most an hour ahead (townhall refuses longer-lived tokens). */
function signResidentToken({ secret, site, resident, ttlSeconds, now = Date.now() }) {
  if (ttlSeconds > 3600) throw new Error('townhall accepts tokens that live an hour at most');
  const iat = Math.floor(now / 1000);
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = b64url(JSON.stringify({ sub: resident, aud: site, iat, exp: iat + ttlSeconds }));
  const signature = b64url(crypto.createHmac('sha256', secret).update(`${header}.${payload}`).digest());
  return { token: `${header}.${payload}.${signature}`, expires: (iat + ttlSeconds) * 1000 };
}

function readSecret(env) {
  let secret;
  if (env.TOWNHALL_SECRET) {
    secret = Buffer.from(env.TOWNHALL_SECRET.trim(), 'base64url');
  } else if (env.TOWNHALL_SECRET_FILE) {
    // As `townhall site secret --from-file` reads it: raw bytes, trailing
    // CR/LF dropped.
    secret = fs.readFileSync(env.TOWNHALL_SECRET_FILE);
    let end = secret.length;
    while (end > 0 && (secret[end - 1] === 0x0a || secret[end - 1] === 0x0d)) end--;
    secret = secret.subarray(0, end);
  } else {
    throw new Error('set TOWNHALL_SECRET (base64url) or TOWNHALL_SECRET_FILE');
  }
  if (secret.length < 32) throw new Error('the site secret must be at least 32 bytes');
  return secret;
}

// ---- sessions (in memory; use your framework's session store) ---------------

const SESSION_TTL_MS = 8 * 3600 * 1000;

function parseCookies(header) {
  const out = {};
  for (const part of (header || '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// ---- the app ----------------------------------------------------------------

// Runs in the resident's browser: fetches a token for the signed-in resident
// and gives it to townhall's widget, again a minute before it expires.
const SIGN_IN_JS = `(function () {
  'use strict';
  function refresh() {
    fetch('/townhall/token', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!window.townhall) return setTimeout(refresh, 200);
        window.townhall.setResidentToken(d ? d.token : null);
        if (d) setTimeout(refresh, Math.max(10000, d.expires - Date.now() - 60000));
      }, function () { setTimeout(refresh, 30000); });
  }
  refresh();
})();
`;

function createApp(config) {
  const { site, secret, assets = '', ttlSeconds = 600, cookieSecure = true } = config;
  const sessions = new Map(); // id -> { resident, expires }

  function session(req) {
    const sid = parseCookies(req.headers.cookie).sid;
    const s = sid && sessions.get(sid);
    if (!s) return null;
    if (s.expires < Date.now()) {
      sessions.delete(sid);
      return null;
    }
    return { sid, ...s };
  }

  function send(res, status, type, body, headers = {}) {
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
      ...headers,
    });
    res.end(body);
  }

  const json = (res, status, value, headers = {}) =>
    send(res, status, 'application/json', JSON.stringify(value), { 'Cache-Control': 'no-store', ...headers });

  function cookie(value, maxAge) {
    return `sid=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${cookieSecure ? '; Secure' : ''}`;
  }

  function readForm(req, limit = 4096) {
    return new Promise((resolve, reject) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk) => {
        body += chunk;
        if (body.length > limit) {
          reject(new Error('too large'));
          req.destroy();
        }
      });
      req.on('end', () => resolve(new URLSearchParams(body)));
      req.on('error', reject);
    });
  }

  function page(res, s, message = '') {
    // townhall's ideas widget, and this app's own script that hands it the
    // resident's token (townhall.setResidentToken): the token stays in the
    // page's memory, never in a cookie or storage.
    const widget = assets
      ? `<div data-townhall-ideas data-site="${escapeHtml(site)}"></div>
<script src="${escapeHtml(assets)}/widget.js" crossorigin="anonymous" defer></script>
<script src="/townhall-sign-in.js" defer></script>`
      : '';
    const body = s
      ? `<p>Signed in as ${escapeHtml(s.resident.name)}.</p>
<form method="post" action="/logout"><button>Sign out</button></form>
${widget}`
      : `${message ? `<p role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/login">
<label>User name <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button>Sign in</button>
</form>`;
    send(res, message ? 401 : 200, 'text/html; charset=utf-8', `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Your council account</title>
<link rel="icon" href="data:,">
<h1>Your council account</h1>
${body}
</html>
`);
  }

  return async function handler(req, res) {
    const url = new URL(req.url, 'http://localhost');
    try {
      if (req.method === 'GET' && url.pathname === '/') return page(res, session(req));

      if (req.method === 'POST' && url.pathname === '/login') {
        const form = await readForm(req);
        const resident = checkLogin(form.get('username') || '', form.get('password') || '');
        if (!resident) return page(res, null, 'That user name and password do not match.');
        const sid = crypto.randomBytes(32).toString('base64url');
        sessions.set(sid, { resident, expires: Date.now() + SESSION_TTL_MS });
        return send(res, 303, 'text/plain', 'Signed in\n', {
          Location: '/', 'Set-Cookie': cookie(sid, SESSION_TTL_MS / 1000),
        });
      }

      if (req.method === 'POST' && url.pathname === '/logout') {
        const s = session(req);
        if (s) sessions.delete(s.sid);
        return send(res, 303, 'text/plain', 'Signed out\n', { Location: '/', 'Set-Cookie': cookie('', 0) });
      }

      if (req.method === 'GET' && url.pathname === '/townhall-sign-in.js') {
        return send(res, 200, 'text/javascript; charset=utf-8', SIGN_IN_JS, { 'Cache-Control': 'no-cache' });
      }

      // The widget's token: for the signed-in resident, same-origin only.
      if (req.method === 'GET' && url.pathname === '/townhall/token') {
        const site_ = req.headers['sec-fetch-site'];
        if (site_ && site_ !== 'same-origin' && site_ !== 'none') {
          return json(res, 403, { error: 'cross-site requests may not fetch a resident token' });
        }
        const s = session(req);
        if (!s) return json(res, 401, { error: 'sign in first' });
        const { token, expires } = signResidentToken({
          secret, site, resident: s.resident.id, ttlSeconds,
        });
        return json(res, 200, { token, expires });
      }

      return send(res, 404, 'text/plain', 'Not found\n');
    } catch (e) {
      return send(res, 400, 'text/plain', 'Bad request\n');
    }
  };
}

function main() {
  const env = process.env;
  const site = env.TOWNHALL_SITE;
  if (!site) throw new Error('set TOWNHALL_SITE to the site\'s slug');
  const handler = createApp({
    site,
    secret: readSecret(env),
    assets: env.TOWNHALL_ASSETS || '',
    ttlSeconds: Number(env.TOKEN_TTL_SECONDS || 600),
    cookieSecure: env.COOKIE_SECURE !== '0',
  });
  const server = http.createServer(handler);
  const port = Number(env.PORT || 3000);
  server.listen(port, env.HOST || '127.0.0.1', () => {
    const a = server.address();
    process.stdout.write(`council app on http://${a.address}:${a.port}/ (site ${site})\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

module.exports = { createApp, signResidentToken, readSecret };

if (require.main === module) {
  try {
    main();
  } catch (e) {
    process.stderr.write(`council app: ${e.message}\n`);
    process.exit(1);
  }
}
