/*
 * server.c: the server's lifecycle: th_server_new (the configuration's
 * defaults, the databases, the writer thread), listening on loop 0 and on
 * the extra loops with their threads, each loop's handles (the async that
 * brings back the writer's results, the idle handle that ends an
 * iteration's batch), the graceful close, the retention purge timer, and
 * logging. Connections and what they carry are in conn.c and parse.c.
 *
 * Thread: th_server_* and everything of loop 0 (the purge timer among it)
 * run on the host's loop thread; an extra loop's handles on the loop's own
 * thread (th__extra_main); th__purge_run on the writer thread; th__log on
 * any.
 */
#include "http.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* ---- logging ---------------------------------------------------------------- */

void th__log(th_server *srv, int level, const char *fmt, ...) {
  if (level > srv->cfg.log_level)
    return;
  static const char *const names[] = {"error", "warning", "info", "debug"};
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  char when[32];
  if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
      strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
    snprintf(when, sizeof when, "%lld", (long long)ts.tv_sec);
  /* msg is already JSON members ("\"msg\":\"...\",..."), written by code
   * that never puts an address, user agent or resident id in it. */
  char line[1024];
  snprintf(line, sizeof line, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",%s}",
           when, ts.tv_nsec / 1000000, names[level < 0 ? 0 : level > 3 ? 3 : level],
           msg);
  if (srv->cfg.log)
    srv->cfg.log(srv->cfg.log_data, line);
  else
    fprintf(stderr, "%s\n", line);
}

/* ---- loops ------------------------------------------------------------------------ */

static void th__on_async(uv_async_t *a);
static void th__wake_init(th__loop *lp);

static int th__bind(th__loop *lp, int port, bool reuseport) {
  th_server *srv = lp->srv;
  struct sockaddr_storage ss;
  int family = AF_INET;
  if (uv_ip4_addr(srv->host_addr, port, (struct sockaddr_in *)&ss) != 0) {
    if (uv_ip6_addr(srv->host_addr, port, (struct sockaddr_in6 *)&ss) != 0) {
      snprintf(srv->errmsg, sizeof srv->errmsg, "cannot parse address %s",
               srv->host_addr);
      return TH_EINVAL;
    }
    family = AF_INET6;
  }
  uv_tcp_init_ex(lp->loop, &lp->listener, (unsigned)family);
  lp->listener.data = lp;
  lp->listening = true;
  if (reuseport) {
    /* libuv 1.44 has no UV_TCP_REUSEPORT: set it on the fd before bind. */
    uv_os_fd_t fd;
    int one = 1;
    if (uv_fileno((uv_handle_t *)&lp->listener, &fd) == 0)
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  }
  int rc = uv_tcp_bind(&lp->listener, (struct sockaddr *)&ss, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&lp->listener, 1024, th__on_connection);
  if (rc != 0) {
    snprintf(srv->errmsg, sizeof srv->errmsg, "cannot listen on %s:%d: %s",
             srv->host_addr, port, uv_strerror(rc));
    return TH_EIO;
  }
  return TH_OK;
}

typedef struct th__extra_start {
  th__loop *lp;
  uv_sem_t ready;
  int rc;
} th__extra_start;

static void th__extra_main(void *arg) {
  th__extra_start *st = arg;
  th__loop *lp = st->lp;
  uv_loop_init(&lp->own);
  lp->loop = &lp->own;
  uv_async_init(lp->loop, &lp->async, th__on_async);
  lp->async.data = lp;
  th__wake_init(lp);
  st->rc = th__bind(lp, lp->srv->port, true);
  uv_sem_post(&st->ready); /* st is gone after this */
  uv_run(lp->loop, UV_RUN_DEFAULT);
  uv_loop_close(lp->loop);
  /* Tell the host loop this thread can be joined without waiting. */
  atomic_store(&lp->finished, true);
  uv_async_send(&lp->srv->loops[0].async);
}

