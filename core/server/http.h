/*
 * http.h: the server's internal structures, shared by its files and by
 * nothing outside (the fuzzer and the unit tests excepted).
 *
 * The shape (DESIGN.md sections 3 and 4): each loop accepts and parses
 * connections and answers reads from a read-only connection of its own;
 * writes are queued to one writer thread, which commits them in batches
 * and hands results back through a uv_async_t. A response is only sent
 * after the commit that holds its write.
 */
#ifndef TH_SERVER_HTTP_H
#define TH_SERVER_HTTP_H

#include "internal.h"

#include <jansson.h>
#include <llhttp.h>
#include <stdatomic.h>
#include <uv.h>

typedef struct th__loop th__loop;
typedef struct th__conn th__conn;
typedef struct th__req th__req;
typedef struct th__cmd th__cmd;
typedef struct th__writer th__writer;
typedef struct th__ratelimit th__ratelimit;

/* ---- routes (routes.h): for metrics and logs, the template, never the
 * raw path ------------------------------------------------------------------ */
#include "routes.h"
typedef unsigned th__route; /* TH__ROUTE_NONE, TH__OP_*, TH__ROUTE_STATIC */
/* A route's label: its path template, "other" or "/static". Any thread. */
const char *th__route_label(th__route route);

/* ---- a request and its response ------------------------------------------ */
#define TH__MAX_HEADERS_HARD 128

typedef struct th__header {
  uint32_t name, name_len, value, value_len; /* offsets into req->hbuf */
} th__header;

struct th__req {
  th__req *next;
  th__conn *conn;   /* NULL once the connection is gone */
  th__loop *lp;
  uint64_t started; /* uv_hrtime() at the first byte */
  int method;       /* llhttp_method_t */
  th__sbuf url;
  th__sbuf hbuf; /* header names and values, lower-cased names */
  th__header headers[TH__MAX_HEADERS_HARD];
  unsigned nheaders;
  bool in_value;      /* the last header callback was a value */
  size_t header_bytes;
  bool headers_done;
  th__sbuf body;
  bool keep_alive;
  int reject;         /* 413 / 431 found while parsing */
  /* The response, once ready. */
  bool ready;
  bool async;         /* waiting for the writer */
  bool close_after;   /* Connection: close */
  int status;
  th__route route;
  char cors[400]; /* CORS headers for this request's origin, if allowed */
  th__sbuf resp;
  th__req *probe_next; /* waiting for the loop's readiness probe (handlers/probes.c) */
};

/* ---- a connection ---------------------------------------------------------- */
enum th__timer_kind {
  TH__T_NONE,
  TH__T_HEADER,
  TH__T_BODY,
  TH__T_IDLE,
  TH__T_WRITE,
  TH__T_LINGER
};

struct th__conn {
  /* A TCP connection, or (for the fuzzer) one end of a socketpair. */
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_stream_t stream;
    uv_handle_t handle;
  } h;
  uv_timer_t timer;
  th__loop *lp;
  th__conn *prev, *next;
  llhttp_t parser;
  char *in; /* input buffer, held only while bytes are unparsed */
  size_t in_len, in_off;
  const char *exec_start; /* what the current llhttp_execute began with */
  bool ended_lf;          /* the previous llhttp_execute ended with '\n' */
  th__req *cur;         /* being parsed */
  th__req *head, *tail; /* waiting to be answered, in order */
  unsigned queued;
  unsigned served;
  unsigned writes; /* uv_write requests in flight */
  int open_handles;
  enum th__timer_kind timer_kind;
  uint64_t header_deadline;
  uint64_t body_deadline; /* moves on by a second per body_min_rate bytes */
  bool reading;
  bool paused;   /* llhttp paused after a message, bytes kept in `in` */
  bool closing;  /* uv_close called */
  bool no_more;  /* answer what is queued, then close */
  bool lingering;
  bool shut;     /* write side shut down */
  char peer[64]; /* the client address as text: memory only, never stored */
};

/* ---- a loop ---------------------------------------------------------------- */
/* Its cached answers and sites' rows (cache.h, cache.c). */
#include "cache.h"

