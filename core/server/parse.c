/*
 * parse.c: requests from a connection's bytes: th__req allocated (and
 * recycled), filled by llhttp's callbacks with its URL, headers and body
 * under the configured limits, and dispatched by th__conn_parse; a
 * request llhttp or a limit refuses is answered 400, 413 or 431 here.
 *
 * llhttp is paused (HPE_PAUSED) at the end of every message: the request is
 * dispatched, and parsing continues from where it stopped, unless the
 * connection already has max_pipelined requests waiting, in which case
 * reading stops until they are answered (th__conn_flush, conn.c).
 *
 * Thread: everything here runs on the thread of the connection's loop (the
 * host's loop thread for loop 0, the loop's own thread for an extra loop);
 * th__req_spares_free on the host's loop thread, once the loops are done.
 */
#include "http.h"

#include <stdlib.h>
#include <string.h>

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

void th__req_spares_free(th__loop *lp) {
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

void th__conn_parser_init(th__conn *c) {
  uv_once(&th__settings_once, th__settings_init);
  llhttp_init(&c->parser, HTTP_REQUEST, &th__settings);
  c->parser.data = c;
  /* Lenient flags stay off: a request two parsers could read two ways
   * (smuggling) is refused. */
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

void th__conn_parse(th__conn *c) {
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
