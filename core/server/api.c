/*
 * api.c: the handlers of the JSON API (v1). A handler only decodes,
 * authenticates, calls a domain function and encodes: every rule lives in
 * the domain (the files of core/), which the C API and the bindings share. Reads run
 * here on the loop's read-only connection; writes are queued to the writer
 * and answered after their commit.
 */
#include "router.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Exports stop after this many rows. */
#define TH__CSV_MAX_ROWS 10000

/* ---- small helpers ------------------------------------------------------------- */

static th_db *th__reader(th__ctx *x) { return x->req->lp->reader; }
static th_server *th__srv(th__ctx *x) { return x->req->lp->srv; }

static json_t *th__iso(th_time ms) {
  if (ms <= 0)
    return json_null();
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char buf[32];
  /* A time past year 2^31 has no struct tm: null, not stack garbage. */
  if (gmtime_r(&t, &tm) == NULL ||
      strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return json_null();
  return json_string(buf);
}

static json_t *th__iso_day(th_time ms) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char buf[16];
  if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof buf, "%Y-%m-%d", &tm) == 0)
    return json_null();
  return json_string(buf);
}

/* "2026-03-02", "2026-03-02T10:00:00Z" or milliseconds; -1 if none of them. */
static th_time th__parse_time(const char *s) {
  if (s == NULL || s[0] == '\0')
    return -1;
  char *end = NULL;
  long long v = strtoll(s, &end, 10);
  if (*end == '\0' && v >= 0)
    return (th_time)v;
  struct tm tm = {0};
  const char *rest = strptime(s, "%Y-%m-%d", &tm);
  if (rest == NULL)
    return -1;
  if (*rest == 'T') {
    rest = strptime(rest + 1, "%H:%M:%S", &tm);
    if (rest == NULL)
      return -1;
    if (*rest == 'Z')
      rest++;
  }
  if (*rest != '\0')
    return -1;
  return (th_time)timegm(&tm) * 1000;
}

static const char *th__qs(th__ctx *x, const char *name) {
  return json_string_value(json_object_get(x->query, name));
}

/* A query parameter that must be a whole number from 0 to max, in decimal
 * digits and nothing else: 1 when it is (*out set), 0 when it is absent,
 * -1 when it is given and is not (docs/openapi.yaml says "integer": "abc",
 * "-1", "1e3" and "" are refused, never read as 0). */
static int th__qs_whole(th__ctx *x, const char *name, uint64_t max,
                        uint64_t *out) {
  const char *v = th__qs(x, name);
  if (v == NULL)
    return 0;
  uint64_t n = 0;
  if (*v == '\0')
    return -1;
  for (; *v; v++) {
    if (*v < '0' || *v > '9' || n > (max - (uint64_t)(*v - '0')) / 10)
      return -1;
    n = n * 10 + (uint64_t)(*v - '0');
  }
  *out = n;
  return 1;
}

/* The answer's format: 1 for format=csv, 0 for none, -1 for any other. */
static int th__qs_csv(th__ctx *x) {
  const char *format = th__qs(x, "format");
  return format == NULL ? 0 : strcmp(format, "csv") == 0 ? 1 : -1;
}

static const char *th__str(json_t *body, const char *name) {
  return json_string_value(json_object_get(body, name));
}

static char *th__dup_or_null(const char *s) { return s ? th__strdup(s) : NULL; }

static void th__method_not_allowed(th__ctx *x, const char *allow) {
  char extra[96];
  snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
  th__respond_problem(x->req, 405, "method-not-allowed", "Method not allowed",
                      NULL, extra);
}

static void th__csv_header(th__sbuf *b, const char *const *names, size_t n) {
  th__csv_begin(b);
  for (size_t i = 0; i < n; i++)
    th__csv_text(b, names[i], i + 1 == n);
}

/* Sends a finished CSV export as a download, or the error that stopped it. */
static void th__csv_respond(th__ctx *x, th__sbuf *b, int rc, const char *what) {
  if (rc < 0 || b->oom) {
    th__sbuf_free(b);
    th__respond_error(x->req, rc < 0 ? rc : TH_ENOMEM,
                      th_errmsg(th__reader(x)));
    return;
  }
  char extra[160];
  snprintf(extra, sizeof extra,
           "Content-Disposition: attachment; filename=\"%s-%s.csv\"\r\n",
           x->site, what);
  th__respond(x->req, 200, "text/csv; charset=utf-8", extra, b->p, b->len);
  th__sbuf_free(b);
}

static bool th__is_loopback(const char *ip) {
  return strcmp(ip, "127.0.0.1") == 0 || strncmp(ip, "127.", 4) == 0 ||
         strcmp(ip, "::1") == 0 || strncmp(ip, "::ffff:127.", 11) == 0;
}

/* ---- bodies ---------------------------------------------------------------------- */

static bool th__ctype_is(const th__req *req, const char *want) {
  size_t len = 0;
  const char *ct = th__req_header(req, "content-type", &len);
  size_t wl = strlen(want);
  if (ct == NULL || len < wl || strncasecmp(ct, want, wl) != 0)
    return false;
  return len == wl || ct[wl] == ';' || ct[wl] == ' ';
}

/* Decodes a JSON object body, or a form body when `form_ok`. On failure the
 * problem has been sent and NULL is returned. */
static json_t *th__body(th__ctx *x, bool form_ok, bool *is_form) {
  th__req *req = x->req;
  if (is_form)
    *is_form = false;
  if (th__ctype_is(req, "application/json")) {
    json_error_t err;
    json_t *j = json_loadb(req->body.p ? req->body.p : "", req->body.len,
                           JSON_REJECT_DUPLICATES, &err);
    if (j == NULL || !json_is_object(j)) {
      char detail[200];
      snprintf(detail, sizeof detail,
               j ? "The body must be a JSON object."
                 : "The body is not valid JSON: %s (line %d).",
               err.text, err.line);
      json_decref(j);
      th__respond_problem(req, 400, "bad-json", "Malformed JSON", detail,
                          NULL);
      return NULL;
    }
    return j;
  }
  if (form_ok && th__ctype_is(req, "application/x-www-form-urlencoded")) {
    json_t *j = th__form_decode(req->body.p ? req->body.p : "", req->body.len);
    if (j == NULL) {
      /* Only the no-script form posts forms: a person reads this. */
      th__form_failed(req, 400, NULL, NULL, NULL);
      return NULL;
    }
    if (is_form)
      *is_form = true;
    return j;
  }
  th__respond_problem(req, 415, "unsupported-media-type",
                      "Unsupported media type",
                      form_ok ? "Send application/json or "
                                "application/x-www-form-urlencoded."
                              : "Send application/json.",
                      NULL);
  return NULL;
}

/* ---- identity ---------------------------------------------------------------------- */

typedef struct th__auth {
  enum { TH__A_NONE, TH__A_RESIDENT, TH__A_STAFF, TH__A_DEVICE } kind;
  char sub[256];
  char ip[64];
  char ua[512];
  int role;
  char actor[128];
} th__auth;

static const char *th__bearer(const th__req *req, size_t *len) {
  size_t n = 0;
  const char *h = th__req_header(req, "authorization", &n);
  if (h == NULL || n < 8 || strncasecmp(h, "Bearer ", 7) != 0)
    return NULL;
  h += 7;
  n -= 7;
  while (n && *h == ' ')
    h++, n--;
  *len = n;
  return n ? h : NULL;
}

static void th__device(th__ctx *x, th__auth *a) {
  th__client_addr(x->req, a->ip, sizeof a->ip);
  size_t n = 0;
  const char *ua = th__req_header(x->req, "user-agent", &n);
  if (n >= sizeof a->ua)
    n = sizeof a->ua - 1;
  if (ua)
    memcpy(a->ua, ua, n);
  a->ua[n] = '\0';
}

/* The one gate for staff tokens, which every route that reads one goes
 * through (docs/SECURITY.md, "Staff tokens"): a request carries a staff
 * token when its Authorization is "Bearer th_..." (any other bearer token
 * is a resident's, for the routes that take one). Where `required`, a
 * request without a staff token is refused like one with a bad token: 401.
 * Every refused token takes one from its address prefix's budget of
 * failures (auth_failures_per_minute); while that is spent, every request
 * that carries a staff token, or needs one, is answered 429 with
 * Retry-After before its token is even looked at, so guessing is just as
 * slow through every route. `roles`: a mask of 1 << role; a good token of
 * another role is 403. */
enum { TH__GATE_ANSWERED, TH__GATE_PUBLIC, TH__GATE_STAFF };

static bool th__staff_token_sent(const th__req *req) {
  size_t len = 0;
  const char *tok = th__bearer(req, &len);
  return tok && len > 3 && strncmp(tok, "th_", 3) == 0;
}

