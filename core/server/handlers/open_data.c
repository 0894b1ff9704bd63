/*
 * handlers/open_data.c: open data (Open Government Licence v3.0), safe to publish.
 *
 *   GET /v1/sites/{site}/open/feedback.csv   page feedback per page per ISO week
 *   GET /v1/sites/{site}/open/ideas.csv      ideas, their status, votes and
 *                                            the council's response
 *
 * Anyone may download these files, so every count in them is treated as if
 * it were going to be published on a council's website forever:
 *
 *  - Small counts are suppressed: a count from 1 to open_min - 1 (the site's
 *    setting, 8 by default: the NHS rule) is written as "*". Zero stays 0.
 *  - Every other count is rounded to the nearest multiple of open_round (5
 *    by default; halves round up), and never down to 0.
 *  - Differencing: a total must not give a suppressed cell away. The only
 *    total in these files is a feedback row's "responses", which is exactly
 *    yes + no (every answer says yes or no). If exactly one of yes and no is
 *    suppressed, responses minus the other would recover it, so responses
 *    is suppressed too ("*" then means "withheld", not necessarily "fewer
 *    than open_min"). Rating columns have no published total (an answer
 *    need not carry a rating), so nothing else can be subtracted.
 *  - Differencing over time: the files only describe complete ISO weeks
 *    (Monday to Sunday, UTC). The week in progress is never published, so
 *    two downloads a day apart are identical and cannot be subtracted to
 *    isolate one day's answers. For the same reason ideas.csv gives each
 *    idea's votes as they stood at the end of the last complete week (from
 *    the per-day tallies kept for the idea's history) and lists only ideas
 *    created before that week ended.
 *  - No authors, no comments, no idea bodies: only what the council already
 *    shows everyone (titles, statuses, official responses) and counts.
 *
 * Rounding is what protects against differencing between different
 * publications (an all-time page summary against the weekly rows): a site
 * that sets open_round to 1 keeps the suppression but loses that
 * protection; docs/privacy.md says so.
 *
 * Both queries are bounded: feedback.csv covers at most 104 weeks (52 by
 * default, or from ?from=YYYY-MM-DD) and both files stop at
 * TH__OPEN_MAX_ROWS rows. ideas.csv runs on the loop's read-only
 * connection. feedback.csv aggregates every answer in its window, which on
 * a large site takes a second or more, on a URL anyone may fetch: it is
 * built in libuv's thread pool on a read-only connection the server keeps
 * for it, one file at a time per server, whichever site it is for (another
 * request meanwhile gets 503 and Retry-After), so the loop goes on serving
 * everyone else. Complete weeks never change (an
 * answer is recorded, or replaced, on its own day only), so the last few
 * files built are kept until the week ends (see "cache" below).
 */
#include "router.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TH__OPEN_MAX_ROWS 50000
#define TH__OPEN_DEFAULT_WEEKS 52
#define TH__OPEN_MAX_WEEKS 104

#define TH__OGL_HEADERS                                                      \
  "Link: <https://www.nationalarchives.gov.uk/doc/open-government-licence/"  \
  "version/3/>; rel=\"license\"; title=\"Open Government Licence v3.0\"\r\n" \
  "Cache-Control: public, max-age=3600\r\n"

/* "2026-W02" for the ISO week starting on the Monday `monday`: the week
 * belongs to the year of its Thursday. */
static void th__iso_week(int64_t monday, char *out, size_t cap) {
  time_t t = (time_t)((monday + 3) * 86400);
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL) {
    snprintf(out, cap, "?");
    return;
  }
  snprintf(out, cap, "%04d-W%02d", (tm.tm_year + 1900) % 10000,
           (tm.tm_yday / 7 + 1) % 100);
}

static void th__iso_date(int64_t ms, char *out, size_t cap) {
  if (ms <= 0) {
    out[0] = '\0';
    return;
  }
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL || strftime(out, cap, "%Y-%m-%d", &tm) == 0)
    out[0] = '\0';
}

typedef struct th__open_rules {
  int64_t min, round;
  int64_t created; /* the site's, to tell a site from another of its id */
} th__open_rules;

/* One count as published (disclosure.c): 0, "*", or rounded. */
static void th__cell(th__sbuf *b, int64_t published, bool last) {
  if (published == TH_WITHHELD)
    th__csv_text(b, "*", last);
  else
    th__csv_int(b, published, last);
}

