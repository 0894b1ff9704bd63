/*
 * server.c: listeners, loops, connections, HTTP parsing with llhttp,
 * pipelining, timeouts, backpressure and the graceful close.
 *
 * A connection owns one uv_tcp_t and one uv_timer_t and is freed only when
 * both close callbacks have run. Its input buffer is taken from a small
 * per-loop pool while bytes are unparsed and given back as soon as the
 * parser has consumed them, so ten thousand idle keep-alive connections
 * cost no buffers at all.
 *
 * llhttp is paused (HPE_PAUSED) at the end of every message: the request is
 * dispatched, and parsing continues from where it stopped, unless the
 * connection already has max_pipelined requests waiting, in which case
 * reading stops until they are answered. Answers go out in request order;
 * all that are ready are sent in one uv_write.
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

#define TH__INBUF 16384
#define TH__HIGH_WATER ((size_t)256 * 1024)
#define TH__LINGER_MS 2000

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

/* ---- requests ---------------------------------------------------------------- */

/* A finished request goes back to its loop with its URL, header and answer
 * buffers, for the next request to reuse. Allocated and freed anew for
 * each, they made glibc hand pages back to the system and fault them in
 * again: after a write load had grown the heap, three page faults per
 * answer, and a third of the time of serving widget.js went to them. */
#define TH__SPARE_REQS 64
#define TH__SPARE_BUF ((size_t)64 * 1024) /* a larger buffer is not kept */

static void th__sbuf_empty(th__sbuf *b) {
  if (b->cap > TH__SPARE_BUF || b->oom) {
    th__sbuf_free(b);
  } else {
    b->len = 0;
    if (b->p)
      b->p[0] = '\0';
  }
}

void th__req_free(th__req *req) {
  if (req == NULL)
    return;
  th__sbuf_free(&req->body); /* up to max_body: not kept */
  th__loop *lp = req->lp;
  if (lp && lp->nspare < TH__SPARE_REQS) {
    th__sbuf_empty(&req->url);
    th__sbuf_empty(&req->hbuf);
    th__sbuf_empty(&req->resp);
    req->next = lp->spare_reqs;
    lp->spare_reqs = req;
    lp->nspare++;
    return;
  }
  th__sbuf_free(&req->url);
  th__sbuf_free(&req->hbuf);
  th__sbuf_free(&req->resp);
  free(req);
}

/* A zeroed request, with a finished one's buffers if the loop kept one. */
static th__req *th__req_new(th__loop *lp) {
  th__req *r = lp->spare_reqs;
  if (r == NULL)
    return calloc(1, sizeof *r);
  lp->spare_reqs = r->next;
  lp->nspare--;
  th__sbuf url = r->url, hbuf = r->hbuf, resp = r->resp;
  memset(r, 0, sizeof *r);
  r->url = url;
  r->hbuf = hbuf;
  r->resp = resp;
  return r;
}

static void th__req_spares_free(th__loop *lp) {
  while (lp->spare_reqs) {
    th__req *r = lp->spare_reqs;
    lp->spare_reqs = r->next;
    r->lp = NULL; /* freed for good */
    th__req_free(r);
  }
  lp->nspare = 0;
}

const char *th__req_header(const th__req *req, const char *name, size_t *len) {
  size_t n = strlen(name);
  for (unsigned i = 0; i < req->nheaders; i++) {
    const th__header *h = &req->headers[i];
    if (h->name_len == n && memcmp(req->hbuf.p + h->name, name, n) == 0) {
      if (len)
        *len = h->value_len;
      return req->hbuf.p + h->value;
    }
  }
  return NULL;
}

/* ---- connections -------------------------------------------------------------- */

static void th__conn_close(th__conn *c);
static void th__conn_parse(th__conn *c);
static void th__conn_timer(th__conn *c);
static void th__wake_init(th__loop *lp);