static int th__staff_gate(th__ctx *x, const char *site, unsigned roles,
                          bool required, th__auth *a) {
  if (!required && !th__staff_token_sent(x->req))
    return TH__GATE_PUBLIC;
  th_server *srv = th__srv(x);
  th__device(x, a);
  int retry = 0;
  int64_t now = th_now(th__reader(x));
  if (th__ratelimit_blocked(srv->ratelimit, 1, a->ip,
                            srv->cfg.auth_failures_per_minute, now, &retry)) {
    th__metrics_limited("staff_auth");
    char extra[48];
    snprintf(extra, sizeof extra, "Retry-After: %d\r\n", retry);
    th__respond_problem(x->req, 429, "rate-limited", "Too many attempts",
                        "Too many failed sign-ins from this network.", extra);
    return TH__GATE_ANSWERED;
  }
  size_t len = 0;
  const char *tok = th__bearer(x->req, &len);
  char buf[128];
  th_token_info *info = NULL;
  int rc = TH_EAUTH;
  if (tok && len < sizeof buf && strncmp(tok, "th_", 3) == 0) {
    memcpy(buf, tok, len);
    buf[len] = '\0';
    rc = th_token_check(th__reader(x), buf, site, &info);
    sodium_memzero(buf, sizeof buf);
  }
  if (rc < 0) {
    th__ratelimit_take(srv->ratelimit, 1, a->ip,
                       srv->cfg.auth_failures_per_minute, now, NULL);
    th__respond_error(x->req, rc == TH_EPERM ? TH_EPERM : TH_EAUTH,
                      rc == TH_EPERM ? "This token is for another site."
                                     : "A valid staff token is required.");
    return TH__GATE_ANSWERED;
  }
  a->kind = TH__A_STAFF;
  a->role = info->role;
  snprintf(a->actor, sizeof a->actor, "token %" PRId64 " (%s)", info->id,
           info->label);
  th_token_info_free(info);
  if (!(roles & (1u << a->role))) {
    th__respond_problem(x->req, 403, "perm", "Not permitted",
                        "This token's role may not do that.", NULL);
    return TH__GATE_ANSWERED;
  }
  return TH__GATE_STAFF;
}

/* A route only staff may use: false after answering. */
static bool th__staff(th__ctx *x, const char *site, unsigned roles,
                      th__auth *a) {
  return th__staff_gate(x, site, roles, true, a) == TH__GATE_STAFF;
}

#define TH__ANY_STAFF                                                        \
  ((1u << TH_ROLE_MODERATOR) | (1u << TH_ROLE_COUNCILLOR) |                  \
   (1u << TH_ROLE_ADMIN))

/* A resident (Bearer JWT signed with the site's secret) or, where the site
 * allows it and no token is given, a device. Returns false after
 * answering. */
static bool th__who(th__ctx *x, const th__site_row *site, bool allow_device,
                    th__auth *a) {
  size_t len = 0;
  const char *jwt = th__bearer(x->req, &len);
  if (jwt == NULL) {
    if (allow_device && site->allow_anonymous) {
      a->kind = TH__A_DEVICE;
      th__device(x, a);
      return true;
    }
    th__respond_problem(x->req, 401, "auth", "Sign in first",
                        "This needs a resident token (Authorization: Bearer).",
                        "WWW-Authenticate: Bearer realm=\"townhall\"\r\n");
    return false;
  }
  unsigned char secret[256];
  size_t slen = 0;
  int rc = th_site_get_secret(th__reader(x), x->site, secret, sizeof secret,
                              &slen);
  const char *why = "this site accepts no resident tokens";
  if (rc == TH_EKEY) {
    /* The operator's fault, not the resident's: the key file in use is not
     * the one the secret was sealed under (an uninstalled rotation). */
    th__log(x->req->lp->srv, 0,
            "\"msg\":\"the site's secret does not open under the key "
            "file\",\"route\":\"%s\",\"error\":\"TH_EKEY\"",
            th__route_names[x->req->route]);
    th__respond_problem(x->req, 500, "key", th_strerror(TH_EKEY),
                        "The server could not complete the request; it has "
                        "been logged.",
                        NULL);
    return false;
  }
  if (rc == TH_OK)
    rc = th__jwt_verify(jwt, len, x->site, secret, slen,
                        th_now(th__reader(x)) / 1000, a->sub, sizeof a->sub,
                        &why);
  else
    rc = TH_EAUTH;
  sodium_memzero(secret, sizeof secret);
  if (rc != TH_OK) {
    char extra[160];
    snprintf(extra, sizeof extra,
             "WWW-Authenticate: Bearer realm=\"townhall\", "
             "error=\"invalid_token\"\r\n");
    th__respond_problem(x->req, 401, "auth", "Invalid resident token", why,
                        extra);
    return false;
  }
  a->kind = TH__A_RESIDENT;
  return true;
}

/* ---- anonymous-write defences ---------------------------------------------------- */

/* A form timestamp: "<ms>.<base64url(HMAC-SHA-256(form key, site:ms))>".
 * Made here for the JSON API and for the no-script form (static.c), and
 * checked by th__spam_reason: the form must have been on screen
 * min_form_seconds. */
void th__form_ts_make(th_server *srv, const char *site, th_time now, char *out,
                      size_t cap) {
  char msg[96];
  int n = snprintf(msg, sizeof msg, "%s:%" PRId64, site, now);
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, srv->form_key, sizeof srv->form_key);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, (size_t)n);
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_memzero(&st, sizeof st);
  char b64[48];
  sodium_bin2base64(b64, sizeof b64, mac, 16,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  snprintf(out, cap, "%" PRId64 ".%s", now, b64);
}

/* NULL if the submission looks human; otherwise the spam reason. */
static const char *th__spam_reason(th__ctx *x, json_t *body,
                                   const char *text_a, const char *text_b) {
  th_server *srv = th__srv(x);
  const char *hp = th__str(body, "website");
  if (hp && hp[0])
    return "honeypot";
  const char *ts = th__str(body, "ts");
  if (ts && ts[0] && srv->cfg.min_form_seconds > 0) {
    char *dot = strchr(ts, '.');
    char *end = NULL;
    long long ms = strtoll(ts, &end, 10);
    char want[96];
    if (dot == NULL || end != dot || ms <= 0)
      return "bad_form_token";
    th__form_ts_make(srv, x->site, (th_time)ms, want, sizeof want);
    if (strlen(want) != strlen(ts) ||
        sodium_memcmp(want, ts, strlen(ts)) != 0)
      return "bad_form_token";
    th_time now = th_now(th__reader(x));
    if (now - (th_time)ms < (th_time)srv->cfg.min_form_seconds * 1000)
      return "too_fast";
  }
  /* One long "word" of letters and digits is what form-filling bots type. */
  for (int k = 0; k < 2; k++) {
    const char *t = k ? text_b : text_a;
    if (t == NULL)
      continue;
    size_t n = strlen(t), alnum = 0;
    bool space = false;
    for (size_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)t[i];
      if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
        space = true;
      else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9'))
        alnum++;
    }
    if (!space && n >= 25 && alnum == n)
      return "gibberish";
  }
  if (text_a && text_b && text_a[0] && strcasecmp(text_a, text_b) == 0)
    return "identical_fields";
  return NULL;
}

/* Rate limit for anonymous writes; false after answering 429. */
/* A no-script form post's way back: the language of the pages it is shown,
 * and the page it came from when that is on one of the site's origins. */
typedef struct th__formret {
  bool form;
  char lang[16];
  char *back; /* normalised; owned (th__formret_free) */
} th__formret;

static void th__formret_free(th__formret *f) {
  free(f->back);
  f->back = NULL;
}

/* An error for a JSON client (problem+json), or for a person who posted a
 * form without JavaScript (a page in their language: th__form_failed). */
static void th__fail(th__req *req, const th__formret *f, int status,
                     const char *title, const char *detail,
                     const char *extra) {
  if (f && f->form)
    th__form_failed(req, status, extra, f->lang, f->back);
  else
    th__respond_problem(req, status,
                        status == 429 ? "rate-limited"
                        : status == 422 ? "inval"
                                        : "unavailable",
                        title, detail, extra);
}

/* Answers 429 for the limit `metric` with its Retry-After; false. */
static bool th__limited(th__ctx *x, const th__formret *f, const char *metric,
                        int retry, const char *title, const char *detail) {
  th__metrics_limited(metric);
  char extra[48];
  snprintf(extra, sizeof extra, "Retry-After: %d\r\n", retry);
  th__fail(x->req, f, 429, title, detail, extra);
  return false;
}

static bool th__rate_ok(th__ctx *x, const th__auth *a, const th__formret *f) {
  th_server *srv = th__srv(x);
  int retry = 0;
  return th__ratelimit_take(srv->ratelimit, 0, a->ip, srv->cfg.rate_per_minute,
                            th_now(th__reader(x)), &retry) ||
         th__limited(x, f, "anonymous_write", retry, "Too many submissions",
                     "Please wait a little before sending more.");
}

/* New page-feedback answers from one address prefix on one page, per hour
 * (docs/SECURITY.md, "Stuffing page feedback"): the user agent is the
 * sender's to choose, so this is the cap. False after answering 429. */
static bool th__page_rate_ok(th__ctx *x, const th__auth *a, const char *page,
                             const th__formret *f) {
  th_server *srv = th__srv(x);
  int retry = 0;
  return th__ratelimit_take_scoped(srv->ratelimit, 2, a->ip, page,
                                   srv->cfg.rate_per_page_hour,
                                   th_now(th__reader(x)), &retry) ||
         th__limited(x, f, "page_answers", retry, "Too many answers",
                     "This network has sent many answers on this page in "
                     "the last hour; please try again later.");
}

/* ---- writes through the writer --------------------------------------------------- */

/* The page-feedback writes (th__feedback_post). */
enum {
  TH__FB_ANSWER,  /* a new answer, with or without an idempotency key */
  TH__FB_AMEND,   /* an amendment through a handle */
  TH__FB_LEGACY,  /* the 0.1.0 widget's first post */
  TH__FB_LEGACY_FOLLOW_UP /* and its follow-up */
};

enum {
  TH__OP_FEEDBACK,
  TH__OP_IDEA,
  TH__OP_VOTE,
  TH__OP_STATUS,
  TH__OP_MODERATE,
  TH__OP_WITHDRAW,
  TH__OP_CONSULTATION,
  TH__OP_ERASE
};

