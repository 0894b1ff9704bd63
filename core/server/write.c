/*
 * write.c: writes through the writer, the part every write command shares.
 *
 * A handler decodes and checks a write on its loop, fills a typed command
 * (struct vote_cmd, struct feedback_cmd ..., each in the file of its
 * resource) that begins with a th__write, and submits it. The writer
 * thread runs the command's `run` inside a batch and commits the batch;
 * then, back on the loop, th__write_done answers: nothing when the client
 * has gone (the write stands all the same), the error when it failed, the
 * 303 of a form post that goes back to its page, and otherwise the
 * command's own `answer`. A response is never sent before the commit
 * that holds its write (DESIGN.md, "Concurrency").
 */
#include "router.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void th__write_free(th__write *w) {
  if (w->fini)
    w->fini(w);
  free(w->location);
  th__formret_free(&w->fr);
  sodium_memzero(&w->who, sizeof w->who);
  free(w);
}

th_who th__write_who(th__write *w) {
  th_who who = {0};
  if (w->who.kind == TH__A_RESIDENT) {
    who.resident = w->who.sub;
  } else {
    who.ip = w->who.ip;
    who.user_agent = w->who.ua;
  }
  return who;
}

/* Loop thread, after the commit (or failure). */
static void th__write_done(th__cmd *cmd) {
  th__write *w = (th__write *)cmd;
  th__req *req = cmd->req;
  int rc = cmd->rc;
  if (req->conn == NULL) {
    /* The client left; its write stands (or failed) all the same. */
    th__req_free(req);
  } else if (rc < 0 && w->fr.form) {
    int status = th__status_for(rc);
    th__form_failed(req, status, status == 503 ? "Retry-After: 5\r\n" : NULL,
                    w->fr.lang, w->fr.back);
  } else if (rc < 0) {
    th__respond_error(req, rc, cmd->msg);
  } else if (w->fr.form && w->location) {
    th__see_other(req, w->location);
  } else {
    w->answer(w, req);
  }
  th__write_free(w);
}

th__write *th__write_new(th__ctx *x, size_t size,
                         void (*run)(th__cmd *cmd, th_db *w),
                         void (*answer)(th__write *w, th__req *req),
                         void (*fini)(th__write *w)) {
  th__write *w = calloc(1, size);
  if (w == NULL) {
    th__respond_error(x->req, TH_ENOMEM, NULL);
    return NULL;
  }
  snprintf(w->site, sizeof w->site, "%s", x->site);
  w->cmd.req = x->req;
  w->cmd.lp = x->req->lp;
  w->cmd.run = run;
  w->cmd.done = th__write_done;
  w->answer = answer;
  w->fini = fini;
  return w;
}

void th__write_submit(th__ctx *x, th__write *w) {
  th__req *req = x->req;
  th__loop *lp = req->lp;
  if (lp->srv->writer != NULL) {
    req->async = true;
    lp->pending_cmds++;
    if (th__loop_submit(lp, &w->cmd) == 0)
      return;
    lp->pending_cmds--;
    req->async = false;
  }
  /* Nothing was queued: the same answer as a failed write. */
  w->cmd.rc = TH_ESHUTDOWN;
  snprintf(w->cmd.msg, sizeof w->cmd.msg, "The server is shutting down.");
  th__write_done(&w->cmd);
}

void th__write_answer_json(th__write *w, th__req *req, json_t *doc,
                           int status) {
  bool recorded = w->cmd.rc == TH_RECORDED;
  json_t *out = json_pack("{s:b}", "recorded", recorded);
  if (doc && out)
    json_object_update(out, doc);
  json_decref(doc);
  th__respond_json(req, status ? status : recorded ? 201 : 200, out, NULL);
}
