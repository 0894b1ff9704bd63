/*
 * handlers/feedback.c: "Is this page useful?", as residents answer it and
 * the public sees it.
 *
 *   POST /v1/sites/{site}/feedback           an answer (JSON, or the
 *                                            no-script form), an amendment
 *                                            through its handle, or the
 *                                            0.1.0 widget's protocol
 *   GET  /v1/sites/{site}/feedback/summary   a page's figures: as published
 *                                            (disclosure.c), exact for staff
 *
 * The staff's lists of pages and comments are in staff.c. Handlers run on
 * the loop thread; feedback_run on the writer thread.
 */
#include "router.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- POST /feedback ----------------------------------------------------------- */

/* Which feedback write. */
enum {
  FB_ANSWER,          /* a new answer, with or without an idempotency key */
  FB_AMEND,           /* an amendment through a handle */
  FB_LEGACY,          /* the 0.1.0 widget's first post */
  FB_LEGACY_FOLLOW_UP /* and its follow-up */
};

struct feedback_cmd {
  th__write w;
  int mode;      /* FB_* */
  char *page;    /* owned, as are the three below */
  char *comment;
  char *key;     /* the Idempotency-Key, or NULL */
  char *handle_in; /* an amendment's handle */
  int useful;    /* 1, 0, or -1 (an amendment that leaves it) */
  int rating;    /* 1..5, or 0 */
  char handle[TH_HANDLE_SIZE]; /* the answer's, once recorded */
};

/* Writer thread. */
static void feedback_run(th__cmd *cmd, th_db *db) {
  struct feedback_cmd *c = (struct feedback_cmd *)cmd;
  th_who who = th__write_who(&c->w);
  th_feedback fb = {.size = sizeof fb, .page = c->page, .useful = c->useful, .rating = c->rating,
                    .comment = c->comment};
  if (c->mode == FB_AMEND)
    cmd->rc = th_feedback_amend(db, c->w.site, c->handle_in, &fb);
  else if (c->mode == FB_ANSWER)
    cmd->rc = th_feedback_answer(db, c->w.site, &who, &fb, c->key, c->handle);
  else
    cmd->rc = th__feedback_legacy(db, c->w.site, &who, &fb,
                                  c->mode == FB_LEGACY_FOLLOW_UP, c->handle);
  if (cmd->rc < 0)
    snprintf(cmd->msg, sizeof cmd->msg, "%s", th_errmsg(db));
}

/* Loop thread. */
static void feedback_answer(th__write *w, th__req *req) {
  struct feedback_cmd *c = (struct feedback_cmd *)w;
  if (w->fr.form) {
    /* Answered with the thank-you page itself, so that the handle of a
     * new answer goes only into this page's follow-up form (never into a
     * URL): the page's "no-store" keeps it out of every cache. */
    bool ask_more = c->mode == FB_ANSWER && c->handle[0] &&
                    (c->rating == 0 || c->comment == NULL);
    th__thanks_answer(req, w->site, w->fr.lang, w->fr.back, c->page,
                      ask_more ? c->handle : NULL);
    return;
  }
  json_t *doc = json_object();
  if (c->handle[0])
    json_object_set_new(doc, "answer", json_string(c->handle));
  /* An amendment changes a record that exists: 200. */
  th__write_answer_json(w, req, doc, c->mode == FB_AMEND ? 200 : 0);
}

static void feedback_fini(th__write *w) {
  struct feedback_cmd *c = (struct feedback_cmd *)w;
  free(c->page);
  free(c->comment);
  free(c->key);
  free(c->handle_in);
  sodium_memzero(c->handle, sizeof c->handle);
}

/* "useful" as yes/no, true/false or 1/0: 1, 0, or -1 (absent or invalid:
 * *bad tells which). */
static int th__useful_value(json_t *useful, bool *bad) {
  *bad = false;
  if (useful == NULL || json_is_null(useful))
    return -1;
  if (json_is_boolean(useful))
    return json_is_true(useful);
  if (json_is_string(useful)) {
    const char *s = json_string_value(useful);
    if (!strcmp(s, "yes") || !strcmp(s, "1") || !strcmp(s, "true"))
      return 1;
    if (!strcmp(s, "no") || !strcmp(s, "0") || !strcmp(s, "false"))
      return 0;
  } else if (json_is_integer(useful) && json_integer_value(useful) >= 0 &&
             json_integer_value(useful) <= 1) {
    return (int)json_integer_value(useful);
  }
  *bad = true;
  return -1;
}

/* "rating" as 1..5 (number or string), or 0 when absent, null or "". */
static bool th__rating_value(json_t *rating, int *out) {
  *out = 0;
  if (rating == NULL || json_is_null(rating))
    return true;
  if (json_is_integer(rating)) {
    json_int_t v = json_integer_value(rating);
    *out = (int)v;
    return v >= 0 && v <= 5;
  }
  if (json_is_string(rating)) {
    const char *s = json_string_value(rating);
    if (s[0] == '\0')
      return true;
    *out = s[0] - '0';
    return s[0] >= '1' && s[0] <= '5' && s[1] == '\0';
  }
  return false;
}

/* POST /v1/sites/{site}/feedback: a new answer (JSON with an
 * Idempotency-Key header, or the no-script form), an amendment through
 * the answer's handle ("answer" in the body), or the 0.1.0 widget's
 * protocol (JSON with neither: th__feedback_legacy). */
