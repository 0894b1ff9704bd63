/*
 * uv-embed.c: townhall's HTTP server on your application's own libuv loop.
 *
 * The host application here has a loop of its own with a timer and a TCP
 * service of its own (a one-line greeting on another port). It adds
 * townhall's server to the same loop, asks it for /healthz and for the
 * ranked ideas over HTTP, talks to its own service, then closes townhall's
 * server gracefully: th_server_close never stops the host's loop, and once
 * the host has closed its own handles uv_run returns and uv_loop_close()
 * returns 0: nothing was left behind.
 *
 *   cc uv-embed.c $(pkg-config --cflags --libs townhall libuv) -o uv-embed
 *   ./uv-embed /tmp/uv-embed.db
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <townhall.h>
#include <uv.h>

static uv_loop_t loop;
static th_db *db;
static th_server *server;
static uv_timer_t ticker, watchdog;
static uv_tcp_t host_service;
static int ticks, townhall_port, host_port;

/* ---- a small HTTP/TCP client: connect, write, read to EOF ---------------- */

typedef struct exchange {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  const char *request;
  char reply[16384];
  size_t len;
  void (*done)(struct exchange *);
} exchange;

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  exchange *x = h->data;
  *buf =
      uv_buf_init(x->reply + x->len, (unsigned)(sizeof x->reply - 1 - x->len));
}

static void on_exchange_closed(uv_handle_t *h) {
  exchange *x = h->data;
  x->reply[x->len] = '\0';
  x->done(x);
  free(x);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  exchange *x = s->data;
  if (n > 0)
    x->len += (size_t)n;
  if (n < 0 || x->len == sizeof x->reply - 1)
    uv_close((uv_handle_t *)s, on_exchange_closed);
}

static void on_connect(uv_connect_t *req, int status) {
  exchange *x = req->data;
  if (status < 0) {
    fprintf(stderr, "uv-embed: connect: %s\n", uv_strerror(status));
    uv_close((uv_handle_t *)&x->tcp, on_exchange_closed);
    return;
  }
  if (x->request) {
    uv_buf_t b = uv_buf_init((char *)x->request, (unsigned)strlen(x->request));
    uv_write(&x->write, (uv_stream_t *)&x->tcp, &b, 1, NULL);
  }
  uv_read_start((uv_stream_t *)&x->tcp, on_alloc, on_read);
}

static void exchange_start(int port, const char *request,
                           void (*done)(exchange *)) {
  exchange *x = calloc(1, sizeof *x);
  x->request = request;
  x->done = done;
  x->tcp.data = x;
  x->connect.data = x;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  uv_tcp_init(&loop, &x->tcp);
  uv_tcp_connect(&x->connect, &x->tcp, (const struct sockaddr *)&addr,
                 on_connect);
}

/* The status line and the body of an HTTP reply. */
static void print_reply(const char *what, const char *reply) {
  const char *eol = strstr(reply, "\r\n");
  const char *body = strstr(reply, "\r\n\r\n");
  printf("%s -> %.*s\n", what, eol ? (int)(eol - reply) : 0, reply);
  if (body)
    printf("%s body: %.300s\n", what, body + 4);
}

/* ---- the host's own TCP service ------------------------------------------ */

static void on_greeting_written(uv_write_t *w, int status) {
  (void)status;
  uv_close((uv_handle_t *)w->handle, (uv_close_cb)free);
  free(w);
}

static void on_host_connection(uv_stream_t *listener, int status) {
  if (status < 0)
    return;
  uv_tcp_t *client = malloc(sizeof *client);
  uv_tcp_init(&loop, client);
  if (uv_accept(listener, (uv_stream_t *)client) != 0) {
    uv_close((uv_handle_t *)client, (uv_close_cb)free);
    return;
  }
  static char greeting[] = "hello from the host application\n";
  uv_write_t *w = malloc(sizeof *w);
  uv_buf_t b = uv_buf_init(greeting, sizeof greeting - 1);
  uv_write(w, (uv_stream_t *)client, &b, 1, on_greeting_written);
}

/* ---- the sequence -------------------------------------------------------- */

static void on_server_closed(th_server *s, void *data) {
  (void)s;
  (void)data;
  server = NULL;
  printf("townhall server closed; the host closes its own handles\n");
  uv_close((uv_handle_t *)&host_service, NULL);
  uv_close((uv_handle_t *)&ticker, NULL);
  uv_close((uv_handle_t *)&watchdog, NULL);
}

