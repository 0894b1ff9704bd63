/*
 * server.c: the server embedded in a host's libuv loop beside the host's own
 * handles. th_server_close must hand control back (the host's timer keeps
 * ticking), never stop the loop, and leave nothing behind: uv_loop_close()
 * returns 0.
 */
#include "helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

static uv_loop_t loop;
static uv_timer_t host_timer;
static uv_tcp_t host_tcp;
static uv_async_t host_async;
static th_server *srv;
static int ticks, ticks_at_close, host_accepts, closed_calls;
static int server_port, host_port;
static char client_reply[4096];
static int close_rc = -100, close_again_rc = -100;

static int http_get(int port, const char *req, char *out, size_t cap) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  if (write(fd, req, strlen(req)) < 0) {
    close(fd);
    return -1;
  }
  size_t n = 0;
  ssize_t got;
  while (n < cap - 1 && (got = read(fd, out + n, cap - 1 - n)) > 0)
    n += (size_t)got;
  out[n] = '\0';
  close(fd);
  return (int)n;
}

static void client_main(void *arg) {
  (void)arg;
  http_get(server_port,
           "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
           client_reply, sizeof client_reply);
  char tmp[64];
  http_get(host_port, "", tmp, sizeof tmp); /* the host's own server */
  uv_async_send(&host_async);
}

static void on_server_closed(th_server *s, void *data) {
  (void)s;
  closed_calls++;
  *(int *)data = 1;
  ticks_at_close = ticks;
}

static int closed_flag;

static void on_host_async(uv_async_t *a) {
  (void)a;
  close_rc = th_server_close(srv, on_server_closed, &closed_flag);
  close_again_rc = th_server_close(srv, on_server_closed, &closed_flag);
}

static void on_tick(uv_timer_t *t) {
  ticks++;
  /* The host decides when it is done: a few ticks after the server closed,
   * proving its loop kept running its own handles. */
  if (closed_flag && ticks >= ticks_at_close + 3) {
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, NULL);
    uv_close((uv_handle_t *)&host_tcp, NULL);
    uv_close((uv_handle_t *)&host_async, NULL);
  }
}

static void on_host_conn(uv_stream_t *s, int status) {
  if (status < 0)
    return;
  uv_tcp_t *c = malloc(sizeof *c);
  uv_tcp_init(s->loop, c);
  if (uv_accept(s, (uv_stream_t *)c) == 0)
    host_accepts++;
  uv_close((uv_handle_t *)c, (uv_close_cb)free);
}

static void test_embedded(void) {
  th_db *db = t_open("server.db");
  t_site(db, "camden", 1, 0);
  TAP_INT(uv_loop_init(&loop), 0, "host loop");
  uv_timer_init(&loop, &host_timer);
  uv_timer_start(&host_timer, on_tick, 10, 10);
  uv_tcp_init(&loop, &host_tcp);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_bind(&host_tcp, (struct sockaddr *)&a, 0);
  uv_listen((uv_stream_t *)&host_tcp, 16, on_host_conn);
  struct sockaddr_in bound;
  int len = sizeof bound;
  uv_tcp_getsockname(&host_tcp, (struct sockaddr *)&bound, &len);
  host_port = ntohs(bound.sin_port);
  uv_async_init(&loop, &host_async, on_host_async);

  th_server_config cfg = {.size = sizeof(cfg), .port = -1, .log_level = 1};
  TAP_INT(th_server_new(NULL, db, &loop, &cfg), TH_EINVAL, "new: no out");
  TAP_INT(th_server_new(&srv, NULL, &loop, &cfg), TH_EINVAL, "new: no db");
  TAP_INT(th_server_new(&srv, db, &loop, &cfg), TH_OK, "th_server_new");
  TAP_INT(th_server_listen(srv), TH_OK, "th_server_listen: %s",
          th_server_errmsg(srv));
  server_port = th_server_port(srv);
  TAP_OK(server_port > 0, "bound to a port");

  uv_thread_t client;
  uv_thread_create(&client, client_main, NULL);
  int run_rc = uv_run(&loop, UV_RUN_DEFAULT);
  uv_thread_join(&client);
  TAP_INT(run_rc, 0, "uv_run returned once the host closed its handles");
  TAP_OK(strstr(client_reply, "HTTP/1.1 200 OK") != NULL,
         "the server answered on the host's loop");
  TAP_INT(host_accepts, 1, "the host's own TCP server ran beside it");
  TAP_INT(close_rc, TH_OK, "th_server_close");
  TAP_INT(close_again_rc, TH_ESTATE, "a second close is refused");
  TAP_INT(closed_calls, 1, "the close callback ran once");
  TAP_OK(ticks >= ticks_at_close + 3,
         "the host's timer kept ticking after the server closed");
  TAP_INT(uv_loop_close(&loop), 0, "uv_loop_close() == 0: nothing left behind");
  /* The caller's handle is still the caller's, and still works. */
  th_site *s = NULL;
  TAP_INT(th_site_get(db, "camden", &s), TH_OK, "the caller's db still works");
  th_site_free(s);
  th_close(db);
}

