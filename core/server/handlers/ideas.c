/*
 * handlers/ideas.c: ideas, as residents and the public see them.
 *
 *   GET  /v1/sites/{site}/ideas                 the ranked, filtered list
 *   POST /v1/sites/{site}/ideas                 a resident proposes one
 *   GET  /v1/sites/{site}/ideas/{id}            one idea
 *   GET  /v1/sites/{site}/ideas/{id}/history    its votes per day
 *   PUT  /v1/sites/{site}/ideas/{id}/vote       one resident, one vote
 *   POST /v1/sites/{site}/ideas/{id}/withdraw   its author withdraws it
 *
 * Staff's decisions on ideas (status, moderation) are in staff.c.
 * Handlers run on the loop thread; the write commands' run functions on
 * the writer thread.
 */
#include "router.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *th__idea_json(const th_idea *i) {
  json_t *o = json_pack(
      "{s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)i->id,
      "consultation", i->consultation, "title", i->title, "body", i->body,
      "category", i->category, "ward", i->ward, "status",
      th_status_name(i->status) ? th_status_name(i->status) : "unknown");
  json_object_set_new(o, "votes",
                      json_pack("{s:I,s:I,s:I,s:I}", "up", (json_int_t)i->up,
                                "down", (json_int_t)i->down, "anon_up",
                                (json_int_t)i->anon_up, "anon_down",
                                (json_int_t)i->anon_down));
  json_object_set_new(o, "response",
                      i->response[0] ? json_pack("{s:s,s:o}", "text",
                                                 i->response, "at",
                                                 th__iso(i->response_at))
                                     : json_null());
  json_object_set_new(o, "merged_into", i->merged_into
                                            ? json_integer(i->merged_into)
                                            : json_null());
  /* What the domain decides (th_idea_is_public): the dashboard shows it. */
  json_object_set_new(o, "public", json_boolean(th_idea_is_public(i)));
  json_object_set_new(o, "created", th__iso(i->created));
  json_object_set_new(o, "updated", th__iso(i->updated));
  json_object_set_new(o, "rank",
                      json_pack("{s:f,s:f,s:f}", "top", i->top, "hot", i->hot,
                                "controversial", i->controversial));
  return o;
}

static void th__csv_time(th__sbuf *b, th_time t, bool last) {
  json_t *j = th__iso(t);
  th__csv_text(b, json_is_string(j) ? json_string_value(j) : "", last);
  json_decref(j);
}

/* Every row of a filtered list (up to TH__CSV_MAX_ROWS), as CSV: the
 * public's statuses for anyone, others for staff (the handler's gate). */
static void th__ideas_csv(th__ctx *x, const th_staff *staff,
                          th_idea_query *q) {
  th__sbuf b = {0};
  static const char *const head[] = {"id", "consultation", "title", "status",
                                     "category", "ward", "up", "down",
                                     "anon_up", "anon_down", "created",
                                     "response"};
  th__csv_header(&b, head, TH__ARRAY_SIZE(head));
  char *cursor = NULL;
  size_t rows = 0;
  int rc = TH_OK;
  q->limit = 100;
  do {
    q->cursor = cursor;
    th_idea_page *p = NULL;
    rc = th_idea_list_as(th__reader(x), staff, x->site, q, &p);
    free(cursor);
    cursor = NULL;
    if (rc < 0)
      break;
    for (size_t i = 0; i < p->count; i++, rows++) {
      const th_idea *it = &p->items[i];
      th__csv_int(&b, it->id, false);
      th__csv_text(&b, it->consultation, false);
      th__csv_text(&b, it->title, false);
      th__csv_text(&b, th_status_name(it->status), false);
      th__csv_text(&b, it->category, false);
      th__csv_text(&b, it->ward, false);
      th__csv_int(&b, it->up, false);
      th__csv_int(&b, it->down, false);
      th__csv_int(&b, it->anon_up, false);
      th__csv_int(&b, it->anon_down, false);
      th__csv_time(&b, it->created, false);
      th__csv_text(&b, it->response, true);
    }
    if (p->next_cursor && rows < TH__CSV_MAX_ROWS)
      cursor = th__strdup(p->next_cursor);
    th_idea_page_free(p);
  } while (cursor);
  th__csv_respond(x, &b, rc, "ideas");
}