typedef struct th__wcmd {
  th__cmd cmd;
  int op;
  char site[64];
  th__auth who;
  char *s[6];
  int64_t id, id2;
  int v1, v2;
  th_time t1, t2;
  th__formret fr;   /* form posts: where the resident goes back to */
  char *location; /* 303 target for form posts */
  int fb_mode;    /* TH__FB_*: which feedback write */
  char handle[TH_HANDLE_SIZE]; /* the answer's, once recorded */
  int64_t out_id;
  th_counts counts;
  int64_t out_n;
} th__wcmd;

static void th__wcmd_free(th__wcmd *w) {
  for (size_t i = 0; i < TH__ARRAY_SIZE(w->s); i++)
    free(w->s[i]);
  sodium_memzero(w->handle, sizeof w->handle);
  free(w->location);
  th__formret_free(&w->fr);
  sodium_memzero(&w->who, sizeof w->who);
  free(w);
}

static void th__wcmd_run(th__cmd *cmd, th_db *db) {
  th__wcmd *w = (th__wcmd *)cmd;
  th_who who = {0};
  if (w->who.kind == TH__A_RESIDENT)
    who.resident = w->who.sub;
  else {
    who.ip = w->who.ip;
    who.user_agent = w->who.ua;
  }
  switch (w->op) {
  case TH__OP_FEEDBACK: {
    th_feedback fb = {.page = w->s[0], .useful = w->v1, .rating = w->v2,
                      .comment = w->s[1]};
    if (w->fb_mode == TH__FB_AMEND)
      cmd->rc = th_feedback_amend(db, w->site, w->s[3], &fb);
    else if (w->fb_mode == TH__FB_ANSWER)
      cmd->rc = th_feedback_answer(db, w->site, &who, &fb, w->s[2], w->handle);
    else
      cmd->rc = th__feedback_legacy(db, w->site, &who, &fb,
                                    w->fb_mode == TH__FB_LEGACY_FOLLOW_UP,
                                    w->handle);
    break;
  }
  case TH__OP_IDEA: {
    th_idea_new n = {.consultation = w->s[0], .title = w->s[1],
                     .body = w->s[2], .category = w->s[3], .ward = w->s[4]};
    cmd->rc = th_idea_submit(db, w->site, &who, &n, &w->out_id);
    if (cmd->rc >= 0) {
      th_idea *i = NULL;
      if (th_idea_get(db, w->site, w->out_id, &i) == TH_OK)
        w->v1 = i->status;
      th_idea_free(i);
    }
    break;
  }
  case TH__OP_VOTE:
    cmd->rc = th_vote(db, w->site, &who, w->id, w->v1, &w->counts);
    break;
  case TH__OP_STATUS:
    cmd->rc = th_idea_set_status(db, w->site, w->who.actor, w->id, w->v1,
                                 w->s[0]);
    break;
  case TH__OP_MODERATE:
    cmd->rc = th_idea_moderate(db, w->site, w->who.actor, w->id, w->v1, w->id2,
                               w->s[0]);
    break;
  case TH__OP_WITHDRAW:
    cmd->rc = th_idea_withdraw(db, w->site, &who, w->id);
    break;
  case TH__OP_CONSULTATION: {
    th_consultation c = {.slug = w->s[0], .title = w->s[1],
                         .description = w->s[2], .ward = w->s[3],
                         .opens = w->t1, .closes = w->t2};
    cmd->rc = th_consultation_create(db, w->site, w->who.actor, &c, &w->out_id);
    break;
  }
  case TH__OP_ERASE:
    cmd->rc = th_resident_erase(db, w->site, w->who.sub, &w->out_n);
    break;
  }
  if (cmd->rc < 0)
    snprintf(cmd->msg, sizeof cmd->msg, "%s", th_errmsg(db));
}

/* A 303 to `location`, its header built to whatever length it has: a page
 * URL near the 2048-byte limit, percent-encoded into /thanks?return=, is
 * about 6 KiB, and a fixed 2400-byte buffer cut the header off before its
 * CR LF, running the body into the header block (tests/attacks). */
static void th__see_other(th__req *req, const char *location) {
  th__sbuf h = {0};
  th__sbuf_printf(&h, "Location: %s\r\n", location);
  if (h.oom)
    th__respond_error(req, TH_ENOMEM, NULL);
  else
    th__respond(req, 303, "text/plain; charset=utf-8", h.p, "See Other\n", 10);
  th__sbuf_free(&h);
}

static void th__wcmd_done(th__cmd *cmd) {
  th__wcmd *w = (th__wcmd *)cmd;
  th__req *req = cmd->req;
  int rc = cmd->rc;
  if (req->conn == NULL) {
    /* The client left; its write stands (or failed) all the same. */
    th__req_free(req);
    th__wcmd_free(w);
    return;
  }
  if (rc < 0) {
    if (w->fr.form)
      th__form_failed(req, th__status_for(rc),
                      th__status_for(rc) == 503 ? "Retry-After: 5\r\n" : NULL,
                      w->fr.lang, w->fr.back);
    else
      th__respond_error(req, rc, cmd->msg);
    th__wcmd_free(w);
    return;
  }
  bool recorded = rc == TH_RECORDED;
  if (w->fr.form && w->location) {
    th__see_other(req, w->location);
    th__wcmd_free(w);
    return;
  }
  if (w->fr.form && w->op == TH__OP_FEEDBACK) {
    /* Answered with the thank-you page itself, so that the handle of a
     * new answer goes only into this page's follow-up form (never into a
     * URL): the page's "no-store" keeps it out of every cache. */
    bool ask_more = w->fb_mode == TH__FB_ANSWER && w->handle[0] &&
                    (w->v2 == 0 || w->s[1] == NULL);
    th__thanks_answer(req, w->site, w->fr.lang, w->fr.back, w->s[0],
                      ask_more ? w->handle : NULL);
    th__wcmd_free(w);
    return;
  }
  json_t *doc = json_pack("{s:b}", "recorded", recorded);
  switch (w->op) {
  case TH__OP_FEEDBACK:
    if (w->handle[0])
      json_object_set_new(doc, "answer", json_string(w->handle));
    if (w->fb_mode == TH__FB_AMEND || rc == TH_DUPLICATE) {
      th__respond_json(req, 200, doc, NULL);
      th__wcmd_free(w);
      return;
    }
    break;
  case TH__OP_IDEA:
    json_object_set_new(doc, "id", json_integer(w->out_id));
    if (recorded)
      json_object_set_new(doc, "status", json_string(th_status_name(w->v1)));
    break;
  case TH__OP_VOTE:
    json_object_set_new(doc, "up", json_integer(w->counts.up));
    json_object_set_new(doc, "down", json_integer(w->counts.down));
    json_object_set_new(doc, "anon_up", json_integer(w->counts.anon_up));
    json_object_set_new(doc, "anon_down", json_integer(w->counts.anon_down));
    json_object_set_new(doc, "my_vote", json_integer(w->counts.my_vote));
    break;
  case TH__OP_CONSULTATION:
    json_object_set_new(doc, "id", json_integer(w->out_id));
    json_object_set_new(doc, "slug", json_string(w->s[0]));
    break;
  case TH__OP_ERASE:
    json_object_set_new(doc, "erased", json_integer(w->out_n));
    break;
  default:
    break;
  }
  int status = recorded ? (w->op == TH__OP_ERASE ? 200 : 201) : 200;
  th__respond_json(req, status, doc, NULL);
  th__wcmd_free(w);
}

static th__wcmd *th__wcmd_new(th__ctx *x, int op) {
  th__wcmd *w = calloc(1, sizeof *w);
  if (w == NULL)
    return NULL;
  w->op = op;
  snprintf(w->site, sizeof w->site, "%s", x->site);
  w->cmd.req = x->req;
  w->cmd.lp = x->req->lp;
  w->cmd.run = th__wcmd_run;
  w->cmd.done = th__wcmd_done;
  return w;
}

static void th__submit(th__ctx *x, th__wcmd *w) {
  th__req *req = x->req;
  th__loop *lp = req->lp;
  if (lp->srv->writer != NULL) {
    req->async = true;
    lp->pending_cmds++;
    if (th__loop_submit(lp, &w->cmd) == 0)
      return;
    lp->pending_cmds--;
    req->async = false;
  }
  /* Nothing was queued: the same answer as a failed write. */
  w->cmd.rc = TH_ESHUTDOWN;
  snprintf(w->cmd.msg, sizeof w->cmd.msg, "The server is shutting down.");
  th__wcmd_done(&w->cmd);
}

/* The 200 a bot gets: the shape of a duplicate, never "recorded". */
static void th__discard(th__ctx *x, const char *reason, const th__formret *fr,
                        const char *location) {
  th__metrics_spam(reason);
  if (fr && fr->form && location) {
    th__see_other(x->req, location);
    return;
  }
  if (fr && fr->form) {
    th__thanks_answer(x->req, x->site, fr->lang, fr->back, NULL, NULL);
    return;
  }
  json_t *doc = json_pack("{s:b}", "recorded", 0);
  th__respond_json(x->req, 200, doc, NULL);
}

/* ---- site-scoped routes ------------------------------------------------------------- */

/* A form post's way back (f->form must be set): the page when it is on one
 * of the site's origins (never an open redirect), and the language. */