int th_server_listen(th_server *srv) {
  th__loop *lp = &srv->loops[0];
  int port = srv->cfg.port < 0 ? 0 : srv->cfg.port;
  int rc = th__bind(lp, port, srv->nloops > 1);
  if (rc < 0)
    return rc;
  struct sockaddr_storage ss;
  int len = sizeof ss;
  uv_tcp_getsockname(&lp->listener, (struct sockaddr *)&ss, &len);
  srv->port = ntohs(ss.ss_family == AF_INET6
                        ? ((struct sockaddr_in6 *)&ss)->sin6_port
                        : ((struct sockaddr_in *)&ss)->sin_port);
  for (unsigned i = 1; i < srv->nloops; i++) {
    th__extra_start st = {.lp = &srv->loops[i]};
    uv_sem_init(&st.ready, 0);
    if (uv_thread_create(&srv->loops[i].thread, th__extra_main, &st) != 0) {
      uv_sem_destroy(&st.ready);
      snprintf(srv->errmsg, sizeof srv->errmsg, "cannot start loop thread");
      srv->nloops = i;
      return TH_EIO;
    }
    uv_sem_wait(&st.ready);
    uv_sem_destroy(&st.ready);
    srv->loops[i].started = true;
    if (st.rc < 0)
      th__log(srv, 1, "\"msg\":\"extra loop %u could not listen\"", i);
  }
  th__log(srv, 2, "\"msg\":\"listening\",\"address\":\"%s\",\"port\":%d,\"loops\":%u",
          srv->host_addr, srv->port, srv->nloops);
  return TH_OK;
}

int th_server_port(th_server *srv) { return srv->port; }

const char *th_server_errmsg(th_server *srv) {
  return srv ? srv->errmsg : "no server";
}

/* ---- closing ---------------------------------------------------------------------- */

static void th__server_free(th_server *srv) {
  for (unsigned i = 0; i < srv->nloops; i++) {
    th__loop *lp = &srv->loops[i];
    th_close(lp->reader);
    th__cache_clear(lp);
    th__req_spares_free(lp);
    for (unsigned k = 0; k < lp->nfree; k++)
      free(lp->free_bufs[k]);
    pthread_mutex_destroy(&lp->done_lock);
  }
  free(srv->loops);
  th_close(srv->open_reader);
  th__ratelimit_free(srv->ratelimit);
  sodium_memzero(srv->form_key, sizeof srv->form_key);
  free(srv);
}

static void th__on_host_async_closed(uv_handle_t *h) {
  th__loop *lp = h->data;
  th_server *srv = lp->srv;
  th__log(srv, 2, "\"msg\":\"closed\"");
  if (srv->close_cb)
    srv->close_cb(srv, srv->close_data);
  th__server_free(srv);
}

static void th__on_listener_closed(uv_handle_t *h) {
  th__loop *lp = h->data;
  lp->listening = false;
  th__loop_maybe_finish(lp);
}

static void th__on_purge_timer_closed(uv_handle_t *h) {
  th_server *srv = h->data;
  srv->purge_timer_open = false;
  th__loop_maybe_finish(&srv->loops[0]);
}

/* Begins stopping a loop: no new connections; idle ones close now, busy ones
 * once their queued answers are out. Runs on the loop's own thread. */
static void th__loop_stop(th__loop *lp) {
  if (lp->stopping)
    return;
  lp->stopping = true;
  if (lp->listening && !uv_is_closing((uv_handle_t *)&lp->listener))
    uv_close((uv_handle_t *)&lp->listener, th__on_listener_closed);
  th__conn *c = lp->conns;
  while (c) {
    th__conn *next = c->next;
    /* A request still arriving (headers incomplete) is not in flight yet. */
    if (c->head == NULL && (c->cur == NULL || !c->cur->headers_done) &&
        c->writes == 0)
      th__conn_close(c);
    else if (c->cur == NULL)
      c->no_more = true;
    /* else: a request whose body is still arriving finishes; it is
     * answered with Connection: close (th__conn_parse sees `stopping`). */
    c = next;
  }
  th__loop_maybe_finish(lp);
}


/* ---- handing writes to the writer ------------------------------------------
 * A loop reads many requests in one iteration (every readable connection),
 * and the writer starts on the first at once. Committed then, it would
 * carry that write nearly alone and the rest would wait a whole commit, an
 * fsync, for the next batch; so the loop says when its iteration is over,
 * from an idle handle: it runs at the start of the next iteration, before
 * the loop polls again, and while it is active the poll does not block, so
 * the writer never waits on the loop's other I/O. */