void th__handle_ideas_list(th__ctx *x) {
  th_idea_query q = TH_IDEA_QUERY_INIT;
  q.consultation = th__qs(x, "consultation");
  q.ward = th__qs(x, "ward");
  q.category = th__qs(x, "category");
  q.cursor = th__qs(x, "cursor");
  const char *sort = th__qs(x, "sort");
  const char *status = th__qs(x, "status");
  const char *from = th__qs(x, "from"), *to = th__qs(x, "to");
  q.sort = sort ? th_sort_parse(sort) : TH_SORT_TOP;
  q.limit = th__limit(x, 20, 100);
  uint64_t seed = 0;
  int seed_ok = th__qs_whole(x, "seed", UINT64_MAX, &seed);
  q.seed = seed;
  int csv = th__qs_csv(x);
  q.created_from = from ? th__parse_time(from) : 0;
  q.created_to = to ? th__parse_time(to) : 0;
  unsigned mask = 0;
  bool bad_status = false;
  if (status) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", status);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
      int s = th_status_parse(t);
      if (s < 0)
        bad_status = true;
      else
        mask |= TH_STATUS_BIT(s);
    }
  }
  if (q.sort < 0 || q.limit < 0 || bad_status || q.created_from < 0 ||
      q.created_to < 0 || seed_ok < 0 || csv < 0) {
    th__respond_problem(x->req, 422, "inval", "Invalid query",
                        "sort is top, hot, new, controversial or random; "
                        "limit 1 to 100; status a comma-separated list of "
                        "statuses; from and to dates (YYYY-MM-DD); seed a "
                        "whole number; format, if given, csv.",
                        NULL);
    return;
  }
  q.statuses = mask;
  /* Statuses the public may not see need a staff token; a staff token
   * sent anyway is checked all the same (one gate for every route). */
  th__auth staff = {0};
  int gate = th__staff_gate(x, (mask & ~TH_STATUS_PUBLIC) != 0, &staff);
  if (gate == TH__GATE_ANSWERED)
    return;
  const th_staff *as = gate == TH__GATE_STAFF ? &staff.staff : NULL;
  if (csv) {
    th__ideas_csv(x, as, &q);
    return;
  }
  /* Public statuses and no token at all: the same answer for everyone. */
  size_t len = 0;
  const char *tok = th__bearer(x->req, &len);
  th__loop *lp = x->req->lp;
  char key[1024];
  int key_len = 0;
  bool cacheable = (mask & ~TH_STATUS_PUBLIC) == 0 && tok == NULL;
  if (cacheable) {
    key_len = snprintf(key, sizeof key, "%s\n%s", x->site, x->query_str);
    cacheable = key_len > 0 && (size_t)key_len < sizeof key &&
                th__cache_check(x);
  }
  if (cacheable) {
    const th__cached *hit = th__cache_find(lp, key, (size_t)key_len);
    th__metrics_cache(hit != NULL);
    if (hit) {
      th__respond(x->req, 200, "application/json", NULL, hit->body, hit->len);
      return;
    }
  }
  th_idea_page *p = NULL;
  int rc = th_idea_list_as(th__reader(x), as, x->site, &q, &p);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  /* A signed-in resident also sees their own vote on each idea. */
  int mine[100] = {0};
  bool with_mine = false;
  if (tok && !(len > 3 && strncmp(tok, "th_", 3) == 0) &&
      p->count <= TH__ARRAY_SIZE(mine)) {
    th__auth a = {0};
    if (!th__who(x, false, &a)) { /* answered: a bad token */
      th_idea_page_free(p);
      return;
    }
    int64_t ids[TH__ARRAY_SIZE(mine)];
    for (size_t i = 0; i < p->count; i++)
      ids[i] = p->items[i].id;
    th_who who = {.resident = a.sub};
    rc = th_vote_mine(th__reader(x), x->site, &who, ids, p->count, mine);
    sodium_memzero(&a, sizeof a);
    if (rc < 0) {
      th_idea_page_free(p);
      th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
      return;
    }
    with_mine = true;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < p->count; i++) {
    json_t *item = th__idea_json(&p->items[i]);
    if (with_mine && item)
      json_object_set_new(item, "my_vote", json_integer(mine[i]));
    json_array_append_new(items, item);
  }
  json_t *doc = json_pack("{s:o,s:o}", "items", items, "next_cursor",
                          p->next_cursor ? json_string(p->next_cursor)
                                         : json_null());
  th_idea_page_free(p);
  if (!cacheable) {
    th__respond_json(x->req, 200, doc, NULL);
    return;
  }
  char *s = doc ? json_dumps(doc, TH__JSON_FLAGS) : NULL;
  json_decref(doc);
  if (s == NULL) {
    th__respond_json(x->req, 200, NULL, NULL); /* the out-of-memory answer */
    return;
  }
  size_t n = strlen(s);
  th__respond(x->req, 200, "application/json", NULL, s, n);
  th__cache_put(lp, key, (size_t)key_len, s, n);
}

