/*
 * auth.c: who is asking. Staff tokens (one gate for every route that reads
 * one), residents' tokens (HS256 JWTs signed with the site's secret,
 * jwt.c), devices where a site takes anonymous writes, and the origin a
 * cross-site form post comes from. What a caller is then allowed to do is
 * the domain's to decide. Loop thread.
 */
#include "router.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *th__bearer(const th__req *req, size_t *len) {
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

void th__device(th__ctx *x, th__auth *a) {
  th__client_addr(x->req, a->ip, sizeof a->ip);
  size_t n = 0;
  const char *ua = th__req_header(x->req, "user-agent", &n);
  if (n >= sizeof a->ua)
    n = sizeof a->ua - 1;
  if (ua)
    memcpy(a->ua, ua, n);
  a->ua[n] = '\0';
}

bool th__is_loopback(const char *ip) {
  return strcmp(ip, "127.0.0.1") == 0 || strncmp(ip, "127.", 4) == 0 ||
         strcmp(ip, "::1") == 0 || strncmp(ip, "::ffff:127.", 11) == 0;
}

static bool th__staff_token_sent(const th__req *req) {
  size_t len = 0;
  const char *tok = th__bearer(req, &len);
  return tok && len > 3 && strncmp(tok, "th_", 3) == 0;
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
 * slow through every route. A good token of a role the operation does not
 * take (routes.h) is 403. */
int th__staff_gate(th__ctx *x, bool required, th__auth *a) {
  const char *site = x->site[0] ? x->site : NULL;
  unsigned roles = x->op->roles;
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
  int rc = TH_EAUTH;
  if (tok && len < sizeof buf && strncmp(tok, "th_", 3) == 0) {
    memcpy(buf, tok, len);
    buf[len] = '\0';
    rc = th__staff_check(th__reader(x), buf, site, &a->staff);
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
  /* The role the route table gives the operation (routes.h), which is
   * the domain's (internal.h, TH__MAY_*): refused here first, with the
   * HTTP API's own answer. */
  if (!(roles & TH__ROLE_BIT(a->staff.role))) {
    th__respond_problem(x->req, 403, "perm", "Not permitted",
                        "This token's role may not do that.", NULL);
    return TH__GATE_ANSWERED;
  }
  return TH__GATE_STAFF;
}


/* A resident (Bearer JWT signed with the site's secret) or, where the site
 * allows it and no token is given, a device. Returns false after
 * answering. */
bool th__who(th__ctx *x, bool allow_device, th__auth *a) {
  const th__site_row *site = x->row;
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
            th__route_label(x->req->route));
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

/* Accepts cross-site form posts only from the site's own origins (or a
 * browser that hides its origin: "null" or none); JSON writes are guarded
 * by CORS preflight and the content type. */
bool th__origin_ok(th__ctx *x) {
  const th__site_row *site = x->row;
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