static void after_host(exchange *x) {
  printf("host service said: %s", x->reply);
  printf("the host's timer ticked %s while townhall served\n",
         ticks > 0 ? "on" : "NOT");
  int rc = th_server_close(server, on_server_closed, NULL);
  if (rc != TH_OK)
    fprintf(stderr, "uv-embed: th_server_close: %s\n", th_strerror(rc));
}

static int want_host; /* talk to the host's service on a later tick */

static void after_ideas(exchange *x) {
  print_reply("GET /v1/sites/riverside/ideas?sort=top", x->reply);
  want_host = 1;
}

static void after_health(exchange *x) {
  print_reply("GET /healthz", x->reply);
  exchange_start(townhall_port,
                 "GET /v1/sites/riverside/ideas?sort=top HTTP/1.1\r\n"
                 "Host: 127.0.0.1\r\nConnection: close\r\n\r\n",
                 after_ideas);
}

static void on_tick(uv_timer_t *t) {
  (void)t;
  ticks++;
  /* The host's timer keeps running beside townhall's handles; a few ticks
   * on, the host talks to its own service. */
  if (want_host && ticks >= 3) {
    want_host = 0;
    exchange_start(host_port, NULL, after_host);
  }
}

static void on_watchdog(uv_timer_t *t) {
  (void)t;
  fprintf(stderr, "uv-embed: gave up after 20 s\n");
  exit(1);
}

/* townhall's log lines (JSON, never holding addresses or ids). */
static void on_log(void *data, const char *line) {
  (void)data;
  fprintf(stderr, "townhall log: %s\n", line);
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "uv-embed.db";
  uv_loop_init(&loop);

  /* Some data to serve, written through the synchronous C API. */
  int rc = th_open(&db, path, NULL);
  if (rc != TH_OK) {
    fprintf(stderr, "uv-embed: %s\n", db ? th_errmsg(db) : th_strerror(rc));
    return 1;
  }
  th_site site = {.size = sizeof(th_site),
                  .slug = "riverside",
                  .name = "Riverside Borough Council"};
  rc = th_site_create(db, NULL, &site, NULL);
  if (rc < 0 && rc != TH_EEXIST) {
    fprintf(stderr, "uv-embed: %s\n", th_errmsg(db));
    return 1;
  }
  th_who who = {.resident = "resident-1"};
  th_idea_new idea = {.size = sizeof(idea), .title = "A safer crossing outside the primary school"};
  th_idea_submit(db, "riverside", &who, &idea, NULL);

  /* The host's own handles. */
  uv_timer_init(&loop, &ticker);
  uv_timer_start(&ticker, on_tick, 5, 5);
  uv_timer_init(&loop, &watchdog);
  uv_timer_start(&watchdog, on_watchdog, 20000, 0);
  uv_unref((uv_handle_t *)&watchdog);
  uv_tcp_init(&loop, &host_service);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_bind(&host_service, (const struct sockaddr *)&addr, 0);
  if ((rc = uv_listen((uv_stream_t *)&host_service, 16, on_host_connection)) <
      0) {
    fprintf(stderr, "uv-embed: listen: %s\n", uv_strerror(rc));
    return 1;
  }
  struct sockaddr_storage name;
  int namelen = sizeof name;
  uv_tcp_getsockname(&host_service, (struct sockaddr *)&name, &namelen);
  host_port = ntohs(((struct sockaddr_in *)&name)->sin_port);

  /* townhall's server on the same loop, on any free port. */
  th_server_config cfg = {.size = sizeof(cfg),
      .host = "127.0.0.1", .port = -1, .log = on_log, .log_level = 1};
  if ((rc = th_server_new(&server, db, &loop, &cfg)) != TH_OK) {
    fprintf(stderr, "uv-embed: th_server_new: %s\n", th_strerror(rc));
    return 1;
  }
  if (th_server_listen(server) != TH_OK) {
    fprintf(stderr, "uv-embed: %s\n", th_server_errmsg(server));
    return 1;
  }
  townhall_port = th_server_port(server);
  printf("townhall on 127.0.0.1:%d, the host's own service on 127.0.0.1:%d\n",
         townhall_port, host_port);

  exchange_start(townhall_port,
                 "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "Connection: close\r\n\r\n",
                 after_health);

  uv_run(&loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(&loop);
  printf("uv_loop_close() = %d%s\n", rc, rc == 0 ? " (nothing left open)" : "");
  th_close(db);
  return rc == 0 && ticks > 0 ? 0 : 1;
}
