/*
 * text.c: validation of text fields and normalisation of page URLs.
 *
 * Page URLs are stored without their query string and fragment (a query may
 * carry an e-mail address or a case number), without user info, with the
 * scheme and host lower-cased, the default port dropped, percent-encoding
 * normalised (RFC 3986 section 6.2.2) and dot segments removed, so that one
 * page has one row however it was linked.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <utf8proc.h>

#define TH__URL_MAX 2048

int th_utf8_check(const char *text, size_t len) {
  const unsigned char *s = (const unsigned char *)text;
  if (s == NULL)
    return TH_EUTF8;
  size_t i = 0;
  while (i < len) {
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    unsigned cp, min;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
      min = 0x10000;
    } else {
      return TH_EUTF8; /* continuation byte, C0/C1 overlong lead, or > F4 */
    }
    if (len - i <= n)
      return TH_EUTF8;
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return TH_EUTF8;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return TH_EUTF8;
    i += n + 1;
  }
  return TH_OK;
}

size_t th__utf8_count(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (((unsigned char)s[i] & 0xc0) != 0x80)
      n++;
  return n;
}

size_t th__visible_count(const char *s, size_t len) {
  size_t visible = 0;
  for (size_t i = 0; i < len;) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80) {
      visible += c > 0x20 && c != 0x7f;
      i++;
      continue;
    }
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                          (utf8proc_ssize_t)(len - i), &cp);
    if (n <= 0) { /* not UTF-8: not for this function to judge */
      visible++;
      i++;
      continue;
    }
    /* Separators (the no-break, thin and ideographic spaces, line and
     * paragraph separators), controls, format characters (zero-width
     * space and joiners, soft hyphen, direction marks and controls) and
     * what Unicode says to ignore when it cannot be shown (variation
     * selectors, the Hangul fillers) are not seen. */
    const utf8proc_property_t *p = utf8proc_get_property(cp);
    switch (p->category) {
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
      break;
    default:
      visible += !p->ignorable;
    }
    i += (size_t)n;
  }
  return visible;
}

int th__text_check(th_db *db, const char *field, const char *s, int min,
                   int max, int flags) {
  if (s == NULL) {
    if ((flags & TH__TEXT_OPTIONAL) && min == 0)
      return TH_OK;
    return th__err(db, TH_EINVAL, "%s is required", field);
  }
  size_t len = strlen(s);
  /* A cheap bound first, so a huge string is refused without a full scan. */
  if (len > (size_t)max * 4)
    return th__err(db, TH_ETOOLONG, "%s is too long: at most %d characters",
                   field, max);
  if (th_utf8_check(s, len) != TH_OK)
    return th__err(db, TH_EUTF8, "%s is not valid UTF-8", field);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    bool ctl = c < 0x20 || c == 0x7f;
    if (ctl && !((flags & TH__TEXT_MULTILINE) &&
                 (c == '\n' || c == '\r' || c == '\t')))
      return th__err(db, TH_EINVAL, "%s contains a control character", field);
  }
  size_t chars = th__utf8_count(s, len);
  if (chars > (size_t)max)
    return th__err(db, TH_ETOOLONG,
                   "%s is too long: %zu characters, at most %d", field, chars,
                   max);
  /* Count what is visible: a title of spaces is no title, nor is one of
   * zero-width spaces, no-break spaces or direction controls, which a list
   * would show as an empty line that links somewhere. */
  size_t visible = th__visible_count(s, len);
  if (visible == 0 && len > 0 && min > 0)
    return th__err(db, TH_EINVAL,
                   "%s has no visible character (only spaces, invisible or "
                   "direction-control characters)",
                   field);
  if (visible < (size_t)min)
    return th__err(db, min > 1 ? TH_ETOOSHORT : TH_EINVAL,
                   min > 1 ? "%s is too short: at least %d characters"
                           : "%s must not be empty",
                   field, min);
  return TH_OK;
}

int th__slug_check(th_db *db, const char *field, const char *s, int max) {
  if (s == NULL || s[0] == '\0')
    return th__err(db, TH_EINVAL, "%s is required", field);
  size_t len = strlen(s);
  if (len > (size_t)max)
    return th__err(db, TH_ETOOLONG, "%s is too long: at most %d characters",
                   field, max);
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return th__err(db, TH_EINVAL,
                     "%s may hold only a-z, 0-9 and '-' (got \"%.40s\")", field,
                     s);
  }
  if (s[0] == '-' || s[len - 1] == '-')
    return th__err(db, TH_EINVAL, "%s must not start or end with '-'", field);
  return TH_OK;
}