/* The idea {id} as the caller may see it: true and *out (the caller frees
 * it), or false with a response already sent. Staff see every idea; anyone
 * else what the domain says the public may see (th_idea_get_public: no
 * pending or hidden idea, nor one merged away before it was approved), and
 * nothing that can be learnt about the rest (their vote history). */
static bool th__idea_visible(th__ctx *x, th_idea **out) {
  th__auth a = {0};
  int gate = th__staff_gate(x, false, &a);
  if (gate == TH__GATE_ANSWERED)
    return false;
  th_idea *i = NULL;
  int rc = th_idea_get_as(th__reader(x),
                          gate == TH__GATE_STAFF ? &a.staff : NULL, x->site,
                          x->id, &i);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return false;
  }
  *out = i;
  return true;
}

void th__handle_idea_get(th__ctx *x) {
  th_idea *i = NULL;
  if (!th__idea_visible(x, &i))
    return;
  th__respond_json(x->req, 200, th__idea_json(i), NULL);
  th_idea_free(i);
}

void th__handle_idea_history_get(th__ctx *x) {
  th_idea *idea = NULL;
  if (!th__idea_visible(x, &idea))
    return;
  th_idea_free(idea);
  th_vote_history *h = NULL;
  int rc = th_vote_history_get(th__reader(x), x->site, x->id, &h);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  json_t *days = json_array();
  for (size_t i = 0; i < h->count; i++)
    json_array_append_new(days,
                          json_pack("{s:o,s:I,s:I}", "day",
                                    th__iso_day(h->days[i].day), "up",
                                    (json_int_t)h->days[i].up, "down",
                                    (json_int_t)h->days[i].down));
  th_vote_history_free(h);
  th__respond_json(x->req, 200, json_pack("{s:o}", "days", days), NULL);
}

/* ---- POST /ideas: a new idea ------------------------------------------------ */

struct idea_cmd {
  th__write w;
  th_idea_new n; /* its strings owned */
  int64_t id;    /* the new idea's */
  int status;    /* its status once submitted (pending when moderated) */
};

/* Writer thread. */
static void idea_run(th__cmd *cmd, th_db *db) {
  struct idea_cmd *c = (struct idea_cmd *)cmd;
  th_who who = th__write_who(&c->w);
  cmd->rc = th_idea_submit(db, c->w.site, &who, &c->n, &c->id);
  if (cmd->rc >= 0) {
    th_idea *i = NULL;
    if (th_idea_get(db, c->w.site, c->id, &i) == TH_OK)
      c->status = i->status;
    th_idea_free(i);
  }
  if (cmd->rc < 0)
    snprintf(cmd->msg, sizeof cmd->msg, "%s", th_errmsg(db));
}

/* Loop thread. */
static void idea_answer(th__write *w, th__req *req) {
  struct idea_cmd *c = (struct idea_cmd *)w;
  json_t *doc = json_pack("{s:I}", "id", (json_int_t)c->id);
  if (w->cmd.rc == TH_RECORDED)
    json_object_set_new(doc, "status", json_string(th_status_name(c->status)));
  th__write_answer_json(w, req, doc, 0);
}

static void idea_fini(th__write *w) {
  struct idea_cmd *c = (struct idea_cmd *)w;
  free((char *)c->n.consultation);
  free((char *)c->n.title);
  free((char *)c->n.body);
  free((char *)c->n.category);
  free((char *)c->n.ward);
}

