/*
 * conn.c: a connection's life: accepted from a loop's listener (or refused
 * with a 503 when the loop has max_connections), read into a pooled input
 * buffer, timed, written to, and closed. What its bytes mean is parse.c's
 * business: th__conn_parse turns them into requests and dispatches them.
 *
 * A connection owns one uv_tcp_t and one uv_timer_t and is freed only when
 * both close callbacks have run. Its input buffer is taken from a small
 * per-loop pool while bytes are unparsed and given back as soon as the
 * parser has consumed them, so ten thousand idle keep-alive connections
 * cost no buffers at all.
 *
 * Answers go out in request order; all that are ready are sent in one
 * uv_write.
 *
 * Thread: everything here runs on the thread of the connection's loop (the
 * host's loop thread for loop 0, the loop's own thread for an extra loop);
 * th__conn_adopt on the host's loop thread, for loop 0.
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define TH__INBUF 16384
#define TH__HIGH_WATER ((size_t)256 * 1024)
#define TH__LINGER_MS 2000

/* ---- connections -------------------------------------------------------------- */

static void th__conn_timer(th__conn *c);

void th__buf_release(th__conn *c) {
  if (c->in == NULL)
    return;
  th__loop *lp = c->lp;
  if (lp->nfree < TH__ARRAY_SIZE(lp->free_bufs))
    lp->free_bufs[lp->nfree++] = c->in;
  else
    free(c->in);
  c->in = NULL;
  c->in_len = c->in_off = 0;
}

static void th__on_handle_closed(uv_handle_t *h) {
  th__conn *c = h->data;
  if (--c->open_handles > 0)
    return;
  th__loop *lp = c->lp;
  th__buf_release(c);
  if (c->prev)
    c->prev->next = c->next;
  else
    lp->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  lp->nconns--;
  th__metrics_connection(-1);
  free(c);
  th__loop_maybe_finish(lp);
}

/* Drops the requests queued on `c`. Those waiting for the writer outlive
 * the connection: their commands still commit (they were accepted), only
 * the answer has nowhere to go. */
static void th__reqs_drop(th__conn *c) {
  th__req *r = c->head;
  while (r) {
    th__req *next = r->next;
    if (r->async && !r->ready)
      r->conn = NULL;
    else
      th__req_free(r);
    r = next;
  }
  c->head = c->tail = NULL;
}

void th__conn_close(th__conn *c) {
  if (c->closing)
    return;
  c->closing = true;
  th__reqs_drop(c);
  th__req_free(c->cur);
  c->cur = NULL;
  uv_read_stop(&c->h.stream);
  uv_close(&c->h.handle, th__on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, th__on_handle_closed);
}

static void th__on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  th__conn *c = h->data;
  if (c->in == NULL) {
    th__loop *lp = c->lp;
    c->in = lp->nfree ? lp->free_bufs[--lp->nfree] : malloc(TH__INBUF);
    c->in_len = c->in_off = 0;
  }
  if (c->in == NULL || c->in_len >= TH__INBUF) {
    buf->base = NULL;
    buf->len = 0;
    return;
  }
  buf->base = c->in + c->in_len;
  buf->len = TH__INBUF - c->in_len;
}

void th__read_stop(th__conn *c) {
  if (c->reading) {
    uv_read_stop(&c->h.stream);
    c->reading = false;
  }
}

static void th__on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void th__read_start(th__conn *c) {
  if (!c->reading && !c->closing) {
    if (uv_read_start(&c->h.stream, th__on_alloc, th__on_read) == 0)
      c->reading = true;
  }
}

static void th__on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  th__conn *c = s->data;
  if (n < 0) {
    /* EOF or error. A client may half-close after sending its last request
     * (as `curl` may with HTTP/1.0): answer what is queued, then close. */
    th__read_stop(c);
    if (n == UV_EOF && c->head && !c->lingering) {
      c->no_more = true;
      th__buf_release(c);
      return;
    }
    th__conn_close(c);
    return;
  }
  if (n == 0)
    return;
  if (c->lingering) {
    /* Discard: the answer is out; we only wait so the client reads it. */
    c->in_len = 0;
    th__buf_release(c);
    return;
  }
  c->in_len += (size_t)n;
  th__conn_parse(c);
  if (!c->closing)
    th__conn_timer(c);
}

