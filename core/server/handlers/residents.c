/*
 * handlers/residents.c: a signed-in resident's own data (UK GDPR articles
 * 15 and 17).
 *
 *   GET    /v1/sites/{site}/residents/me   everything kept under their
 *                                          pseudonym, as JSON
 *   DELETE /v1/sites/{site}/residents/me   erasure
 *
 * Loop thread; erase_run on the writer thread.
 */
#include "router.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

void th__handle_resident_get(th__ctx *x) {
  th__auth a = {0};
  if (!th__who(x, false, &a))
    return;
  char *json = NULL;
  int rc = th_resident_export(th__reader(x), x->site, a.sub, &json);
  sodium_memzero(a.sub, sizeof a.sub);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  th__respond(x->req, 200, "application/json", NULL, json, strlen(json));
  th_free(json);
}

struct erase_cmd {
  th__write w;
  int64_t erased; /* rows erased */
};

/* Writer thread. */
static void erase_run(th__cmd *cmd, th_db *db) {
  struct erase_cmd *c = (struct erase_cmd *)cmd;
  cmd->rc = th_resident_erase(db, c->w.site, c->w.who.sub, &c->erased);
  if (cmd->rc < 0)
    snprintf(cmd->msg, sizeof cmd->msg, "%s", th_errmsg(db));
}

/* Loop thread: 200 whether anything was there to erase or not. */
static void erase_answer(th__write *w, th__req *req) {
  struct erase_cmd *c = (struct erase_cmd *)w;
  th__write_answer_json(
      w, req, json_pack("{s:I}", "erased", (json_int_t)c->erased), 200);
}

void th__handle_resident_erase(th__ctx *x) {
  th__auth a = {0};
  if (!th__who(x, false, &a))
    return;
  struct erase_cmd *c = (struct erase_cmd *)th__write_new(
      x, sizeof *c, erase_run, erase_answer, NULL);
  if (c == NULL)
    return;
  c->w.who = a;
  th__write_submit(x, &c->w);
}
