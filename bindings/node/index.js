'use strict';
// townhall for Node.js: resident ideas, votes and page feedback over
// libtownhall. Every method on a Townhall returns a promise; the library's
// blocking work runs on libuv's thread pool, one call at a time per handle
// (the C library allows one thread at a time on a handle). Open a second
// handle on the same file for work that should run in parallel.
//
//   const townhall = require('townhall');
//   const th = await townhall.open('council.db');
//   await th.createSite('camden', 'Camden Council');
//   const { id } = await th.submitIdea('camden', 'resident-42', 'More benches');
//   await th.vote('camden', 'resident-7', id, 1);
//   const { handle } = await th.answerFeedback('camden',
//     townhall.device(ip, userAgent), 'https://www.camden.gov.uk/bins', { useful: false });
//   await th.amendFeedback('camden', handle, { rating: 2 });
//   await th.close();

const path = require('node:path');

function loadAddon() {
  const file = process.env.TOWNHALL_NODE_ADDON ||
    path.join(__dirname, 'build', 'townhall.node');
  try {
    return require(file);
  } catch (e) {
    const err = new Error(
      `cannot load the townhall addon from ${file}: ${e.message}\n` +
      'Build it with `node build.js` in bindings/node (needs libtownhall ' +
      "installed with townhall.pc, and this Node's headers).");
    err.code = 'ERR_TOWNHALL_ADDON';
    err.cause = e;
    throw err;
  }
}

const native = loadAddon();

/** A libtownhall failure: .code is the C name ("TH_ENOTFOUND"), .errno the
 * C code (-3), .message the library's detailed message. */
class TownhallError extends Error {
  constructor(message, code, errno) {
    super(message);
    this.name = 'TownhallError';
    this.code = code;
    this.errno = errno;
  }
}
native.setErrorClass(TownhallError);

// The library's names, indexed by value.
const names = (kind) => native.names(kind).filter((n) => n !== null);
const STATUSES = Object.freeze(names('status'));
const SORTS = Object.freeze(names('sort'));
const MODERATION_ACTIONS = Object.freeze(names('moderation'));
const ROLES = Object.freeze(native.names('role').slice(1).filter((n) => n !== null));
const PUBLIC_STATUSES = Object.freeze(['published', 'under_review', 'accepted',
  'in_progress', 'done', 'declined']);
/** Every error code: { TH_EINVAL: { errno: -1, description: 'invalid argument' }, ... } */
const ERRORS = Object.freeze(native.names('errors'));

function invalid(message) {
  return new TownhallError(message, 'TH_EINVAL', ERRORS.TH_EINVAL.errno);
}

// A name (or a number, passed to the library as it is) as the C value.
function toEnum(value, table, what, offset = 0) {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const i = table.indexOf(value.trim().toLowerCase());
    if (i >= 0) return i + offset;
  }
  throw invalid(`${what} ${JSON.stringify(value)} is not one of ${table.join(', ')}`);
}

function toTime(value) {
  if (value === undefined || value === null) return 0;
  if (value instanceof Date) return value.getTime();
  return value;
}

function toWho(who) {
  if (typeof who === 'string') return { resident: who };
  if (who && typeof who === 'object') return who;
  throw new TypeError('who is a resident id (string) or { resident } or { ip, userAgent }');
}

/** A device, for feedback and anonymous participation. */
function device(ip, userAgent) {
  return { ip, userAgent };
}

const SITE_FIELDS = ['name', 'origins', 'keepParams', 'moderateIdeas',
  'allowAnonymous', 'rankAnonymous', 'commentDays', 'auditDays', 'keyDays',
  'openMin', 'openRound', 'wards', 'categories', 'contacts'];
const SITE_LISTS = ['wards', 'categories', 'contacts'];

// A site's lists are arrays here and one item per line in the library.
function siteOut(s) {
  for (const k of SITE_LISTS) s[k] = s[k] ? s[k].split('\n') : [];
  return s;
}

function siteIn(settings) {
  const out = { ...settings };
  for (const k of SITE_LISTS) {
    const v = out[k];
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v) || v.some((i) => typeof i !== 'string' || /[\r\n]/.test(i))) {
      throw new TypeError(`${k} must be an array of one-line strings`);
    }
    out[k] = v.join('\n');
  }
  return out;
}

const staffKey = Symbol('townhall staff');