static int th__open_rules_get(th_db *db, int64_t site_id, th__open_rules *r) {
  sqlite3_stmt *st =
      th__stmt_dynamic(db, "SELECT open_min, open_round, created FROM sites"
                           " WHERE id = ?1");
  if (st == NULL)
    return db->errcode;
  sqlite3_bind_int64(st, 1, site_id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    r->min = sqlite3_column_int64(st, 0);
    r->round = sqlite3_column_int64(st, 1);
    r->created = sqlite3_column_int64(st, 2);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_ROW)
    return th__sqlerr(db, rc == SQLITE_DONE ? SQLITE_ERROR : rc,
                      "reading the site's open-data settings");
  if (r->min < 0)
    r->min = 0;
  if (r->round < 1)
    r->round = 1;
  return TH_OK;
}

static void th__open_send(th__req *req, const char *site, th__sbuf *b,
                          const char *name) {
  /* Open data is for everyone, from any page: no credentials are involved,
   * so any origin may read it. */
  snprintf(req->cors, sizeof req->cors, "Access-Control-Allow-Origin: *\r\n");
  char extra[512];
  snprintf(extra, sizeof extra,
           TH__OGL_HEADERS
           "Content-Disposition: attachment; filename=\"%s-%s\"\r\n",
           site, name);
  th__respond(req, 200, "text/csv; charset=utf-8; header=present", extra,
              b->p, b->len);
}

/* ---- cache ------------------------------------------------------------------ */

/* The last few feedback.csv files built, in any server of the process, each
 * for one server, database, site, window, week and settings: the same key
 * is the same file until the week in progress ends (then this_monday, part
 * of the key, moves on). A settings change changes the key. Bodies are
 * copied in and out under a lock, so loops on other threads may share it. */
#define TH__OPEN_CACHE 4
#define TH__OPEN_CACHE_MAX_BYTES ((size_t)8 << 20)

typedef struct th__open_cached {
  const void *srv;
  char *path; /* the database's */
  int64_t site_id, from, this_monday;
  th__open_rules rules;
  uint64_t used; /* 0: a free slot */
  char *body;
  size_t len;
} th__open_cached;

static pthread_mutex_t th__open_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static th__open_cached th__open_cache[TH__OPEN_CACHE];
static uint64_t th__open_cache_clock;

static bool th__open_cache_match(const th__open_cached *e,
                                 const th__open_cached *k) {
  return e->used && e->srv == k->srv && e->site_id == k->site_id &&
         e->from == k->from && e->this_monday == k->this_monday &&
         e->rules.min == k->rules.min && e->rules.round == k->rules.round &&
         e->rules.created == k->rules.created &&
         strcmp(e->path, k->path) == 0;
}

static void th__open_cache_drop(th__open_cached *e) {
  free(e->path);
  free(e->body);
  memset(e, 0, sizeof *e);
}

/* Copies a cached body into `b`; false if there is none. */
static bool th__open_cache_get(const th__open_cached *k, th__sbuf *b) {
  bool hit = false;
  pthread_mutex_lock(&th__open_cache_lock);
  for (int i = 0; i < TH__OPEN_CACHE; i++) {
    th__open_cached *e = &th__open_cache[i];
    if (th__open_cache_match(e, k)) {
      e->used = ++th__open_cache_clock;
      th__sbuf_put(b, e->body, e->len);
      hit = !b->oom;
      break;
    }
  }
  pthread_mutex_unlock(&th__open_cache_lock);
  return hit;
}

static void th__open_cache_put(const th__open_cached *k, const th__sbuf *b) {
  if (b->len > TH__OPEN_CACHE_MAX_BYTES)
    return;
  char *path = strdup(k->path), *body = malloc(b->len ? b->len : 1);
  if (path == NULL || body == NULL) {
    free(path);
    free(body);
    return;
  }
  memcpy(body, b->p, b->len);
  pthread_mutex_lock(&th__open_cache_lock);
  th__open_cached *slot = &th__open_cache[0];
  for (int i = 0; i < TH__OPEN_CACHE; i++) {
    th__open_cached *e = &th__open_cache[i];
    if (e->used && (e->this_monday < k->this_monday ||
                    th__open_cache_match(e, k)))
      th__open_cache_drop(e); /* a past week's, or the same again */
    if (e->used < slot->used)
      slot = e; /* a free slot (0), else the least recently used */
  }
  th__open_cache_drop(slot);
  *slot = *k;
  slot->path = path;
  slot->body = body;
  slot->len = b->len;
  slot->used = ++th__open_cache_clock;
  pthread_mutex_unlock(&th__open_cache_lock);
}