static void on_closed_simple(th_server *s, void *data) {
  (void)s;
  (*(int *)data)++;
}

static void test_listen_errors(void) {
  th_db *db = t_open("server2.db");
  uv_loop_t l;
  uv_loop_init(&l);
  /* Occupy a port, then ask the server for it. */
  uv_tcp_t busy;
  uv_tcp_init(&l, &busy);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_bind(&busy, (struct sockaddr *)&a, 0);
  uv_listen((uv_stream_t *)&busy, 1, NULL);
  struct sockaddr_in bound;
  int len = sizeof bound;
  uv_tcp_getsockname(&busy, (struct sockaddr *)&bound, &len);
  th_server *s = NULL;
  th_server_config cfg = {.size = sizeof(cfg), .port = ntohs(bound.sin_port), .log_level = 1};
  TAP_INT(th_server_new(&s, db, &l, &cfg), TH_OK, "new");
  TAP_INT(th_server_listen(s), TH_EIO, "listening on a taken port fails");
  TAP_OK(strstr(th_server_errmsg(s), "address already in use") != NULL,
         "with a clear message: %s", th_server_errmsg(s));
  int closed = 0;
  TAP_INT(th_server_close(s, on_closed_simple, &closed), TH_OK,
          "close after a failed listen");
  uv_close((uv_handle_t *)&busy, NULL);
  uv_run(&l, UV_RUN_DEFAULT);
  TAP_INT(closed, 1, "closed");
  TAP_INT(uv_loop_close(&l), 0, "loop closes cleanly");

  /* Closing a server that never listened, with extra loops configured. */
  uv_loop_init(&l);
  th_server_config cfg2 = {.size = sizeof(cfg2), .port = -1, .extra_loops = 2, .log_level = 1};
  TAP_INT(th_server_new(&s, db, &l, &cfg2), TH_OK, "new with extra loops");
  closed = 0;
  th_server_close(s, on_closed_simple, &closed);
  uv_run(&l, UV_RUN_DEFAULT);
  TAP_INT(closed, 1, "closed without ever listening");
  TAP_INT(uv_loop_close(&l), 0, "loop closes cleanly");

  /* And with extra loops that did listen. */
  uv_loop_init(&l);
  TAP_INT(th_server_new(&s, db, &l, &cfg2), TH_OK, "new with extra loops");
  TAP_INT(th_server_listen(s), TH_OK, "listen on three loops");
  closed = 0;
  th_server_close(s, on_closed_simple, &closed);
  uv_run(&l, UV_RUN_DEFAULT);
  TAP_INT(closed, 1, "closed with three loops");
  TAP_INT(uv_loop_close(&l), 0, "loop closes cleanly");
  th_close(db);
}

int main(void) {
  test_embedded();
  test_listen_errors();
  return tap_done();
}
