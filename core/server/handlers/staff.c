/*
 * handlers/staff.c: what only staff may do (a staff token of a role the
 * route table allows, checked by the router before these run, and again
 * by the domain's _as functions, which hold the rule).
 *
 *   GET  /v1/sites/{site}/feedback/pages          pages, worst first (or CSV)
 *   GET  /v1/sites/{site}/feedback/comments       a page's comments
 *   POST /v1/sites/{site}/ideas/{id}/status       a status and a response
 *   POST /v1/sites/{site}/ideas/{id}/moderation   publish, hide, reject, merge
 *   GET  /v1/sites/{site}/audit                   the audit log
 *
 * Loop thread; the decisions' run functions on the writer thread.
 */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The route table's roles (routes.h, the gate's 403) are the domain's
 * (internal.h, TH__MAY_*, the _as functions' TH_EPERM): one rule. */
#define TH__ROLES_OF(name, m, tmpl, creds, roles, body, flags)               \
  th__roles_of_##name = (roles),
enum { TH__OPS(TH__ROLES_OF) };
#undef TH__ROLES_OF
_Static_assert(th__roles_of_idea_status_set == TH__MAY_SET_STATUS,
               "setting a status: routes.h and the domain disagree");
_Static_assert(th__roles_of_idea_moderate == TH__MAY_MODERATE,
               "moderation: routes.h and the domain disagree");
_Static_assert(th__roles_of_consultation_create ==
                   TH__MAY_CREATE_CONSULTATION,
               "consultations: routes.h and the domain disagree");
_Static_assert(th__roles_of_audit_list == TH__MAY_READ_AUDIT,
               "the audit log: routes.h and the domain disagree");
_Static_assert(th__roles_of_feedback_pages_get == TH__MAY_STAFF_READ &&
                   th__roles_of_feedback_comments_get == TH__MAY_STAFF_READ &&
                   th__roles_of_feedback_summary_get == TH__MAY_STAFF_READ &&
                   th__roles_of_ideas_list == TH__MAY_STAFF_READ &&
                   th__roles_of_idea_get == TH__MAY_STAFF_READ &&
                   th__roles_of_idea_history_get == TH__MAY_STAFF_READ,
               "staff reads: routes.h and the domain disagree");

/* ---- page feedback ------------------------------------------------------------- */

static void th__pages_csv(th__ctx *x) {
  th__sbuf b = {0};
  static const char *const head[] = {
      "page", "yes", "no", "rating_1", "rating_2", "rating_3", "rating_4",
      "rating_5", "rating_mean", "useful_lower", "comments"};
  th__csv_header(&b, head, TH__ARRAY_SIZE(head));
  char *cursor = NULL;
  size_t rows = 0;
  int rc;
  do {
    th_page_list *l = NULL;
    rc = th_feedback_pages_as(th__reader(x), &x->staff.staff, x->site, 100,
                              cursor, &l);
    free(cursor);
    cursor = NULL;
    if (rc < 0)
      break;
    for (size_t i = 0; i < l->count; i++, rows++) {
      const th_page_summary *p = &l->items[i];
      th__csv_text(&b, p->page, false);
      th__csv_int(&b, p->yes, false);
      th__csv_int(&b, p->no, false);
      for (int k = 0; k < 5; k++)
        th__csv_int(&b, p->ratings[k], false);
      th__csv_real(&b, p->rating_mean, false);
      th__csv_real(&b, p->useful_lower, false);
      th__csv_int(&b, p->comments, true);
    }
    if (l->next_cursor && rows < TH__CSV_MAX_ROWS)
      cursor = th__strdup(l->next_cursor);
    th_page_list_free(l);
  } while (cursor);
  th__csv_respond(x, &b, rc, "pages");
}

void th__handle_feedback_pages_get(th__ctx *x) {
  const char *sort = th__qs(x, "sort");
  int limit = th__limit(x, 20, 100);
  int csv = th__qs_csv(x);
  if ((sort && strcmp(sort, "worst") != 0) || limit < 0 || csv < 0) {
    th__respond_problem(x->req, 422, "inval", "Invalid query",
                        "sort must be \"worst\"; limit 1 to 100; format, if "
                        "given, csv.",
                        NULL);
    return;
  }
  if (csv) {
    th__pages_csv(x);
    return;
  }
  th_page_list *l = NULL;
  int rc = th_feedback_pages_as(th__reader(x), &x->staff.staff, x->site, limit,
                                th__qs(x, "cursor"), &l);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < l->count; i++)
    json_array_append_new(items, th__summary_json(&l->items[i]));
  json_t *doc = json_pack("{s:o,s:o}", "items", items, "next_cursor",
                          l->next_cursor ? json_string(l->next_cursor)
                                         : json_null());
  th_page_list_free(l);
  th__respond_json(x->req, 200, doc, NULL);
}

void th__handle_feedback_comments_get(th__ctx *x) {
  const char *page = th__qs(x, "page");
  int limit = th__limit(x, 50, 500);
  if (page == NULL || limit < 0) {
    th__respond_problem(x->req, 422, "inval", "Invalid query",
                        "Give ?page=URL (and limit 1 to 500).", NULL);
    return;
  }
  th_comment_list *l = NULL;
  int rc = th_feedback_comments_as(th__reader(x), &x->staff.staff, x->site,
                                   page, limit, &l);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < l->count; i++) {
    const th_comment *c = &l->items[i];
    json_t *o = json_pack("{s:o,s:b,s:o,s:s}", "day", th__iso_day(c->day),
                          "useful", c->useful, "rating",
                          c->rating ? json_integer(c->rating) : json_null(),
                          "text", c->text);
    json_array_append_new(items, o);
  }
  th_comment_list_free(l);
  th__respond_json(x->req, 200, json_pack("{s:o}", "items", items), NULL);
}