void th__handle_feedback_post(th__ctx *x) {
  const th__site_row *site = x->row;
  th__formret fr = {0};
  if (!th__origin_ok(x))
    return;
  char key[256];
  if (!th__idempotency_key(x->req, key, sizeof key)) {
    th__respond_problem(x->req, 400, "bad-request", "Malformed Idempotency-Key",
                        "An idempotency key is 1 to 255 printable ASCII "
                        "characters, such as a UUID.",
                        NULL);
    return;
  }
  json_t *body = th__body(x, &fr.form);
  if (body == NULL)
    return;
  const char *page = th__str(body, "page");
  const char *handle = th__str(body, "answer");
  if (fr.form)
    th__formret_init(&fr, site, page, th__str(body, "lang"));
  int mode = handle && handle[0] ? FB_AMEND
             : fr.form || key[0] ? FB_ANSWER
             : json_object_get(body, "rating") || json_object_get(body, "comment")
                 ? FB_LEGACY_FOLLOW_UP
                 : FB_LEGACY;
  bool bad_useful = false;
  int u = th__useful_value(json_object_get(body, "useful"), &bad_useful);
  int r = 0;
  bool rating_ok = th__rating_value(json_object_get(body, "rating"), &r);
  const char *comment = th__str(body, "comment");
  const char *why = NULL;
  if (mode != FB_AMEND && page == NULL)
    why = "\"page\" is required.";
  else if (bad_useful || (u < 0 && mode != FB_AMEND))
    why = "\"useful\" must be yes or no.";
  else if (!rating_ok)
    why = "\"rating\" must be 1 to 5.";
  if (why) {
    json_decref(body);
    th__fail(x->req, &fr, 422, "Invalid feedback", why, NULL);
    th__formret_free(&fr);
    return;
  }
  if (comment && comment[0] == '\0')
    comment = NULL;
  char *location = NULL;
  if (fr.form)
    location = th__form_location(&fr, th__str(body, "next"));
  th__auth a = {.kind = TH__A_DEVICE};
  th__device(x, &a);
  const char *spam = th__spam_reason(x, body, comment, NULL);
  if (spam == NULL && comment && page && strcmp(comment, page) == 0)
    spam = "identical_fields";
  bool ok = spam == NULL && th__rate_ok(x, &a, &fr) &&
            (mode == FB_AMEND || mode == FB_LEGACY_FOLLOW_UP ||
             th__page_rate_ok(x, &a, page, &fr));
  struct feedback_cmd *c = NULL;
  if (spam)
    th__discard(x, spam, &fr, location);
  else if (ok)
    c = (struct feedback_cmd *)th__write_new(x, sizeof *c, feedback_run,
                                             feedback_answer, feedback_fini);
  if (c == NULL) {
    free(location);
    th__formret_free(&fr);
    json_decref(body);
    return;
  }
  c->w.who = a;
  c->w.fr = fr; /* the command owns fr.back now */
  c->w.location = location;
  c->mode = mode;
  c->page = th__dup_or_null(page);
  c->comment = th__dup_or_null(comment);
  c->key = key[0] ? th__strdup(key) : NULL;
  c->handle_in = th__dup_or_null(handle);
  c->useful = u;
  c->rating = r;
  json_decref(body);
  th__write_submit(x, &c->w);
}

/* A page's figures: exact for staff, or as published (disclosure.c), where
 * a withheld figure is null. */
json_t *th__summary_json(const th_page_summary *s) {
#define TH__FIG(v) ((v) == TH_WITHHELD ? json_null() : json_integer(v))
  json_t *doc = json_object();
  json_object_set_new(doc, "page", json_string(s->page));
  json_object_set_new(doc, "yes", TH__FIG(s->yes));
  json_object_set_new(doc, "no", TH__FIG(s->no));
  json_object_set_new(doc, "responses", TH__FIG(s->responses));
  json_t *hist = json_array();
  for (int i = 0; i < 5; i++)
    json_array_append_new(hist, TH__FIG(s->ratings[i]));
  json_object_set_new(doc, "ratings", hist);
  json_object_set_new(doc, "rating_count", TH__FIG(s->rating_count));
  json_object_set_new(doc, "rating_mean",
                      s->rating_mean >= 0 && s->rating_count > 0
                          ? json_real(s->rating_mean)
                          : json_null());
  json_object_set_new(doc, "useful_lower",
                      s->useful_lower >= 0 && s->responses > 0
                          ? json_real(s->useful_lower)
                          : json_null());
  json_object_set_new(doc, "comments", TH__FIG(s->comments));
  json_object_set_new(doc, "first", th__iso_day(s->first));
  json_object_set_new(doc, "last", th__iso_day(s->last));
  json_object_set_new(doc, "exact", json_boolean(s->exact));
#undef TH__FIG
  return doc;
}

void th__handle_feedback_summary_get(th__ctx *x) {
  const char *page = th__qs(x, "page");
  if (page == NULL) {
    th__respond_problem(x->req, 422, "inval", "Missing page",
                        "Give the page as ?page=URL.", NULL);
    return;
  }
  th__auth a = {0};
  int gate = th__staff_gate(x, false, &a);
  if (gate == TH__GATE_ANSWERED)
    return;
  bool exact = gate == TH__GATE_STAFF;
  th_page_summary *s = NULL;
  int rc = th_feedback_summary_as(th__reader(x), exact ? &a.staff : NULL,
                                  x->site, page, &s);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  /* The public figures change once a week (complete weeks only). */
  th__respond_json(x->req, 200, th__summary_json(s),
                   exact ? "Vary: Authorization\r\n"
                         : "Vary: Authorization\r\nCache-Control: public, "
                           "max-age=300\r\n");
  th_page_summary_free(s);
}
