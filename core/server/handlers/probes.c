/*
 * handlers/probes.c: what operators and orchestrators ask (docs/operations.md).
 *
 *   GET /livez     liveness: this loop answers
 *   GET /readyz    readiness: the database, the writer, a write through it
 *   GET /healthz   readiness, under its old name
 *   GET /metrics   Prometheus' text format (metrics.c): from loopback, or
 *                  with an admin's staff token
 *
 * Loop thread; the write probe's run function on the writer thread.
 */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>

/* How long a write probe's result stands: at most one probe per loop in
 * this time, however often /readyz is asked. */
#define TH__PROBE_NS (5ull * 1000000000ull)

/* The readiness answer (docs/operations.md, "Probes"), from what is known
 * now: the database open at the schema this townhall needs, a writer, the
 * last write probe through it, and the server not stopping. Every check
 * is named in "checks"; "failing" names those that failed. 200 when all
 * pass, else 503 with Retry-After. */
static void th__ready_answer(th__req *req) {
  th__loop *lp = req->lp;
  th_server *srv = lp->srv;
  int v = th_schema_version(lp->reader);
  th__writer *wr = srv->writer;
  int sync = wr ? th__writer_synchronous(wr) : -1;
  static const char *const sync_names[] = {"off", "normal", "full", "extra"};
  json_t *checks = json_object(), *failing = json_array();
  char detail[300];
  if (v == th_schema_latest())
    snprintf(detail, sizeof detail, "schema %d", v);
  else if (v < 0)
    snprintf(detail, sizeof detail, "the database cannot be read");
  else
    snprintf(detail, sizeof detail,
             "the database has schema %d; this townhall needs %d", v,
             th_schema_latest());
  struct {
    const char *name;
    bool ok;
    const char *detail;
  } c[4] = {
      {"database", v == th_schema_latest(), detail},
      {"writer", wr != NULL, wr ? "running" : "no writer thread"},
      {"write", lp->probe_at != 0 && lp->probe_rc >= 0,
       lp->probe_at == 0 ? "no write has been tried yet"
       : lp->probe_rc >= 0 ? "a write committed"
                           : lp->probe_msg},
      {"serving", !srv->closing && !lp->stopping,
       srv->closing || lp->stopping ? "the server is stopping" : "yes"},
  };
  bool ok = true;
  for (size_t i = 0; i < TH__ARRAY_SIZE(c); i++) {
    json_object_set_new(checks, c[i].name,
                        json_pack("{s:b,s:s}", "ok", c[i].ok, "detail",
                                  c[i].detail));
    if (!c[i].ok) {
      ok = false;
      json_array_append_new(failing, json_string(c[i].name));
    }
  }
  json_t *doc = json_pack(
      "{s:s,s:i,s:s,s:s,s:o,s:o}", "status", ok ? "ok" : "unavailable",
      "schema", v, "version", th_version_string(), "synchronous",
      sync >= 0 && sync <= 3 ? sync_names[sync] : "unknown", "checks", checks,
      "failing", failing);
  th__respond_json(req, ok ? 200 : 503, doc,
                   ok ? NULL : "Retry-After: 5\r\n");
}

/* Writer thread: one write that commits (th__write_probe). */
static void th__probe_run(th__cmd *cmd, th_db *w) {
  cmd->rc = th__write_probe(w);
}

/* Loop thread: keeps the result and answers those waiting for it. */
static void th__probe_done(th__cmd *cmd) {
  th__loop *lp = cmd->lp;
  if (cmd->rc < 0 && (lp->probe_at == 0 || lp->probe_rc >= 0))
    th__log(lp->srv, 1,
            "\"msg\":\"not ready: a write probe failed\",\"error\":\"%s\"",
            th_err_name(cmd->rc));
  lp->probe_running = false;
  lp->probe_at = uv_hrtime();
  lp->probe_rc = cmd->rc;
  snprintf(lp->probe_msg, sizeof lp->probe_msg, "%s: %.150s",
           th_strerror(cmd->rc), cmd->msg);
  free(cmd);
  th__req *r = lp->probe_waiters;
  lp->probe_waiters = NULL;
  while (r) {
    th__req *next = r->probe_next;
    r->probe_next = NULL;
    if (r->conn == NULL)
      th__req_free(r); /* the client left */
    else
      th__ready_answer(r);
    r = next;
  }
}

/* GET /readyz (and /healthz): answers at once from a probe younger than
 * TH__PROBE_NS; otherwise sends one write through the writer (or joins
 * the one under way) and answers when it is back. */
static void th__ready(th__ctx *x) {
  th__req *req = x->req;
  th__loop *lp = req->lp;
  th_server *srv = lp->srv;
  bool fresh = lp->probe_at != 0 && uv_hrtime() - lp->probe_at < TH__PROBE_NS;
  if (fresh || srv->writer == NULL || srv->closing || lp->stopping) {
    th__ready_answer(req);
    return;
  }
  if (!lp->probe_running) {
    th__cmd *cmd = calloc(1, sizeof *cmd);
    if (cmd == NULL) {
      th__respond_error(req, TH_ENOMEM, NULL);
      return;
    }
    cmd->lp = lp;
    cmd->run = th__probe_run;
    cmd->done = th__probe_done;
    lp->pending_cmds++;
    if (th__loop_submit(lp, cmd) != 0) {
      lp->pending_cmds--;
      free(cmd);
      th__ready_answer(req);
      return;
    }
    lp->probe_running = true;
  }
  req->async = true;
  req->probe_next = lp->probe_waiters;
  lp->probe_waiters = req;
}


void th__handle_livez_get(th__ctx *x) {
  /* Liveness: this loop answers. Nothing else: a full disk is a reason to
   * stop sending traffic here (readiness), not to restart. */
  th__respond_json(x->req, 200, json_pack("{s:s}", "status", "ok"), NULL);
}

void th__handle_readyz_get(th__ctx *x) { th__ready(x); }

void th__handle_healthz_get(th__ctx *x) { th__ready(x); }

void th__handle_metrics_get(th__ctx *x) {
  char ip[64];
  th__client_addr(x->req, ip, sizeof ip);
  th__auth a = {0};
  if (!th__is_loopback(ip) && th__staff_gate(x, true, &a) != TH__GATE_STAFF)
    return;
  th__sbuf b = {0};
  th__metrics_render(&b, th__srv(x));
  th__respond(x->req, 200, "text/plain; version=0.0.4; charset=utf-8", NULL,
              b.p ? b.p : "", b.len);
  th__sbuf_free(&b);
}
