/*
 * request.c: decoding what a request says, for every handler: the query
 * string's parameters (decoded once by the router, th__form_decode), JSON
 * and form bodies, percent-encoding (application/x-www-form-urlencoded, as
 * the WHATWG URL standard defines it: values must decode to valid UTF-8),
 * times, the Idempotency-Key header, and CSV downloads. Loop thread
 * (th__pct_decode and th__form_decode: any thread).
 */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- query strings ---------------------------------------------------------- */

const char *th__qs(th__ctx *x, const char *name) {
  return json_string_value(json_object_get(x->query, name));
}

/* A query parameter that must be a whole number from 0 to max, in decimal
 * digits and nothing else: 1 when it is (*out set), 0 when it is absent,
 * -1 when it is given and is not (docs/openapi.yaml says "integer": "abc",
 * "-1", "1e3" and "" are refused, never read as 0). */
int th__qs_whole(th__ctx *x, const char *name, uint64_t max,
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
int th__qs_csv(th__ctx *x) {
  const char *format = th__qs(x, "format");
  return format == NULL ? 0 : strcmp(format, "csv") == 0 ? 1 : -1;
}

int th__limit(th__ctx *x, int dflt, int max) {
  const char *l = th__qs(x, "limit");
  if (l == NULL)
    return dflt;
  char *end = NULL;
  long v = strtol(l, &end, 10);
  if (*end || v < 1 || v > max)
    return -1;
  return (int)v;
}

/* ---- times -------------------------------------------------------------------- */

json_t *th__iso(th_time ms) {
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

json_t *th__iso_day(th_time ms) {
  char buf[16];
  if (!th__day_text(th__day(ms), buf, sizeof buf))
    return json_null();
  return json_string(buf);
}

/* "2026-03-02", "2026-03-02T10:00:00Z" or milliseconds; -1 if none of them. */
th_time th__parse_time(const char *s) {
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

/* ---- bodies ------------------------------------------------------------------- */

static bool th__ctype_is(const th__req *req, const char *want) {
  size_t len = 0;
  const char *ct = th__req_header(req, "content-type", &len);
  size_t wl = strlen(want);
  if (ct == NULL || len < wl || strncasecmp(ct, want, wl) != 0)
    return false;
  return len == wl || ct[wl] == ';' || ct[wl] == ' ';
}

json_t *th__body(th__ctx *x, bool *is_form) {
  th__req *req = x->req;
  bool form_ok = x->op->body == TH__BODY_JSON_OR_FORM;
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

const char *th__str(json_t *body, const char *name) {
  return json_string_value(json_object_get(body, name));
}

char *th__dup_or_null(const char *s) { return s ? th__strdup(s) : NULL; }

/* The Idempotency-Key request header (draft-ietf-httpapi-idempotency-key-
 * header: a structured-field string, so the quotes are dropped) into out;
 * "" when absent; false when malformed. */
bool th__idempotency_key(const th__req *req, char *out, size_t cap) {
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

/* ---- percent-encoding ----------------------------------------------------------- */

bool th__pct_decode(char *s, size_t *len, bool plus) {
  size_t o = 0, n = *len;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= n)
        return false;
      int h = th__hex_digit(s[i + 1]), l = th__hex_digit(s[i + 2]);
      if (h < 0 || l < 0)
        return false;
      c = (char)(h * 16 + l);
      i += 2;
    } else if (c == '+' && plus) {
      c = ' ';
    }
    s[o++] = c;
  }
  s[o] = '\0';
  *len = o;
  if (memchr(s, '\0', o) != NULL)
    return false; /* an encoded NUL would cut the string short */
  return th_utf8_check(s, o) == TH_OK;
}

json_t *th__form_decode(const char *s, size_t len) {
  json_t *obj = json_object();
  if (obj == NULL)
    return NULL;
  size_t i = 0;
  while (i < len) {
    size_t e = i;
    while (e < len && s[e] != '&')
      e++;
    if (e > i) {
      size_t eq = i;
      while (eq < e && s[eq] != '=')
        eq++;
      char key[128];
      size_t kl = eq - i;
      size_t vl = eq < e ? e - eq - 1 : 0;
      char *val = malloc(vl + 1);
      if (kl >= sizeof key || val == NULL) {
        free(val);
        json_decref(obj);
        return NULL;
      }
      memcpy(key, s + i, kl);
      key[kl] = '\0';
      if (vl)
        memcpy(val, s + eq + 1, vl);
      val[vl] = '\0';
      bool ok = th__pct_decode(key, &kl, true) && th__pct_decode(val, &vl, true);
      if (!ok) {
        free(val);
        json_decref(obj);
        return NULL;
      }
      if (json_object_get(obj, key) == NULL)
        json_object_set_new(obj, key, json_stringn(val, vl));
      free(val);
    }
    i = e + 1;
  }
  return obj;
}

/* ---- CSV downloads ------------------------------------------------------------- */

void th__csv_header(th__sbuf *b, const char *const *names, size_t n) {
  th__csv_begin(b);
  for (size_t i = 0; i < n; i++)
    th__csv_text(b, names[i], i + 1 == n);
}

/* Sends a finished CSV export as a download, or the error that stopped it. */
void th__csv_respond(th__ctx *x, th__sbuf *b, int rc, const char *what) {
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