/* ---- URLs ---------------------------------------------------------------- */

int th__hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static bool th__unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Characters that may stand literally in a path or query (RFC 3986 pchar
 * plus '/' and '?'); anything else is percent-encoded. */
static bool th__pchar(unsigned char c) {
  return th__unreserved(c) || strchr("!$&'()*+,;=:@/?", c) != NULL;
}

/* Appends s[0..n) to b with percent-encoding normalised: escapes of
 * unreserved characters decoded, other escapes upper-cased, bytes that may
 * not appear literally encoded. A '%' not followed by two hex digits is
 * encoded as %25. */
static void th__put_encoded(th__sbuf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '%' && i + 2 < n && th__hex_digit(s[i + 1]) >= 0 &&
        th__hex_digit(s[i + 2]) >= 0) {
      unsigned char d =
          (unsigned char)(th__hex_digit(s[i + 1]) * 16 + th__hex_digit(s[i + 2]));
      if (th__unreserved(d)) {
        th__sbuf_putc(b, (char)d);
      } else {
        char e[3] = {'%', hex[d >> 4], hex[d & 15]};
        th__sbuf_put(b, e, 3);
      }
      i += 2;
    } else if (c != '%' && th__pchar(c)) {
      th__sbuf_putc(b, (char)c);
    } else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      th__sbuf_put(b, e, 3);
    }
  }
}

/* RFC 3986 section 5.2.4, on an already-normalised path starting with '/'. */
static void th__remove_dot_segments(char *path) {
  char *out = path;
  const char *in = path;
  while (*in) {
    if (in[0] == '/' && in[1] == '.' && (in[2] == '/' || in[2] == '\0')) {
      in += 2;
      if (*in == '\0') {
        *out++ = '/';
        break;
      }
    } else if (in[0] == '/' && in[1] == '.' && in[2] == '.' &&
               (in[3] == '/' || in[3] == '\0')) {
      in += 3;
      while (out > path && *--out != '/')
        ;
      if (*in == '\0') {
        *out++ = '/';
        break;
      }
    } else {
      do
        *out++ = *in++;
      while (*in && *in != '/');
    }
  }
  if (out == path)
    *out++ = '/';
  *out = '\0';
}

static bool th__param_kept(const char *keep, const char *name, size_t n) {
  if (keep == NULL)
    return false;
  const char *p = keep;
  while (*p) {
    while (*p == ' ' || *p == ',')
      p++;
    const char *e = p;
    while (*e && *e != ' ' && *e != ',')
      e++;
    if ((size_t)(e - p) == n && n > 0 && memcmp(p, name, n) == 0)
      return true;
    p = e;
  }
  return false;
}

typedef struct th__param {
  const char *s;
  size_t n, name_len;
} th__param;