void th__handle_idea_create(th__ctx *x) {
  if (!th__origin_ok(x))
    return;
  json_t *body = th__body(x, NULL);
  if (body == NULL)
    return;
  th__auth a = {0};
  if (!th__who(x, true, &a)) {
    json_decref(body);
    return;
  }
  const char *title = th__str(body, "title"), *text = th__str(body, "body");
  if (a.kind == TH__A_DEVICE) {
    const char *spam = th__spam_reason(x, body, title, text);
    if (spam) {
      th__discard(x, spam, NULL, NULL);
      json_decref(body);
      return;
    }
    if (!th__rate_ok(x, &a, NULL)) {
      json_decref(body);
      return;
    }
  }
  struct idea_cmd *c = (struct idea_cmd *)th__write_new(
      x, sizeof *c, idea_run, idea_answer, idea_fini);
  if (c == NULL) {
    json_decref(body);
    return;
  }
  c->w.who = a;
  c->n.size = sizeof c->n;
  c->n.consultation = th__dup_or_null(th__str(body, "consultation"));
  c->n.title = th__dup_or_null(title);
  c->n.body = th__dup_or_null(text);
  c->n.category = th__dup_or_null(th__str(body, "category"));
  c->n.ward = th__dup_or_null(th__str(body, "ward"));
  json_decref(body);
  th__write_submit(x, &c->w);
}

/* ---- PUT /ideas/{id}/vote ----------------------------------------------------- */

struct vote_cmd {
  th__write w;
  int64_t idea;
  int value;        /* 1, 0 (withdraw the vote) or -1 */
  th_counts counts; /* the idea's, after the vote */
};

/* Writer thread. */
static void vote_run(th__cmd *cmd, th_db *db) {
  struct vote_cmd *c = (struct vote_cmd *)cmd;
  th_who who = th__write_who(&c->w);
  cmd->rc = th_vote(db, c->w.site, &who, c->idea, c->value, &c->counts);
  if (cmd->rc < 0)
    snprintf(cmd->msg, sizeof cmd->msg, "%s", th_errmsg(db));
}

/* Loop thread. */
static void vote_answer(th__write *w, th__req *req) {
  const th_counts *n = &((struct vote_cmd *)w)->counts;
  th__write_answer_json(
      w, req,
      json_pack("{s:I,s:I,s:I,s:I,s:i}", "up", (json_int_t)n->up, "down",
                (json_int_t)n->down, "anon_up", (json_int_t)n->anon_up,
                "anon_down", (json_int_t)n->anon_down, "my_vote",
                n->my_vote),
      0);
}

void th__handle_vote_put(th__ctx *x) {
  if (!th__origin_ok(x))
    return;
  json_t *body = th__body(x, NULL);
  if (body == NULL)
    return;
  json_t *v = json_object_get(body, "value");
  if (!json_is_integer(v) || json_integer_value(v) < -1 ||
      json_integer_value(v) > 1) {
    json_decref(body);
    th__respond_problem(x->req, 422, "inval", "Invalid vote",
                        "\"value\" must be 1, 0 or -1.", NULL);
    return;
  }
  int value = (int)json_integer_value(v);
  json_decref(body);
  th__auth a = {0};
  if (!th__who(x, true, &a) ||
      (a.kind == TH__A_DEVICE && !th__rate_ok(x, &a, NULL)))
    return;
  struct vote_cmd *c = (struct vote_cmd *)th__write_new(
      x, sizeof *c, vote_run, vote_answer, NULL);
  if (c == NULL)
    return;
  c->w.who = a;
  c->idea = x->id;
  c->value = value;
  th__write_submit(x, &c->w);
}

/* ---- POST /ideas/{id}/withdraw ------------------------------------------------- */

struct withdraw_cmd {
  th__write w;
  int64_t idea;
};

/* Writer thread. */
static void withdraw_run(th__cmd *cmd, th_db *db) {
  struct withdraw_cmd *c = (struct withdraw_cmd *)cmd;
  th_who who = th__write_who(&c->w);
  cmd->rc = th_idea_withdraw(db, c->w.site, &who, c->idea);
  if (cmd->rc < 0)
    snprintf(cmd->msg, sizeof cmd->msg, "%s", th_errmsg(db));
}

/* Loop thread. */
static void withdraw_answer(th__write *w, th__req *req) {
  th__write_answer_json(w, req, NULL, 0);
}

void th__handle_idea_withdraw(th__ctx *x) {
  th__auth a = {0};
  if (!th__who(x, true, &a))
    return;
  struct withdraw_cmd *c = (struct withdraw_cmd *)th__write_new(
      x, sizeof *c, withdraw_run, withdraw_answer, NULL);
  if (c == NULL)
    return;
  c->w.who = a;
  c->idea = x->id;
  th__write_submit(x, &c->w);
}