struct th__loop {
  th_server *srv;
  uv_loop_t *loop;
  uv_loop_t own; /* for extra loops */
  uv_thread_t thread;
  uv_tcp_t listener;
  uv_async_t async; /* writer results, stop requests */
  /* Tells the writer when an iteration that queued writes has ended: it
   * commits them together (th__loop_submit). */
  uv_idle_t wake;
  th_db *reader;
  pthread_mutex_t done_lock;
  th__cmd *done_head, *done_tail; /* finished commands from the writer */
  th__conn *conns;
  char *free_bufs[64];   /* recycled input buffers */
  th__req *spare_reqs;   /* finished requests kept for the next (parse.c) */
  unsigned nconns;
  unsigned pending_cmds; /* commands sent to the writer (or the thread pool),
                            not yet back */
  unsigned nfree;
  unsigned nspare;
  unsigned next_site; /* the slot the next site read replaces */
  atomic_bool finished; /* an extra loop's thread is about to return */
  bool is_extra;
  bool started; /* an extra loop's thread was started */
  bool stopping;
  bool listening;
  bool async_closed; /* an extra loop's, closing: under done_lock */
  bool wake_open, wake_pending;
  /* The Date header, refreshed once a second. */
  char date[64];
  uint64_t date_sec;
  /* Answers of public lists and sites' rows, valid while the reader's data
   * version is cache_version (cache.c). Only this loop's thread touches
   * them. */
  th__cached cache[TH__CACHE_SLOTS];
  th__cached_site sites[TH__SITE_SLOTS];
  int64_t cache_version;
  uint64_t cache_tick;
  /* Readiness (handlers/probes.c, th__ready): the result of this loop's last write
   * probe through the writer, made at most once per TH__PROBE_NS, and the
   * requests waiting for the one under way. Only this loop's thread
   * touches them. */
  uint64_t probe_at; /* uv_hrtime() when it came back; 0: never */
  int probe_rc;
  char probe_msg[200];
  bool probe_running;
  th__req *probe_waiters;
};

/* ---- the server ------------------------------------------------------------ */
typedef struct th__cidr {
  int family;
  unsigned char addr[16];
  int bits;
} th__cidr;

struct th_server {
  uv_loop_t *host;
  th_server_config cfg;
  char host_addr[64];
  th__cidr proxies[32];
  unsigned nproxies;
  th__loop *loops; /* [0] runs on the host's loop */
  unsigned nloops;
  th__writer *writer;
  int port;
  char errmsg[256];
  atomic_bool closing; /* set by the host loop, read by every loop thread */
  bool closed_loops; /* extra loops joined */
  th_server_close_cb close_cb;
  void *close_data;
  uv_timer_t purge_timer;
  bool purge_timer_open;
  unsigned char form_key[32]; /* signs form timestamps */
  /* An open-data file is being built (handlers/open_data.c), on open_reader: a
   * read-only connection used by one thread-pool job at a time, handed over
   * by this flag. */
  atomic_bool open_building;
  th_db *open_reader;
  th__ratelimit *ratelimit;
};

/* ---- connections (conn.c) --------------------------------------------------
 * All on the thread of the connection's loop, unless said otherwise. */
/* Serves an already-connected stream socket (a socketpair end) on loop 0 as
 * if a client had connected: how the fuzzer drives the real request path
 * without a network. TH_OK, or TH_EIO. Host's loop thread. */
int th__conn_adopt(th_server *srv, int fd);
/* A loop's listener's connection callback (th__bind, server.c): accepts,
 * or refuses with a 503 past max_connections. */
void th__on_connection(uv_stream_t *server, int status);
/* Closes a connection at once; requests waiting for the writer outlive it
 * without it. Used by parse.c and by a stopping loop (server.c). */
void th__conn_close(th__conn *c);
/* Stops reading from a connection (parse.c: a full pipeline, a refusal). */
void th__read_stop(th__conn *c);
/* Gives the connection's input buffer back to its loop's pool, with what
 * it still holds (parse.c: once everything in it is parsed). */
void th__buf_release(th__conn *c);
/* Sends what is ready at the head of the connection's queue. */
void th__conn_flush(th__conn *c);
/* Called when a request's response is complete (sync or after the writer). */
void th__req_done(th__req *req);

/* ---- requests and parsing (parse.c) ----------------------------------------
 * All on the thread of the request's loop, unless said otherwise. */
/* Sets up a new connection's llhttp parser (th__conn_start, conn.c). */
void th__conn_parser_init(th__conn *c);
/* Parses what the connection has read and dispatches each complete request,
 * until the input is used up or the connection pauses or stops (conn.c). */