/* ---- feedback.csv ---------------------------------------------------------- */

/* The file for weeks [from, to) into `b`. TH_OK, or an error with db's
 * message. Runs on any thread, with a handle of its own. */
static int th__open_feedback_build(th_db *db, int64_t site_id, int64_t from,
                                   int64_t to, const th__open_rules *rules,
                                   th__sbuf *b) {
  th__disclosure d = {rules->min, rules->round};
  th__csv_begin(b);
  static const char *const head[] = {"page",     "week",     "yes",
                                     "no",       "rating_1", "rating_2",
                                     "rating_3", "rating_4", "rating_5",
                                     "responses"};
  for (size_t i = 0; i < TH__ARRAY_SIZE(head); i++)
    th__csv_text(b, head[i], i + 1 == TH__ARRAY_SIZE(head));
  if (from >= to)
    return TH_OK;
  /* Each page's answers per week from its first, in order: the running
   * totals are what is published (disclosure.c, rule 1). */
  sqlite3_stmt *st = th__stmt_dynamic(
      db,
      "SELECT p.url, f.day - ((f.day + 3) % 7) AS monday,"
      " count(*) FILTER (WHERE f.useful = 1),"
      " count(*) FILTER (WHERE f.useful = 0),"
      " count(*) FILTER (WHERE f.rating = 1),"
      " count(*) FILTER (WHERE f.rating = 2),"
      " count(*) FILTER (WHERE f.rating = 3),"
      " count(*) FILTER (WHERE f.rating = 4),"
      " count(*) FILTER (WHERE f.rating = 5)"
      " FROM pages p JOIN feedback f ON f.page_id = p.id"
      " WHERE p.site_id = ?1 AND p.last_day >= ?2 AND p.first_day < ?3"
      " AND f.day < ?3"
      " GROUP BY f.page_id, monday ORDER BY p.url, monday");
  if (st == NULL)
    return db->errcode;
  sqlite3_bind_int64(st, 1, site_id);
  sqlite3_bind_int64(st, 2, from);
  sqlite3_bind_int64(st, 3, to);
  int src;
  size_t rows = 0;
  th_page_summary total = {0}, shown = {0};
  char *url = NULL;
  while ((src = sqlite3_step(st)) == SQLITE_ROW && rows < TH__OPEN_MAX_ROWS) {
    const char *u = (const char *)sqlite3_column_text(st, 0);
    if (url == NULL || strcmp(url, u) != 0) {
      /* The next page: its totals start from nothing. */
      free(url);
      if ((url = strdup(u)) == NULL) {
        b->oom = true;
        break;
      }
      memset(&total, 0, sizeof total);
      memset(&shown, 0, sizeof shown);
    }
    int64_t monday = sqlite3_column_int64(st, 1);
    total.yes += sqlite3_column_int64(st, 2);
    total.no += sqlite3_column_int64(st, 3);
    for (int k = 0; k < 5; k++)
      total.ratings[k] += sqlite3_column_int64(st, 4 + k);
    th_page_summary pub;
    th__publish_page(&d, &total, &pub);
    bool changed = pub.yes != shown.yes || pub.no != shown.no ||
                   memcmp(pub.ratings, shown.ratings, sizeof pub.ratings) != 0;
    shown = pub;
    /* A row only where a published figure moved: which weeks had answers
     * is itself a count the totals may not show. */
    if (monday < from || !changed)
      continue;
    char week[32];
    th__iso_week(monday, week, sizeof week);
    th__csv_text(b, url, false);
    th__csv_text(b, week, false);
    th__cell(b, pub.yes, false);
    th__cell(b, pub.no, false);
    for (int k = 0; k < 5; k++)
      th__cell(b, pub.ratings[k], false);
    th__cell(b, pub.responses, true);
    rows++;
  }
  free(url);
  if (src == SQLITE_ROW)
    src = SQLITE_DONE; /* stopped at the row limit */
  int rc = src == SQLITE_DONE
               ? TH_OK
               : th__sqlerr(db, src, "aggregating feedback for open data");
  sqlite3_reset(st);
  return rc;
}

/* A feedback.csv being built in the thread pool. The request waits for it
 * like a write waits for the writer (req->async, pending_cmds): it outlives
 * its connection, and a stopping loop finishes only after it. */
