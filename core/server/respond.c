/*
 * respond.c: the shape of every answer: status line, the headers every
 * response carries, CORS for a site's own origins, RFC 9457 problem
 * details for every error, and HTML pages with their
 * Content-Security-Policy. Loop thread.
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
  /* HTML goes out through th__respond_html (below) with its page's own
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
            th__route_label(req->route), th_err_name(code));
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

void th__method_not_allowed(th__req *req, const char *allow) {
  char extra[96];
  snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
  th__respond_problem(req, 405, "method-not-allowed", "Method not allowed",
                      NULL, extra);
}

/* A 303 to `location`, its header built to whatever length it has: a page
 * URL near the 2048-byte limit, percent-encoded into /thanks?return=, is
 * about 6 KiB, and a fixed 2400-byte buffer cut the header off before its
 * CR LF, running the body into the header block (tests/attacks). */
void th__see_other(th__req *req, const char *location) {
  th__sbuf h = {0};
  th__sbuf_printf(&h, "Location: %s\r\n", location);
  if (h.oom)
    th__respond_error(req, TH_ENOMEM, NULL);
  else
    th__respond(req, 303, "text/plain; charset=utf-8", h.p, "See Other\n", 10);
  th__sbuf_free(&h);
}

/* Every HTML answer goes out through here (docs/SECURITY.md, "HTML
 * answers"), with a Content-Security-Policy that ends in frame-ancestors:
 * the origins of the site the page belongs to (`site`, whose pages may
 * frame it, as a council embeds its form), or 'none' for a page of no
 * site's or a site without origins. Origins are validated when a site is
 * saved; anything here that could end the directive or the header makes
 * it 'none' all the same. X-Content-Type-Options: nosniff comes with every
 * answer (th__respond). */
void th__respond_html(th__req *req, int status, const char *csp,
                             const th__site_row *site, const char *extra,
                             const char *body, size_t len) {
  const char *ancestors = "'none'";
  if (site && site->origins[0] &&
      strspn(site->origins, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                            "WXYZ0123456789.-:/[] ") == strlen(site->origins))
    ancestors = site->origins;
  th__sbuf h = {0};
  th__sbuf_printf(&h, "Content-Security-Policy: %s; frame-ancestors %s\r\n",
                  csp, ancestors);
  if (extra)
    th__sbuf_puts(&h, extra);
  if (h.oom)
    th__respond_error(req, TH_ENOMEM, NULL);
  else
    th__respond(req, status, "text/html; charset=utf-8", h.p, body, len);
  th__sbuf_free(&h);
}
