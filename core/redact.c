/*
 * redact.c: scrubbing personal details out of free text before it is stored.
 *
 * What can be recognised reliably is replaced by a placeholder: e-mail
 * addresses, UK phone numbers (and international numbers written with a
 * '+'), National Insurance numbers, NHS numbers (only when the mod-11 check
 * digit holds, so that other ten-digit numbers survive), payment card
 * numbers (only when the Luhn check holds) and postcodes, which keep their
 * outward code ("NW1 [postcode]") because the area is often the point of a
 * comment. Names and street addresses cannot be found reliably; the privacy
 * notice says so and retention limits how long comments are kept.
 *
 * The scanner works on bytes: every pattern is ASCII, and bytes of
 * multi-byte UTF-8 characters count as letters, so a match never starts or
 * ends inside a word, and a character is never split.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct th__out {
  char *p;
  size_t len, cap;
  bool oom;
} th__out;

static void th__out_put(th__out *o, const char *s, size_t n) {
  if (o->oom)
    return;
  if (o->len + n + 1 > o->cap) {
    size_t cap = o->cap ? o->cap : 64;
    while (cap < o->len + n + 1)
      cap *= 2;
    char *p = realloc(o->p, cap);
    if (p == NULL) {
      o->oom = true;
      return;
    }
    o->p = p;
    o->cap = cap;
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = '\0';
}

static void th__out_str(th__out *o, const char *s) {
  th__out_put(o, s, strlen(s));
}

static bool th__isdigit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool th__isalpha(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool th__isupper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static unsigned char th__upper(unsigned char c) {
  return (c >= 'a' && c <= 'z') ? (unsigned char)(c - 32) : c;
}
/* Part of a word: letters, digits, and any byte of a non-ASCII character. */
static bool th__wordc(unsigned char c) {
  return th__isalpha(c) || th__isdigit(c) || c >= 0x80 || c == '_';
}

/* ---- e-mail addresses ----------------------------------------------------- */

static bool th__local_c(unsigned char c) {
  return th__isalpha(c) || th__isdigit(c) || (c && strchr(".!#$%&'*+/=?^_`{|}~-", c));
}
static bool th__domain_c(unsigned char c) {
  return th__isalpha(c) || th__isdigit(c) || c == '-' || c == '.';
}

/* If an address surrounds the '@' at s[at], its span [*b, *e). */
static bool th__email_at(const char *s, size_t len, size_t at, size_t floor,
                         size_t *b, size_t *e) {
  size_t l = at;
  while (l > floor && th__local_c((unsigned char)s[l - 1]))
    l--;
  while (l < at && s[l] == '.')
    l++;
  if (l == at)
    return false;
  size_t r = at + 1;
  size_t dots = 0, last_dot = 0;
  while (r < len && th__domain_c((unsigned char)s[r])) {
    if (s[r] == '.') {
      if (r + 1 < len && th__domain_c((unsigned char)s[r + 1]) &&
          s[r + 1] != '.') {
        dots++;
        last_dot = r;
      } else {
        break; /* a full stop ends the sentence, not the domain */
      }
    }
    r++;
  }
  if (dots == 0)
    return false;
  /* The top-level label: two or more letters. */
  size_t tld = 0;
  for (size_t k = last_dot + 1; k < r; k++) {
    if (!th__isalpha((unsigned char)s[k]))
      return false;
    tld++;
  }
  if (tld < 2 || s[at + 1] == '.' || s[at + 1] == '-')
    return false;
  *b = l;
  *e = r;
  return true;
}

/* ---- numbers -------------------------------------------------------------- */

static bool th__luhn(const char *d, size_t n) {
  int sum = 0;
  for (size_t i = 0; i < n; i++) {
    int v = d[n - 1 - i] - '0';
    if (i & 1) {
      v *= 2;
      if (v > 9)
        v -= 9;
    }
    sum += v;
  }
  return sum % 10 == 0;
}

static bool th__nhs_valid(const char *d) {
  int sum = 0;
  for (int i = 0; i < 9; i++)
    sum += (d[i] - '0') * (10 - i);
  int check = 11 - sum % 11;
  if (check == 11)
    check = 0;
  return check != 10 && check == d[9] - '0';
}