/**
 * A verified staff member: a staff token's holder, with its role (the
 * library's th_staff), made only by Townhall#staffFromToken, never from a
 * role given by hand. Pass it to the methods named *As, which check in the
 * library that its role may do what is asked (docs/SECURITY.md, "Who may
 * do what"), as the HTTP API does; null there is the public (anyone, or a
 * signed-in resident). It is what the token was when checked: the *As
 * methods refuse it once the token has expired but do not see a later
 * revocation, so make one per request or session. The check is for
 * consistency between callers, not a boundary against this process.
 */
class Staff {
  constructor(key, info) {
    if (key !== staffKey) throw new TypeError('a Staff is made by staffFromToken');
    Object.defineProperty(this, '_staff', { value: info.staff });
    this.role = ROLES[info.role - 1] || info.role;
    this.tokenId = info.tokenId;
    this.label = info.label;
    this.site = info.site || null;
    this.actor = info.actor;
    Object.freeze(this);
  }
}

// The native trailing argument of an *As call: null (the public) or the
// staff member's box.
function asStaff(staff) {
  if (staff === null || staff === undefined) return null;
  if (!(staff instanceof Staff)) throw new TypeError('staff must be a Staff (staffFromToken) or null');
  return staff._staff;
}

function ideaQuery(query) {
  const q = { ...query };
  q.sort = toEnum(query.sort === undefined ? 'top' : query.sort, SORTS, 'sort');
  let mask = 0;
  for (const s of query.statuses || []) mask |= 1 << toEnum(s, STATUSES, 'status');
  q.statuses = mask >>> 0;
  q.createdFrom = toTime(query.createdFrom);
  q.createdTo = toTime(query.createdTo);
  return q;
}

class Townhall {
  /** Use townhall.open(). */
  constructor(handle, file) {
    this._h = handle;
    this.path = file;
    this._closed = false;
    this._batch = null;
  }

  get closed() {
    return this._closed;
  }

  // Every call goes through here: while a batch runs, calls made outside
  // it wait until it ends, so that they are not swept into its
  // transaction.
  async _call(name, ...args) {
    while (this._batch && !this._inBatch) await this._batch;
    return native[name](this._h, ...args);
  }

  /** Closes the handle once the calls already made have finished. */
  async close() {
    if (this._closed) return;
    this._closed = true;
    await native.close(this._h);
  }

  async [Symbol.asyncDispose || Symbol.for('nodejs.asyncDispose')]() {
    await this.close();
  }

  /** { schemaVersion, now } */
  async info() {
    return this._call('info');
  }

  /** Writes a consistent snapshot of the database to the new file dest
   * (SQLite's online backup; safe while a server keeps writing). The key
   * file is not in it: back that up too. TH_EEXIST if dest exists. */
  async backup(dest) {
    return this._call('backup', String(dest));
  }

  /** Runs fn(tx) inside one transaction: committed when its promise
   * resolves, rolled back when it rejects. Use `tx`, not this handle,
   * inside fn: calls on the handle itself wait for the batch to end. */
  async batch(fn) {
    while (this._batch) await this._batch;
    let release;
    this._batch = new Promise((resolve) => { release = resolve; });
    const tx = Object.create(this, { _inBatch: { value: true } });
    try {
      await native.batch(this._h, 0);
      let result;
      try {
        result = await fn(tx);
      } catch (e) {
        await native.batch(this._h, 2).catch(() => {});
        throw e;
      }
      await native.batch(this._h, 1);
      return result;
    } finally {
      this._batch = null;
      release();
    }
  }

  // ---- sites

  async createSite(slug, name, options = {}) {
    const { actor = null, ...settings } = options;
    await this._call('siteCreate', actor, siteIn({ ...settings, slug, name }));
    return this.getSite(slug);
  }

  /** Changes some settings; the others keep their values. True if
   * anything changed. */
  async updateSite(slug, changes, { actor = null } = {}) {
    for (const k of Object.keys(changes)) {
      if (!SITE_FIELDS.includes(k)) throw new TypeError(`unknown site setting ${k}`);
    }
    const current = await this.getSite(slug);
    return this._call('siteUpdate', actor, siteIn({ ...current, ...changes, slug }));
  }

  async getSite(slug) {
    return siteOut(await this._call('siteGet', slug));
  }

  async sites() {
    return (await this._call('siteList')).map(siteOut);
  }

  async setSiteSecret(slug, secret) {
    return this._call('siteSetSecret', slug, secret);
  }

  /** The site's JWT secret, as a Buffer. */
  async getSiteSecret(slug) {
    return this._call('siteGetSecret', slug);
  }

  // ---- consultations

  /** Deprecated since 0.2.0: use createConsultationAs, which checks the
   * staff member's role; this one checks none. */
  async createConsultation(site, slug, title, options = {}) {
    const { actor = null, description = null, ward = null, opens, closes } = options;
    await this._call('consultationCreate', site, actor, {
      slug, title, description, ward, opens: toTime(opens), closes: toTime(closes),
    });
    return this._call('consultationGet', site, slug);
  }