/* ---- timers ----------------------------------------------------------------- */

static void th__on_timer(uv_timer_t *t) {
  th__conn *c = t->data;
  switch (c->timer_kind) {
  case TH__T_HEADER:
  case TH__T_BODY:
    /* A client too slow to send its request: drop it (slowloris). Answers
     * already queued go first only if they are ready; otherwise close. */
    th__log(c->lp->srv, 3, "\"msg\":\"%s timeout\"",
            c->timer_kind == TH__T_HEADER ? "header" : "body");
    th__conn_close(c);
    break;
  case TH__T_IDLE:
  case TH__T_WRITE:
  case TH__T_LINGER:
  default:
    th__conn_close(c);
    break;
  }
}

static void th__timer_set(th__conn *c, enum th__timer_kind kind, uint64_t ms) {
  c->timer_kind = kind;
  uv_timer_start(&c->timer, th__on_timer, ms, 0);
}

/* Arms the one timer for whatever the connection is waiting for now. */
static void th__conn_timer(th__conn *c) {
  if (c->closing)
    return;
  const th_server_config *cfg = &c->lp->srv->cfg;
  uint64_t now = uv_now(c->lp->loop);
  if (c->lingering) {
    if (c->timer_kind != TH__T_LINGER)
      th__timer_set(c, TH__T_LINGER, TH__LINGER_MS);
  } else if (c->writes > 0) {
    th__timer_set(c, TH__T_WRITE, cfg->write_timeout_ms);
  } else if (c->cur && !c->cur->headers_done) {
    /* Fixed from the request's first byte: trickling bytes do not extend
     * it. */
    uint64_t left = c->header_deadline > now ? c->header_deadline - now : 0;
    th__timer_set(c, TH__T_HEADER, left);
  } else if (c->cur) {
    /* The sooner of: body_timeout_ms without a byte, or the body's deadline
     * (a minimum average rate: trickling bytes extend it only by what they
     * carry). */
    uint64_t left = c->body_deadline > now ? c->body_deadline - now : 0;
    th__timer_set(c, TH__T_BODY,
                  left < cfg->body_timeout_ms ? left : cfg->body_timeout_ms);
  } else if (c->head) {
    /* Waiting for our own writer: no client deadline. */
    c->timer_kind = TH__T_NONE;
    uv_timer_stop(&c->timer);
  } else if (c->in_len > c->in_off) {
    th__timer_set(c, TH__T_HEADER, cfg->header_timeout_ms);
  } else {
    th__timer_set(c, TH__T_IDLE, cfg->idle_timeout_ms);
  }
}

/* ---- writing ---------------------------------------------------------------- */

#define TH__WRITE_BATCH 32

typedef struct th__wbatch {
  uv_write_t w;
  th__conn *c;
  unsigned n;
  bool close_after;
  th__req *reqs[TH__WRITE_BATCH];
} th__wbatch;

static void th__on_shutdown(uv_shutdown_t *sr, int status) {
  (void)status;
  th__conn *c = sr->data;
  free(sr);
  if (!c->closing) {
    /* Keep reading (and discarding) briefly: closing now would make the
     * kernel answer the client's unread bytes with a reset, and the client
     * would never see our status. */
    c->lingering = true;
    /* What was read but never parsed (the rest of a refused request) goes:
     * a full input buffer would leave no room to read into, libuv would
     * report UV_ENOBUFS, and the close would be the reset this avoids. */
    th__buf_release(c);
    th__read_start(c);
    th__conn_timer(c);
  }
}

static void th__conn_finish(th__conn *c, bool linger) {
  if (c->closing || c->shut)
    return;
  if (!linger) {
    th__conn_close(c);
    return;
  }
  c->shut = true;
  uv_shutdown_t *sr = malloc(sizeof *sr);
  if (sr == NULL) {
    th__conn_close(c);
    return;
  }
  sr->data = c;
  if (uv_shutdown(sr, &c->h.stream, th__on_shutdown) != 0) {
    free(sr);
    th__conn_close(c);
  }
}

