/*
 * router.c: from a parsed request to a handler, and the shape of every
 * answer: status line, the headers every response carries, CORS for a
 * site's own origins, and RFC 9457 problem details for every error.
 */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *th__reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 406: return "Not Acceptable";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 413: return "Content Too Large";
  case 415: return "Unsupported Media Type";
  case 422: return "Unprocessable Content";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  default: return "Unknown";
  }
}

static const char *th__date(th__loop *lp) {
  uint64_t sec = (uint64_t)time(NULL);
  if (sec != lp->date_sec) {
    time_t t = (time_t)sec;
    struct tm tm;
    /* The clock's own time always converts; if it did not, the last
     * date stays. */
    if (gmtime_r(&t, &tm) != NULL &&
        strftime(lp->date, sizeof lp->date, "%a, %d %b %Y %H:%M:%S GMT", &tm) != 0)
      lp->date_sec = sec;
  }
  return lp->date;
}

void th__respond(th__req *req, int status, const char *content_type,
                 const char *extra, const char *body, size_t len) {
  th__sbuf *b = &req->resp;
  b->len = 0;
  /* The status line and headers come to a few hundred bytes. */
  th__sbuf_reserve(b, 1024 + len + (extra ? strlen(extra) : 0));
  if (req->lp->srv->closing || req->lp->stopping)
    req->close_after = true;
  req->status = status;
  th__sbuf_printf(b, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status,
                  th__reason(status), th__date(req->lp));
  /* RFC 9110 §8.6: never on a 204; on a 304 it would have to be the
   * length of the 200's body, which is not at hand: leave it out. Neither
   * has a body, so the message still ends at the blank line. */
  if (status != 204 && status != 304)
    th__sbuf_printf(b, "Content-Length: %zu\r\n", len);
  th__sbuf_printf(b, "Connection: %s\r\nX-Content-Type-Options: nosniff\r\n",
                  req->close_after ? "close" : "keep-alive");
  if (content_type)
    th__sbuf_printf(b, "Content-Type: %s\r\n", content_type);
  /* HTML goes out through th__respond_html (static.c) with its page's own
   * policy; should any other path ever send some, it is not left without
   * one. */
  if (content_type && strncmp(content_type, "text/html", 9) == 0 &&
      (extra == NULL || strstr(extra, "Content-Security-Policy:") == NULL))
    th__sbuf_puts(b, "Content-Security-Policy: default-src 'none'; "
                     "base-uri 'none'; form-action 'none'; "
                     "frame-ancestors 'none'\r\n");
  if (extra == NULL || strstr(extra, "Cache-Control:") == NULL)
    th__sbuf_puts(b, "Cache-Control: no-store\r\n");
  if (extra == NULL || strstr(extra, "Referrer-Policy:") == NULL)
    th__sbuf_puts(b, "Referrer-Policy: no-referrer\r\n");
  if (req->cors[0])
    th__sbuf_puts(b, req->cors);
  if (extra)
    th__sbuf_puts(b, extra);
  th__sbuf_puts(b, "\r\n");
  if (req->method != HTTP_HEAD && status != 204 && status != 304 && len)
    th__sbuf_put(b, body, len);
  if (b->oom) {
    /* Out of memory building an answer: close rather than send half. */
    b->len = 0;
    req->close_after = true;
  }
  th__req_done(req);
}

void th__respond_json(th__req *req, int status, json_t *doc,
                      const char *extra) {
  char *s = doc ? json_dumps(doc, TH__JSON_FLAGS) : NULL;
  json_decref(doc);
  if (s == NULL) {
    th__respond(req, 500, "application/problem+json", NULL,
                "{\"title\":\"Out of memory\",\"status\":500}", 38);
    return;
  }
  th__respond(req, status, "application/json", extra, s, strlen(s));
  free(s);
}

void th__respond_problem(th__req *req, int status, const char *type,
                         const char *title, const char *detail,
                         const char *extra) {
  char t[96];
  snprintf(t, sizeof t, "urn:townhall:problem:%s", type);
  json_t *doc = json_pack("{s:s,s:s,s:i}", "type", t, "title", title, "status",
                          status);
  if (doc && detail && detail[0])
    json_object_set_new(doc, "detail", json_string(detail));
  char *s = doc ? json_dumps(doc, TH__JSON_FLAGS) : NULL;
  json_decref(doc);
  const char *body = s ? s : "{\"status\":500}";
  th__respond(req, status, "application/problem+json", extra, body,
              strlen(body));
  free(s);
}