static void th__formret_init(th__formret *f, const th__site_row *site,
                             const char *page, const char *lang) {
  char *norm = NULL;
  if (page && th_url_normalize(page, NULL, &norm) == TH_OK &&
      site->origins[0] &&
      th__origin_listed(site->origins, norm, th__url_origin_len(norm)))
    f->back = norm;
  else
    free(norm);
  snprintf(f->lang, sizeof f->lang, "en");
  if (lang && strlen(lang) < sizeof f->lang &&
      strspn(lang, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") ==
          strlen(lang))
    snprintf(f->lang, sizeof f->lang, "%s", lang);
}

/* Where a successful form post returns when it goes back to the page it
 * came from (not asked for the thank-you page with next=thanks, and from a
 * page on the site's origins): the page itself. NULL otherwise: then the
 * post is answered with the thank-you page (th__thanks_answer). */
static char *th__form_location(const th__formret *f, const char *next) {
  if (f->back == NULL || (next && strcmp(next, "thanks") == 0))
    return NULL;
  return th__strdup(f->back);
}

/* Accepts cross-site form posts only from the site's own origins (or a
 * browser that hides its origin: "null" or none); JSON writes are guarded
 * by CORS preflight and the content type. */
static bool th__origin_ok(th__ctx *x, const th__site_row *site) {
  size_t len = 0;
  const char *origin = th__req_header(x->req, "origin", &len);
  if (origin == NULL || (len == 4 && memcmp(origin, "null", 4) == 0))
    return true;
  if (th__origin_listed(site->origins, origin, len) ||
      th__origin_same(x->req, origin, len))
    return true;
  th__respond_problem(x->req, 403, "cross-site", "Cross-site request refused",
                      "This site does not accept posts from that origin.",
                      NULL);
  return false;
}

/* The Idempotency-Key request header (draft-ietf-httpapi-idempotency-key-
 * header: a structured-field string, so the quotes are dropped) into out;
 * "" when absent; false when malformed. */
static bool th__idempotency_key(const th__req *req, char *out, size_t cap) {
  size_t n = 0;
  const char *k = th__req_header(req, "idempotency-key", &n);
  out[0] = '\0';
  if (k == NULL)
    return true;
  if (n >= 2 && k[0] == '"' && k[n - 1] == '"') {
    k++;
    n -= 2;
  }
  if (n == 0 || n >= cap)
    return false;
  for (size_t i = 0; i < n; i++)
    if (k[i] < 0x21 || k[i] > 0x7e || k[i] == '"')
      return false;
  memcpy(out, k, n);
  out[n] = '\0';
  return true;
}

/* "useful" as yes/no, true/false or 1/0: 1, 0, or -1 (absent or invalid:
 * *bad tells which). */
static int th__useful_value(json_t *useful, bool *bad) {
  *bad = false;
  if (useful == NULL || json_is_null(useful))
    return -1;
  if (json_is_boolean(useful))
    return json_is_true(useful);
  if (json_is_string(useful)) {
    const char *s = json_string_value(useful);
    if (!strcmp(s, "yes") || !strcmp(s, "1") || !strcmp(s, "true"))
      return 1;
    if (!strcmp(s, "no") || !strcmp(s, "0") || !strcmp(s, "false"))
      return 0;
  } else if (json_is_integer(useful) && json_integer_value(useful) >= 0 &&
             json_integer_value(useful) <= 1) {
    return (int)json_integer_value(useful);
  }
  *bad = true;
  return -1;
}

/* "rating" as 1..5 (number or string), or 0 when absent, null or "". */
static bool th__rating_value(json_t *rating, int *out) {
  *out = 0;
  if (rating == NULL || json_is_null(rating))
    return true;
  if (json_is_integer(rating)) {
    json_int_t v = json_integer_value(rating);
    *out = (int)v;
    return v >= 0 && v <= 5;
  }
  if (json_is_string(rating)) {
    const char *s = json_string_value(rating);
    if (s[0] == '\0')
      return true;
    *out = s[0] - '0';
    return s[0] >= '1' && s[0] <= '5' && s[1] == '\0';
  }
  return false;
}

/* POST /v1/sites/{site}/feedback: a new answer (JSON with an
 * Idempotency-Key header, or the no-script form), an amendment through
 * the answer's handle ("answer" in the body), or the 0.1.0 widget's
 * protocol (JSON with neither: th__feedback_legacy). */
static void th__feedback_post(th__ctx *x) {
  const th__site_row *site = x->row;
  th__formret fr = {0};
  if (!th__origin_ok(x, site))
    return;
  char key[256];
  if (!th__idempotency_key(x->req, key, sizeof key)) {
    th__respond_problem(x->req, 400, "bad-request", "Malformed Idempotency-Key",
                        "An idempotency key is 1 to 255 printable ASCII "
                        "characters, such as a UUID.",
                        NULL);
    return;
  }
  json_t *body = th__body(x, true, &fr.form);
  if (body == NULL)
    return;
  const char *page = th__str(body, "page");
  const char *handle = th__str(body, "answer");
  if (fr.form)
    th__formret_init(&fr, site, page, th__str(body, "lang"));
  int mode = handle && handle[0] ? TH__FB_AMEND
             : fr.form || key[0] ? TH__FB_ANSWER
             : json_object_get(body, "rating") || json_object_get(body, "comment")
                 ? TH__FB_LEGACY_FOLLOW_UP
                 : TH__FB_LEGACY;
  bool bad_useful = false;
  int u = th__useful_value(json_object_get(body, "useful"), &bad_useful);
  int r = 0;
  bool rating_ok = th__rating_value(json_object_get(body, "rating"), &r);
  const char *comment = th__str(body, "comment");
  const char *why = NULL;
  if (mode != TH__FB_AMEND && page == NULL)
    why = "\"page\" is required.";
  else if (bad_useful || (u < 0 && mode != TH__FB_AMEND))
    why = "\"useful\" must be yes or no.";
  else if (!rating_ok)
    why = "\"rating\" must be 1 to 5.";
  if (why) {
    json_decref(body);
    th__fail(x->req, &fr, 422, "Invalid feedback", why, NULL);
    th__formret_free(&fr);
    return;
  }
  if (comment && comment[0] == '\0')
    comment = NULL;
  char *location = NULL;
  if (fr.form)
    location = th__form_location(&fr, th__str(body, "next"));
  th__auth a = {.kind = TH__A_DEVICE};
  th__device(x, &a);
  const char *spam = th__spam_reason(x, body, comment, NULL);
  if (spam == NULL && comment && page && strcmp(comment, page) == 0)
    spam = "identical_fields";
  bool ok = spam == NULL && th__rate_ok(x, &a, &fr) &&
            (mode == TH__FB_AMEND || mode == TH__FB_LEGACY_FOLLOW_UP ||
             th__page_rate_ok(x, &a, page, &fr));
  th__wcmd *w = ok ? th__wcmd_new(x, TH__OP_FEEDBACK) : NULL;
  if (spam)
    th__discard(x, spam, &fr, location);
  else if (ok && w == NULL)
    th__respond_error(x->req, TH_ENOMEM, NULL);
  if (w == NULL) {
    free(location);
    th__formret_free(&fr);
    json_decref(body);
    return;
  }
  w->who = a;
  w->fb_mode = mode;
  w->s[0] = th__dup_or_null(page);
  w->s[1] = th__dup_or_null(comment);
  w->s[2] = key[0] ? th__strdup(key) : NULL;
  w->s[3] = th__dup_or_null(handle);
  w->v1 = u;
  w->v2 = r;
  w->fr = fr; /* w owns fr.back now */
  w->location = location;
  json_decref(body);
  th__submit(x, w);
}

/* A page's figures: exact for staff, or as published (disclosure.c), where
 * a withheld figure is null. */
static json_t *th__summary_json(const th_page_summary *s) {
#define TH__FIG(v) ((v) == TH_WITHHELD ? json_null() : json_integer(v))
  json_t *doc = json_object();
  json_object_set_new(doc, "page", json_string(s->page));
  json_object_set_new(doc, "yes", TH__FIG(s->yes));
  json_object_set_new(doc, "no", TH__FIG(s->no));
  json_object_set_new(doc, "responses", TH__FIG(s->responses));
  json_t *hist = json_array();
  for (int i = 0; i < 5; i++)
    json_array_append_new(hist, TH__FIG(s->ratings[i]));
  json_object_set_new(doc, "ratings", hist);
  json_object_set_new(doc, "rating_count", TH__FIG(s->rating_count));
  json_object_set_new(doc, "rating_mean",
                      s->rating_mean >= 0 && s->rating_count > 0
                          ? json_real(s->rating_mean)
                          : json_null());
  json_object_set_new(doc, "useful_lower",
                      s->useful_lower >= 0 && s->responses > 0
                          ? json_real(s->useful_lower)
                          : json_null());
  json_object_set_new(doc, "comments", TH__FIG(s->comments));
  json_object_set_new(doc, "first", th__iso_day(s->first));
  json_object_set_new(doc, "last", th__iso_day(s->last));
  json_object_set_new(doc, "exact", json_boolean(s->exact));
#undef TH__FIG
  return doc;
}

static void th__feedback_summary(th__ctx *x) {
  const char *page = th__qs(x, "page");
  if (page == NULL) {
    th__respond_problem(x->req, 422, "inval", "Missing page",
                        "Give the page as ?page=URL.", NULL);
    return;
  }
  th__auth a = {0};
  int gate = th__staff_gate(x, x->site, TH__ANY_STAFF, false, &a);
  if (gate == TH__GATE_ANSWERED)
    return;
  bool exact = gate == TH__GATE_STAFF;
  th_page_summary *s = NULL;
  int rc = exact ? th_feedback_summary(th__reader(x), x->site, page, &s)
                 : th_feedback_summary_public(th__reader(x), x->site, page, &s);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  /* The public figures change once a week (complete weeks only). */
  th__respond_json(x->req, 200, th__summary_json(s),
                   exact ? "Vary: Authorization\r\n"
                         : "Vary: Authorization\r\nCache-Control: public, "
                           "max-age=300\r\n");
  th_page_summary_free(s);
}

static int th__limit(th__ctx *x, int dflt, int max) {
  const char *l = th__qs(x, "limit");
  if (l == NULL)
    return dflt;
  char *end = NULL;
  long v = strtol(l, &end, 10);
  if (*end || v < 1 || v > max)
    return -1;
  return (int)v;
}

static void th__pages_csv(th__ctx *x) {
  th__sbuf b = {0};
  static const char *const head[] = {
      "page", "yes", "no", "rating_1", "rating_2", "rating_3", "rating_4",
      "rating_5", "rating_mean", "useful_lower", "comments"};
  th__csv_header(&b, head, TH__ARRAY_SIZE(head));
  char *cursor = NULL;
  size_t rows = 0;
  int rc;
  do {
    th_page_list *l = NULL;
    rc = th_feedback_pages(th__reader(x), x->site, 100, cursor, &l);
    free(cursor);
    cursor = NULL;
    if (rc < 0)
      break;
    for (size_t i = 0; i < l->count; i++, rows++) {
      const th_page_summary *p = &l->items[i];
      th__csv_text(&b, p->page, false);
      th__csv_int(&b, p->yes, false);
      th__csv_int(&b, p->no, false);
      for (int k = 0; k < 5; k++)
        th__csv_int(&b, p->ratings[k], false);
      th__csv_real(&b, p->rating_mean, false);
      th__csv_real(&b, p->useful_lower, false);
      th__csv_int(&b, p->comments, true);
    }
    if (l->next_cursor && rows < TH__CSV_MAX_ROWS)
      cursor = th__strdup(l->next_cursor);
    th_page_list_free(l);
  } while (cursor);
  th__csv_respond(x, &b, rc, "pages");
}

static void th__feedback_pages(th__ctx *x) {
  th__auth a = {0};
  if (!th__staff(x, x->site, TH__ANY_STAFF, &a))
    return;
  const char *sort = th__qs(x, "sort");
  int limit = th__limit(x, 20, 100);
  int csv = th__qs_csv(x);
  if ((sort && strcmp(sort, "worst") != 0) || limit < 0 || csv < 0) {
    th__respond_problem(x->req, 422, "inval", "Invalid query",
                        "sort must be \"worst\"; limit 1 to 100; format, if "
                        "given, csv.",
                        NULL);
    return;
  }
  if (csv) {
    th__pages_csv(x);
    return;
  }
  th_page_list *l = NULL;
  int rc = th_feedback_pages(th__reader(x), x->site, limit, th__qs(x, "cursor"),
                             &l);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < l->count; i++)
    json_array_append_new(items, th__summary_json(&l->items[i]));
  json_t *doc = json_pack("{s:o,s:o}", "items", items, "next_cursor",
                          l->next_cursor ? json_string(l->next_cursor)
                                         : json_null());
  th_page_list_free(l);
  th__respond_json(x->req, 200, doc, NULL);
}