typedef struct th__open_job {
  uv_work_t work;
  th__req *req;
  th_db *db; /* the server's open_reader, this job's while the flag is set */
  th__open_cached key;
  int64_t to;
  char site[64];
  th__sbuf b;
  int rc;
  char msg[256];
} th__open_job;

static void th__open_work(uv_work_t *w) {
  th__open_job *j = w->data;
  j->rc = th__open_feedback_build(j->db, j->key.site_id, j->key.from, j->to,
                                  &j->key.rules, &j->b);
  if (j->rc == TH_OK && j->b.oom)
    j->rc = TH_ENOMEM;
  if (j->rc < 0)
    snprintf(j->msg, sizeof j->msg, "%s", th_errmsg(j->db));
}

static void th__open_built(uv_work_t *w, int status) {
  th__open_job *j = w->data;
  th__req *req = j->req;
  th__loop *lp = req->lp;
  atomic_store(&lp->srv->open_building, false);
  if (status < 0) {
    j->rc = TH_ESHUTDOWN;
    snprintf(j->msg, sizeof j->msg, "The server is shutting down.");
  }
  if (j->rc < 0) {
    th__respond_error(req, j->rc, j->msg); /* a 5xx keeps the detail out */
  } else {
    th__open_cache_put(&j->key, &j->b);
    th__open_send(req, j->site, &j->b, "feedback.csv");
  }
  th__sbuf_free(&j->b);
  free(j);
  lp->pending_cmds--;
  th__loop_maybe_finish(lp);
}

static void th__open_feedback(th__ctx *x, const th__site_row *site,
                              const th__open_rules *rules) {
  th_db *db = x->req->lp->reader;
  int64_t this_monday = th__monday(th__day(th_now(db)));
  int64_t from = this_monday - 7 * (int64_t)TH__OPEN_DEFAULT_WEEKS;
  const char *from_s = json_string_value(json_object_get(x->query, "from"));
  if (from_s) {
    struct tm tm = {0};
    const char *end = strptime(from_s, "%Y-%m-%d", &tm);
    if (end == NULL || *end != '\0') {
      th__respond_problem(x->req, 422, "inval", "Invalid query",
                          "from is a date such as 2026-01-05.", NULL);
      return;
    }
    from = th__monday((int64_t)timegm(&tm) / 86400);
  }
  int64_t to = from + 7 * (int64_t)TH__OPEN_MAX_WEEKS;
  if (to > this_monday)
    to = this_monday; /* the week in progress is never published */

  th__open_cached key = {.srv = x->req->lp->srv,
                         .path = db->path,
                         .site_id = site->id,
                         .from = from,
                         .this_monday = this_monday,
                         .rules = *rules};
  th__sbuf b = {0};
  if (th__open_cache_get(&key, &b)) {
    th__open_send(x->req, x->site, &b, "feedback.csv");
    th__sbuf_free(&b);
    return;
  }
  th__sbuf_free(&b);
  b = (th__sbuf){0};
  if (from >= to) { /* no complete week asked for: the header only */
    th__open_feedback_build(db, site->id, from, to, rules, &b);
    if (b.oom) {
      th__respond_error(x->req, TH_ENOMEM, "out of memory");
    } else {
      th__open_cache_put(&key, &b);
      th__open_send(x->req, x->site, &b, "feedback.csv");
    }
    th__sbuf_free(&b);
    return;
  }
  th_server *srv = x->req->lp->srv;
  if (atomic_exchange(&srv->open_building, true)) {
    th__respond_error(x->req, TH_EBUSY,
                      "Another open-data file is being prepared; try again "
                      "in a few seconds.");
    return;
  }
  th__open_job *j = calloc(1, sizeof *j);
  if (j == NULL) {
    atomic_store(&srv->open_building, false);
    th__respond_error(x->req, TH_ENOMEM, "out of memory");
    return;
  }
  j->work.data = j;
  j->req = x->req;
  j->db = srv->open_reader;
  j->key = key;
  j->to = to;
  snprintf(j->site, sizeof j->site, "%s", x->site);
  x->req->async = true;
  x->req->lp->pending_cmds++;
  if (uv_queue_work(x->req->lp->loop, &j->work, th__open_work,
                    th__open_built) != 0) {
    /* Not queued: built here instead, as before the thread pool. */
    th__open_work(&j->work);
    th__open_built(&j->work, 0);
  }
}

