/*
 * fuzz_server.c: a real server in the fuzzer's process, fed through a
 * socketpair. See fuzz_server.h.
 */
#include "config.h"

#include "fuzz_server.h"
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static uv_loop_t loop;
static th_db *db;
static th_server *srv;
static char dir[4096];
/* TH_FUZZ_ECHO=FILE: the server's answers are appended to FILE (for
 * looking at what a seed or a crash input gets). */
static FILE *echo;

static th_time fixed_clock(void *unused) {
  (void)unused;
  return FUZZ_T0;
}

static void discard_log(void *data, const char *line) {
  (void)data;
  (void)line;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

static void cleanup(void) {
  if (dir[0] && !getenv("TH_FUZZ_KEEP"))
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *what, int rc) {
  fprintf(stderr, "fuzz_server: %s: %s (%s)\n", what,
          db ? th_errmsg(db) : "", th_err_name(rc));
  abort();
}

#define CHECK(call)                                                          \
  do {                                                                       \
    int rc_ = (call);                                                        \
    if (rc_ < 0)                                                             \
      die(#call, rc_);                                                       \
  } while (0)

static void b64url(const unsigned char *in, size_t n, char *out, size_t cap) {
  sodium_bin2base64(out, cap, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

const char *fuzz_resident_jwt(const char *sub) {
  static char out[1024];
  char header[128], payload[512], signing[768];
  const char *h = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
  char p[384];
  snprintf(p, sizeof p,
           "{\"sub\":\"%s\",\"aud\":\"camden\",\"iat\":%lld,\"exp\":%lld}", sub,
           (long long)(FUZZ_T0 / 1000), (long long)(FUZZ_T0 / 1000 + 3000));
  b64url((const unsigned char *)h, strlen(h), header, sizeof header);
  b64url((const unsigned char *)p, strlen(p), payload, sizeof payload);
  snprintf(signing, sizeof signing, "%s.%s", header, payload);
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)FUZZ_SECRET,
                              strlen(FUZZ_SECRET));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)signing,
                                strlen(signing));
  crypto_auth_hmacsha256_final(&st, mac);
  char sig[64];
  b64url(mac, sizeof mac, sig, sizeof sig);
  snprintf(out, sizeof out, "%s.%s", signing, sig);
  return out;
}

/* A staff token with a known value: created normally, then its stored hash
 * replaced by the hash of th_<id>_<32 x letter>. */
static void fixed_token(const char *site, int role, char letter) {
  char *tok = NULL;
  int64_t id = 0;
  CHECK(th_token_create(db, "fuzz", site, role, "fuzz token",
                        FUZZ_T0 + 600 * TH__DAY_MS, &tok, &id));
  th_free(tok);
  char want[64], secret[33];
  memset(secret, letter, 32);
  secret[32] = '\0';
  snprintf(want, sizeof want, "th_%lld_%s", (long long)id, secret);
  unsigned char hash[32];
  th__token_hash(db->keys, want, strlen(want), hash);
  th__q *st = th__q_get(db, TH__S_TOKEN_SET_HASH);
  if (st == NULL)
    die("token statement", TH_EIO);
  th__q_i64(st, 1, id);
  th__q_blob(st, 2, hash, sizeof hash);
  CHECK(th__q_run(db, st, "fixing a token"));
}