static void th__on_write(uv_write_t *w, int status) {
  th__wbatch *wr = (th__wbatch *)w;
  th__conn *c = wr->c;
  bool linger = false;
  for (unsigned i = 0; i < wr->n; i++) {
    linger |= wr->reqs[i]->reject != 0;
    th__req_free(wr->reqs[i]);
  }
  bool close_after = wr->close_after;
  free(wr);
  c->writes--;
  if (c->closing)
    return;
  if (status < 0) {
    th__conn_close(c);
    return;
  }
  if (close_after) {
    if (c->writes == 0)
      th__conn_finish(c, linger);
    return;
  }
  /* Below the high-water mark again: read and parse what was held back. */
  if (!c->no_more && c->paused && c->queued < c->lp->srv->cfg.max_pipelined &&
      uv_stream_get_write_queue_size(&c->h.stream) < TH__HIGH_WATER) {
    c->paused = false;
    th__conn_parse(c);
    if (!c->closing && !c->paused && !c->no_more)
      th__read_start(c);
  }
  if (!c->closing) {
    if (c->no_more && c->head == NULL && c->cur == NULL && c->writes == 0)
      th__conn_close(c);
    else
      th__conn_timer(c);
  }
}

void th__conn_flush(th__conn *c) {
  while (!c->closing && c->head && c->head->ready) {
    th__wbatch *wr = calloc(1, sizeof *wr);
    if (wr == NULL) {
      th__conn_close(c);
      return;
    }
    uv_buf_t bufs[TH__WRITE_BATCH];
    wr->c = c;
    while (c->head && c->head->ready && wr->n < TH__WRITE_BATCH) {
      th__req *r = c->head;
      c->head = r->next;
      if (c->head == NULL)
        c->tail = NULL;
      c->queued--;
      bufs[wr->n] = uv_buf_init(r->resp.p, (unsigned)r->resp.len);
      wr->reqs[wr->n++] = r;
      if (r->close_after) {
        wr->close_after = true;
        break;
      }
    }
    if (wr->close_after) {
      /* Nothing after a closing answer is sent. */
      th__reqs_drop(c);
      c->queued = 0;
      c->no_more = true;
      th__read_stop(c);
    }
    c->writes++;
    if (uv_write(&wr->w, &c->h.stream, bufs, wr->n, th__on_write) !=
        0) {
      for (unsigned i = 0; i < wr->n; i++)
        th__req_free(wr->reqs[i]);
      free(wr);
      c->writes--;
      th__conn_close(c);
      return;
    }
    if (wr->close_after)
      break;
  }
  if (c->closing)
    return;
  /* A slow reader: stop reading until the kernel takes our answers. */
  if (uv_stream_get_write_queue_size(&c->h.stream) >= TH__HIGH_WATER) {
    c->paused = true;
    th__read_stop(c);
  }
  th__conn_timer(c);
}

void th__req_done(th__req *req) {
  th__metrics_request(req->route, req->status, uv_hrtime() - req->started);
  req->ready = true;
  if (req->conn == NULL) {
    th__req_free(req); /* the connection went away while we worked */
    return;
  }
  th__conn_flush(req->conn);
}

/* ---- accepting ------------------------------------------------------------------ */

/* A connection over the limit gets a 503 and a lingering close, like any
 * refusal: the request it already sent is read and dropped, so the client
 * sees the answer instead of a reset. */
typedef struct th__busy {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_write_t w;
  uv_shutdown_t sr;
  int open;
  char buf[512];
} th__busy;

static const char th__busy_body[] =
    "{\"type\":\"urn:townhall:problem:busy\",\"title\":\"Too many "
    "connections\",\"status\":503,\"detail\":\"Try again in a second, "
    "please.\"}";

static void th__busy_closed(uv_handle_t *h) {
  th__busy *b = h->data;
  if (--b->open == 0)
    free(b);
}

static void th__busy_close(th__busy *b) {
  if (!uv_is_closing((uv_handle_t *)&b->tcp)) {
    uv_close((uv_handle_t *)&b->tcp, th__busy_closed);
    uv_close((uv_handle_t *)&b->timer, th__busy_closed);
  }
}