static int th__param_cmp(const void *a, const void *b) {
  const th__param *x = a, *y = b;
  size_t n = x->n < y->n ? x->n : y->n;
  int c = memcmp(x->s, y->s, n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

int th_url_normalize(const char *url, const char *keep_params, char **out) {
  if (out == NULL || url == NULL)
    return TH_EINVAL;
  *out = NULL;
  size_t len = strlen(url);
  if (len > TH__URL_MAX)
    return TH_ETOOLONG;
  while (len && (url[0] == ' ' || url[0] == '\t')) {
    url++;
    len--;
  }
  while (len && (url[len - 1] == ' ' || url[len - 1] == '\t'))
    len--;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)url[i];
    if (c <= 0x20 || c == 0x7f)
      return TH_EINVAL;
  }
  if (th_utf8_check(url, len) != TH_OK)
    return TH_EINVAL;

  int port_default;
  size_t i;
  if (len > 7 && strncasecmp(url, "http://", 7) == 0) {
    i = 7;
    port_default = 80;
  } else if (len > 8 && strncasecmp(url, "https://", 8) == 0) {
    i = 8;
    port_default = 443;
  } else {
    return TH_EINVAL;
  }
  size_t auth_start = i;
  while (i < len && url[i] != '/' && url[i] != '?' && url[i] != '#')
    i++;
  size_t auth_end = i;
  /* Browsers read a backslash in an http(s) authority as '/', so in
   * "https://evil.com\@good.org/" they see evil.com where we would see
   * good.org. Refuse rather than pick one reading. */
  if (memchr(url + auth_start, '\\', auth_end - auth_start) != NULL)
    return TH_EINVAL;
  /* Drop user info: everything up to the last '@' of the authority. */
  for (size_t k = auth_start; k < auth_end; k++)
    if (url[k] == '@')
      auth_start = k + 1;
  if (auth_start == auth_end)
    return TH_EINVAL;

  th__sbuf b = {0};
  th__sbuf_put(&b, port_default == 80 ? "http://" : "https://",
              port_default == 80 ? 7 : 8);

  size_t host_end;
  size_t k = auth_start;
  if (url[k] == '[') {
    /* An IPv6 literal: hex digits, ':' and '.' (an embedded IPv4 address)
     * with at least two colons. Zone ids (RFC 6874) name an interface of the
     * browser's machine and IPvFuture is unused, so neither is a page. */
    size_t colons = 0;
    for (k++; k < auth_end && url[k] != ']'; k++) {
      if (url[k] == ':')
        colons++;
      else if (th__hex_digit(url[k]) < 0 && url[k] != '.')
        goto bad;
    }
    if (k == auth_end || colons < 2)
      goto bad;
    host_end = k + 1;
    for (k = auth_start; k < host_end; k++) {
      unsigned char c = (unsigned char)url[k];
      th__sbuf_putc(&b, (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
    }
  } else {
    while (k < auth_end && url[k] != ':')
      k++;
    host_end = k;
    /* A registered name: labels of unreserved characters (or UTF-8 bytes of
     * an internationalised name) separated by single dots. One trailing dot
     * ("example.org.", the DNS root) names the same host and is dropped; an
     * empty label anywhere else leaves no host ("https://./" must not
     * become "https:///"). */
    size_t name_end = host_end;
    if (name_end > auth_start && url[name_end - 1] == '.')
      name_end--;
    /* "example.org.." has an empty last label: refused, or normalising
     * twice would strip a second dot (tests/fuzz/regressions/url). */
    if (name_end == auth_start || url[name_end - 1] == '.')
      goto bad;
    for (k = auth_start; k < name_end; k++) {
      unsigned char c = (unsigned char)url[k];
      if (c >= 'A' && c <= 'Z')
        c = (unsigned char)(c - 'A' + 'a');
      if (!(th__unreserved(c) || c >= 0x80))
        goto bad;
      if (c == '.' && (k == auth_start || url[k - 1] == '.'))
        goto bad;
      th__sbuf_putc(&b, (char)c);
    }
  }
  if (host_end < auth_end) {
    if (url[host_end] != ':')
      goto bad;
    long port = 0;
    size_t digits = 0;
    for (k = host_end + 1; k < auth_end; k++) {
      if (url[k] < '0' || url[k] > '9' || ++digits > 5)
        goto bad;
      port = port * 10 + (url[k] - '0');
    }
    if (digits && (port < 1 || port > 65535))
      goto bad;
    if (digits && port != port_default) {
      char ps[8];
      snprintf(ps, sizeof ps, ":%ld", port);
      th__sbuf_put(&b, ps, strlen(ps));
    }
  }

  /* Path */
  size_t path_start = i;
  while (i < len && url[i] != '?' && url[i] != '#')
    i++;
  size_t path_off = b.len;
  if (i == path_start)
    th__sbuf_putc(&b, '/');
  else
    th__put_encoded(&b, url + path_start, i - path_start);
  if (b.oom)
    goto oom;
  th__remove_dot_segments(b.p + path_off);
  b.len = strlen(b.p);

  /* Query: keep only the parameters the site names, sorted. */
  if (i < len && url[i] == '?') {
    size_t q = ++i;
    while (i < len && url[i] != '#')
      i++;
    size_t qend = i;
    th__param params[64];
    size_t np = 0;
    for (size_t p = q; p < qend && np < TH__ARRAY_SIZE(params);) {
      size_t e = p;
      while (e < qend && url[e] != '&' && url[e] != ';')
        e++;
      size_t nl = 0;
      while (p + nl < e && url[p + nl] != '=')
        nl++;
      if (e > p && th__param_kept(keep_params, url + p, nl))
        params[np++] = (th__param){url + p, e - p, nl};
      p = e + 1;
    }
    if (np) {
      /* Sorted in their encoded form, which is what a second pass sees:
       * sorting the raw bytes put "a=}" after "a=1" and its "a=%7D"
       * before it (tests/fuzz/regressions/url). */
      th__sbuf enc[TH__ARRAY_SIZE(params)];
      memset(enc, 0, sizeof enc);
      for (size_t p = 0; p < np; p++) {
        th__put_encoded(&enc[p], params[p].s, params[p].n);
        params[p].s = enc[p].p ? enc[p].p : "";
        params[p].n = enc[p].len;
        b.oom |= enc[p].oom;
      }
      qsort(params, np, sizeof params[0], th__param_cmp);
      for (size_t p = 0; p < np; p++) {
        th__sbuf_putc(&b, p ? '&' : '?');
        th__sbuf_put(&b, params[p].s, params[p].n);
      }
      for (size_t p = 0; p < np; p++)
        th__sbuf_free(&enc[p]);
    }
  }
  if (b.oom)
    goto oom;
  if (b.len > TH__URL_MAX) {
    free(b.p);
    return TH_ETOOLONG;
  }
  *out = b.p;
  return TH_OK;
bad:
  free(b.p);
  return TH_EINVAL;
oom:
  free(b.p);
  return TH_ENOMEM;
}

/* ---- personal data in page URLs ------------------------------------------ */

/* Characters a scrubbed part writes as they are: the unreserved ones and
 * the sub-delimiters that mean the same in a path segment and a query
 * value. '&', ';', '=', '+', '/', '?' and '%' of the part's own text are
 * encoded, so the part stays one part. */
static bool th__scrub_literal(unsigned char c) {
  return th__unreserved(c) || (c != '\0' && strchr("!$'()*,:@", c) != NULL);
}

static bool th__digit_or_at(char c) {
  return (c >= '0' && c <= '9') || c == '@' || c == '%';
}

/* Long runs of digits in an address are account, case and reference
 * numbers far more often than they are a page's name (a council tax
 * account is 8 to 10 digits; a date or a planning reference such as
 * 2024-1234 is broken up): a run of TH__URL_DIGITS or more ASCII digits,
 * whatever its layout, becomes "[number]". In place: the placeholder is
 * never longer than the run. True if it masked any. */
#define TH__URL_DIGITS 8
static bool th__mask_digit_runs(char *t) {
  bool masked = false;
  static const char mark[] = "[number]";
  char *w = t;
  for (const char *p = t; *p;) {
    size_t run = 0;
    while (p[run] >= '0' && p[run] <= '9')
      run++;
    if (run >= TH__URL_DIGITS) {
      memcpy(w, mark, sizeof mark - 1);
      w += sizeof mark - 1;
      p += run;
      masked = true;
    } else if (run > 0) {
      memmove(w, p, run);
      w += run;
      p += run;
    } else {
      *w++ = *p++;
    }
  }
  *w = '\0';
  return masked;
}

/* Appends one part of a normalised URL (a path segment, or a kept query
 * value), s[0..n), scrubbed: its text, percent-decoded ('+' read as a space
 * in a query value), goes through th_redact and th__mask_digit_runs; if
 * nothing is found the part
 * is appended as it was, else the redacted text is encoded again, so that
 * "canary%40example.org" becomes "%5Bemail%5D". The escapes %00 and %25
 * are not decoded (a NUL would end the text, a '%' would read as the start
 * of an escape), so they come out as they were. */
static int th__scrub_part(th__sbuf *b, const char *s, size_t n, bool query) {
  static const char hex[] = "0123456789ABCDEF";
  /* Everything the redactor finds holds a digit or an '@' (or, encoded,
   * a '%'; non-ASCII text is encoded too): most parts have none. */
  size_t k = 0;
  while (k < n && !th__digit_or_at(s[k]))
    k++;
  if (k == n) {
    th__sbuf_put(b, s, n);
    return TH_OK;
  }
  th__sbuf d = {0};
  th__sbuf_reserve(&d, n);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n &&
        th__hex_digit(s[i + 1]) >= 0 && th__hex_digit(s[i + 2]) >= 0) {
      int v = th__hex_digit(s[i + 1]) * 16 + th__hex_digit(s[i + 2]);
      if (v == 0 || v == '%')
        th__sbuf_put(&d, s + i, 3);
      else
        th__sbuf_putc(&d, (char)v);
      i += 2;
    } else {
      th__sbuf_putc(&d, (char)(query && s[i] == '+' ? ' ' : s[i]));
    }
  }
  th__sbuf_put(&d, "", 0);
  char *r = NULL;
  int rc = d.oom ? TH_ENOMEM : th_redact(d.p, &r);
  /* A masked run can complete what the redactor let pass ("jo@ex.ab"
   * once "12345678" after it is gone): redact once more, so that the
   * stored address scrubs to itself. The redactor writes no digits, so
   * the runs stay masked. */
  if (rc == TH_OK && th__mask_digit_runs(r)) {
    char *again = NULL;
    rc = th_redact(r, &again);
    free(r);
    r = again;
  }
  if (rc == TH_OK && strcmp(r, d.p) == 0) {
    th__sbuf_put(b, s, n);
  } else if (rc == TH_OK) {
    for (const char *p = r; *p; p++) {
      unsigned char c = (unsigned char)*p;
      if (c == '%' && th__hex_digit(p[1]) >= 0 && th__hex_digit(p[2]) >= 0) {
        th__sbuf_put(b, p, 3); /* a %00 or %25 kept above */
        p += 2;
      } else if (th__scrub_literal(c)) {
        th__sbuf_putc(b, (char)c);
      } else {
        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
        th__sbuf_put(b, e, 3);
      }
    }
  }
  free(r);
  th__sbuf_free(&d);
  return rc;
}