/* Classifies a run of digits (as written: `plus` if it began with '+').
 * Returns the placeholder or NULL. */
static const char *th__classify_digits(const char *d, size_t n, bool plus) {
  if (n >= 13 && n <= 19 && th__luhn(d, n) && d[0] != '0')
    return "[card number]";
  if (!plus && n == 10 && d[0] != '0' && th__nhs_valid(d))
    return "[nhs number]";
  if (plus) {
    if (n >= 2 && d[0] == '4' && d[1] == '4') {
      size_t rest = n - 2 - (n > 2 && d[2] == '0');
      if (rest >= 9 && rest <= 10)
        return "[phone]";
      return NULL;
    }
    if (n >= 8 && n <= 15)
      return "[phone]";
    return NULL;
  }
  if (n >= 4 && d[0] == '0' && d[1] == '0' && d[2] == '4' && d[3] == '4') {
    size_t rest = n - 4 - (n > 4 && d[4] == '0');
    return rest >= 9 && rest <= 10 ? "[phone]" : NULL;
  }
  if (d[0] == '0' && d[1] != '0' && (n == 10 || n == 11))
    return "[phone]";
  return NULL;
}

static bool th__num_sep(unsigned char c) {
  return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}

/* A number starting at s[i] (a digit, '+' or '('): the longest prefix, ending
 * at a group boundary, that classifies. */
static size_t th__number_at(const char *s, size_t len, size_t i,
                            const char **what) {
  char digits[40];
  size_t ends[40]; /* byte offset just past each digit */
  size_t nd = 0;
  size_t k = i;
  bool plus = false;
  if (s[k] == '+') {
    plus = true;
    k++;
  }
  size_t seps = 0;
  for (; k < len && nd < sizeof digits; k++) {
    unsigned char c = (unsigned char)s[k];
    if (th__isdigit(c)) {
      digits[nd] = (char)c;
      ends[nd++] = k + 1;
      seps = 0;
    } else if (th__num_sep(c) && ++seps <= 2) {
      continue;
    } else {
      break;
    }
  }
  if (nd == 0)
    return 0;
  /* The run must not continue into a word ("ref 12345678901abc"). */
  for (size_t n = nd; n > 0; n--) {
    size_t e = ends[n - 1];
    bool boundary = n == nd ? (e >= len || !th__wordc((unsigned char)s[e]))
                            : !th__isdigit((unsigned char)s[e]);
    if (!boundary)
      continue;
    const char *w = th__classify_digits(digits, n, plus);
    if (w) {
      *what = w;
      return e - i;
    }
  }
  return 0;
}

/* ---- National Insurance numbers ------------------------------------------- */

static size_t th__ni_at(const char *s, size_t len, size_t i) {
  if (i + 8 > len)
    return 0;
  unsigned char a = th__upper((unsigned char)s[i]);
  unsigned char b = th__upper((unsigned char)s[i + 1]);
  if (!th__isupper(a) || !th__isupper(b))
    return 0;
  if (strchr("DFIQUV", a) || strchr("DFIOQUV", b))
    return 0;
  static const char *const unused[] = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"};
  for (size_t u = 0; u < TH__ARRAY_SIZE(unused); u++)
    if (a == (unsigned char)unused[u][0] && b == (unsigned char)unused[u][1])
      return 0;
  size_t k = i + 2;
  int nd = 0;
  while (k < len && nd < 6) {
    if (th__isdigit((unsigned char)s[k])) {
      nd++;
      k++;
    } else if (s[k] == ' ' && (nd % 2 == 0) && k + 1 < len &&
               th__isdigit((unsigned char)s[k + 1])) {
      k++;
    } else {
      break;
    }
  }
  if (nd != 6)
    return 0;
  size_t end = k;
  size_t t = k;
  if (t < len && s[t] == ' ')
    t++;
  if (t < len && strchr("ABCDabcd", s[t]) &&
      (t + 1 >= len || !th__wordc((unsigned char)s[t + 1])))
    end = t + 1;
  else if (k < len && th__wordc((unsigned char)s[k]))
    return 0;
  return end - i;
}