static void th__feedback_comments(th__ctx *x) {
  th__auth a = {0};
  if (!th__staff(x, x->site, TH__ANY_STAFF, &a))
    return;
  const char *page = th__qs(x, "page");
  int limit = th__limit(x, 50, 500);
  if (page == NULL || limit < 0) {
    th__respond_problem(x->req, 422, "inval", "Invalid query",
                        "Give ?page=URL (and limit 1 to 500).", NULL);
    return;
  }
  th_comment_list *l = NULL;
  int rc = th_feedback_comments(th__reader(x), x->site, page, limit, &l);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < l->count; i++) {
    const th_comment *c = &l->items[i];
    json_t *o = json_pack("{s:o,s:b,s:o,s:s}", "day", th__iso_day(c->day),
                          "useful", c->useful, "rating",
                          c->rating ? json_integer(c->rating) : json_null(),
                          "text", c->text);
    json_array_append_new(items, o);
  }
  th_comment_list_free(l);
  th__respond_json(x->req, 200, json_pack("{s:o}", "items", items), NULL);
}

static json_t *th__idea_json(const th_idea *i) {
  json_t *o = json_pack(
      "{s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)i->id,
      "consultation", i->consultation, "title", i->title, "body", i->body,
      "category", i->category, "ward", i->ward, "status",
      th_status_name(i->status) ? th_status_name(i->status) : "unknown");
  json_object_set_new(o, "votes",
                      json_pack("{s:I,s:I,s:I,s:I}", "up", (json_int_t)i->up,
                                "down", (json_int_t)i->down, "anon_up",
                                (json_int_t)i->anon_up, "anon_down",
                                (json_int_t)i->anon_down));
  json_object_set_new(o, "response",
                      i->response[0] ? json_pack("{s:s,s:o}", "text",
                                                 i->response, "at",
                                                 th__iso(i->response_at))
                                     : json_null());
  json_object_set_new(o, "merged_into", i->merged_into
                                            ? json_integer(i->merged_into)
                                            : json_null());
  /* What the domain decides (th_idea_is_public): the dashboard shows it. */
  json_object_set_new(o, "public", json_boolean(th_idea_is_public(i)));
  json_object_set_new(o, "created", th__iso(i->created));
  json_object_set_new(o, "updated", th__iso(i->updated));
  json_object_set_new(o, "rank",
                      json_pack("{s:f,s:f,s:f}", "top", i->top, "hot", i->hot,
                                "controversial", i->controversial));
  return o;
}

static void th__csv_time(th__sbuf *b, th_time t, bool last) {
  json_t *j = th__iso(t);
  th__csv_text(b, json_is_string(j) ? json_string_value(j) : "", last);
  json_decref(j);
}

/* Every row of a filtered list (up to TH__CSV_MAX_ROWS), as CSV. */
static void th__ideas_csv(th__ctx *x, th_idea_query *q) {
  th__sbuf b = {0};
  static const char *const head[] = {"id", "consultation", "title", "status",
                                     "category", "ward", "up", "down",
                                     "anon_up", "anon_down", "created",
                                     "response"};
  th__csv_header(&b, head, TH__ARRAY_SIZE(head));
  char *cursor = NULL;
  size_t rows = 0;
  int rc = TH_OK;
  q->limit = 100;
  do {
    q->cursor = cursor;
    th_idea_page *p = NULL;
    rc = th_idea_list(th__reader(x), x->site, q, &p);
    free(cursor);
    cursor = NULL;
    if (rc < 0)
      break;
    for (size_t i = 0; i < p->count; i++, rows++) {
      const th_idea *it = &p->items[i];
      th__csv_int(&b, it->id, false);
      th__csv_text(&b, it->consultation, false);
      th__csv_text(&b, it->title, false);
      th__csv_text(&b, th_status_name(it->status), false);
      th__csv_text(&b, it->category, false);
      th__csv_text(&b, it->ward, false);
      th__csv_int(&b, it->up, false);
      th__csv_int(&b, it->down, false);
      th__csv_int(&b, it->anon_up, false);
      th__csv_int(&b, it->anon_down, false);
      th__csv_time(&b, it->created, false);
      th__csv_text(&b, it->response, true);
    }
    if (p->next_cursor && rows < TH__CSV_MAX_ROWS)
      cursor = th__strdup(p->next_cursor);
    th_idea_page_free(p);
  } while (cursor);
  th__csv_respond(x, &b, rc, "ideas");
}

/* ---- cached answers ---------------------------------------------------------
 * The public ideas list is what every resident's widget and the top-20 ask
 * for, and it is the same bytes for all of them until a write commits. Each
 * loop keeps the serialised answers of its last TH__CACHE_SLOTS distinct
 * (site, query string) requests, and the rows of the last TH__SITE_SLOTS
 * sites it served, valid while its reader connection's PRAGMA data_version
 * is unchanged. That version moves with every commit by any other
 * connection (this server's writer, the CLI, a host application, another
 * process), and is read once per request, so nothing used is older than
 * the last commit before the request. It is read before anything is
 * cached: a commit that lands in between marks the new entry stale at
 * once, never the reverse. */

void th__cache_clear(th__loop *lp) {
  for (size_t i = 0; i < TH__CACHE_SLOTS; i++) {
    free(lp->cache[i].key);
    free(lp->cache[i].body);
    lp->cache[i] = (th__cached){0};
  }
  for (size_t i = 0; i < TH__SITE_SLOTS; i++)
    lp->sites[i].slug[0] = '\0';
}

/* Whether the loop's cache may serve this request: emptied first if the
 * database changed since it was filled. false when the version cannot be
 * read: then nothing is cached or used. */
static bool th__cache_check(th__ctx *x) {
  if (x->fresh != 0)
    return x->fresh > 0;
  th__loop *lp = x->req->lp;
  int64_t v = 0;
  x->fresh = -1;
  if (th__data_version(lp->reader, &v) < 0)
    return false;
  if (v != lp->cache_version) {
    th__cache_clear(lp);
    lp->cache_version = v;
  }
  x->fresh = 1;
  return true;
}

int th__site_cached(th__ctx *x, const char *slug, th__site_row *out) {
  th__loop *lp = x->req->lp;
  bool fresh = th__cache_check(x);
  for (size_t i = 0; fresh && i < TH__SITE_SLOTS; i++)
    if (lp->sites[i].slug[0] && strcmp(lp->sites[i].slug, slug) == 0) {
      *out = lp->sites[i].row;
      return TH_OK;
    }
  int rc = th__site_lookup(lp->reader, slug, out);
  if (rc == TH_OK && fresh && strlen(slug) < sizeof lp->sites[0].slug) {
    th__cached_site *slot = &lp->sites[lp->next_site++ % TH__SITE_SLOTS];
    snprintf(slot->slug, sizeof slot->slug, "%s", slug);
    slot->row = *out;
  }
  return rc;
}