  /** createConsultation by a councillor or an admin, audited under the
   * staff member's name; TH_EPERM for anyone else. */
  async createConsultationAs(staff, site, slug, title, options = {}) {
    const { description = null, ward = null, opens, closes } = options;
    await this._call('consultationCreate', site, null, {
      slug, title, description, ward, opens: toTime(opens), closes: toTime(closes),
    }, asStaff(staff));
    return this._call('consultationGet', site, slug);
  }

  async getConsultation(site, slug) {
    return this._call('consultationGet', site, slug);
  }

  async consultations(site) {
    return this._call('consultationList', site);
  }

  // ---- ideas

  /** { id, duplicate } */
  async submitIdea(site, who, title, options = {}) {
    const { body = null, category = null, ward = null, consultation = null } = options;
    return this._call('ideaSubmit', site, toWho(who), { title, body, category, ward, consultation });
  }

  /** Any idea, whatever its status. Unchecked: for a person, getIdeaAs. */
  async getIdea(site, id) {
    return this._call('ideaGet', site, id);
  }

  /** An idea as `staff` may see it: any for a staff member of any role;
   * for null, the public, TH_ENOTFOUND for one they may not see. */
  async getIdeaAs(staff, site, id) {
    return this._call('ideaGet', site, id, asStaff(staff));
  }

  /** An idea as the public may see it (TH_ENOTFOUND for one they may not:
   * pending, hidden, withdrawn, or merged away before it was public). */
  async getPublicIdea(site, id) {
    return this._call('ideaGetPublic', site, id);
  }

  /** { items, nextCursor }. Unchecked (any statuses): for a person,
   * listIdeasAs. */
  async listIdeas(site, query = {}) {
    return this._call('ideaList', site, ideaQuery(query));
  }

  /** listIdeas for `staff`: statuses the public may not see for a staff
   * member of any role; for null, the public, TH_EPERM if asked for. */
  async listIdeasAs(staff, site, query = {}) {
    return this._call('ideaList', site, ideaQuery(query), asStaff(staff));
  }


  /** Every idea matching the query, following cursors. */
  async * iterateIdeas(site, query = {}) {
    let cursor = query.cursor || null;
    for (;;) {
      const page = await this.listIdeas(site, { ...query, cursor });
      yield* page.items;
      if (!page.nextCursor) return;
      cursor = page.nextCursor;
    }
  }

  /** Deprecated since 0.2.0: use setIdeaStatusAs, which checks the staff
   * member's role; this one checks none. */
  async setIdeaStatus(site, id, status, { response = null, actor = null } = {}) {
    return this._call('ideaSetStatus', site, actor, id, toEnum(status, STATUSES, 'status'), response);
  }

  /** setIdeaStatus by a councillor or an admin, audited under the staff
   * member's name; TH_EPERM for anyone else. */
  async setIdeaStatusAs(staff, site, id, status, { response = null } = {}) {
    return this._call('ideaSetStatus', site, null, id, toEnum(status, STATUSES, 'status'),
      response, asStaff(staff));
  }

  /** Deprecated since 0.2.0: use moderateIdeaAs, which checks the staff
   * member's role; this one checks none. */
  async moderateIdea(site, id, action, { reason, into = 0, actor = null } = {}) {
    return this._call('ideaModerate', site, actor, id,
      toEnum(action, MODERATION_ACTIONS, 'action'), into, reason);
  }

  /** moderateIdea by a moderator or an admin, audited under the staff
   * member's name; TH_EPERM for anyone else. */
  async moderateIdeaAs(staff, site, id, action, { reason, into = 0 } = {}) {
    return this._call('ideaModerate', site, null, id,
      toEnum(action, MODERATION_ACTIONS, 'action'), into, reason, asStaff(staff));
  }

  async withdrawIdea(site, who, id) {
    return this._call('ideaWithdraw', site, toWho(who), id);
  }

  // ---- votes

  /** value 1, -1 or 0 (withdraw). { up, down, anonUp, anonDown, myVote, changed } */
  async vote(site, who, id, value) {
    if (typeof value !== 'number') throw new TypeError('a vote is 1, -1 or 0');
    return this._call('vote', site, toWho(who), id, value);
  }

  async voteHistory(site, id) {
    return this._call('voteHistory', site, id);
  }

  /** voteHistory of an idea `staff` may see (getIdeaAs). */
  async voteHistoryAs(staff, site, id) {
    return this._call('voteHistory', site, id, asStaff(staff));
  }