/* ---- ideas ------------------------------------------------------------------------ */

/* ---- POST /ideas/{id}/status and /ideas/{id}/moderation ----------------------- */

/* A council's decision on an idea: a status (with a response to the
 * residents) or a moderation action. */
struct decision_cmd {
  th__write w;
  int64_t idea;
  int what;      /* TH_STATUS_* or TH_MOD_* */
  int64_t into;  /* a merge's target */
  char *text;    /* the response, or the moderation's reason: owned */
};

/* Writer thread. */
static void status_run(th__cmd *cmd, th_db *db) {
  struct decision_cmd *c = (struct decision_cmd *)cmd;
  cmd->rc = th_idea_set_status_as(db, &c->w.who.staff, c->w.site, c->idea,
                                  c->what, c->text);
  if (cmd->rc < 0)
    snprintf(cmd->msg, sizeof cmd->msg, "%s", th_errmsg(db));
}

/* Writer thread. */
static void moderate_run(th__cmd *cmd, th_db *db) {
  struct decision_cmd *c = (struct decision_cmd *)cmd;
  cmd->rc = th_idea_moderate_as(db, &c->w.who.staff, c->w.site, c->idea,
                                c->what, c->into, c->text);
  if (cmd->rc < 0)
    snprintf(cmd->msg, sizeof cmd->msg, "%s", th_errmsg(db));
}

/* Loop thread. */
static void decision_answer(th__write *w, th__req *req) {
  th__write_answer_json(w, req, NULL, 0);
}

static void decision_fini(th__write *w) {
  free(((struct decision_cmd *)w)->text);
}

/* Submits a decision, or answers 422 with `bad`. */
static void decision_submit(th__ctx *x, struct decision_cmd *c,
                            const char *bad) {
  if (bad) {
    th__write_free(&c->w);
    th__respond_problem(x->req, 422, "inval", "Invalid request", bad, NULL);
    return;
  }
  c->w.who = x->staff;
  c->idea = x->id;
  th__write_submit(x, &c->w);
}

void th__handle_idea_status_set(th__ctx *x) {
  json_t *body = th__body(x, NULL);
  if (body == NULL)
    return;
  struct decision_cmd *c = (struct decision_cmd *)th__write_new(
      x, sizeof *c, status_run, decision_answer, decision_fini);
  if (c == NULL) {
    json_decref(body);
    return;
  }
  const char *bad = NULL;
  c->what = th_status_parse(th__str(body, "status"));
  json_t *resp = json_object_get(body, "response");
  if (resp && !json_is_null(resp) && !json_is_string(resp))
    bad = "\"response\" must be text.";
  c->text = th__dup_or_null(json_string_value(resp));
  if (c->what < 0)
    bad = "\"status\" must be a status name, such as accepted.";
  json_decref(body);
  decision_submit(x, c, bad);
}

void th__handle_idea_moderate(th__ctx *x) {
  json_t *body = th__body(x, NULL);
  if (body == NULL)
    return;
  struct decision_cmd *c = (struct decision_cmd *)th__write_new(
      x, sizeof *c, moderate_run, decision_answer, decision_fini);
  if (c == NULL) {
    json_decref(body);
    return;
  }
  const char *bad = NULL;
  c->what = th_moderation_parse(th__str(body, "action"));
  json_t *into = json_object_get(body, "into");
  c->into = json_is_integer(into) ? json_integer_value(into) : 0;
  c->text = th__dup_or_null(th__str(body, "reason"));
  if (c->what < 0)
    bad = "\"action\" must be publish, hide, reject or merge.";
  else if (c->what == TH_MOD_MERGE && c->into <= 0)
    bad = "A merge needs \"into\": the id of the idea to merge into.";
  json_decref(body);
  decision_submit(x, c, bad);
}

/* ---- the audit log ---------------------------------------------------------------- */

void th__handle_audit_list(th__ctx *x) {
  uint64_t before = 0;
  int before_ok = th__qs_whole(x, "before", INT64_MAX, &before);
  int limit = th__limit(x, 100, 1000);
  if (limit < 0 || before_ok < 0) {
    th__respond_problem(x->req, 422, "inval", "Invalid query",
                        "limit 1 to 1000; before an entry's id.", NULL);
    return;
  }
  th_audit_list *l = NULL;
  int rc = th_audit_list_get_as(th__reader(x), &x->staff.staff, x->site,
                                (int64_t)before, limit, &l);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < l->count; i++) {
    const th_audit_entry *e = &l->items[i];
    json_array_append_new(
        items, json_pack("{s:I,s:o,s:s,s:s,s:o,s:s}", "id", (json_int_t)e->id,
                         "at", th__iso(e->at), "actor", e->actor, "action",
                         e->action, "idea",
                         e->idea_id ? json_integer(e->idea_id) : json_null(),
                         "detail", e->detail));
  }
  th_audit_list_free(l);
  th__respond_json(x->req, 200, json_pack("{s:o}", "items", items), NULL);
}