static th__cached *th__cache_find(th__loop *lp, const char *key, size_t len) {
  for (size_t i = 0; i < TH__CACHE_SLOTS; i++) {
    th__cached *c = &lp->cache[i];
    if (c->key && c->key_len == len && memcmp(c->key, key, len) == 0) {
      c->used = ++lp->cache_tick;
      return c;
    }
  }
  return NULL;
}

/* Keeps `body` (taking it) under `key` in the least recently used slot. */
static void th__cache_put(th__loop *lp, const char *key, size_t key_len,
                          char *body, size_t len) {
  th__cached *slot = &lp->cache[0];
  for (size_t i = 1; i < TH__CACHE_SLOTS && slot->key; i++)
    if (lp->cache[i].key == NULL || lp->cache[i].used < slot->used)
      slot = &lp->cache[i];
  char *k = len <= TH__CACHE_MAX_BODY ? malloc(key_len) : NULL;
  if (k == NULL) {
    free(body);
    return;
  }
  memcpy(k, key, key_len);
  free(slot->key);
  free(slot->body);
  *slot = (th__cached){.key = k, .key_len = key_len, .body = body,
                       .len = len, .used = ++lp->cache_tick};
}

static void th__ideas_get(th__ctx *x) {
  const th__site_row *site = x->row;
  th_idea_query q = {0};
  q.consultation = th__qs(x, "consultation");
  q.ward = th__qs(x, "ward");
  q.category = th__qs(x, "category");
  q.cursor = th__qs(x, "cursor");
  const char *sort = th__qs(x, "sort");
  const char *status = th__qs(x, "status");
  const char *from = th__qs(x, "from"), *to = th__qs(x, "to");
  q.sort = sort ? th_sort_parse(sort) : TH_SORT_TOP;
  q.limit = th__limit(x, 20, 100);
  uint64_t seed = 0;
  int seed_ok = th__qs_whole(x, "seed", UINT64_MAX, &seed);
  q.seed = seed;
  int csv = th__qs_csv(x);
  q.created_from = from ? th__parse_time(from) : 0;
  q.created_to = to ? th__parse_time(to) : 0;
  unsigned mask = 0;
  bool bad_status = false;
  if (status) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", status);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
      int s = th_status_parse(t);
      if (s < 0)
        bad_status = true;
      else
        mask |= TH_STATUS_BIT(s);
    }
  }
  if (q.sort < 0 || q.limit < 0 || bad_status || q.created_from < 0 ||
      q.created_to < 0 || seed_ok < 0 || csv < 0) {
    th__respond_problem(x->req, 422, "inval", "Invalid query",
                        "sort is top, hot, new, controversial or random; "
                        "limit 1 to 100; status a comma-separated list of "
                        "statuses; from and to dates (YYYY-MM-DD); seed a "
                        "whole number; format, if given, csv.",
                        NULL);
    return;
  }
  q.statuses = mask;
  /* Statuses the public may not see need a staff token; a staff token
   * sent anyway is checked all the same (one gate for every route). */
  th__auth staff = {0};
  if (th__staff_gate(x, x->site, TH__ANY_STAFF,
                     (mask & ~TH_STATUS_PUBLIC) != 0,
                     &staff) == TH__GATE_ANSWERED)
    return;
  if (csv) {
    th__ideas_csv(x, &q);
    return;
  }
  /* Public statuses and no token at all: the same answer for everyone. */
  size_t len = 0;
  const char *tok = th__bearer(x->req, &len);
  th__loop *lp = x->req->lp;
  char key[1024];
  int key_len = 0;
  bool cacheable = (mask & ~TH_STATUS_PUBLIC) == 0 && tok == NULL;
  if (cacheable) {
    key_len = snprintf(key, sizeof key, "%s\n%s", x->site, x->query_str);
    cacheable = key_len > 0 && (size_t)key_len < sizeof key &&
                th__cache_check(x);
  }
  if (cacheable) {
    const th__cached *hit = th__cache_find(lp, key, (size_t)key_len);
    th__metrics_cache(hit != NULL);
    if (hit) {
      th__respond(x->req, 200, "application/json", NULL, hit->body, hit->len);
      return;
    }
  }
  th_idea_page *p = NULL;
  int rc = th_idea_list(th__reader(x), x->site, &q, &p);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  /* A signed-in resident also sees their own vote on each idea. */
  int mine[100] = {0};
  bool with_mine = false;
  if (tok && !(len > 3 && strncmp(tok, "th_", 3) == 0) &&
      p->count <= TH__ARRAY_SIZE(mine)) {
    th__auth a = {0};
    if (!th__who(x, site, false, &a)) { /* answered: a bad token */
      th_idea_page_free(p);
      return;
    }
    int64_t ids[TH__ARRAY_SIZE(mine)];
    for (size_t i = 0; i < p->count; i++)
      ids[i] = p->items[i].id;
    th_who who = {.resident = a.sub};
    rc = th_vote_mine(th__reader(x), x->site, &who, ids, p->count, mine);
    sodium_memzero(&a, sizeof a);
    if (rc < 0) {
      th_idea_page_free(p);
      th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
      return;
    }
    with_mine = true;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < p->count; i++) {
    json_t *item = th__idea_json(&p->items[i]);
    if (with_mine && item)
      json_object_set_new(item, "my_vote", json_integer(mine[i]));
    json_array_append_new(items, item);
  }
  json_t *doc = json_pack("{s:o,s:o}", "items", items, "next_cursor",
                          p->next_cursor ? json_string(p->next_cursor)
                                         : json_null());
  th_idea_page_free(p);
  if (!cacheable) {
    th__respond_json(x->req, 200, doc, NULL);
    return;
  }
  char *s = doc ? json_dumps(doc, TH__JSON_FLAGS) : NULL;
  json_decref(doc);
  if (s == NULL) {
    th__respond_json(x->req, 200, NULL, NULL); /* the out-of-memory answer */
    return;
  }
  size_t n = strlen(s);
  th__respond(x->req, 200, "application/json", NULL, s, n);
  th__cache_put(lp, key, (size_t)key_len, s, n);
}

static void th__ideas_post(th__ctx *x) {
  const th__site_row *site = x->row;
  if (!th__origin_ok(x, site))
    return;
  json_t *body = th__body(x, false, NULL);
  if (body == NULL)
    return;
  th__auth a = {0};
  if (!th__who(x, site, true, &a)) {
    json_decref(body);
    return;
  }
  const char *title = th__str(body, "title"), *text = th__str(body, "body");
  if (a.kind == TH__A_DEVICE) {
    const char *spam = th__spam_reason(x, body, title, text);
    if (spam) {
      th__discard(x, spam, NULL, NULL);
      json_decref(body);
      return;
    }
    if (!th__rate_ok(x, &a, NULL)) {
      json_decref(body);
      return;
    }
  }
  th__wcmd *w = th__wcmd_new(x, TH__OP_IDEA);
  if (w == NULL) {
    json_decref(body);
    th__respond_error(x->req, TH_ENOMEM, NULL);
    return;
  }
  w->who = a;
  w->s[0] = th__dup_or_null(th__str(body, "consultation"));
  w->s[1] = th__dup_or_null(title);
  w->s[2] = th__dup_or_null(text);
  w->s[3] = th__dup_or_null(th__str(body, "category"));
  w->s[4] = th__dup_or_null(th__str(body, "ward"));
  json_decref(body);
  th__submit(x, w);
}

/* The idea {id} as the caller may see it: true and *out (the caller frees
 * it), or false with a response already sent. Staff see every idea; anyone
 * else what the domain says the public may see (th_idea_get_public: no
 * pending or hidden idea, nor one merged away before it was approved), and
 * nothing that can be learnt about the rest (their vote history). */
static bool th__idea_visible(th__ctx *x, th_idea **out) {
  th__auth a = {0};
  int gate = th__staff_gate(x, x->site, TH__ANY_STAFF, false, &a);
  if (gate == TH__GATE_ANSWERED)
    return false;
  th_idea *i = NULL;
  int rc = gate == TH__GATE_STAFF
               ? th_idea_get(th__reader(x), x->site, x->id, &i)
               : th_idea_get_public(th__reader(x), x->site, x->id, &i);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return false;
  }
  *out = i;
  return true;
}

static void th__idea_get(th__ctx *x) {
  th_idea *i = NULL;
  if (!th__idea_visible(x, &i))
    return;
  th__respond_json(x->req, 200, th__idea_json(i), NULL);
  th_idea_free(i);
}

static void th__idea_history(th__ctx *x) {
  th_idea *idea = NULL;
  if (!th__idea_visible(x, &idea))
    return;
  th_idea_free(idea);
  th_vote_history *h = NULL;
  int rc = th_vote_history_get(th__reader(x), x->site, x->id, &h);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  json_t *days = json_array();
  for (size_t i = 0; i < h->count; i++)
    json_array_append_new(days,
                          json_pack("{s:o,s:I,s:I}", "day",
                                    th__iso_day(h->days[i].day), "up",
                                    (json_int_t)h->days[i].up, "down",
                                    (json_int_t)h->days[i].down));
  th_vote_history_free(h);
  th__respond_json(x->req, 200, json_pack("{s:o}", "days", days), NULL);
}