static void th__on_wake(uv_idle_t *h) {
  th__loop *lp = h->data;
  lp->wake_pending = false;
  uv_idle_stop(h);
  if (lp->srv->writer)
    th__writer_filled(lp->srv->writer);
}

int th__loop_submit(th__loop *lp, th__cmd *cmd) {
  bool first = lp->wake_open && !lp->wake_pending;
  int rc = th__writer_submit(lp->srv->writer, cmd, first);
  if (rc == TH_OK && first) {
    lp->wake_pending = true;
    uv_idle_start(&lp->wake, th__on_wake);
  }
  return rc;
}

static void th__wake_init(th__loop *lp) {
  uv_idle_init(lp->loop, &lp->wake);
  lp->wake.data = lp;
  lp->wake_open = true;
}

static void th__on_wake_closed(uv_handle_t *h) {
  th__loop *lp = h->data;
  lp->wake_open = false;
  th__loop_maybe_finish(lp);
}

void th__loop_maybe_finish(th__loop *lp) {
  if (!lp->stopping || lp->nconns || lp->pending_cmds || lp->listening)
    return;
  /* Nothing is queued (pending_cmds): the wake-up handle goes first. An
   * iteration it would still have ended is ended here, or the writer would
   * wait its bound on every batch after. */
  if (lp->wake_open) {
    if (!uv_is_closing((uv_handle_t *)&lp->wake)) {
      if (lp->wake_pending && lp->srv->writer)
        th__writer_filled(lp->srv->writer);
      lp->wake_pending = false;
      uv_close((uv_handle_t *)&lp->wake, th__on_wake_closed);
    }
    return;
  }
  th_server *srv = lp->srv;
  if (lp->is_extra) {
    /* An extra loop ends when its async closes: its thread returns. The
     * writer must not send to it after that (writer.c). */
    if (!uv_is_closing((uv_handle_t *)&lp->async)) {
      pthread_mutex_lock(&lp->done_lock);
      lp->async_closed = true;
      pthread_mutex_unlock(&lp->done_lock);
      uv_close((uv_handle_t *)&lp->async, NULL);
    }
    return;
  }
  if (srv->purge_timer_open) {
    if (!uv_is_closing((uv_handle_t *)&srv->purge_timer))
      uv_close((uv_handle_t *)&srv->purge_timer, th__on_purge_timer_closed);
    return;
  }
  if (!srv->closed_loops) {
    /* Extra loops finish their connections on their own threads and say
     * so through our async; join them only then, never blocking. */
    for (unsigned i = 1; i < srv->nloops; i++)
      if (srv->loops[i].started && !atomic_load(&srv->loops[i].finished))
        return;
    for (unsigned i = 1; i < srv->nloops; i++)
      if (srv->loops[i].started)
        uv_thread_join(&srv->loops[i].thread);
    srv->closed_loops = true;
  }
  if (uv_is_closing((uv_handle_t *)&lp->async))
    return;
  /* Every answer is out: let the writer commit anything left (the purge)
   * and stop, then let go of the host loop. */
  th__writer_stop(srv->writer);
  srv->writer = NULL;
  th__loop_drain(lp);
  uv_close((uv_handle_t *)&lp->async, th__on_host_async_closed);
}

static void th__on_async(uv_async_t *a) {
  th__loop *lp = a->data;
  th__loop_drain(lp);
  if (lp->srv->closing && !lp->stopping)
    th__loop_stop(lp);
  th__loop_maybe_finish(lp);
}

int th_server_close(th_server *srv, th_server_close_cb cb, void *data) {
  if (srv->closing)
    return TH_ESTATE;
  srv->closing = true;
  srv->close_cb = cb;
  srv->close_data = data;
  th__log(srv, 2, "\"msg\":\"closing\"");
  if (srv->purge_timer_open)
    uv_timer_stop(&srv->purge_timer);
  for (unsigned i = 1; i < srv->nloops; i++)
    if (srv->loops[i].started)
      uv_async_send(&srv->loops[i].async);
  th__loop_stop(&srv->loops[0]);
  return TH_OK;
}