/* ---- ideas.csv ------------------------------------------------------------- */

static void th__open_ideas(th__ctx *x, const th__site_row *site,
                           const th__open_rules *rules) {
  th_db *db = x->req->lp->reader;
  th__disclosure d = {rules->min, rules->round};
  int64_t this_monday = th__monday(th__day(th_now(db)));
  th__sbuf b = {0};
  th__csv_begin(&b);
  static const char *const head[] = {
      "id",       "consultation", "title",         "status",
      "category", "ward",         "created",       "votes_for",
      "votes_against", "response", "response_date"};
  for (size_t i = 0; i < TH__ARRAY_SIZE(head); i++)
    th__csv_text(&b, head[i], i + 1 == TH__ARRAY_SIZE(head));
  /* Public statuses only (published, under review, accepted, in progress,
   * done, declined): never pending, hidden, withdrawn or merged ideas. */
  sqlite3_stmt *st = th__stmt_dynamic(
      db,
      "SELECT i.id, c.slug, i.title, i.status, i.category, i.ward, i.created,"
      " coalesce(v.up, 0), coalesce(v.down, 0), i.response, i.response_at"
      " FROM ideas i JOIN consultations c ON c.id = i.consultation_id"
      " LEFT JOIN vote_days v ON v.idea_id = i.id AND v.day ="
      "  (SELECT max(day) FROM vote_days WHERE idea_id = i.id AND day < ?2)"
      " WHERE i.site_id = ?1 AND i.status BETWEEN 1 AND 6 AND i.created < ?3"
      " ORDER BY i.id LIMIT ?4");
  int rc = TH_OK;
  if (st == NULL) {
    rc = db->errcode;
  } else {
    sqlite3_bind_int64(st, 1, site->id);
    sqlite3_bind_int64(st, 2, this_monday);
    sqlite3_bind_int64(st, 3, this_monday * TH__DAY_MS);
    sqlite3_bind_int(st, 4, TH__OPEN_MAX_ROWS);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
      char created[16], responded[16];
      th__iso_date(sqlite3_column_int64(st, 6), created, sizeof created);
      const char *response = (const char *)sqlite3_column_text(st, 9);
      if (response && response[0])
        th__iso_date(sqlite3_column_int64(st, 10), responded, sizeof responded);
      else
        responded[0] = '\0';
      const char *status = th_status_name(sqlite3_column_int(st, 3));
      th__csv_int(&b, sqlite3_column_int64(st, 0), false);
      th__csv_text(&b, (const char *)sqlite3_column_text(st, 1), false);
      th__csv_text(&b, (const char *)sqlite3_column_text(st, 2), false);
      th__csv_text(&b, status ? status : "", false);
      th__csv_text(&b, (const char *)sqlite3_column_text(st, 4), false);
      th__csv_text(&b, (const char *)sqlite3_column_text(st, 5), false);
      th__csv_text(&b, created, false);
      th__cell(&b, th__publish_count(&d, sqlite3_column_int64(st, 7)), false);
      th__cell(&b, th__publish_count(&d, sqlite3_column_int64(st, 8)), false);
      th__csv_text(&b, response, false);
      th__csv_text(&b, responded, true);
    }
    if (src != SQLITE_DONE)
      rc = th__sqlerr(db, src, "listing ideas for open data");
    sqlite3_reset(st);
  }
  if (rc < 0 || b.oom) {
    th__sbuf_free(&b);
    th__respond_error(x->req, rc < 0 ? rc : TH_ENOMEM, th_errmsg(db));
    return;
  }
  th__open_send(x->req, x->site, &b, "ideas.csv");
  th__sbuf_free(&b);
}

/* The site's disclosure rules, then the file; false after answering. */
static bool th__open_rules_read(th__ctx *x, th__open_rules *rules) {
  th_db *db = x->req->lp->reader;
  int rc = th__open_rules_get(db, x->row->id, rules);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(db));
    return false;
  }
  return true;
}

void th__handle_open_feedback_get(th__ctx *x) {
  th__open_rules rules = {8, 5, 0};
  if (th__open_rules_read(x, &rules))
    th__open_feedback(x, x->row, &rules);
}

void th__handle_open_ideas_get(th__ctx *x) {
  th__open_rules rules = {8, 5, 0};
  if (th__open_rules_read(x, &rules))
    th__open_ideas(x, x->row, &rules);
}