void th__conn_parse(th__conn *c);
/* Frees a request, or keeps it with its buffers for the loop's next. */
void th__req_free(th__req *req);
/* Frees the requests a loop kept (th__server_free, server.c). Host's loop
 * thread, once the loops are done. */
void th__req_spares_free(th__loop *lp);
/* The value of a request header (name lower-case), or NULL; *len its length. */
const char *th__req_header(const th__req *req, const char *name, size_t *len);

/* ---- loops and the server (server.c) -------------------------------------- */
/* Ends a stopping loop once nothing is left on it (connections, commands
 * sent to the writer or the thread pool, the listener). The loop's thread. */
void th__loop_maybe_finish(th__loop *lp);
/* One JSON log line; `fmt` gives its members. Any thread. */
void th__log(th_server *srv, int level, const char *fmt, ...) TH__PRINTF(3, 4);

/* Response building (respond.c). */
void th__respond(th__req *req, int status, const char *content_type,
                 const char *extra_headers, const char *body, size_t len);
/* How every JSON answer is serialised. */
#define TH__JSON_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII)
/* Serialises and answers `doc` (taking it); NULL answers 500. */
void th__respond_json(th__req *req, int status, json_t *doc,
                      const char *extra_headers);
/* RFC 9457 problem details. */
void th__respond_problem(th__req *req, int status, const char *type,
                         const char *title, const char *detail,
                         const char *extra_headers);
/* The problem for a TH_E code, with the handle's message as detail. */
void th__respond_error(th__req *req, int code, const char *detail);
int th__status_for(int code);

/* Routing (router.c: the table of routes.h). */
void th__dispatch(th__req *req);

/* ---- the writer (writer.h, writer.c) --------------------------------------- */
#include "writer.h"

/* ---- metrics (metrics.c) --------------------------------------------------- */
void th__metrics_request(th__route route, int status, uint64_t ns);
void th__metrics_batch(unsigned size);
void th__metrics_connection(int delta);
void th__metrics_rejected(const char *why); /* "max_connections" */
void th__metrics_spam(const char *reason);
void th__metrics_limited(const char *kind);
void th__metrics_write(int rc);
void th__metrics_cache(bool hit);
/* A site's row looked up: from the loop's cache (hit) or the database. */
void th__metrics_site_cache(bool hit);
void th__metrics_render(th__sbuf *b, th_server *srv);

/* ---- client address and rate limits (limits.c) ---------------------------- */
int th__proxies_parse(th_server *srv, const char *list);
/* The client's address: the peer, or the X-Forwarded-For entry a trusted
 * proxy added. Written into out (never stored anywhere). */
void th__client_addr(const th__req *req, char *out, size_t cap);
th__ratelimit *th__ratelimit_new(void);
void th__ratelimit_free(th__ratelimit *rl);
/* Takes one token from the bucket of `ip`'s prefix for `kind` (0 anonymous
 * writes, 1 staff-auth failures, 2 answers on one page); false if empty.
 * *retry_s gets the wait. */
bool th__ratelimit_take(th__ratelimit *rl, int kind, const char *ip,
                        unsigned per_minute, int64_t now_ms, int *retry_s);
/* The same per thing (`scope`, a page's URL, whose hash alone is kept) and
 * per hour. */
bool th__ratelimit_take_scoped(th__ratelimit *rl, int kind, const char *ip,
                               const char *scope, unsigned per_hour,
                               int64_t now_ms, int *retry_s);
/* Whether `ip`'s bucket for `kind` is empty (without taking). */
bool th__ratelimit_blocked(th__ratelimit *rl, int kind, const char *ip,
                           unsigned per_minute, int64_t now_ms, int *retry_s);

/* ---- decoding (request.c) ----------------------------------------------------- */
/* Percent-decodes in place ('+' as space when `plus`); false on a bad escape
 * or invalid UTF-8. */
bool th__pct_decode(char *s, size_t *len, bool plus);
/* Parses "a=1&b=2" (query string or form body) into a JSON object of
 * strings (the first of repeated keys wins). NULL on bad encoding. */
json_t *th__form_decode(const char *s, size_t len);
/* The no-script form's signed timestamp (antispam.c): "<ms>.<mac>" into out. */
void th__form_ts_make(th_server *srv, const char *site, th_time now, char *out,
                      size_t cap);

#endif
