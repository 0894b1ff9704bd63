/*
 * handlers/consultations.c: a site's consultations.
 *
 *   GET  /v1/sites/{site}/consultations   the list, open or not
 *   POST /v1/sites/{site}/consultations   staff open a new one
 *
 * Loop thread; consultation_run on the writer thread.
 */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>

void th__handle_consultations_list(th__ctx *x) {
  th_consultation_list *l = NULL;
  int rc = th_consultation_list_all(th__reader(x), x->site, &l);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  th_time now = th_now(th__reader(x));
  json_t *items = json_array();
  for (size_t i = 0; i < l->count; i++) {
    const th_consultation *c = l->items[i];
    bool open = now >= c->opens && (c->closes == 0 || now < c->closes);
    json_array_append_new(
        items, json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:b}", "slug", c->slug,
                         "title", c->title, "description", c->description,
                         "ward", c->ward[0] ? json_string(c->ward) : json_null(),
                         "opens", th__iso(c->opens), "closes",
                         th__iso(c->closes), "open", open));
  }
  th_consultation_list_free(l);
  th__respond_json(x->req, 200, json_pack("{s:o}", "items", items),
                   "Cache-Control: public, max-age=30\r\n");
}

struct consultation_cmd {
  th__write w;
  th_consultation c; /* its strings owned */
  int64_t id;
};

/* Writer thread. */
static void consultation_run(th__cmd *cmd, th_db *db) {
  struct consultation_cmd *c = (struct consultation_cmd *)cmd;
  cmd->rc = th_consultation_create_as(db, &c->w.who.staff, c->w.site, &c->c,
                                      &c->id);
  if (cmd->rc < 0)
    snprintf(cmd->msg, sizeof cmd->msg, "%s", th_errmsg(db));
}

/* Loop thread. */
static void consultation_answer(th__write *w, th__req *req) {
  struct consultation_cmd *c = (struct consultation_cmd *)w;
  th__write_answer_json(w, req,
                        json_pack("{s:I,s:s}", "id", (json_int_t)c->id,
                                  "slug", c->c.slug),
                        0);
}

static void consultation_fini(th__write *w) {
  struct consultation_cmd *c = (struct consultation_cmd *)w;
  free((char *)c->c.slug);
  free((char *)c->c.title);
  free((char *)c->c.description);
  free((char *)c->c.ward);
}

void th__handle_consultation_create(th__ctx *x) {
  json_t *body = th__body(x, NULL);
  if (body == NULL)
    return;
  struct consultation_cmd *c = (struct consultation_cmd *)th__write_new(
      x, sizeof *c, consultation_run, consultation_answer, consultation_fini);
  if (c == NULL) {
    json_decref(body);
    return;
  }
  c->w.who = x->staff;
  c->c.size = sizeof c->c;
  c->c.slug = th__dup_or_null(th__str(body, "slug"));
  c->c.title = th__dup_or_null(th__str(body, "title"));
  c->c.description = th__dup_or_null(th__str(body, "description"));
  c->c.ward = th__dup_or_null(th__str(body, "ward"));
  const char *opens = th__str(body, "opens"), *closes = th__str(body, "closes");
  c->c.opens = opens ? th__parse_time(opens) : 0;
  c->c.closes = closes ? th__parse_time(closes) : 0;
  json_decref(body);
  if (c->c.opens < 0 || c->c.closes < 0) {
    th__write_free(&c->w);
    th__respond_problem(x->req, 422, "inval", "Invalid dates",
                        "opens and closes are dates such as 2026-03-02 or "
                        "2026-03-02T10:00:00Z.",
                        NULL);
    return;
  }
  th__write_submit(x, &c->w);
}