th_db *fuzz_db(void) {
  if (db)
    return db;
  if (sodium_init() < 0)
    die("sodium_init", TH_EIO);
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/townhall-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    abort();
  }
  atexit(cleanup);
  char path[4200];
  snprintf(path, sizeof path, "%s/fuzz.db", dir);
  th_open_options opt = {.size = sizeof(opt), .now = fixed_clock, .persist_salts = -1,
                         .synchronous = 1};
  CHECK(th_open(&db, path, &opt));

  th_site camden = {.size = sizeof(th_site),
                    .slug = "camden",
                    .name = "London Borough of Camden",
                    .origins = "https://www.camden.gov.uk",
                    .keep_params = "id",
                    .allow_anonymous = 1};
  CHECK(th_site_create(db, "fuzz", &camden, NULL));
  CHECK(th_site_set_secret(db, "camden", FUZZ_SECRET, strlen(FUZZ_SECRET)));
  th_site islington = {.size = sizeof(th_site),
                       .slug = "islington",
                       .name = "Islington Council",
                       .origins = "https://www.islington.gov.uk",
                       .moderate_ideas = 1};
  CHECK(th_site_create(db, "fuzz", &islington, NULL));

  fixed_token("camden", TH_ROLE_ADMIN, 'a');
  fixed_token("camden", TH_ROLE_COUNCILLOR, 'c');
  fixed_token("camden", TH_ROLE_MODERATOR, 'm');
  fixed_token(NULL, TH_ROLE_ADMIN, 'g');

  th_consultation park = {.size = sizeof(th_consultation),
                          .slug = "park",
                          .title = "The future of the park",
                          .description = "What should change?",
                          .ward = "Kentish Town",
                          .closes = FUZZ_T0 + 30 * TH__DAY_MS};
  CHECK(th_consultation_create(db, "camden", "fuzz", &park, NULL));
  th_consultation old = {.size = sizeof(th_consultation),
                         .slug = "old",
                         .title = "A closed consultation",
                         .opens = FUZZ_T0 - 60 * TH__DAY_MS,
                         .closes = FUZZ_T0 - 30 * TH__DAY_MS};
  CHECK(th_consultation_create(db, "camden", "fuzz", &old, NULL));

  th_who r1 = {.resident = "seed-resident-1"};
  th_who d1 = {.ip = "192.0.2.7", .user_agent = "seed/1.0"};
  th_idea_new i1 = {.size = sizeof(i1), .title = "More bins on the high street",
                    .body = "Call me on 020 7946 0000", .category = "streets"};
  th_idea_new i2 = {.size = sizeof(i2), .consultation = "park", .title = "A water fountain",
                    .ward = "Kentish Town"};
  int64_t id1 = 0, id2 = 0;
  CHECK(th_idea_submit(db, "camden", &r1, &i1, &id1));
  CHECK(th_idea_submit(db, "camden", &d1, &i2, &id2));
  CHECK(th_vote(db, "camden", &d1, id1, 1, NULL));
  th_feedback fb = {.size = sizeof(fb), .page = "https://www.camden.gov.uk/bins",
                    .useful = 0,
                    .rating = 2,
                    .comment = "The page does not say when"};
  CHECK(th_feedback_record(db, "camden", &d1, &fb));
  /* Enough ideas and pages for lists to have a second page. */
  CHECK(th_batch_begin(db));
  for (int i = 0; i < 30; i++) {
    char title[64], ua[32], page[64];
    snprintf(title, sizeof title, "Idea number %d for the borough", i);
    snprintf(ua, sizeof ua, "seed/%d", i);
    snprintf(page, sizeof page, "https://www.camden.gov.uk/page-%d", i % 25);
    th_who d = {.ip = "192.0.2.8", .user_agent = ua};
    th_idea_new in = {.size = sizeof(in), .title = title, .consultation = i % 3 ? NULL : "park"};
    int64_t id = 0;
    CHECK(th_idea_submit(db, "camden", &d, &in, &id));
    CHECK(th_vote(db, "camden", &d, id, i % 4 == 0 ? -1 : 1, NULL));
    th_feedback f = {.size = sizeof(f), .page = page, .useful = i % 2, .rating = 1 + i % 5};
    CHECK(th_feedback_record(db, "camden", &d, &f));
  }
  CHECK(th_batch_commit(db));
  return db;
}

void fuzz_server_init(void) {
  if (srv)
    return;
  fuzz_db();

  if (uv_loop_init(&loop) != 0)
    die("uv_loop_init", TH_EIO);
  th_server_config cfg = {.size = sizeof(cfg),
      .port = -1,
      .trusted_proxies = "192.0.2.0/24",
      /* Short (a partial request at EOF waits for one of these), but long
       * enough that a busy machine does not turn them into a coin toss. */
      .header_timeout_ms = 1000,
      .body_timeout_ms = 1000,
      .idle_timeout_ms = 1000,
      .write_timeout_ms = 2000,
      .rate_per_minute = 1u << 30,
      .auth_failures_per_minute = 1u << 30,
      .min_form_seconds = -1,
      .log = discard_log,
      .log_level = 4,
      .purge_interval_s = -1,
      .demo = 1,
  };
  CHECK(th_server_new(&srv, db, &loop, &cfg));
  if (getenv("TH_FUZZ_ECHO"))
    echo = fopen(getenv("TH_FUZZ_ECHO"), "ab");
}