/* ---- creating --------------------------------------------------------------------- */

typedef struct th__purge_cmd {
  th__cmd cmd;
  th_purge_report report;
} th__purge_cmd;

/* Writer thread, alone (solo): the retention purge. */
static void th__purge_run(th__cmd *cmd, th_db *w) {
  th__purge_cmd *p = (th__purge_cmd *)cmd;
  cmd->rc = th_purge(w, &p->report);
  if (cmd->rc < 0)
    snprintf(cmd->msg, sizeof cmd->msg, "%s", th_errmsg(w));
}

static void th__purge_done(th__cmd *cmd) {
  th__purge_cmd *p = (th__purge_cmd *)cmd;
  th_server *srv = cmd->lp->srv;
  if (cmd->rc < 0)
    th__log(srv, 0, "\"msg\":\"retention purge failed\",\"error\":\"%s\"",
            th_err_name(cmd->rc));
  else
    th__log(srv, 2,
            "\"msg\":\"retention purge\",\"comments\":%" PRId64
            ",\"audit\":%" PRId64 ",\"keys\":%" PRId64 ",\"salts\":%" PRId64,
            p->report.comments, p->report.audit, p->report.keys,
            p->report.salts);
  free(p);
}

static void th__on_purge_timer(uv_timer_t *t);

/* The next purge: after the interval, or just after the next midnight UTC
 * (by the database's clock) if that comes first. A day's salt must be gone
 * when the day after next begins, 48 h after its own day began, even when
 * no rating comes in to expire it (docs/privacy.md). */
static void th__purge_rearm(th_server *srv) {
  uint64_t next = (uint64_t)srv->cfg.purge_interval_s * 1000;
  int64_t now = th_now(srv->loops[0].reader);
  int64_t into_day = (now % TH__DAY_MS + TH__DAY_MS) % TH__DAY_MS;
  uint64_t midnight = (uint64_t)(TH__DAY_MS - into_day) + 1000;
  if (midnight < next)
    next = midnight;
  uv_timer_start(&srv->purge_timer, th__on_purge_timer, next, 0);
}

static void th__on_purge_timer(uv_timer_t *t) {
  th_server *srv = t->data;
  if (srv->closing || srv->writer == NULL)
    return;
  th__purge_rearm(srv);
  th__purge_cmd *p = calloc(1, sizeof *p);
  if (p == NULL)
    return;
  p->report.size = sizeof p->report;
  p->cmd.lp = &srv->loops[0];
  p->cmd.solo = true;
  p->cmd.run = th__purge_run;
  p->cmd.done = th__purge_done;
  srv->loops[0].pending_cmds++;
  if (th__writer_submit(srv->writer, &p->cmd, false) < 0) {
    srv->loops[0].pending_cmds--;
    free(p);
  }
}

static void th__config_defaults(th_server_config *c) {
#define TH__DEFAULT(field, value)                                            \
  if (c->field == 0)                                                         \
  c->field = value
  TH__DEFAULT(port, 8080);
  TH__DEFAULT(max_header_bytes, 16384);
  TH__DEFAULT(max_body_bytes, 65536);
  TH__DEFAULT(max_headers, 64);
  TH__DEFAULT(max_connections, 10000);
  TH__DEFAULT(max_pipelined, 16);
  TH__DEFAULT(max_requests, 1000);
  TH__DEFAULT(header_timeout_ms, 10000);
  TH__DEFAULT(body_timeout_ms, 5000);
  TH__DEFAULT(body_min_rate, 500);
  TH__DEFAULT(idle_timeout_ms, 5000);
  TH__DEFAULT(write_timeout_ms, 10000);
  TH__DEFAULT(batch_max, 1024);
  TH__DEFAULT(rate_per_minute, 30);
  TH__DEFAULT(auth_failures_per_minute, 10);
  TH__DEFAULT(rate_per_page_hour, 10);
  TH__DEFAULT(min_form_seconds, 2);
  TH__DEFAULT(purge_interval_s, 86400);
#undef TH__DEFAULT
  if (c->max_headers > TH__MAX_HEADERS_HARD)
    c->max_headers = TH__MAX_HEADERS_HARD;
}