  /** who's own vote on each idea: { [id]: 1 | -1 | 0 }. Reads only. */
  async myVotes(site, who, ids) {
    if (!Array.isArray(ids)) throw new TypeError('ids must be an array of idea ids');
    const votes = await this._call('voteMine', site, toWho(who), ids);
    return Object.fromEntries(ids.map((id, i) => [id, votes[i]]));
  }

  // ---- page feedback

  /**
   * Records one answer to "is this page useful?" (and a 1-5 rating, a
   * comment) from a device (townhall.device(ip, userAgent); null for an
   * importer). Every call is an answer of its own: two residents behind one
   * address and browser are two answers. `key` (1-255 printable ASCII
   * characters, one per answer) folds retries: the same key, device and
   * answer the same day resolves { recorded: false } with the first
   * answer's handle; the same key and device with another answer rejects
   * with TH_ECONFLICT; from another device it is another answer.
   * Resolves { recorded, handle }: the handle amends this answer, and only
   * it, until midnight UTC (amendFeedback).
   */
  async answerFeedback(site, who, page, { useful, rating = null, comment = null, key = null } = {}) {
    if (typeof useful !== 'boolean') throw new TypeError('useful must be true or false');
    return this._call('feedbackAnswer', site, who == null ? null : toWho(who),
      { page, useful, rating: rating || 0, comment }, key);
  }

  /**
   * Changes the answer `handle` names (from answerFeedback), the same day
   * (UTC): useful, rating and comment replace the answer's when given
   * (null or undefined keeps them; a rating or a comment cannot be taken
   * back). `page`, when given, must be the answer's page. True if anything
   * changed. Rejects with TH_ENOTFOUND for a handle that is malformed,
   * unknown, of another site or page, or of an earlier day.
   */
  async amendFeedback(site, handle, { useful = null, rating = null, comment = null, page = null } = {}) {
    if (useful !== null && useful !== undefined && typeof useful !== 'boolean') {
      throw new TypeError('useful must be true, false or null (unchanged)');
    }
    if (typeof handle !== 'string') throw new TypeError('handle must be a string');
    return this._call('feedbackAmend', site, handle, { page, useful, rating: rating || 0, comment });
  }

  /**
   * @deprecated since 0.2.0: use answerFeedback, which returns the handle
   * that amends the answer. This is answerFeedback without a key and
   * without the handle: every call records a new answer (a second answer
   * from the same device no longer amends the first), so it resolves true.
   */
  async recordFeedback(site, who, page, { useful, rating = 0, comment = null } = {}) {
    if (typeof useful !== 'boolean') throw new TypeError('useful must be true or false');
    return this._call('feedbackRecord', site, toWho(who), { page, useful, rating: rating || 0, comment });
  }

  /**
   * A page's exact counters (for staff; exact: true), or with
   * { public: true } what anyone may be shown under the site's disclosure
   * rules, as in open data: complete ISO weeks only (TH_ENOTFOUND until the
   * page has answers before this week), small counts withheld and the others
   * rounded, and every withheld figure null (comments always).
   */
  async feedbackSummary(site, page, { public: published = false } = {}) {
    // A boolean only: a mistyped flag must not hand out the exact figures.
    if (typeof published !== 'boolean') throw new TypeError('public must be true or false');
    return this._call('feedbackSummary', site, page, published);
  }

  /** { items, nextCursor }, worst pages first. */
  /** A page's figures as `staff` may see them: the exact counters for a
   * staff member of any role; for null, the public, the published ones. */
  async feedbackSummaryAs(staff, site, page) {
    return this._call('feedbackSummary', site, page, false, asStaff(staff));
  }

  async feedbackPages(site, { limit = 20, cursor = null } = {}) {
    return this._call('feedbackPages', site, limit, cursor);
  }

  /** feedbackPages for a staff member of any role; TH_EPERM for null. */
  async feedbackPagesAs(staff, site, { limit = 20, cursor = null } = {}) {
    return this._call('feedbackPages', site, limit, cursor, asStaff(staff));
  }

  async feedbackComments(site, page, { limit = 50 } = {}) {
    return this._call('feedbackComments', site, page, limit);
  }

  /** feedbackComments for a staff member of any role; TH_EPERM for null. */
  async feedbackCommentsAs(staff, site, page, { limit = 50 } = {}) {
    return this._call('feedbackComments', site, page, limit, asStaff(staff));
  }

  // ---- open data

