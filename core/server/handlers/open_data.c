/*
 * handlers/open_data.c: open data over HTTP.
 *
 *   GET /v1/sites/{site}/open/feedback.csv   page feedback per page per ISO week
 *   GET /v1/sites/{site}/open/ideas.csv      ideas, their status, votes and
 *                                            the council's response
 *
 * What the files hold, and every disclosure rule they follow, is the
 * domain's (core/opendata.c, th_open_data_*): this file adds HTTP and
 * keeps the loop free. ideas.csv runs on the loop's read-only connection.
 * feedback.csv aggregates every answer in its window (52 weeks, or from
 * ?from=YYYY-MM-DD), which on a large site takes a second or more, on a
 * URL anyone may fetch: it is built in libuv's thread pool on a read-only
 * connection the server keeps for it, one file at a time per server,
 * whichever site it is for (another request meanwhile gets 503 and
 * Retry-After), so the loop goes on serving everyone else. Complete weeks
 * never change (an answer is recorded, or replaced, on its own day only),
 * so the last few files built are kept until the week ends (see "cache"
 * below).
 */
#include "router.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TH__OGL_HEADERS                                                      \
  "Link: <https://www.nationalarchives.gov.uk/doc/open-government-licence/"  \
  "version/3/>; rel=\"license\"; title=\"Open Government Licence v3.0\"\r\n" \
  "Cache-Control: public, max-age=3600\r\n"

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

/* A feedback.csv being built in the thread pool. The request waits for it
 * like a write waits for the writer (req->async, pending_cmds): it outlives
 * its connection, and a stopping loop finishes only after it. */
typedef struct th__open_job {
  uv_work_t work;
  th__req *req;
  th_db *db; /* the server's open_reader, this job's while the flag is set */
  th__open_cached key;
  th__open_window window;
  char site[64];
  th__sbuf b;
  int rc;
  char msg[256];
} th__open_job;

static void th__open_work(uv_work_t *w) {
  th__open_job *j = w->data;
  j->rc = th__open_feedback_build(j->db, j->key.site_id, &j->window,
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
  th__open_window w;
  const char *from_s = json_string_value(json_object_get(x->query, "from"));
  if (th__open_window_get(db, from_s, 0, &w) < 0) {
    th__respond_problem(x->req, 422, "inval", "Invalid query",
                        "from is a date such as 2026-01-05.", NULL);
    return;
  }

  th__open_cached key = {.srv = x->req->lp->srv,
                         .path = db->path,
                         .site_id = site->id,
                         .from = w.from,
                         .this_monday = w.this_monday,
                         .rules = *rules};
  th__sbuf b = {0};
  if (th__open_cache_get(&key, &b)) {
    th__open_send(x->req, x->site, &b, "feedback.csv");
    th__sbuf_free(&b);
    return;
  }
  th__sbuf_free(&b);
  b = (th__sbuf){0};
  if (w.from >= w.to) { /* no complete week asked for: the header only */
    th__open_feedback_build(db, site->id, &w, rules, &b);
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
  j->window = w;
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
  int64_t this_monday = th__monday(th__day(th_now(db)));
  th__sbuf b = {0};
  int rc = th__open_ideas_build(db, site->id, this_monday, rules, &b);
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
