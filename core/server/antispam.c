/*
 * antispam.c: what stands between an anonymous write and the database
 * (docs/SECURITY.md): the signed timestamp of a form (it must have been on
 * screen min_form_seconds), the honeypot and the shapes bots type, rate
 * limits per address prefix and per page, the discard a bot gets (the
 * shape of a duplicate), and a no-script form post's way back to its page.
 * Loop thread.
 */
#include "router.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A form timestamp: "<ms>.<base64url(HMAC-SHA-256(form key, site:ms))>".
 * Made here for the JSON API and for the no-script form (handlers/form.c), and
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
const char *th__spam_reason(th__ctx *x, json_t *body,
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

/* ---- a form post's way back ------------------------------------------------ */

/* A form post's way back (f->form must be set): the page when it is on one
 * of the site's origins (never an open redirect), and the language. */
void th__formret_init(th__formret *f, const th__site_row *site,
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

void th__formret_free(th__formret *f) {
  free(f->back);
  f->back = NULL;
}

/* Where a successful form post returns when it goes back to the page it
 * came from (not asked for the thank-you page with next=thanks, and from a
 * page on the site's origins): the page itself. NULL otherwise: then the
 * post is answered with the thank-you page (th__thanks_answer). */
char *th__form_location(const th__formret *f, const char *next) {
  if (f->back == NULL || (next && strcmp(next, "thanks") == 0))
    return NULL;
  return th__strdup(f->back);
}

/* An error for a JSON client (problem+json), or for a person who posted a
 * form without JavaScript (a page in their language: th__form_failed). */
void th__fail(th__req *req, const th__formret *f, int status,
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

/* ---- rate limits -------------------------------------------------------------- */

/* Answers 429 for the limit `metric` with its Retry-After; false. */
static bool th__limited(th__ctx *x, const th__formret *f, const char *metric,
                        int retry, const char *title, const char *detail) {
  th__metrics_limited(metric);
  char extra[48];
  snprintf(extra, sizeof extra, "Retry-After: %d\r\n", retry);
  th__fail(x->req, f, 429, title, detail, extra);
  return false;
}

bool th__rate_ok(th__ctx *x, const th__auth *a, const th__formret *f) {
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
bool th__page_rate_ok(th__ctx *x, const th__auth *a, const char *page,
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

/* The 200 a bot gets: the shape of a duplicate, never "recorded". */
void th__discard(th__ctx *x, const char *reason, const th__formret *fr,
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