static void th__busy_alloc(uv_handle_t *h, size_t n, uv_buf_t *buf) {
  (void)n;
  th__busy *b = h->data;
  *buf = uv_buf_init(b->buf, sizeof b->buf);
}

static void th__busy_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  if (n < 0)
    th__busy_close(s->data);
}

static void th__busy_timeout(uv_timer_t *t) { th__busy_close(t->data); }

static void th__busy_shut(uv_shutdown_t *sr, int status) {
  (void)status;
  th__busy *b = sr->data;
  if (uv_read_start((uv_stream_t *)&b->tcp, th__busy_alloc, th__busy_read))
    th__busy_close(b);
}

static void th__busy_written(uv_write_t *w, int status) {
  th__busy *b = w->data;
  b->sr.data = b;
  if (status < 0 ||
      uv_shutdown(&b->sr, (uv_stream_t *)&b->tcp, th__busy_shut) != 0)
    th__busy_close(b);
}

static void th__reject_busy(th__loop *lp, uv_stream_t *server) {
  th__busy *b = calloc(1, sizeof *b);
  if (b == NULL)
    return;
  uv_tcp_init(lp->loop, &b->tcp);
  uv_timer_init(lp->loop, &b->timer);
  b->tcp.data = b->timer.data = b->w.data = b;
  b->open = 2;
  if (uv_accept(server, (uv_stream_t *)&b->tcp) != 0) {
    th__busy_close(b);
    return;
  }
  th__metrics_rejected("max_connections");
  int n = snprintf(b->buf, sizeof b->buf,
                   "HTTP/1.1 503 Service Unavailable\r\n"
                   "Content-Type: application/problem+json\r\n"
                   "Retry-After: 1\r\nConnection: close\r\n"
                   "Content-Length: %zu\r\n\r\n%s",
                   sizeof th__busy_body - 1, th__busy_body);
  uv_buf_t out = uv_buf_init(b->buf, (unsigned)n);
  uv_timer_start(&b->timer, th__busy_timeout, TH__LINGER_MS, 0);
  /* uv_write copies nothing: the answer lives in b->buf until written, and
   * reading (into the same buffer) starts only after the write. */
  if (uv_write(&b->w, (uv_stream_t *)&b->tcp, &out, 1, th__busy_written))
    th__busy_close(b);
}

/* Links a connection whose handle is open into its loop and starts
 * reading. */
static void th__conn_start(th__loop *lp, th__conn *c) {
  c->lp = lp;
  c->h.handle.data = c;
  uv_timer_init(lp->loop, &c->timer);
  c->timer.data = c;
  c->open_handles = 2;
  c->next = lp->conns;
  if (lp->conns)
    lp->conns->prev = c;
  lp->conns = c;
  lp->nconns++;
  th__metrics_connection(+1);
  th__conn_parser_init(c);
  th__read_start(c);
  th__conn_timer(c);
}

void th__on_connection(uv_stream_t *server, int status) {
  th__loop *lp = server->data;
  th_server *srv = lp->srv;
  if (status < 0 || lp->stopping)
    return;
  if (lp->nconns >= srv->cfg.max_connections) {
    th__reject_busy(lp, server);
    return;
  }
  th__conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    return;
  uv_tcp_init(lp->loop, &c->h.tcp);
  if (uv_accept(server, &c->h.stream) != 0) {
    uv_close(&c->h.handle, (uv_close_cb)free);
    return;
  }
  uv_tcp_nodelay(&c->h.tcp, 1);
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET6)
      uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer, sizeof c->peer);
    else
      uv_ip4_name((struct sockaddr_in *)&ss, c->peer, sizeof c->peer);
  }
  th__conn_start(lp, c);
}

int th__conn_adopt(th_server *srv, int fd) {
  th__loop *lp = &srv->loops[0];
  th__conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    return TH_ENOMEM;
  uv_pipe_init(lp->loop, &c->h.pipe, 0);
  if (uv_pipe_open(&c->h.pipe, fd) != 0) {
    uv_close(&c->h.handle, (uv_close_cb)free);
    return TH_EIO;
  }
  /* TEST-NET-1: an address that is neither loopback nor anyone's. */
  snprintf(c->peer, sizeof c->peer, "192.0.2.1");
  th__conn_start(lp, c);
  return TH_OK;
}