/* ---- the client --------------------------------------------------------- */

typedef struct client {
  int fd;
  uv_poll_t poll;
  bool eof;
  size_t got;
  char *out; /* what the server answered, for the checks below */
  size_t out_len, out_cap;
} client;

#define OUT_MAX (8u << 20)

static void keep(client *cl, const char *p, size_t n) {
  if (cl->out_len + n > OUT_MAX)
    return;
  if (cl->out_len + n > cl->out_cap) {
    size_t cap = cl->out_cap ? cl->out_cap : 65536;
    while (cap < cl->out_len + n)
      cap *= 2;
    char *q = realloc(cl->out, cap);
    if (q == NULL)
      abort();
    cl->out = q;
    cl->out_cap = cap;
  }
  memcpy(cl->out + cl->out_len, p, n);
  cl->out_len += n;
}

/* ---- what every answer must look like -------------------------------------
 * Whatever the input, the bytes the server sends must be a sequence of
 * complete HTTP/1.1 responses: a status line, header lines of a token, a
 * colon and a value without CR, LF or NUL, a blank line, exactly one
 * Content-Length (none on a 204 or a 304), and that many bytes of body
 * (none after a HEAD, a 204 or a 304). A header cut short, a CR/LF reflected into a header, or a body
 * that does not match its length would let a client or a proxy read the
 * stream differently (response splitting). */

static void bad_answer(const client *cl, size_t at, const char *why) {
  fprintf(stderr, "malformed answer at byte %zu of %zu: %s\n", at,
          cl->out_len, why);
  size_t from = at > 300 ? at - 300 : 0;
  size_t to = at + 300 < cl->out_len ? at + 300 : cl->out_len;
  fprintf(stderr, "----\n");
  fwrite(cl->out + from, 1, to - from, stderr);
  fprintf(stderr, "\n----\n");
  abort();
}

static bool is_tchar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void check_answers(const client *cl) {
  const char *p = cl->out;
  size_t n = cl->out_len, i = 0;
  if (n >= OUT_MAX)
    return;
  while (i < n) {
    if (n - i < 17 || memcmp(p + i, "HTTP/1.1 ", 9) != 0 ||
        !(p[i + 9] >= '1' && p[i + 9] <= '5') || p[i + 12] != ' ')
      bad_answer(cl, i, "no status line");
    int status = (p[i + 9] - '0') * 100 + (p[i + 10] - '0') * 10 + (p[i + 11] - '0');
    const char *eol = memmem(p + i, n - i, "\r\n", 2);
    if (eol == NULL)
      bad_answer(cl, i, "status line not ended");
    i = (size_t)(eol - p) + 2;
    long long clen = -1;
    for (;;) {
      eol = memmem(p + i, n - i, "\r\n", 2);
      if (eol == NULL)
        bad_answer(cl, i, "headers not ended");
      size_t len = (size_t)(eol - (p + i));
      if (len == 0) {
        i += 2;
        break;
      }
      size_t k = 0;
      while (k < len && is_tchar((unsigned char)p[i + k]))
        k++;
      if (k == 0 || k >= len || p[i + k] != ':')
        bad_answer(cl, i, "a header line without a name and a colon");
      for (size_t v = k + 1; v < len; v++)
        if (p[i + v] == '\n' || p[i + v] == '\r' || p[i + v] == '\0')
          bad_answer(cl, i + v, "CR, LF or NUL inside a header");
      if (k == 14 && strncasecmp(p + i, "content-length", 14) == 0) {
        if (clen >= 0)
          bad_answer(cl, i, "two Content-Length headers");
        char num[32];
        size_t vl = len - k - 1;
        if (vl == 0 || vl >= sizeof num)
          bad_answer(cl, i, "bad Content-Length");
        memcpy(num, p + i + k + 1, vl);
        num[vl] = '\0';
        char *end = NULL;
        clen = strtoll(num, &end, 10);
        if (*end || clen < 0)
          bad_answer(cl, i, "bad Content-Length");
      }
      i += len + 2;
    }
    /* RFC 9110 8.6: a 204 must not carry Content-Length, and this server
     * sends none on a 304 either; both end at the blank line. */
    if (status == 204 || status == 304) {
      if (clen >= 0)
        bad_answer(cl, i, "Content-Length on a 204 or 304");
      continue;
    }
    if (clen < 0)
      bad_answer(cl, i, "no Content-Length");
    /* A body of clen bytes, or none (HEAD, 204, 304): whichever is
     * followed by the end or by the next status line. */
    size_t with = i + (size_t)clen;
    bool with_ok = with <= n &&
                   (with == n || (n - with >= 9 && memcmp(p + with, "HTTP/1.1 ", 9) == 0));
    bool without_ok = i == n || (n - i >= 9 && memcmp(p + i, "HTTP/1.1 ", 9) == 0);
    if (with_ok)
      i = with;
    else if (!without_ok)
      bad_answer(cl, i, "the body does not match Content-Length");
  }
}