  /**
   * feedback.csv as a Buffer: exactly the bytes the server publishes at
   * /v1/sites/{site}/open/feedback.csv (page feedback per page and ISO week
   * under the site's disclosure rules, complete weeks only). from: a day
   * ('2026-01-05', or a Date, read in UTC) whose week is the first, as the
   * server's ?from=; weeks: 1 to 104 (0: 52 before the week in progress,
   * or every complete week from `from`, at most 104).
   */
  async openDataFeedback(site, { from = null, weeks = 0 } = {}) {
    if (from instanceof Date) from = from.toISOString().slice(0, 10);
    return this._call('openDataFeedback', site, from, weeks);
  }

  /**
   * ideas.csv as a Buffer: exactly the bytes the server publishes at
   * /v1/sites/{site}/open/ideas.csv (public ideas created before the week
   * in progress, their votes at the end of the last complete week, the
   * council's responses).
   */
  async openDataIdeas(site) {
    return this._call('openDataIdeas', site);
  }

  // ---- residents' rights

  async exportResident(site, resident) {
    return JSON.parse(await this._call('residentExport', site, resident));
  }

  /** The number of votes and ideas affected (0 if nothing was held). */
  async eraseResident(site, resident) {
    return this._call('residentErase', site, resident);
  }

  // ---- retention, audit

  async purge() {
    return this._call('purge');
  }

  /**
   * Re-seals every site secret and consultation key under a new key file,
   * created at newKeyFile, and revokes every staff token (docs/operations.md,
   * "Rotating the key file"). Only while nothing else has the database open
   * (a running server included): rejects with TH_EBUSY otherwise. `backup`:
   * a copy of the database as it was, taken first. Nothing changes if it
   * rejects; this handle uses the new key afterwards.
   */
  async rotateKey(newKeyFile, { backup = null, actor = null } = {}) {
    return this._call('keyRotate', actor, String(newKeyFile),
      backup == null ? null : String(backup));
  }

  async auditLog(site, { beforeId = 0, limit = 100 } = {}) {
    return this._call('auditList', site, beforeId, limit);
  }

  /** auditLog for an admin; TH_EPERM for anyone else. */
  async auditLogAs(staff, site, { beforeId = 0, limit = 100 } = {}) {
    return this._call('auditList', site, beforeId, limit, asStaff(staff));
  }

  // ---- staff tokens

  /** { id, token }: the token is shown once and only its hash is kept. */
  /** A resident token (JWT, HS256 with the site's secret, ttl seconds, at
   * most an hour), as the council's own login would hand its pages. */
  async residentToken(site, resident, { ttl = 3600 } = {}) {
    return this._call('residentToken', site, resident, ttl);
  }

  async createToken(role, label, { site = null, expires, actor = null } = {}) {
    return this._call('tokenCreate', actor, site, toEnum(role, ROLES, 'role', 1),
      label, toTime(expires));
  }

  async revokeToken(id, { actor = null } = {}) {
    return this._call('tokenRevoke', actor, id);
  }

  async checkToken(token, site = null) {
    return this._call('tokenCheck', token, site);
  }

  /** The staff member a token proves, for the *As methods: the only way
   * to get a Staff. TH_EAUTH (malformed, unknown, wrong, revoked or
   * expired: one message for all), TH_EPERM (for another site). */
  async staffFromToken(token, site = null) {
    return new Staff(staffKey, await this._call('staffFromToken', token, site));
  }

  async tokens() {
    return this._call('tokenList');
  }
}

/**
 * Opens (creating and migrating as needed) a townhall database. The key
 * file ("<path>.key" unless keyFile is given) is created beside it.
 */
async function open(file, options = {}) {
  const {
    keyFile = null, readonly = false, create = true, migrate = true,
    busyTimeoutMs = 0, synchronous = null, persistSalts = true,
  } = options;
  const sync = { null: 0, full: 2, normal: 1 }[String(synchronous)];
  if (sync === undefined) throw invalid("synchronous is 'full' or 'normal'");
  const flags = (readonly ? 1 : 0) | (create ? 0 : 2) | (migrate ? 0 : 4);
  const h = await native.open(String(file), keyFile, flags, busyTimeoutMs, sync,
    persistSalts ? 0 : -1);
  return new Townhall(h, String(file));
}

const v = native.version();

module.exports = {
  open,
  Townhall,
  Staff,
  TownhallError,
  device,
  version: v.string,
  schemaLatest: v.schemaLatest,
  redact: (text) => native.redact(text),
  normalizeUrl: (url, keepParams = null) => native.normalizeUrl(url, keepParams),
  STATUSES,
  PUBLIC_STATUSES,
  SORTS,
  MODERATION_ACTIONS,
  ROLES,
  ERRORS,
};
