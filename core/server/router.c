/*
 * router.c: from a parsed request to its operation's handler, all of it
 * from the one table of routes.h: matching the path against the
 * templates, 404, 405 with the Allow header, CORS preflight, the site a
 * path names, and the staff gate of operations only staff may use. Loop
 * thread (the compiled templates are made once, by whichever thread comes
 * first).
 */
#include "router.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const th__op th__ops[] = {
#define TH__OP_ROW(name, m, tmpl, creds, roles, body, flags)                 \
  {#name, HTTP_##m, tmpl, creds, roles, body, flags, th__handle_##name},
    TH__OPS(TH__OP_ROW)
#undef TH__OP_ROW
};
const size_t th__nops = TH__ARRAY_SIZE(th__ops);

/* ---- the templates, compiled -------------------------------------------------- */

#define TH__MAX_SEGS 8
enum { TH__SEG_LIT, TH__SEG_SITE, TH__SEG_ID, TH__SEG_REST, TH__SEG_ANY };

typedef struct th__tmpl {
  unsigned nseg;
  bool rest;        /* the last segment takes the rest of the path */
  th__route route;  /* the first operation with this template */
  struct {
    int kind;
    const char *lit;
    size_t len;
  } seg[TH__MAX_SEGS];
} th__tmpl;

static th__tmpl th__tmpls[TH__ROUTE_COUNT];
static unsigned th__ntmpls;
/* Each operation's route: its path's first operation. */
static th__route th__route_of[TH__ROUTE_COUNT];
static pthread_once_t th__tmpl_once = PTHREAD_ONCE_INIT;

static void th__tmpl_compile(void) {
  for (size_t i = 0; i < th__nops; i++) {
    const char *path = th__ops[i].path;
    th__route op = (th__route)(i + 1);
    unsigned k = 0;
    for (; k < th__ntmpls; k++)
      if (strcmp(th__ops[th__tmpls[k].route - 1].path, path) == 0)
        break;
    th__route_of[op] = k < th__ntmpls ? th__tmpls[k].route : op;
    if (k < th__ntmpls) /* a path with another method */
      continue;
    th__tmpl *t = &th__tmpls[th__ntmpls++];
    t->route = op;
    for (const char *p = path + 1; *p && t->nseg < TH__MAX_SEGS;) {
      const char *e = strchr(p, '/');
      size_t n = e ? (size_t)(e - p) : strlen(p);
      int kind = TH__SEG_LIT;
      if (n == 6 && memcmp(p, "{site}", 6) == 0)
        kind = TH__SEG_SITE;
      else if (n == 4 && memcmp(p, "{id}", 4) == 0)
        kind = TH__SEG_ID;
      else if (n == 6 && memcmp(p, "{file}", 6) == 0 && e == NULL)
        kind = TH__SEG_REST;
      else if (p[0] == '{')
        kind = TH__SEG_ANY;
      t->seg[t->nseg].kind = kind;
      t->seg[t->nseg].lit = p;
      t->seg[t->nseg++].len = n;
      t->rest = kind == TH__SEG_REST;
      p += n + (e != NULL);
    }
  }
}

const char *th__route_label(th__route route) {
  if (route == TH__ROUTE_STATIC)
    return "/static";
  if (route == TH__ROUTE_NONE || route > th__nops)
    return "other";
  return th__ops[route - 1].path;
}

/* ---- matching ------------------------------------------------------------------- */

typedef struct th__path {
  const char *seg[TH__MAX_SEGS];
  size_t len[TH__MAX_SEGS];
  unsigned n;
  bool more; /* more segments than TH__MAX_SEGS */
} th__path;

static bool th__match(const th__tmpl *t, const th__path *p, th__ctx *x) {
  if (t->rest ? p->n < t->nseg : p->n != t->nseg || p->more)
    return false;
  for (unsigned i = 0; i < t->nseg; i++) {
    const char *s = p->seg[i];
    size_t n = p->len[i];
    switch (t->seg[i].kind) {
    case TH__SEG_LIT:
      if (n != t->seg[i].len || memcmp(s, t->seg[i].lit, n) != 0)
        return false;
      break;
    case TH__SEG_SITE:
      if (n == 0 || n >= sizeof x->site)
        return false;
      break;
    case TH__SEG_ID: { /* a positive whole number */
      bool nonzero = false;
      if (n == 0 || n > 15)
        return false;
      for (size_t k = 0; k < n; k++) {
        if (s[k] < '0' || s[k] > '9')
          return false;
        nonzero |= s[k] != '0';
      }
      if (!nonzero)
        return false;
      break;
    }
    default: /* {version}, {file}: the handler reads the path */
      if (n == 0)
        return false;
    }
  }
  /* Matched: keep what the parameters say. */
  for (unsigned i = 0; i < t->nseg; i++) {
    if (t->seg[i].kind == TH__SEG_SITE) {
      memcpy(x->site, p->seg[i], p->len[i]);
      x->site[p->len[i]] = '\0';
    } else if (t->seg[i].kind == TH__SEG_ID) {
      int64_t id = 0;
      for (size_t k = 0; k < p->len[i]; k++)
        id = id * 10 + (p->seg[i][k] - '0');
      x->id = id;
    }
  }
  return true;
}