int th__url_scrub(const char *url, char **out) {
  *out = NULL;
  size_t len = strlen(url);
  size_t i = th__url_origin_len(url);
  th__sbuf b = {0};
  th__sbuf_put(&b, url, i);
  int rc = TH_OK;
  /* The path, one segment at a time: a match never spans a '/'. */
  while (rc == TH_OK && i < len && url[i] == '/') {
    th__sbuf_putc(&b, '/');
    size_t e = ++i;
    while (e < len && url[e] != '/' && url[e] != '?')
      e++;
    rc = th__scrub_part(&b, url + i, e - i, false);
    i = e;
  }
  /* Kept query parameters: their values (their names are the site's). */
  while (rc == TH_OK && i < len && (url[i] == '?' || url[i] == '&')) {
    th__sbuf_putc(&b, url[i]);
    size_t e = ++i;
    while (e < len && url[e] != '&')
      e++;
    const char *eq = memchr(url + i, '=', e - i);
    size_t v = eq ? (size_t)(eq - url) + 1 : i;
    th__sbuf_put(&b, url + i, v - i);
    rc = th__scrub_part(&b, url + v, e - v, true);
    i = e;
  }
  if (rc == TH_OK && i < len) /* not what th_url_normalize makes */
    th__sbuf_put(&b, url + i, len - i);
  if (rc == TH_OK && b.oom)
    rc = TH_ENOMEM;
  if (rc != TH_OK) {
    free(b.p);
    return rc;
  }
  *out = b.p;
  return TH_OK;
}