static void th__vote_put(th__ctx *x) {
  const th__site_row *site = x->row;
  if (!th__origin_ok(x, site))
    return;
  json_t *body = th__body(x, false, NULL);
  if (body == NULL)
    return;
  json_t *v = json_object_get(body, "value");
  if (!json_is_integer(v) || json_integer_value(v) < -1 ||
      json_integer_value(v) > 1) {
    json_decref(body);
    th__respond_problem(x->req, 422, "inval", "Invalid vote",
                        "\"value\" must be 1, 0 or -1.", NULL);
    return;
  }
  th__auth a = {0};
  if (!th__who(x, site, true, &a) ||
      (a.kind == TH__A_DEVICE && !th__rate_ok(x, &a, NULL))) {
    json_decref(body);
    return;
  }
  th__wcmd *w = th__wcmd_new(x, TH__OP_VOTE);
  if (w == NULL) {
    json_decref(body);
    th__respond_error(x->req, TH_ENOMEM, NULL);
    return;
  }
  w->who = a;
  w->id = x->id;
  w->v1 = (int)json_integer_value(v);
  json_decref(body);
  th__submit(x, w);
}

static void th__idea_staff_post(th__ctx *x) {
  bool moderation = x->req->route == TH__R_IDEA_MODERATION;
  th__auth a = {0};
  unsigned roles = (1u << TH_ROLE_ADMIN) |
                   (moderation ? 1u << TH_ROLE_MODERATOR
                               : 1u << TH_ROLE_COUNCILLOR);
  if (!th__staff(x, x->site, roles, &a))
    return;
  json_t *body = th__body(x, false, NULL);
  if (body == NULL)
    return;
  th__wcmd *w = th__wcmd_new(x, moderation ? TH__OP_MODERATE : TH__OP_STATUS);
  if (w == NULL) {
    json_decref(body);
    th__respond_error(x->req, TH_ENOMEM, NULL);
    return;
  }
  w->who = a;
  w->id = x->id;
  const char *bad = NULL;
  if (moderation) {
    w->v1 = th_moderation_parse(th__str(body, "action"));
    json_t *into = json_object_get(body, "into");
    w->id2 = json_is_integer(into) ? json_integer_value(into) : 0;
    w->s[0] = th__dup_or_null(th__str(body, "reason"));
    if (w->v1 < 0)
      bad = "\"action\" must be publish, hide, reject or merge.";
    else if (w->v1 == TH_MOD_MERGE && w->id2 <= 0)
      bad = "A merge needs \"into\": the id of the idea to merge into.";
  } else {
    w->v1 = th_status_parse(th__str(body, "status"));
    json_t *resp = json_object_get(body, "response");
    if (resp && !json_is_null(resp) && !json_is_string(resp))
      bad = "\"response\" must be text.";
    w->s[0] = th__dup_or_null(json_string_value(resp));
    if (w->v1 < 0)
      bad = "\"status\" must be a status name, such as accepted.";
  }
  json_decref(body);
  if (bad) {
    th__wcmd_free(w);
    th__respond_problem(x->req, 422, "inval", "Invalid request", bad, NULL);
    return;
  }
  th__submit(x, w);
}

static void th__idea_withdraw(th__ctx *x) {
  const th__site_row *site = x->row;
  th__auth a = {0};
  if (!th__who(x, site, true, &a))
    return;
  th__wcmd *w = th__wcmd_new(x, TH__OP_WITHDRAW);
  if (w == NULL) {
    th__respond_error(x->req, TH_ENOMEM, NULL);
    return;
  }
  w->who = a;
  w->id = x->id;
  th__submit(x, w);
}

static void th__consultations_get(th__ctx *x) {
  th_consultation_list *l = NULL;
  int rc = th_consultation_list_all(th__reader(x), x->site, &l);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  th_time now = th_now(th__reader(x));
  json_t *items = json_array();
  for (size_t i = 0; i < l->count; i++) {
    const th_consultation *c = &l->items[i];
    bool open = now >= c->opens && (c->closes == 0 || now < c->closes);
    json_array_append_new(
        items, json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:b}", "slug", c->slug,
                         "title", c->title, "description", c->description,
                         "ward", c->ward[0] ? json_string(c->ward) : json_null(),
                         "opens", th__iso(c->opens), "closes",
                         th__iso(c->closes), "open", open));
  }
  th_consultation_list_free(l);
  th__respond_json(x->req, 200, json_pack("{s:o}", "items", items),
                   "Cache-Control: public, max-age=30\r\n");
}

static void th__consultations_post(th__ctx *x) {
  th__auth a = {0};
  if (!th__staff(x, x->site,
                 (1u << TH_ROLE_ADMIN) | (1u << TH_ROLE_COUNCILLOR), &a))
    return;
  json_t *body = th__body(x, false, NULL);
  if (body == NULL)
    return;
  th__wcmd *w = th__wcmd_new(x, TH__OP_CONSULTATION);
  if (w == NULL) {
    json_decref(body);
    th__respond_error(x->req, TH_ENOMEM, NULL);
    return;
  }
  w->who = a;
  w->s[0] = th__dup_or_null(th__str(body, "slug"));
  w->s[1] = th__dup_or_null(th__str(body, "title"));
  w->s[2] = th__dup_or_null(th__str(body, "description"));
  w->s[3] = th__dup_or_null(th__str(body, "ward"));
  const char *opens = th__str(body, "opens"), *closes = th__str(body, "closes");
  w->t1 = opens ? th__parse_time(opens) : 0;
  w->t2 = closes ? th__parse_time(closes) : 0;
  json_decref(body);
  if (w->t1 < 0 || w->t2 < 0) {
    th__wcmd_free(w);
    th__respond_problem(x->req, 422, "inval", "Invalid dates",
                        "opens and closes are dates such as 2026-03-02 or "
                        "2026-03-02T10:00:00Z.",
                        NULL);
    return;
  }
  th__submit(x, w);
}

static void th__resident(th__ctx *x) {
  const th__site_row *site = x->row;
  th__auth a = {0};
  if (!th__who(x, site, false, &a))
    return;
  if (x->req->method == HTTP_DELETE) {
    th__wcmd *w = th__wcmd_new(x, TH__OP_ERASE);
    if (w == NULL) {
      th__respond_error(x->req, TH_ENOMEM, NULL);
      return;
    }
    w->who = a;
    th__submit(x, w);
    return;
  }
  char *json = NULL;
  int rc = th_resident_export(th__reader(x), x->site, a.sub, &json);
  sodium_memzero(a.sub, sizeof a.sub);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  th__respond(x->req, 200, "application/json", NULL, json, strlen(json));
  th_free(json);
}

static void th__audit_get(th__ctx *x) {
  th__auth a = {0};
  if (!th__staff(x, x->site, 1u << TH_ROLE_ADMIN, &a))
    return;
  uint64_t before = 0;
  int before_ok = th__qs_whole(x, "before", INT64_MAX, &before);
  int limit = th__limit(x, 100, 1000);
  if (limit < 0 || before_ok < 0) {
    th__respond_problem(x->req, 422, "inval", "Invalid query",
                        "limit 1 to 1000; before an entry's id.", NULL);
    return;
  }
  th_audit_list *l = NULL;
  int rc = th_audit_list_get(th__reader(x), x->site,
                             (int64_t)before, limit, &l);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < l->count; i++) {
    const th_audit_entry *e = &l->items[i];
    json_array_append_new(
        items, json_pack("{s:I,s:o,s:s,s:s,s:o,s:s}", "id", (json_int_t)e->id,
                         "at", th__iso(e->at), "actor", e->actor, "action",
                         e->action, "idea",
                         e->idea_id ? json_integer(e->idea_id) : json_null(),
                         "detail", e->detail));
  }
  th_audit_list_free(l);
  th__respond_json(x->req, 200, json_pack("{s:o}", "items", items), NULL);
}

/* A list stored one item per line (th_site's wards, categories) as a JSON
 * array; [] for none. */
static json_t *th__lines_json(const char *lines) {
  json_t *a = json_array();
  for (const char *p = lines; a && p && *p;) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    json_array_append_new(a, json_stringn(p, n));
    p += n + (e != NULL);
  }
  return a;
}

static void th__site_get(th__ctx *x) {
  th_site *s = NULL;
  int rc = th_site_get(th__reader(x), x->site, &s);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  json_t *doc = json_pack("{s:s,s:s,s:b,s:b,s:o,s:o}", "slug", s->slug,
                          "name", s->name, "moderate_ideas", s->moderate_ideas,
                          "allow_anonymous", s->allow_anonymous, "wards",
                          th__lines_json(s->wards), "categories",
                          th__lines_json(s->categories));
  th_site_free(s);
  th__respond_json(x->req, 200, doc, "Cache-Control: public, max-age=60\r\n");
}

static void th__form_token(th__ctx *x) {
  char ts[96];
  th__form_ts_make(th__srv(x), x->site, th_now(th__reader(x)), ts, sizeof ts);
  th__respond_json(x->req, 200, json_pack("{s:s}", "ts", ts), NULL);
}

/* ---- liveness and readiness ------------------------------------------------------ */

/* How long a write probe's result stands: at most one probe per loop in
 * this time, however often /readyz is asked. */
#define TH__PROBE_NS (5ull * 1000000000ull)

/* The readiness answer (docs/operations.md, "Probes"), from what is known
 * now: the database open at the schema this townhall needs, a writer, the
 * last write probe through it, and the server not stopping. Every check
 * is named in "checks"; "failing" names those that failed. 200 when all
 * pass, else 503 with Retry-After. */
