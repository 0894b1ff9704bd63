/*
 * ceiling.c: the reference the HTTP figures are measured against.
 *
 * The least an HTTP/1.1 keep-alive server on libuv + llhttp can do: parse
 * each request with the same llhttp the library links (built by the bench
 * from $BUILD/llhttp/), answer a fixed small JSON body, and send every
 * answer produced by one read in one uv_write. No routing, no allocation
 * per request, no database. Whatever townhall does above this is the cost
 * of being townhall.
 *
 *   ceiling PORT        (0: any free port; the port is printed on stdout)
 *
 * Runs until SIGTERM or SIGINT.
 */
#include <llhttp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define INBUF 16384
#define OUTBUF 65536

static const char body[] = "{\"status\":\"ok\",\"items\":[1,2,3]}";

typedef struct conn {
  uv_tcp_t tcp;
  llhttp_t parser;
  char in[INBUF];
  int keep_alive;
  /* Answers produced by the current read, sent in one write. */
  char *out;
  size_t out_len;
} conn;

typedef struct wreq {
  uv_write_t w;
  char *buf;
} wreq;

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

static int on_message_complete(llhttp_t *p) {
  conn *c = p->data;
  c->keep_alive = llhttp_should_keep_alive(p);
  if (c->out == NULL) {
    c->out = malloc(OUTBUF);
    c->out_len = 0;
  }
  if (c->out_len + 512 > OUTBUF)
    return -1;
  c->out_len += (size_t)snprintf(
      c->out + c->out_len, OUTBUF - c->out_len,
      "HTTP/1.1 200 OK\r\nDate: %s\r\nContent-Type: application/json\r\n"
      "Content-Length: %zu\r\nConnection: %s\r\n\r\n%s",
      http_date(), sizeof body - 1, c->keep_alive ? "keep-alive" : "close",
      body);
  return 0;
}

static void on_closed(uv_handle_t *h) {
  free(h->data);
}

static void conn_close(conn *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_write(uv_write_t *w, int status) {
  wreq *wr = (wreq *)w;
  conn *c = w->data;
  free(wr->buf);
  free(wr);
  if (status < 0 || !c->keep_alive)
    conn_close(c);
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
  if (llhttp_execute(&c->parser, buf->base, (size_t)n) != HPE_OK) {
    conn_close(c);
    return;
  }
  if (c->out_len) {
    wreq *wr = malloc(sizeof *wr);
    wr->buf = c->out;
    wr->w.data = c;
    uv_buf_t b = uv_buf_init(c->out, (unsigned)c->out_len);
    c->out = NULL;
    c->out_len = 0;
    if (uv_write(&wr->w, s, &b, 1, on_write) != 0) {
      free(wr->buf);
      free(wr);
      conn_close(c);
    }
  }
}

static void on_connection(uv_stream_t *srv, int status) {
  if (status < 0)
    return;
  conn *c = calloc(1, sizeof *c);
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
  int port = argc > 1 ? atoi(argv[1]) : 0;
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