size_t th__url_origin_len(const char *url) {
  const char *p = strstr(url, "://");
  if (p == NULL)
    return 0;
  p += 3;
  while (*p && *p != '/' && *p != '?' && *p != '#')
    p++;
  return (size_t)(p - url);
}

bool th__origin_listed(const char *list, const char *origin, size_t len) {
  if (list == NULL)
    return false;
  const char *p = list;
  while (*p) {
    while (*p == ' ' || *p == ',')
      p++;
    const char *e = p;
    while (*e && *e != ' ' && *e != ',')
      e++;
    if ((size_t)(e - p) == len && len > 0 && strncasecmp(p, origin, len) == 0)
      return true;
    p = e;
  }
  return false;
}

int th__page_normalize(const char *page, const char *keep_params, char **out) {
  *out = NULL;
  char *url = NULL, *scrubbed = NULL;
  int rc = th_url_normalize(page, keep_params, &url);
  if (rc == TH_OK)
    rc = th__url_scrub(url, &scrubbed);
  if (rc == TH_OK && strcmp(scrubbed, url) != 0) {
    free(url);
    url = NULL;
    rc = th_url_normalize(scrubbed, keep_params, &url);
  }
  free(scrubbed);
  if (rc != TH_OK) {
    free(url);
    return rc;
  }
  *out = url;
  return TH_OK;
}