/* The route of `path` (x->site and x->id set from it). */
static th__route th__route_find(th__ctx *x, const char *path, size_t plen) {
  th__path p = {0};
  for (size_t i = 1; i <= plen;) {
    if (p.n == TH__MAX_SEGS) {
      p.more = true;
      break;
    }
    size_t e = i;
    while (e < plen && path[e] != '/')
      e++;
    p.seg[p.n] = path + i;
    p.len[p.n++] = e - i;
    i = e + 1;
    if (e == plen)
      break;
  }
  for (unsigned k = 0; k < th__ntmpls; k++)
    if (th__match(&th__tmpls[k], &p, x))
      return th__tmpls[k].route;
  /* A path under a site that no operation has is the API's 404; anything
   * else may be a file of web/. */
  if (plen > 10 && memcmp(path, "/v1/sites/", 10) == 0)
    return TH__ROUTE_NONE;
  return TH__ROUTE_STATIC;
}

/* ---- dispatch ------------------------------------------------------------------- */

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

/* The route's operation for the request's method (GET answers HEAD), or
 * the answer: 405 with Allow (the route's methods in the table's order),
 * or a site's CORS preflight. */
static void th__run(th__ctx *x, th__route route) {
  th__req *req = x->req;
  int m = req->method == HTTP_HEAD ? HTTP_GET : req->method;
  bool demo = req->lp->srv->cfg.demo != 0;
  char allow[64] = "";
  size_t used = 0;
  for (size_t i = route - 1; i < th__nops; i++) {
    const th__op *op = &th__ops[i];
    if (th__route_of[i + 1] != route || ((op->flags & TH__DEMO) && !demo))
      continue;
    if (op->method == m) {
      x->op = op;
      /* Operations only staff may use: the gate first, as for every
       * staff token (auth.c). */
      if (op->creds == TH__C_STAFF &&
          th__staff_gate(x, true, &x->staff) != TH__GATE_STAFF)
        return;
      op->handle(x);
      return;
    }
    int n = snprintf(allow + used, sizeof allow - used, "%s%s",
                     used ? ", " : "",
                     llhttp_method_name((llhttp_method_t)op->method));
    if (n > 0 && (size_t)n < sizeof allow - used)
      used += (size_t)n; /* else cut back: never with today's table */
    else
      allow[used] = '\0';
  }
  if (used == 0)
    th__respond_error(req, TH_ENOTFOUND, "No such resource.");
  else if (m == HTTP_OPTIONS && x->row)
    th__preflight(x, allow);
  else
    th__method_not_allowed(req, allow);
}

void th__dispatch(th__req *req) {
  pthread_once(&th__tmpl_once, th__tmpl_compile);
  th__ctx x;
  memset(&x, 0, sizeof x);
  x.req = req;
  req->route = TH__ROUTE_NONE;
  if (req->url.p == NULL || req->url.p[0] != '/') {
    th__respond_problem(req, 400, "bad-request", "Malformed request",
                        "The request target must be a path.", NULL);
    return;
  }
  const char *path = req->url.p;
  const char *q = strchr(path, '?');
  size_t plen = q ? (size_t)(q - path) : strlen(path);
  x.query_str = q ? q + 1 : "";
  x.path = path;
  x.path_len = plen;
  th__route r = th__route_find(&x, path, plen);
  req->route = r;

  /* Query string: decoded once, for every handler. */
  x.query = th__form_decode(x.query_str, strlen(x.query_str));
  if (x.query == NULL) {
    th__respond_problem(req, 400, "bad-request", "Malformed query string",
                        "The query string is not valid percent-encoded UTF-8.",
                        NULL);
    return;
  }
  if (r == TH__ROUTE_STATIC) {
    th__handle_static(&x);
  } else if (r == TH__ROUTE_NONE) {
    th__respond_error(req, TH_ENOTFOUND, "No such resource.");
  } else if (x.site[0]) {
    /* Under /v1/sites/{site}: the site first (404 when unknown), then its
     * CORS headers for every answer. */
    th__site_row site;
    int rc = th__site_cached(&x, x.site, &site);
    if (rc < 0) {
      th__respond_error(req, rc, th_errmsg(th__reader(&x)));
    } else {
      x.row = &site;
      th__cors(req, site.origins);
      th__run(&x, r);
    }
    x.row = NULL; /* `site` ends here; an answer still to come copied it */
  } else {
    th__run(&x, r);
  }
  sodium_memzero(&x.staff, sizeof x.staff);
  json_decref(x.query);
}