int th__status_for(int code) {
  switch (code) {
  case TH_EINVAL:
  case TH_ETOOLONG:
  case TH_EUTF8:
  case TH_ETOOSHORT:
  case TH_ERANGE:
  case TH_ECONFLICT:
    return 422;
  case TH_ENOTFOUND:
    return 404;
  case TH_EEXIST:
  case TH_ECLOSED:
  case TH_ESTATE:
    return 409;
  case TH_EPERM:
    return 403;
  case TH_EAUTH:
    return 401;
  case TH_EKEY:
    return 410;
  case TH_ELIMIT:
    return 429;
  case TH_EFULL:
  case TH_EBUSY:
  case TH_EIO:
  case TH_ENOMEM:
  case TH_ESHUTDOWN:
    return 503;
  default:
    return 500;
  }
}

void th__respond_error(th__req *req, int code, const char *detail) {
  int status = th__status_for(code);
  /* The type names the C error, so a client can branch on it. */
  char type[48];
  const char *name = th_err_name(code);
  size_t n = 0;
  for (const char *p = name + (strncmp(name, "TH_E", 4) == 0 ? 4 : 0);
       *p && n < sizeof type - 1; p++)
    type[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
  type[n] = '\0';
  const char *extra = NULL;
  if (status == 503)
    extra = "Retry-After: 5\r\n";
  else if (status == 401)
    extra = "WWW-Authenticate: Bearer realm=\"townhall\"\r\n";
  if (status >= 500)
    th__log(req->lp->srv, status == 503 ? 1 : 0,
            "\"msg\":\"request failed\",\"route\":\"%s\",\"error\":\"%s\"",
            th__route_names[req->route], th_err_name(code));
  /* Internal errors keep their detail out of the answer. */
  th__respond_problem(req, status, type, th_strerror(code),
                      status == 500 ? "The server could not complete the "
                                      "request; it has been logged."
                                    : detail,
                      extra);
}

/* ---- CORS and cross-site checks ------------------------------------------------- */

bool th__origin_same(const th__req *req, const char *origin, size_t len) {
  size_t hl = 0;
  const char *host = th__req_header(req, "host", &hl);
  if (host == NULL)
    return false;
  const char *p = memchr(origin, ':', len);
  if (p == NULL || (size_t)(p - origin) + 3 > len || strncmp(p, "://", 3) != 0)
    return false;
  const char *h = p + 3;
  size_t rest = len - (size_t)(h - origin);
  return rest == hl && strncasecmp(h, host, hl) == 0;
}

void th__cors(th__req *req, const char *origins) {
  size_t len = 0;
  const char *origin = th__req_header(req, "origin", &len);
  snprintf(req->cors, sizeof req->cors, "Vary: Origin\r\n");
  if (origin && len < 300 && th__origin_listed(origins, origin, len)) {
    snprintf(req->cors, sizeof req->cors,
             "Vary: Origin\r\nAccess-Control-Allow-Origin: %.*s\r\n", (int)len,
             origin);
  }
}

/* ---- dispatch -------------------------------------------------------------------- */

static bool th__seg(const char *s, size_t n, const char *lit) {
  return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

void th__dispatch(th__req *req) {
  th__ctx x;
  memset(&x, 0, sizeof x);
  x.req = req;
  req->route = TH__R_UNKNOWN;
  if (req->url.p == NULL || req->url.p[0] != '/') {
    th__respond_problem(req, 400, "bad-request", "Malformed request",
                        "The request target must be a path.", NULL);
    return;
  }
  const char *path = req->url.p;
  const char *q = strchr(path, '?');
  size_t plen = q ? (size_t)(q - path) : strlen(path);
  x.query_str = q ? q + 1 : "";
  /* Split into segments. */
  const char *seg[8];
  size_t segn[8];
  int nseg = 0;
  for (size_t i = 1; i <= plen && nseg < 8;) {
    size_t e = i;
    while (e < plen && path[e] != '/')
      e++;
    seg[nseg] = path + i;
    segn[nseg++] = e - i;
    i = e + 1;
    if (e == plen)
      break;
  }
  x.path = path;
  x.path_len = plen;

  th__route r = TH__R_UNKNOWN;
  if (nseg >= 1 && th__seg(seg[0], segn[0], "v1") && nseg >= 3 &&
      th__seg(seg[1], segn[1], "sites")) {
    if (segn[2] == 0 || segn[2] >= sizeof x.site) {
      r = TH__R_UNKNOWN;
    } else {
      memcpy(x.site, seg[2], segn[2]);
      x.site[segn[2]] = '\0';
      if (nseg == 3)
        r = TH__R_SITE;
      else if (nseg == 4 && th__seg(seg[3], segn[3], "feedback"))
        r = TH__R_FEEDBACK;
      else if (nseg == 5 && th__seg(seg[3], segn[3], "feedback"))
        r = th__seg(seg[4], segn[4], "summary")    ? TH__R_FEEDBACK_SUMMARY
            : th__seg(seg[4], segn[4], "pages")    ? TH__R_FEEDBACK_PAGES
            : th__seg(seg[4], segn[4], "comments") ? TH__R_FEEDBACK_COMMENTS
                                                   : TH__R_UNKNOWN;
      else if (nseg == 4 && th__seg(seg[3], segn[3], "form-token"))
        r = TH__R_FORM_TOKEN;
      else if (nseg == 4 && th__seg(seg[3], segn[3], "consultations"))
        r = TH__R_CONSULTATIONS;
      else if (nseg == 4 && th__seg(seg[3], segn[3], "audit"))
        r = TH__R_AUDIT;
      else if (nseg == 5 && th__seg(seg[3], segn[3], "residents") &&
               th__seg(seg[4], segn[4], "me"))
        r = TH__R_RESIDENT;
      else if (nseg == 5 && th__seg(seg[3], segn[3], "open") && segn[4] < 32) {
        memcpy(x.file, seg[4], segn[4]);
        x.file[segn[4]] = '\0';
        r = TH__R_OPEN_DATA;
      } else if (th__seg(seg[3], segn[3], "ideas")) { /* nseg >= 4 here */
        if (nseg == 4) {
          r = TH__R_IDEAS;
        } else {
          int64_t id = 0;
          bool ok = segn[4] > 0 && segn[4] <= 15;
          for (size_t k = 0; ok && k < segn[4]; k++) {
            ok = seg[4][k] >= '0' && seg[4][k] <= '9';
            id = id * 10 + (seg[4][k] - '0');
          }
          if (ok && id > 0) {
            x.id = id;
            if (nseg == 5)
              r = TH__R_IDEA;
            else if (nseg == 6)
              r = th__seg(seg[5], segn[5], "vote")         ? TH__R_IDEA_VOTE
                  : th__seg(seg[5], segn[5], "status")     ? TH__R_IDEA_STATUS
                  : th__seg(seg[5], segn[5], "moderation") ? TH__R_IDEA_MODERATION
                  : th__seg(seg[5], segn[5], "withdraw")   ? TH__R_IDEA_WITHDRAW
                  : th__seg(seg[5], segn[5], "history")    ? TH__R_IDEA_HISTORY
                                                           : TH__R_UNKNOWN;
          }
        }
      }
    }
  } else if (nseg == 1 && th__seg(seg[0], segn[0], "healthz")) {
    r = TH__R_HEALTHZ;
  } else if (nseg == 1 && th__seg(seg[0], segn[0], "livez")) {
    r = TH__R_LIVEZ;
  } else if (nseg == 1 && th__seg(seg[0], segn[0], "readyz")) {
    r = TH__R_READYZ;
  } else if (nseg == 1 && th__seg(seg[0], segn[0], "metrics")) {
    r = TH__R_METRICS;
  } else {
    r = TH__R_STATIC;
  }
  req->route = r;

  /* Query string: decoded once, for every handler. */
  x.query = th__form_decode(x.query_str, strlen(x.query_str));
  if (x.query == NULL) {
    th__respond_problem(req, 400, "bad-request", "Malformed query string",
                        "The query string is not valid percent-encoded UTF-8.",
                        NULL);
    return;
  }
  th__handle(&x);
  json_decref(x.query);
}
