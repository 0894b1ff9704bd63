/*
 * ceiling.c: the reference the HTTP figures are measured against.
 *
 * The least an HTTP/1.1 keep-alive server on libuv + llhttp can do: parse
 * each request with the same llhttp the library links (built by the bench
 * from $BUILD/llhttp/), answer a fixed small JSON body, no routing, no
 * database, and no allocation per request. Whatever townhall does above
 * this is the cost of being townhall; a figure above it means the ceiling
 * itself is doing something it should not (bench.py reports that as an
 * error in the ceiling).
 *
 *   ceiling PORT [batch|per-answer]     (PORT 0: any free port, printed on
 *                                        stdout; default mode: batch)
 *
 * batch:      every answer produced by one read goes out in one uv_write
 *             (what townhall's server does: DESIGN.md, section 4).
 * per-answer: one uv_write per answer, as it is produced.
 * With a client that does not pipeline (wrk) one read holds one request and
 * the two send the same system calls; they differ under pipelining.
 *
 * Buffers: each connection keeps the write requests it has used (with their
 * buffers) on a free list and takes them from there for the next answers;
 * they are freed only when the connection closes. An earlier version
 * malloc'ed a 64 KiB buffer per read and freed it after the write: glibc
 * trimmed the top of the heap on each free and the next malloc faulted the
 * page in again, about one minor page fault per request, which made this
 * "ceiling" slower than townhall itself (issue 13).
 *
 * Runs until SIGTERM or SIGINT. C11 (-std=c11 -Wall -Wextra -Werror, as
 * bench.py compiles it), with POSIX for gmtime_r and libuv's headers.
 */
#define _POSIX_C_SOURCE 200809L
#include <llhttp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define INBUF 16384
/* One answer is under 256 bytes; a batch holds up to 64 KiB of them. */
#define ANSWER_MAX 512
#define BATCH_BUF 65536

static const char body[] = "{\"status\":\"ok\",\"items\":[1,2,3]}";

/* A write request and the bytes it sends; kept on its connection's free
 * list between uses. */
typedef struct wreq {
  uv_write_t w;
  struct wreq *next;
  int close_after; /* the answer said Connection: close */
  size_t len;
  char buf[];
} wreq;

typedef struct conn {
  uv_tcp_t tcp;
  llhttp_t parser;
  wreq *cur;  /* batch mode: the answers of the current read */
  wreq *free; /* write requests done with, reused */
  char in[INBUF];
} conn;

static int per_answer;
static size_t wbuf_size;
static llhttp_settings_t settings;
static uv_loop_t *loop;
static uv_tcp_t server;
static uv_signal_t sig_term, sig_int;
static char date[64];
static time_t date_sec;

static const char *http_date(void) {
  time_t now = time(NULL);
  if (now != date_sec) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    date_sec = now;
  }
  return date;
}

static wreq *wreq_get(conn *c) {
  wreq *wr = c->free;
  if (wr != NULL) {
    c->free = wr->next;
  } else {
    wr = malloc(sizeof *wr + wbuf_size);
    if (wr == NULL)
      return NULL;
  }
  wr->w.data = c;
  wr->next = NULL;
  wr->len = 0;
  wr->close_after = 0;
  return wr;
}

static void wreq_put(conn *c, wreq *wr) {
  wr->next = c->free;
  c->free = wr;
}

static void on_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (c->cur != NULL)
    wreq_put(c, c->cur);
  while (c->free != NULL) {
    wreq *next = c->free->next;
    free(c->free);
    c->free = next;
  }
  free(c);
}

static void conn_close(conn *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

/* libuv calls this for every write, also with UV_ECANCELED for those still
 * queued when the handle closes, always before the close callback. */
static void on_write(uv_write_t *w, int status) {
  wreq *wr = (wreq *)w;
  conn *c = w->data;
  int close_after = wr->close_after;
  wreq_put(c, wr);
  if (status < 0 || close_after)
    conn_close(c);
}

static int send_wreq(conn *c, wreq *wr) {
  uv_buf_t b = uv_buf_init(wr->buf, (unsigned)wr->len);
  if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
    wreq_put(c, wr);
    conn_close(c);
    return -1;
  }
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  conn *c = p->data;
  int keep_alive = llhttp_should_keep_alive(p);
  wreq *wr = per_answer ? NULL : c->cur;
  if (wr == NULL) {
    wr = wreq_get(c);
    if (wr == NULL)
      return -1;
    if (!per_answer)
      c->cur = wr;
  }
  if (wr->len + ANSWER_MAX > wbuf_size)
    return -1; /* more pipelined requests in one read than a batch holds */
  int n = snprintf(wr->buf + wr->len, wbuf_size - wr->len,
                   "HTTP/1.1 200 OK\r\nDate: %s\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: %zu\r\nConnection: %s\r\n\r\n%s",
                   http_date(), sizeof body - 1,
                   keep_alive ? "keep-alive" : "close", body);
  if (n < 0 || (size_t)n >= wbuf_size - wr->len)
    return -1;
  wr->len += (size_t)n;
  wr->close_after = !keep_alive;
  if (per_answer)
    return send_wreq(c, wr);
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t n, uv_buf_t *buf) {
  (void)n;
  conn *c = h->data;
  *buf = uv_buf_init(c->in, INBUF);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  conn *c = s->data;
  if (n < 0) {
    conn_close(c);
    return;
  }
  if (n == 0)
    return;
  llhttp_errno_t err = llhttp_execute(&c->parser, buf->base, (size_t)n);
  if (c->cur != NULL) {
    /* batch mode: what this read produced, in one write */
    wreq *wr = c->cur;
    c->cur = NULL;
    if (send_wreq(c, wr) != 0)
      return;
  }
  if (err != HPE_OK)
    conn_close(c);
}

static void on_connection(uv_stream_t *srv, int status) {
  if (status < 0)
    return;
  conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    return;
  uv_tcp_init(loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0) {
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  llhttp_init(&c->parser, HTTP_REQUEST, &settings);
  c->parser.data = c;
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_walk_close(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, h->type == UV_TCP && h != (uv_handle_t *)&server ? on_closed
                                                                 : NULL);
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)s;
  (void)signum;
  uv_walk(loop, on_walk_close, NULL);
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3 ||
      (argc == 3 && strcmp(argv[2], "batch") != 0 &&
       strcmp(argv[2], "per-answer") != 0)) {
    fprintf(stderr, "usage: ceiling PORT [batch|per-answer]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  per_answer = argc == 3 && strcmp(argv[2], "per-answer") == 0;
  wbuf_size = per_answer ? ANSWER_MAX : BATCH_BUF;
  signal(SIGPIPE, SIG_IGN);
  loop = uv_default_loop();
  llhttp_settings_init(&settings);
  settings.on_message_complete = on_message_complete;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  uv_tcp_init(loop, &server);
  if (uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0) != 0 ||
      uv_listen((uv_stream_t *)&server, 1024, on_connection) != 0) {
    fprintf(stderr, "ceiling: cannot listen on port %d\n", port);
    return 1;
  }
  struct sockaddr_storage ss;
  int len = sizeof ss;
  uv_tcp_getsockname(&server, (struct sockaddr *)&ss, &len);
  printf("%d\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
  fflush(stdout);
  uv_signal_init(loop, &sig_term);
  uv_signal_init(loop, &sig_int);
  uv_signal_start(&sig_term, on_signal, SIGTERM);
  uv_signal_start(&sig_int, on_signal, SIGINT);
  uv_run(loop, UV_RUN_DEFAULT);
  return uv_loop_close(loop) == 0 ? 0 : 1;
}