static void th__buf_release(th__conn *c) {
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

static void th__conn_close(th__conn *c) {
  if (c->closing)
    return;
  c->closing = true;
  /* Requests waiting for the writer outlive the connection: their commands
   * still commit (they were accepted), only the answer has nowhere to go. */
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

static void th__read_stop(th__conn *c) {
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

typedef struct th__write {
  uv_write_t w;
  th__conn *c;
  unsigned n;
  bool close_after;
  th__req *reqs[TH__WRITE_BATCH];
} th__write;

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
  th__write *wr = (th__write *)w;
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
    th__write *wr = calloc(1, sizeof *wr);
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

/* ---- llhttp callbacks -------------------------------------------------------- */

static th__conn *th__parser_conn(llhttp_t *p) { return p->data; }

static int th__on_message_begin(llhttp_t *p) {
  th__conn *c = th__parser_conn(p);
  th__req *r = th__req_new(c->lp);
  if (r == NULL)
    return -1;
  r->conn = c;
  r->lp = c->lp;
  r->started = uv_hrtime();
  c->cur = r;
  c->header_deadline = uv_now(c->lp->loop) + c->lp->srv->cfg.header_timeout_ms;
  return 0;
}

static bool th__tchar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int th__count_header_bytes(th__conn *c, size_t n) {
  th__req *r = c->cur;
  r->header_bytes += n;
  if (r->header_bytes > c->lp->srv->cfg.max_header_bytes) {
    r->reject = 431;
    return -1;
  }
  return 0;
}

static int th__on_url(llhttp_t *p, const char *at, size_t n) {
  th__conn *c = th__parser_conn(p);
  if (th__count_header_bytes(c, n))
    return -1;
  th__sbuf_put(&c->cur->url, at, n);
  return c->cur->url.oom ? -1 : 0;
}

static int th__on_header_field(llhttp_t *p, const char *at, size_t n) {
  th__conn *c = th__parser_conn(p);
  th__req *r = c->cur;
  if (th__count_header_bytes(c, n))
    return -1;
  /* Fields of a chunked trailer come after the header section that a
   * proxy inspected: never headers of the request (RFC 9110 section 6.5.1;
   * an Authorization there authenticated a request: tests/attacks). */
  if (r->headers_done)
    return 0;
  if (r->nheaders == 0 || r->in_value) {
    if (r->nheaders >= c->lp->srv->cfg.max_headers) {
      r->reject = 431;
      return -1;
    }
    th__sbuf_put(&r->hbuf, "", 0);
    th__header *h = &r->headers[r->nheaders++];
    h->name = (uint32_t)r->hbuf.len;
    h->name_len = 0;
    h->value = h->value_len = 0;
    r->in_value = false;
  }
  th__header *h = &r->headers[r->nheaders - 1];
  for (size_t i = 0; i < n; i++) {
    char ch = at[i];
    /* RFC 9110 token characters only, whatever llhttp's build allows. */
    if (!th__tchar((unsigned char)ch))
      return -1;
    if (ch >= 'A' && ch <= 'Z')
      ch = (char)(ch - 'A' + 'a');
    th__sbuf_put(&r->hbuf, &ch, 1);
  }
  h->name_len += (uint32_t)n;
  return r->hbuf.oom ? -1 : 0;
}

static int th__on_header_value(llhttp_t *p, const char *at, size_t n) {
  th__conn *c = th__parser_conn(p);
  th__req *r = c->cur;
  if (th__count_header_bytes(c, n))
    return -1;
  if (r->headers_done) /* a trailer field: ignored, as above */
    return 0;
  if (r->nheaders == 0)
    return -1;
  th__header *h = &r->headers[r->nheaders - 1];
  /* llhttp passes a folded line (obs-fold: a line break followed by white
   * space) as a second piece of the same value, without the line break.
   * Spot it by what came just before the piece. */
  if (r->in_value && ((at > c->exec_start && at[-1] == '\n') ||
                      (at == c->exec_start && c->ended_lf)))
    return -1;
  if (!r->in_value) {
    th__sbuf_put(&r->hbuf, "", 1); /* NUL after the name */
    h->value = (uint32_t)r->hbuf.len;
    r->in_value = true;
  }
  /* A line folded onto the next (obs-fold) or a NUL: refused (RFC 9112
   * section 5.2 allows a 400), since two parsers may read it two ways. */
  if (memchr(at, '\r', n) || memchr(at, '\n', n) || memchr(at, '\0', n))
    return -1;
  th__sbuf_put(&r->hbuf, at, n);
  h->value_len += (uint32_t)n;
  return r->hbuf.oom ? -1 : 0;
}

static int th__on_header_value_complete(llhttp_t *p) {
  th__conn *c = th__parser_conn(p);
  th__req *r = c->cur;
  if (r->headers_done) /* a trailer field: ignored */
    return 0;
  th__sbuf_put(&r->hbuf, "", 1); /* NUL after the value */
  if (!r->in_value && r->nheaders) {
    /* An empty value. */
    th__header *h = &r->headers[r->nheaders - 1];
    h->value = (uint32_t)r->hbuf.len;
    h->value_len = 0;
    th__sbuf_put(&r->hbuf, "", 1);
    r->in_value = true;
  }
  return r->hbuf.oom ? -1 : 0;
}

static int th__on_headers_complete(llhttp_t *p) {
  th__conn *c = th__parser_conn(p);
  th__req *r = c->cur;
  r->headers_done = true;
  r->method = p->method;
  c->body_deadline = uv_now(c->lp->loop) + c->lp->srv->cfg.body_timeout_ms;
  /* RFC 9112 section 3.2: two Host lines are a 400, or this server and a
   * proxy in front of it may each believe a different one. */
  unsigned hosts = 0;
  for (unsigned i = 0; i < r->nheaders; i++)
    hosts += r->headers[i].name_len == 4 &&
             memcmp(r->hbuf.p + r->headers[i].name, "host", 4) == 0;
  if (hosts > 1)
    return -1;
  /* RFC 9112 section 6.1: Transfer-Encoding in an HTTP/1.0 request means
   * faulty framing (a 1.0 proxy would not have read it as chunked). */
  if (p->http_major == 1 && p->http_minor == 0 &&
      (p->flags & (F_CHUNKED | F_TRANSFER_ENCODING)))
    return -1;
  if ((p->flags & F_CONTENT_LENGTH) &&
      p->content_length > c->lp->srv->cfg.max_body_bytes) {
    r->reject = 413;
    return -1;
  }
  if (p->upgrade) {
    /* No WebSockets or h2c here: treat as a bad request. */
    return -1;
  }
  return 0;
}

static int th__on_body(llhttp_t *p, const char *at, size_t n) {
  th__conn *c = th__parser_conn(p);
  th__req *r = c->cur;
  if (r->body.len + n > c->lp->srv->cfg.max_body_bytes) {
    r->reject = 413;
    return -1;
  }
  th__sbuf_put(&r->body, at, n);
  c->body_deadline += (uint64_t)n * 1000 / c->lp->srv->cfg.body_min_rate;
  return r->body.oom ? -1 : 0;
}

static int th__on_message_complete(llhttp_t *p) {
  th__conn *c = th__parser_conn(p);
  c->cur->keep_alive = llhttp_should_keep_alive(p) != 0;
  return HPE_PAUSED;
}

static llhttp_settings_t th__settings;
static uv_once_t th__settings_once = UV_ONCE_INIT;

static void th__settings_init(void) {
  llhttp_settings_init(&th__settings);
  th__settings.on_message_begin = th__on_message_begin;
  th__settings.on_url = th__on_url;
  th__settings.on_header_field = th__on_header_field;
  th__settings.on_header_value = th__on_header_value;
  th__settings.on_header_value_complete = th__on_header_value_complete;
  th__settings.on_headers_complete = th__on_headers_complete;
  th__settings.on_body = th__on_body;
  th__settings.on_message_complete = th__on_message_complete;
}

/* ---- parsing and dispatch ----------------------------------------------------- */

static void th__enqueue(th__conn *c, th__req *r) {
  r->next = NULL;
  if (c->tail)
    c->tail->next = r;
  else
    c->head = r;
  c->tail = r;
  c->queued++;
}

static void th__conn_parse(th__conn *c) {
  th_server *srv = c->lp->srv;
  while (!c->closing && !c->no_more && !c->paused && c->in &&
         c->in_off < c->in_len) {
    const char *start = c->in + c->in_off;
    c->exec_start = start;
    llhttp_errno_t err = llhttp_execute(&c->parser, start, c->in_len - c->in_off);
    if (err == HPE_OK) {
      c->ended_lf = c->in[c->in_len - 1] == '\n';
      c->in_off = c->in_len;
      break;
    }
    c->ended_lf = false;
    if (err == HPE_PAUSED) {
      c->in_off = (size_t)(llhttp_get_error_pos(&c->parser) - c->in);
      llhttp_resume(&c->parser);
      th__req *r = c->cur;
      c->cur = NULL;
      th__enqueue(c, r);
      c->served++;
      if (!r->keep_alive || c->served >= srv->cfg.max_requests ||
          srv->closing || c->lp->stopping)
        r->close_after = true;
      th__dispatch(r);
      if (c->closing)
        return;
      if (r->close_after)
        c->no_more = true;
      if (c->queued >= srv->cfg.max_pipelined) {
        c->paused = true;
        th__read_stop(c);
      }
      continue;
    }
    /* A parse error, or a limit hit in a callback: answer and close. */
    th__req *r = c->cur;
    c->cur = NULL;
    if (r == NULL) {
      r = calloc(1, sizeof *r);
      if (r == NULL) {
        th__conn_close(c);
        return;
      }
      r->conn = c;
      r->lp = c->lp;
      r->started = uv_hrtime();
    }
    int status = r->reject ? r->reject : 400;
    r->close_after = true;
    th__enqueue(c, r);
    c->no_more = true;
    th__read_stop(c);
    if (status == 431)
      th__respond_problem(r, 431, "request-header-too-large",
                          "Request headers too large",
                          "The request's headers are larger than this server "
                          "accepts.",
                          NULL);
    else if (status == 413)
      th__respond_problem(r, 413, "payload-too-large", "Request body too large",
                          "The request's body is larger than this server "
                          "accepts.",
                          NULL);
    else
      th__respond_problem(r, 400, "bad-request", "Malformed request",
                          llhttp_get_error_reason(&c->parser), NULL);
    th__req_done(r);
    return;
  }
  if (c->closing)
    return;
  if (c->in && c->in_off >= c->in_len) {
    th__buf_release(c);
  } else if (c->in && c->in_off > 0) {
    memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
    c->in_len -= c->in_off;
    c->in_off = 0;
  }
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
  uv_once(&th__settings_once, th__settings_init);
  llhttp_init(&c->parser, HTTP_REQUEST, &th__settings);
  c->parser.data = c;
  /* Lenient flags stay off: a request two parsers could read two ways
   * (smuggling) is refused. */
  th__read_start(c);
  th__conn_timer(c);
}

static void th__on_connection(uv_stream_t *server, int status) {
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

/* ---- loops ------------------------------------------------------------------------ */

static void th__on_async(uv_async_t *a);

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
  if (cfg)
    srv->cfg = *cfg;
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
  int rc = th__proxies_parse(srv, cfg ? cfg->trusted_proxies : NULL);
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