static void client_read(client *cl) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(cl->fd, buf, sizeof buf);
    if (n > 0) {
      cl->got += (size_t)n;
      keep(cl, buf, (size_t)n);
      if (echo)
        fwrite(buf, 1, (size_t)n, echo), fflush(echo);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      cl->eof = true;
      uv_poll_stop(&cl->poll);
    }
    return;
  }
}

static void on_poll(uv_poll_t *p, int status, int events) {
  client *cl = p->data;
  if (status < 0) {
    cl->eof = true;
    uv_poll_stop(p);
    return;
  }
  if (events & UV_READABLE)
    client_read(cl);
}

static void client_write(client *cl, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(cl->fd, p, n);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      /* The server is not reading (paused, or it has finished with us):
       * let it run; give up on the rest if it has closed. */
      uv_run(&loop, UV_RUN_NOWAIT);
      if (cl->eof || srv->loops[0].nconns == 0)
        return;
      if (uv_run(&loop, UV_RUN_ONCE) == 0)
        return;
      continue;
    }
    return; /* EPIPE: the server closed */
  }
}

static const uint8_t *find_split(const uint8_t *p, size_t n) {
  for (size_t i = 0; i + 1 < n; i++)
    if (p[i] == 0xfe && p[i + 1] == 0xff)
      return p + i;
  return NULL;
}

static void feed(const uint8_t *data, size_t size, size_t *out_len,
                 bool split) {
  fuzz_server_init();
  th__loop *lp = &srv->loops[0];
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    abort();
  client cl = {.fd = sv[1]};
  fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
  unsigned before = lp->nconns;
  /* The loop's cached time may be old (the loop does not run between
   * inputs): without this the new connection's idle timer could be already
   * due, and the connection closed before its first read. */
  uv_update_time(&loop);
  if (th__conn_adopt(srv, sv[0]) != TH_OK)
    abort();
  if (lp->nconns != before + 1)
    abort();
  uv_poll_init(&loop, &cl.poll, sv[1]);
  cl.poll.data = &cl;
  uv_poll_start(&cl.poll, UV_READABLE, on_poll);

  const uint8_t *p = data, *end = data + size;
  while (p < end && !cl.eof) {
    const uint8_t *cut = split ? find_split(p, (size_t)(end - p)) : NULL;
    size_t n = cut ? (size_t)(cut - p) : (size_t)(end - p);
    client_write(&cl, p, n);
    p += n + (cut ? 2 : 0);
    /* Let the server read this segment on its own. */
    for (int i = 0; i < 3; i++)
      uv_run(&loop, UV_RUN_NOWAIT);
  }
  shutdown(sv[1], SHUT_WR);
  while (!(cl.eof && lp->nconns == 0 && lp->pending_cmds == 0))
    uv_run(&loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&cl.poll, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  close(sv[1]);
  check_answers(&cl);
  free(cl.out);
  if (out_len)
    *out_len = cl.got;
}

void fuzz_server_feed(const uint8_t *data, size_t size, size_t *out_len) {
  feed(data, size, out_len, true);
}

void fuzz_server_feed_raw(const uint8_t *data, size_t size, size_t *out_len) {
  feed(data, size, out_len, false);
}