static void th__ready_answer(th__req *req) {
  th__loop *lp = req->lp;
  th_server *srv = lp->srv;
  int v = th_schema_version(lp->reader);
  th__writer *wr = srv->writer;
  int sync = wr ? th__writer_synchronous(wr) : -1;
  static const char *const sync_names[] = {"off", "normal", "full", "extra"};
  json_t *checks = json_object(), *failing = json_array();
  char detail[300];
  if (v == th_schema_latest())
    snprintf(detail, sizeof detail, "schema %d", v);
  else if (v < 0)
    snprintf(detail, sizeof detail, "the database cannot be read");
  else
    snprintf(detail, sizeof detail,
             "the database has schema %d; this townhall needs %d", v,
             th_schema_latest());
  struct {
    const char *name;
    bool ok;
    const char *detail;
  } c[4] = {
      {"database", v == th_schema_latest(), detail},
      {"writer", wr != NULL, wr ? "running" : "no writer thread"},
      {"write", lp->probe_at != 0 && lp->probe_rc >= 0,
       lp->probe_at == 0 ? "no write has been tried yet"
       : lp->probe_rc >= 0 ? "a write committed"
                           : lp->probe_msg},
      {"serving", !srv->closing && !lp->stopping,
       srv->closing || lp->stopping ? "the server is stopping" : "yes"},
  };
  bool ok = true;
  for (size_t i = 0; i < TH__ARRAY_SIZE(c); i++) {
    json_object_set_new(checks, c[i].name,
                        json_pack("{s:b,s:s}", "ok", c[i].ok, "detail",
                                  c[i].detail));
    if (!c[i].ok) {
      ok = false;
      json_array_append_new(failing, json_string(c[i].name));
    }
  }
  json_t *doc = json_pack(
      "{s:s,s:i,s:s,s:s,s:o,s:o}", "status", ok ? "ok" : "unavailable",
      "schema", v, "version", th_version_string(), "synchronous",
      sync >= 0 && sync <= 3 ? sync_names[sync] : "unknown", "checks", checks,
      "failing", failing);
  th__respond_json(req, ok ? 200 : 503, doc,
                   ok ? NULL : "Retry-After: 5\r\n");
}

static void th__probe_run(th__cmd *cmd, th_db *w) {
  cmd->rc = th__write_probe(w);
}

static void th__probe_done(th__cmd *cmd) {
  th__loop *lp = cmd->lp;
  if (cmd->rc < 0 && (lp->probe_at == 0 || lp->probe_rc >= 0))
    th__log(lp->srv, 1,
            "\"msg\":\"not ready: a write probe failed\",\"error\":\"%s\"",
            th_err_name(cmd->rc));
  lp->probe_running = false;
  lp->probe_at = uv_hrtime();
  lp->probe_rc = cmd->rc;
  snprintf(lp->probe_msg, sizeof lp->probe_msg, "%s: %.150s",
           th_strerror(cmd->rc), cmd->msg);
  free(cmd);
  th__req *r = lp->probe_waiters;
  lp->probe_waiters = NULL;
  while (r) {
    th__req *next = r->probe_next;
    r->probe_next = NULL;
    if (r->conn == NULL)
      th__req_free(r); /* the client left */
    else
      th__ready_answer(r);
    r = next;
  }
}

/* GET /readyz (and /healthz): answers at once from a probe younger than
 * TH__PROBE_NS; otherwise sends one write through the writer (or joins
 * the one under way) and answers when it is back. */
static void th__ready(th__ctx *x) {
  th__req *req = x->req;
  th__loop *lp = req->lp;
  th_server *srv = lp->srv;
  bool fresh = lp->probe_at != 0 && uv_hrtime() - lp->probe_at < TH__PROBE_NS;
  if (fresh || srv->writer == NULL || srv->closing || lp->stopping) {
    th__ready_answer(req);
    return;
  }
  if (!lp->probe_running) {
    th__cmd *cmd = calloc(1, sizeof *cmd);
    if (cmd == NULL) {
      th__respond_error(req, TH_ENOMEM, NULL);
      return;
    }
    cmd->lp = lp;
    cmd->run = th__probe_run;
    cmd->done = th__probe_done;
    lp->pending_cmds++;
    if (th__loop_submit(lp, cmd) != 0) {
      lp->pending_cmds--;
      free(cmd);
      th__ready_answer(req);
      return;
    }
    lp->probe_running = true;
  }
  req->async = true;
  req->probe_next = lp->probe_waiters;
  lp->probe_waiters = req;
}

/* ---- the table --------------------------------------------------------------------- */

static void th__preflight(th__ctx *x, const char *methods) {
  th__req *req = x->req;
  if (strstr(req->cors, "Access-Control-Allow-Origin") == NULL) {
    th__respond_problem(req, 403, "cross-site", "Origin not allowed",
                        "This site does not accept requests from that origin.",
                        NULL);
    return;
  }
  char extra[256];
  snprintf(extra, sizeof extra,
           "Access-Control-Allow-Methods: %s\r\n"
           "Access-Control-Allow-Headers: Content-Type, Authorization, "
           "Idempotency-Key\r\n"
           "Access-Control-Max-Age: 600\r\n",
           methods);
  th__respond(req, 204, NULL, extra, NULL, 0);
}

/* The operations on a site's resources: one line each, the route (its
 * path, http.h), the method (GET answers HEAD too) and the handler, which
 * finds the site in x->row. Matching, 405 with its Allow header and CORS
 * preflight all come from this table; a route's methods are listed in
 * Allow in the table's order. Handlers run on the loop thread. */
typedef struct th__op {
  th__route route;
  int method; /* llhttp_method_t */
  void (*run)(th__ctx *x);
} th__op;

static const th__op th__site_ops[] = {
    {TH__R_SITE, HTTP_GET, th__site_get},
    {TH__R_FEEDBACK, HTTP_POST, th__feedback_post},
    {TH__R_FEEDBACK_SUMMARY, HTTP_GET, th__feedback_summary},
    {TH__R_FEEDBACK_PAGES, HTTP_GET, th__feedback_pages},
    {TH__R_FEEDBACK_COMMENTS, HTTP_GET, th__feedback_comments},
    {TH__R_FORM_TOKEN, HTTP_GET, th__form_token},
    {TH__R_CONSULTATIONS, HTTP_GET, th__consultations_get},
    {TH__R_CONSULTATIONS, HTTP_POST, th__consultations_post},
    {TH__R_IDEAS, HTTP_GET, th__ideas_get},
    {TH__R_IDEAS, HTTP_POST, th__ideas_post},
    {TH__R_IDEA, HTTP_GET, th__idea_get},
    {TH__R_IDEA_HISTORY, HTTP_GET, th__idea_history},
    {TH__R_IDEA_VOTE, HTTP_PUT, th__vote_put},
    {TH__R_IDEA_STATUS, HTTP_POST, th__idea_staff_post},
    {TH__R_IDEA_MODERATION, HTTP_POST, th__idea_staff_post},
    {TH__R_IDEA_WITHDRAW, HTTP_POST, th__idea_withdraw},
    {TH__R_RESIDENT, HTTP_GET, th__resident},
    {TH__R_RESIDENT, HTTP_DELETE, th__resident},
    {TH__R_AUDIT, HTTP_GET, th__audit_get},
    {TH__R_OPEN_DATA, HTTP_GET, th__export_open_data},
};

static void th__site_route(th__ctx *x) {
  th__req *req = x->req;
  th__site_row site;
  int rc = th__site_cached(x, x->site, &site);
  if (rc < 0) {
    th__respond_error(req, rc, th_errmsg(th__reader(x)));
    return;
  }
  x->row = &site;
  th__cors(req, site.origins);
  int m = req->method == HTTP_HEAD ? HTTP_GET : req->method;
  char allow[64] = "";
  size_t used = 0;
  for (size_t i = 0; i < TH__ARRAY_SIZE(th__site_ops); i++) {
    const th__op *op = &th__site_ops[i];
    if (op->route != req->route)
      continue;
    if (op->method == m) {
      op->run(x);
      x->row = NULL; /* `site` ends here; an answer still to come copied it */
      return;
    }
    used += (size_t)snprintf(allow + used, sizeof allow - used, "%s%s",
                             used ? ", " : "",
                             llhttp_method_name((llhttp_method_t)op->method));
  }
  x->row = NULL;
  if (used == 0) {
    th__respond_error(req, TH_ENOTFOUND, "No such resource.");
    return;
  }
  if (m == HTTP_OPTIONS) {
    th__preflight(x, allow);
    return;
  }
  th__method_not_allowed(x, allow);
}

void th__handle(th__ctx *x) {
  th__req *req = x->req;
  bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
  switch (req->route) {
  case TH__R_LIVEZ:
    /* Liveness: this loop answers. Nothing else: a full disk is a reason
     * to stop sending traffic here (readiness), not to restart. */
    if (!get)
      return th__method_not_allowed(x, "GET");
    th__respond_json(req, 200, json_pack("{s:s}", "status", "ok"), NULL);
    return;
  case TH__R_HEALTHZ: /* readiness, under its old name */
  case TH__R_READYZ:
    if (!get)
      return th__method_not_allowed(x, "GET");
    th__ready(x);
    return;
  case TH__R_METRICS: {
    if (!get)
      return th__method_not_allowed(x, "GET");
    char ip[64];
    th__client_addr(req, ip, sizeof ip);
    th__auth a = {0};
    if (!th__is_loopback(ip) && !th__staff(x, NULL, 1u << TH_ROLE_ADMIN, &a))
      return;
    th__sbuf b = {0};
    th__metrics_render(&b, th__srv(x));
    th__respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", NULL,
                b.p ? b.p : "", b.len);
    th__sbuf_free(&b);
    return;
  }
  case TH__R_STATIC:
    th__static(x);
    return;
  case TH__R_UNKNOWN:
    th__respond_error(req, TH_ENOTFOUND, "No such resource.");
    return;
  default:
    th__site_route(x);
    return;
  }
}