int th_server_new(th_server **out, th_db *db, uv_loop_t *loop,
                  const th_server_config *cfg) {
  if (out == NULL || db == NULL || loop == NULL)
    return TH_EINVAL;
  *out = NULL;
  th_server *srv = calloc(1, sizeof *srv);
  if (srv == NULL)
    return TH_ENOMEM;
  /* Only the members the caller's size covers (townhall.h, "Structs that
   * grow"); the rest stay zero, their defaults. */
  static const th_server_config defaults = TH_SERVER_CONFIG_INIT;
  if (TH__SIZED_IN(NULL, th_server_config, cfg ? cfg : &defaults,
                   &srv->cfg) < 0) {
    /* Not the caller's log sink: its size says nothing is to be read. */
    th__log(srv, 0, "\"msg\":\"th_server_config: a size townhall.h never "
                    "gave it, or a member this version does not know\"");
    free(srv);
    return TH_EINVAL;
  }
  const char *trusted_proxies = srv->cfg.trusted_proxies;
  th__config_defaults(&srv->cfg);
  /* Outside: 1 errors .. 4 debug, 0 the default; inside: 0 errors .. 3. */
  srv->cfg.log_level = srv->cfg.log_level <= 0   ? 2
                       : srv->cfg.log_level > 4 ? 3
                                                : srv->cfg.log_level - 1;
  snprintf(srv->host_addr, sizeof srv->host_addr, "%s",
           srv->cfg.host ? srv->cfg.host : "127.0.0.1");
  srv->cfg.host = srv->host_addr;
  srv->cfg.trusted_proxies = NULL; /* parsed below; the caller's string is not kept */
  srv->host = loop;
  int rc = th__proxies_parse(srv, trusted_proxies);
  if (rc < 0) {
    th__log(srv, 0, "\"msg\":\"bad trusted proxy list\"");
    free(srv);
    return rc;
  }
  srv->nloops = 1 + srv->cfg.extra_loops;
  if (srv->nloops > 64) {
    free(srv);
    return TH_EINVAL;
  }
  srv->loops = calloc(srv->nloops, sizeof *srv->loops);
  srv->ratelimit = th__ratelimit_new();
  if (srv->loops == NULL || srv->ratelimit == NULL) {
    free(srv->loops);
    th__ratelimit_free(srv->ratelimit);
    free(srv);
    return TH_ENOMEM;
  }
  for (unsigned i = 0; i < srv->nloops; i++) {
    th__loop *lp = &srv->loops[i];
    lp->srv = srv;
    lp->is_extra = i > 0;
    pthread_mutex_init(&lp->done_lock, NULL);
  }
  th_db *w = NULL;
  rc = th__db_open_like(db, 0, &w);
  for (unsigned i = 0; rc == TH_OK && i < srv->nloops; i++)
    rc = th__db_open_like(db, TH_OPEN_READONLY, &srv->loops[i].reader);
  if (rc == TH_OK)
    rc = th__db_open_like(db, TH_OPEN_READONLY, &srv->open_reader);
  if (rc == TH_OK) {
    th__subkey(w->keys, 1, "thformts", srv->form_key);
    rc = th__writer_start(srv, w, &srv->writer);
  } else {
    th__log(srv, 0, "\"msg\":\"cannot open the database for serving\"");
    th_close(w);
  }
  if (rc < 0) {
    th__server_free(srv);
    return rc;
  }
  th__loop *lp = &srv->loops[0];
  lp->loop = loop;
  uv_async_init(loop, &lp->async, th__on_async);
  lp->async.data = lp;
  th__wake_init(lp);
  if (srv->cfg.purge_interval_s > 0) {
    uv_timer_init(loop, &srv->purge_timer);
    srv->purge_timer.data = srv;
    srv->purge_timer_open = true;
    /* First run soon after start, then at the interval or just after
     * midnight UTC (th__purge_rearm). unref: the purge alone does not keep
     * a host's loop alive. */
    uv_timer_start(&srv->purge_timer, th__on_purge_timer, 5000, 0);
    uv_unref((uv_handle_t *)&srv->purge_timer);
  }
  *out = srv;
  return TH_OK;
}