/* ---- postcodes ------------------------------------------------------------ */

/* A UK postcode at s[i]: outward code (A9, A99, AA9, AA99, A9A, AA9A), an
 * optional space, inward code (9AA). *outward gets the outward code's
 * length. */
static size_t th__postcode_at(const char *s, size_t len, size_t i,
                              size_t *outward) {
  size_t k = i;
  size_t letters = 0;
  while (k < len && letters < 2 && th__isalpha((unsigned char)s[k]))
    k++, letters++;
  if (letters == 0 || k >= len || !th__isdigit((unsigned char)s[k]))
    return 0;
  k++;
  /* Optional second character of the district: a digit, or a letter (A9A). */
  size_t after_digit = k;
  size_t cands[2];
  size_t nc = 0;
  cands[nc++] = after_digit;
  if (k < len && (th__isdigit((unsigned char)s[k]) ||
                  th__isalpha((unsigned char)s[k])))
    cands[nc++] = k + 1;
  for (size_t c = nc; c > 0; c--) {
    size_t o = cands[c - 1];
    size_t p = o;
    if (p < len && s[p] == ' ')
      p++;
    if (p + 3 <= len && th__isdigit((unsigned char)s[p]) &&
        th__isalpha((unsigned char)s[p + 1]) &&
        th__isalpha((unsigned char)s[p + 2]) &&
        (p + 3 == len || !th__wordc((unsigned char)s[p + 3]))) {
      /* "AB12CD" without a space is too ambiguous in running text unless
       * it is all capitals. */
      if (p == o) {
        for (size_t q = i; q < p + 3; q++)
          if (th__isalpha((unsigned char)s[q]) &&
              !th__isupper((unsigned char)s[q]))
            return 0;
      }
      *outward = o - i;
      return p + 3 - i;
    }
  }
  return 0;
}

/* ---- the scanner ---------------------------------------------------------- */

int th_redact(const char *text, char **out) {
  if (text == NULL || out == NULL)
    return TH_EINVAL;
  *out = NULL;
  size_t len = strlen(text);
  th__out o = {0};
  th__out_put(&o, "", 0);
  size_t copied = 0; /* text[0..copied) is already in o */
  size_t i = 0;
  while (i < len) {
    unsigned char c = (unsigned char)text[i];
    bool at_word_start = i == 0 || !th__wordc((unsigned char)text[i - 1]);
    size_t n = 0;
    const char *what = NULL;

    if (c == '@') {
      size_t b, e;
      if (th__email_at(text, len, i, copied, &b, &e)) {
        th__out_put(&o, text + copied, b - copied);
        th__out_str(&o, "[email]");
        copied = i = e;
        continue;
      }
    } else if (at_word_start && th__isalpha(c)) {
      size_t outward = 0;
      if ((n = th__ni_at(text, len, i)) != 0) {
        what = "[ni number]";
      } else if ((n = th__postcode_at(text, len, i, &outward)) != 0) {
        th__out_put(&o, text + copied, i - copied);
        for (size_t k = 0; k < outward; k++) {
          char u = (char)th__upper((unsigned char)text[i + k]);
          th__out_put(&o, &u, 1);
        }
        th__out_str(&o, " [postcode]");
        copied = i = i + n;
        continue;
      }
    } else if (at_word_start &&
               (th__isdigit(c) || c == '+' || c == '(')) {
      n = th__number_at(text, len, i, &what);
    }
    if (n && what) {
      th__out_put(&o, text + copied, i - copied);
      th__out_str(&o, what);
      copied = i = i + n;
      continue;
    }
    /* Skip the rest of a word: matches start only at word boundaries. */
    if (th__wordc(c)) {
      while (i < len && th__wordc((unsigned char)text[i]) && text[i] != '@')
        i++;
      if (i < len && text[i] == '@')
        continue;
    } else {
      i++;
    }
  }
  th__out_put(&o, text + copied, len - copied);
  if (o.oom) {
    free(o.p);
    return TH_ENOMEM;
  }
  *out = o.p;
  return TH_OK;
}
