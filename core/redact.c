/*
 * redact.c: scrubbing personal details out of free text before it is stored.
 *
 * What can be recognised reliably is replaced by a placeholder: e-mail
 * addresses, UK phone numbers (and international numbers written with a
 * '+' or "00"), National Insurance numbers, NHS numbers (only when the
 * mod-11 check digit holds, so that other ten-digit numbers survive),
 * payment card numbers (only when the Luhn check holds) and postcodes, which
 * keep their outward code ("NW1 [postcode]") because the area is often the
 * point of a comment. Names and street addresses cannot be found reliably;
 * the privacy notice says so and retention limits how long comments are
 * kept.
 *
 * The rule throughout is the one a data protection officer would set:
 * redact when the match is confident, and never destroy an ordinary number
 * (a year, a price, a date, a house number). So numbers must have the
 * layout people write them in, not merely the right count of digits.
 *
 * The scanner walks UTF-8 characters. Letters and digits of any script are
 * word characters, and matches start and end only at word boundaries; the
 * punctuation, spaces and symbols of other scripts (a Bengali danda, an
 * Arabic comma, curly quotes, a no-break space, an emoji) are boundaries
 * just as ASCII punctuation is. Numbers may be written in the digits of
 * other scripts (Bengali, Arabic, Devanagari, ...). Every match begins and
 * ends on a character boundary, so valid UTF-8 in means valid UTF-8 out.
 *
 * The scanner reads a normalised copy of the text: NFKC (so a full-width
 * "＠" or "０７７００" is an ASCII one, a no-break space a space) with format
 * characters (Unicode category Cf: zero-width space, joiners, soft hyphen,
 * direction marks) removed, so "07700<ZWSP>900123" is one number. The copy
 * keeps, for each of its bytes, the offset of the original character it came
 * from, and the matches are replaced in the original text: everything else
 * comes out byte for byte, because Bengali, Arabic, Persian and Urdu need
 * the zero-width joiner and non-joiner the copy has lost. Text that is
 * ASCII is its own normalised copy.
 *
 * The output never holds a bidirectional embedding, override or isolate
 * control (U+202A-U+202E, U+2066-U+2069): see th__put_original.
 *
 * Every scan is bounded: e-mail addresses are located in one pass over the
 * '@' signs before the main scan, numbers look at most 20 digits ahead, and
 * the main scan skips whole words, so the time is linear in the input.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

/* ---- characters ---------------------------------------------------------- */

static bool th__isdigit(uint32_t c) {
  return c >= '0' && c <= '9';
}
static bool th__isalpha(uint32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool th__isupper(uint32_t c) {
  return c >= 'A' && c <= 'Z';
}
static unsigned char th__upper(unsigned char c) {
  return (c >= 'a' && c <= 'z') ? (unsigned char)(c - 32) : c;
}
/* Whether the ASCII letter c (either case) is in the upper-case `set`. */
static bool th__in(unsigned char c, const char *set) {
  return th__isalpha(c) && strchr(set, th__upper(c)) != NULL;
}

/* Decodes the character at s[i] (i < len): its length in bytes, with *cp
 * its code point, or 0 if the bytes there are not valid UTF-8. */
static size_t th__decode(const char *s, size_t len, size_t i, uint32_t *cp) {
  const unsigned char *u = (const unsigned char *)s;
  uint32_t c = u[i], v, min;
  size_t n;
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, v = c & 0x1f, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, v = c & 0x0f, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, v = c & 0x07, min = 0x10000;
  else
    return 0;
  if (len - i < n)
    return 0;
  for (size_t k = 1; k < n; k++) {
    if ((u[i + k] & 0xc0) != 0x80)
      return 0;
    v = (v << 6) | (u[i + k] & 0x3f);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
    return 0;
  *cp = v;
  return n;
}

/* The character ending just before s[i]: its length, or 0 at the start or
 * after bytes that are not valid UTF-8. */
static size_t th__decode_before(const char *s, size_t i, uint32_t *cp) {
  if (i == 0)
    return 0;
  size_t j = i - 1;
  while (j > 0 && i - j < 4 && ((unsigned char)s[j] & 0xc0) == 0x80)
    j--;
  size_t n = th__decode(s, i, j, cp);
  return n == i - j ? n : 0;
}

/* How far to step from s[i]: one character, or one byte of broken text. */
static size_t th__char_len(const char *s, size_t len, size_t i) {
  uint32_t cp;
  size_t n = th__decode(s, len, i, &cp);
  return n ? n : 1;
}

/* Punctuation, spaces and symbols beyond ASCII: the blocks people put
 * around a number or an address (Latin-1 punctuation and the no-break
 * space, general punctuation and its spaces, dashes and quotes, currency
 * signs, arrows and other symbols, CJK and full-width punctuation,
 * variation selectors, emoji) and the sentence marks of the scripts UK
 * councils most often see (Arabic comma, semicolon, question mark and full
 * stop; the danda of Bengali and Devanagari). */
static bool th__punct_cp(uint32_t cp) {
  static const uint32_t ranges[][2] = {
      {0x0080, 0x00bf}, {0x00d7, 0x00d7},   {0x00f7, 0x00f7}, {0x060c, 0x060c},
      {0x061b, 0x061b}, {0x061e, 0x061f},   {0x066a, 0x066d}, {0x06d4, 0x06d4},
      {0x0964, 0x0965}, {0x2000, 0x206f},   {0x20a0, 0x20cf}, {0x2190, 0x2bff},
      {0x2e00, 0x2e7f}, {0x3000, 0x303f},   {0xfe00, 0xfe1f}, {0xfe30, 0xfe4f},
      {0xfeff, 0xfeff}, {0xff01, 0xff0f},   {0xff1a, 0xff20}, {0xff3b, 0xff40},
      {0xff5b, 0xff65}, {0x1f000, 0x1faff},
  };
  for (size_t r = 0; r < TH__ARRAY_SIZE(ranges); r++)
    if (cp >= ranges[r][0] && cp <= ranges[r][1])
      return true;
  return false;
}

/* The value of a decimal digit in ASCII or in the scripts UK residents
 * write numbers in (Arabic-Indic, Persian and Urdu, Devanagari, Bengali,
 * Gurmukhi, Gujarati, full-width), or -1. */
static int th__digit_cp(uint32_t cp) {
  static const uint32_t zeros[] = {0x30,  0x660, 0x6f0, 0x966,
                                   0x9e6, 0xa66, 0xae6, 0xff10};
  for (size_t z = 0; z < TH__ARRAY_SIZE(zeros); z++)
    if (cp >= zeros[z] && cp <= zeros[z] + 9)
      return (int)(cp - zeros[z]);
  return -1;
}

static bool th__word_cp(uint32_t cp) {
  if (cp < 0x80)
    return th__isalpha(cp) || th__isdigit(cp) || cp == '_';
  return !th__punct_cp(cp);
}

/* Whether the character at s[i] is part of a word. The end of the text is
 * not; bytes that are not UTF-8 are, so no match starts or ends next to
 * them. */
static bool th__word_at(const char *s, size_t len, size_t i) {
  uint32_t cp;
  if (i >= len)
    return false;
  return th__decode(s, len, i, &cp) == 0 || th__word_cp(cp);
}

/* Whether the character ending just before s[i] is part of a word. */
static bool th__word_before(const char *s, size_t i) {
  uint32_t cp;
  if (i == 0)
    return false;
  return th__decode_before(s, i, &cp) == 0 || th__word_cp(cp);
}

/* A digit at s[i]: its length in bytes (0 if none), with *val its value. */
static size_t th__digit_at(const char *s, size_t len, size_t i, int *val) {
  uint32_t cp;
  if (i >= len)
    return 0;
  if ((unsigned char)s[i] < 0x80) { /* the common case, without decoding */
    if (!th__isdigit((unsigned char)s[i]))
      return 0;
    if (val)
      *val = s[i] - '0';
    return 1;
  }
  size_t n = th__decode(s, len, i, &cp);
  int v = n ? th__digit_cp(cp) : -1;
  if (v < 0)
    return 0;
  if (val)
    *val = v;
  return n;
}

/* A separator inside a number at s[i]: its length in bytes, or 0. Spaces,
 * hyphens, dots and brackets, and what word processors put in their place:
 * no-break and thin spaces, the Unicode hyphens and the en dash. */
static size_t th__sep_at(const char *s, size_t len, size_t i) {
  uint32_t cp;
  size_t n = th__decode(s, len, i, &cp);
  if (n == 0)
    return 0;
  if (cp == ' ' || cp == '-' || cp == '.' || cp == '(' || cp == ')' ||
      cp == 0xa0 || cp == 0x2009 || cp == 0x202f ||
      (cp >= 0x2010 && cp <= 0x2013))
    return n;
  return 0;
}

/* Whether a currency sign (and perhaps a space) ends just before s[i]: an
 * amount is never an identifier, whatever check digit it happens to pass. */
static bool th__currency_before(const char *s, size_t i) {
  uint32_t cp;
  if (i > 0 && s[i - 1] == ' ')
    i--;
  if (th__decode_before(s, i, &cp) == 0)
    return false;
  return cp == '$' || cp == 0xa3 /* £ */ || cp == 0xa5 /* ¥ */ ||
         (cp >= 0x20a0 && cp <= 0x20cf) /* €, ₹, ... */;
}

/* ---- e-mail addresses ---------------------------------------------------- */

/* Characters of a local part as addresses are written in practice. RFC 5322
 * allows more ("/", "=", "?", ...), but taking those would swallow the link
 * around "?email=jo@example.com" and the word before "to:jo@...". */
static bool th__local_c(uint32_t c) {
  return th__isalpha(c) || th__isdigit(c) || c == '.' || c == '_' || c == '%' ||
         c == '+' || c == '-' || c == '\'';
}
/* A character of a domain at s[r]: its length, or 0. Letters of other
 * scripts belong to internationalised domain names; their punctuation
 * ("jo@example.com。") ends the domain as ASCII punctuation does. */
static size_t th__domain_at(const char *s, size_t len, size_t r) {
  uint32_t cp;
  size_t n = r < len ? th__decode(s, len, r, &cp) : 0;
  if (n == 0)
    return 0;
  if (cp < 0x80)
    return th__isalpha(cp) || th__isdigit(cp) || cp == '-' || cp == '.';
  return th__word_cp(cp) ? n : 0;
}

/* If an address surrounds the '@' at s[at], its span [*b, *e); the local
 * part does not reach back before `floor`. */
static bool th__email_at(const char *s, size_t len, size_t at, size_t floor,
                         size_t *b, size_t *e) {
  /* Back over the local part, a character at a time: letters of other
   * scripts belong to internationalised addresses (RFC 6531). */
  size_t l = at;
  while (l > floor) {
    uint32_t cp;
    size_t n = th__decode_before(s, l, &cp);
    if (n == 0 || l - n < floor)
      break;
    if (cp < 0x80 ? !th__local_c(cp) : !th__word_cp(cp))
      break;
    l -= n;
  }
  /* An opening quote or a leading dot is punctuation, not address. */
  while (l < at && (s[l] == '.' || s[l] == '\''))
    l++;
  if (l == at)
    return false;
  size_t r = at + 1;
  size_t dots = 0, last_dot = 0, n;
  while ((n = th__domain_at(s, len, r)) != 0) {
    if (s[r] == '.') {
      if (th__domain_at(s, len, r + 1) == 0 || s[r + 1] == '.')
        break; /* a full stop ends the sentence, not the domain */
      dots++;
      last_dot = r;
    }
    r += n;
  }
  if (s[at + 1] == '.' || s[at + 1] == '-')
    return false;
  /* The top-level label: two or more letters (of any script). A last label
   * that is not one ("jo@example.com.07700 900123", a missing space) ends
   * the address at the dot before it. */
  for (;;) {
    if (dots == 0)
      return false;
    size_t tld = 0;
    bool letters = true;
    for (size_t k = last_dot + 1; k < r && letters; k += n) {
      uint32_t cp;
      n = th__decode(s, r, k, &cp);
      if (n == 0 || (cp < 0x80 && !th__isalpha(cp)))
        letters = false;
      tld++;
    }
    if (letters && tld >= 2)
      break;
    r = last_dot;
    dots--;
    while (last_dot > at && s[last_dot - 1] != '.')
      last_dot--;
    last_dot--; /* on the previous dot, or on the '@' when dots is 0 */
  }
  *b = l;
  *e = r;
  return true;
}

/* The first address whose '@' is at or after `from` (its local part not
 * before `floor`), or *b = *e = len. Each '@' is tried once over a whole
 * scan, and each try reads only the characters between its neighbouring
 * '@' signs, so finding every address is linear. */
static void th__next_email(const char *s, size_t len, size_t from, size_t floor,
                           size_t *b, size_t *e) {
  for (size_t at = from; at < len; at++) {
    const char *p = memchr(s + at, '@', len - at);
    if (p == NULL)
      break;
    at = (size_t)(p - s);
    if (th__email_at(s, len, at, floor, b, e))
      return;
  }
  *b = *e = len;
}

/* ---- numbers ------------------------------------------------------------- */

/* A run of digits as written: the digits (ASCII), and where each group
 * (digits not separated by anything) ends, as a count of digits. 20 digits
 * is enough: the longest number anything classifies is a 19-digit card;
 * a run cut at 20 in the middle of a group has no boundary there. */
#define TH__RUN_MAX 20
typedef struct th__digits {
  char d[TH__RUN_MAX];
  size_t n;
  size_t group_end[TH__RUN_MAX];
  size_t groups;
} th__digits;

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

/* The issuer prefixes of the cards in use in the UK: Mastercard's 2221-2720
 * range, and everything starting 3 (Amex, JCB, Diners), 4 (Visa), 5
 * (Mastercard, Maestro) or 6 (Maestro, Discover, UnionPay). Lists of years
 * start with 1 or 20, so they are never taken for a card. */
static bool th__card_prefix(const char *d) {
  if (d[0] >= '3' && d[0] <= '6')
    return true;
  int p = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 +
          (d[3] - '0');
  return p >= 2221 && p <= 2720;
}

/* A number after "+" or "00": a country code (never 0) and the rest. UK
 * numbers are 9 or 10 digits after 44 and an optional (0). */
static bool th__intl_phone(const char *d, size_t n) {
  if (n == 0 || d[0] == '0')
    return false;
  if (n >= 2 && d[0] == '4' && d[1] == '4') {
    size_t rest = n - 2 - (n > 2 && d[2] == '0');
    return rest >= 9 && rest <= 10;
  }
  return n >= 8 && n <= 15;
}

/* Classifies the first `n` digits of a run, which end its group number
 * `g` (`plus` if the run began with '+'). Returns the placeholder or NULL. */
static const char *th__classify_digits(const th__digits *r, size_t n, size_t g,
                                       bool plus) {
  const char *d = r->d;
  const size_t *ge = r->group_end;
  if (plus)
    return th__intl_phone(d, n) ? "[phone]" : NULL;
  if (n >= 2 && d[0] == '0' && d[1] == '0')
    return th__intl_phone(d + 2, n - 2) ? "[phone]" : NULL;
  /* Cards are written unbroken or in groups of four (Amex 4-6-5), never in
   * ones and twos: "4 4 4 4 ..." passes Luhn but is no card. */
  if (n >= 13 && n <= 19 && th__card_prefix(d) && th__luhn(d, n)) {
    bool groups_ok = true;
    for (size_t k = 0; k <= g; k++)
      if (ge[k] - (k ? ge[k - 1] : 0) < 3)
        groups_ok = false;
    if (groups_ok)
      return "[card number]";
  }
  /* NHS numbers are written 3-3-4, 3-4-3 or unbroken; "94 34 76 59 19" is
   * a list of small numbers. */
  if (n == 10 && d[0] != '0' &&
      (g == 0 || (g == 2 && ge[0] == 3 && (ge[1] == 6 || ge[1] == 7))) &&
      th__nhs_valid(d))
    return "[nhs number]";
  /* A UK number with its country code but neither "+" nor "00"
   * ("447700900123", "44 (0)20 7974 4444"): 44, perhaps the trunk 0, and
   * ten digits starting as geographic and mobile numbers do. Without the
   * '+' nine-digit numbers are left alone: too many references look so. */
  if (n >= 12 && d[0] == '4' && d[1] == '4') {
    size_t z = d[2] == '0';
    if (n - 2 - z == 10 && strchr("1237", d[2 + z]))
      return "[phone]";
  }
  /* A mobile number without its trunk 0 ("7700 900123"), as people write
   * after "+44" is dropped: 7 and nine digits, unbroken or 4-6 or 4-3-3.
   * 070 is personal numbering, not mobiles. */
  if (n == 10 && d[0] == '7' && d[1] != '0' &&
      (g == 0 || (g == 1 && ge[0] == 4) ||
       (g == 2 && ge[0] == 4 && ge[1] == 7)))
    return "[phone]";
  /* UK numbers: 0, then 9 or 10 digits. A date and a time such as
   * "01.02.2024 10:30" are ten digits starting with 0 too, but begin with
   * two groups of one or two digits, which no phone layout does ("07 700
   * 900 123" and "(0)20 7974 4444", the trunk 0 counting with the area
   * code, are phone layouts). */
  if ((n == 10 || n == 11) && d[0] == '0') {
    size_t a = ge[0], b = g > 0 ? ge[1] - ge[0] : 0;
    if (a == 1 && g > 0) {
      a = ge[1];
      b = g > 1 ? ge[2] - ge[1] : 0;
    }
    if (!(a <= 2 && b > 0 && b <= 2))
      return "[phone]";
  }
  return NULL;
}

/* A number starting at s[i] (a digit, '+' or '('): the longest prefix,
 * ending at a group boundary, that classifies. Returns its length with
 * *what the placeholder, and *keep how many leading bytes to leave in the
 * text (an opening bracket whose partner is not in the match). */
static size_t th__number_at(const char *s, size_t len, size_t i,
                            const char **what, size_t *keep) {
  th__digits r;
  size_t ends[TH__RUN_MAX]; /* byte offset just past each digit */
  size_t first = 0;         /* byte offset of the first digit */
  r.n = r.groups = 0;
  size_t k = i;
  bool plus = false;
  if (s[k] == '+') {
    plus = true;
    k++;
  }
  int seps = 0;
  while (k < len && r.n < sizeof r.d) {
    int v;
    size_t m = th__digit_at(s, len, k, &v);
    if (m) {
      if (r.n == 0)
        first = k;
      if (r.n == 0 || seps > 0)
        r.groups++;
      r.d[r.n] = (char)('0' + v);
      ends[r.n++] = k + m;
      r.group_end[r.groups - 1] = r.n;
      seps = 0;
      k += m;
    } else if ((m = th__sep_at(s, len, k)) != 0 && ++seps <= 3) {
      k += m; /* up to three, for "020 - 7974 - 4444" */
    } else {
      break;
    }
  }
  if (r.n == 0)
    return 0;
  for (size_t g = r.groups; g > 0; g--) {
    size_t n = r.group_end[g - 1];
    size_t e = ends[n - 1];
    /* The last group must not run on into a word ("07700900123abc") or on
     * past the 20 digits read; an earlier one ends at a separator by
     * construction. */
    bool boundary =
        n == r.n ? !th__word_at(s, len, e) : th__digit_at(s, len, e, NULL) == 0;
    if (!boundary)
      continue;
    const char *w = th__classify_digits(&r, n, g - 1, plus);
    if (w) {
      *what = w;
      *keep = 0;
      if (s[i] == '(' && memchr(s + i, ')', e - i) == NULL)
        *keep = first - i;
      return e - i;
    }
  }
  return 0;
}

/* ---- National Insurance numbers ------------------------------------------ */

/* Two prefix letters, six digits (in pairs when spaced) and a suffix letter
 * A-D, by HMRC's allocation rules: no D, F, I, Q, U or V first; no D, F, I,
 * O, Q, U or V second; never BG, GB, KN, NK, NT, TN or ZZ. */
static size_t th__ni_at(const char *s, size_t len, size_t i) {
  if (len - i < 8)
    return 0;
  unsigned char a0 = (unsigned char)s[i], b0 = (unsigned char)s[i + 1];
  if (!th__isalpha(a0) || !th__isalpha(b0))
    return 0;
  unsigned char a = th__upper(a0), b = th__upper(b0);
  if (strchr("DFIQUV", a) || strchr("DFIOQUV", b))
    return 0;
  static const char *const unused[] = {"BG", "GB", "NK", "KN",
                                       "TN", "NT", "ZZ"};
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
  size_t t = k;
  if (t < len && s[t] == ' ')
    t++;
  if (t < len && strchr("ABCDabcd", s[t]) && !th__word_at(s, len, t + 1))
    return t + 1 - i;
  if (th__word_at(s, len, k))
    return 0;
  /* Without the suffix letter, only in capitals: in lower case a two-letter
   * word and three numbers ("at 10 12 14") are far more often something
   * else. */
  if (!th__isupper(a0) || !th__isupper(b0))
    return 0;
  return k - i;
}

/* ---- postcodes ----------------------------------------------------------- */

/* The letters an inward code may hold (never C, I, K, M, O or V). */
#define TH__INWARD_LETTERS "ABDEFGHJLNPQRSTUWXYZ"

/* Whether an inward code at s (digit, letter, letter) is an English ordinal
 * in lower case ("2nd", "1st", "3rd", "4th"): "Room B1 2nd floor". The same
 * letters in capitals ("B33 8TH") are a postcode. */
static bool th__ordinal(const char *s) {
  char x = s[1], y = s[2];
  if (x < 'a' || x > 'z' || y < 'a' || y > 'z')
    return false;
  return (x == 's' && y == 't') || (x == 'n' && y == 'd') ||
         (x == 'r' && y == 'd') || (x == 't' && y == 'h');
}

/* A UK postcode at s[i]: outward code (A9, A99, AA9, AA99, A9A, AA9A), an
 * optional space, inward code (9AA), with the letters each position may
 * hold (Royal Mail's rules: no Q, V, X first; no I, J, Z second; C, I, K,
 * M, O, V never in the inward code). Any case, with or without the space:
 * the shape is specific enough. *outward gets the outward code's length. */
static size_t th__postcode_at(const char *s, size_t len, size_t i,
                              size_t *outward) {
  size_t k = i;
  size_t letters = 0;
  while (k < len && letters < 2 && th__isalpha((unsigned char)s[k]))
    k++, letters++;
  if (letters == 0 || k >= len || !th__isdigit((unsigned char)s[k]))
    return 0;
  if (th__in((unsigned char)s[i], "QVX") ||
      (letters == 2 && th__in((unsigned char)s[i + 1], "IJZ")))
    return 0;
  k++;
  /* Optional second character of the district: a digit, or a letter (A9A,
   * AA9A, from a shorter list). */
  size_t cands[2];
  size_t nc = 0;
  cands[nc++] = k;
  if (k < len && (th__isdigit((unsigned char)s[k]) ||
                  th__in((unsigned char)s[k],
                         letters == 1 ? "ABCDEFGHJKPSTUW" : "ABEHMNPRVWXY")))
    cands[nc++] = k + 1;
  for (size_t c = nc; c > 0; c--) {
    size_t o = cands[c - 1];
    /* "NW1 2BH", "NW12BH", and "NW1  2BH" or "NW1<tab>2BH" as pasted. */
    size_t spaces = 0;
    while (spaces < 3 && o + spaces < len &&
           (s[o + spaces] == ' ' || s[o + spaces] == '\t'))
      spaces++;
    size_t p = o + spaces;
    if (p + 3 > len || !th__isdigit((unsigned char)s[p]) ||
        !th__in((unsigned char)s[p + 1], TH__INWARD_LETTERS) ||
        !th__in((unsigned char)s[p + 2], TH__INWARD_LETTERS) ||
        th__word_at(s, len, p + 3) || th__ordinal(s + p))
      continue;
    *outward = o - i;
    return p + 3 - i;
  }
  return 0;
}

/* ---- the scanner --------------------------------------------------------- */

/* One thing found: the span [b, e) of the scanned text it covers and the
 * placeholder that takes its place. A postcode keeps its first `outward`
 * bytes, upper-cased, before its placeholder. */
typedef struct th__match {
  size_t b, e;
  size_t outward;
  const char *what;
} th__match;

typedef struct th__matches {
  th__match *m;
  size_t n, cap;
  bool oom;
} th__matches;

static void th__match_add(th__matches *ms, size_t b, size_t e,
                          const char *what, size_t outward) {
  if (ms->oom)
    return;
  th__match *m = th__grow(ms->m, ms->n, &ms->cap, sizeof *m);
  if (m == NULL) {
    ms->oom = true;
    return;
  }
  ms->m = m;
  m[ms->n++] = (th__match){b, e, outward, what};
}

/* Finds every match in s[0..len), in order and without overlaps.
 *
 * A format character removed from the copy is transparent, also between a
 * word and a number: "ref<ZWSP>07700900123" reads as "ref07700900123", a
 * reference glued to a word, and is kept as that would be. Treating the
 * removed character as a boundary before a number but not after one would
 * make redacting the output find more ("0457009003<SHY>07700<ZWSP>900461"),
 * and redacting must be stable. */
static void th__scan(const char *s, size_t len, th__matches *ms) {
  size_t last = 0; /* the end of the last match */
  size_t i = 0;
  /* Addresses come first: the numbers and letters inside one
   * ("07700900123@example.com") are part of it, and nothing else may run
   * into it, so the other patterns see the text up to the next address as
   * if it ended there. The character before an address is never a word
   * character (the local part would have taken it), so that end is a real
   * boundary. */
  size_t eb, ee;
  th__next_email(s, len, 0, 0, &eb, &ee);
  while (i < len) {
    if (i == eb) {
      th__match_add(ms, eb, ee, "[email]", 0);
      last = i = ee;
      th__next_email(s, len, ee, ee, &eb, &ee);
      continue;
    }
    size_t lim = eb;
    unsigned char c = (unsigned char)s[i];
    /* Just after a match, the text will read "...]" here: judging the
     * boundary as the stored text will show it means redacting the result
     * again finds nothing new ("NW12BH+447700900123"). */
    bool at_word_start = (i == last && i > 0) || !th__word_before(s, i);
    size_t n = 0, keep = 0, outward = 0;
    const char *what = NULL;

    if (at_word_start && th__isalpha(c)) {
      if ((n = th__ni_at(s, lim, i)) != 0)
        what = "[ni number]";
      else if ((n = th__postcode_at(s, lim, i, &outward)) != 0)
        what = "[postcode]";
    } else if (at_word_start &&
               (c == '+' || c == '(' ||
                (th__digit_at(s, lim, i, NULL) && !th__currency_before(s, i)))) {
      n = th__number_at(s, lim, i, &what, &keep);
    }
    if (n && what) {
      th__match_add(ms, i + keep, i + n, what, outward);
      last = i = i + n;
      continue;
    }
    /* Skip the rest of a word: matches start only at word boundaries. */
    if (th__word_at(s, lim, i)) {
      while (i < lim && th__word_at(s, lim, i))
        i += th__char_len(s, lim, i);
    } else {
      i += th__char_len(s, lim, i);
    }
  }
}

/* ---- the normalised copy ------------------------------------------------ */

/* The code points character `cp` stands for when matching, into buf (at
 * most `cap`): none for a format character (category Cf), else its NFKC
 * form, case-folded too when `fold`. Returns how many; a character whose
 * form does not fit stands for itself. No allocation. */
static size_t th__norm_char(uint32_t cp, bool fold, utf8proc_int32_t *buf,
                            size_t cap) {
  const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
  if (p->category == UTF8PROC_CATEGORY_CF)
    return 0;
  utf8proc_option_t opt = UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
  if (fold)
    opt |= UTF8PROC_CASEFOLD;
  utf8proc_ssize_t n =
      utf8proc_decompose_char((utf8proc_int32_t)cp, buf,
                              (utf8proc_ssize_t)cap, opt, NULL);
  if (n > 1)
    n = utf8proc_normalize_utf32(buf, n, UTF8PROC_COMPOSE);
  if (n < 1 || (size_t)n > cap) {
    buf[0] = (utf8proc_int32_t)cp;
    n = 1;
  }
  return (size_t)n;
}

/* Makes the copy of t[0..tlen) the scanner reads (see the top of this
 * file) in *s, and in *map, for each byte of it and one past the end, the
 * offset in t of the character it came from. Bytes that are not UTF-8 are
 * copied as they are. The copy is rarely longer than t, so both are sized
 * for t at once and grow only for the characters whose NFKC form is longer
 * ("ﬁ", "½", "㎡"). false when out of memory. */
static bool th__normalise(const char *t, size_t tlen, th__sbuf *s,
                          size_t **map) {
  size_t cap = tlen + 1;
  size_t *m = malloc(cap * sizeof *m);
  th__sbuf_reserve(s, tlen);
  if (m == NULL || s->oom) {
    free(m);
    return false;
  }
  for (size_t i = 0; i < tlen;) {
    unsigned char c = (unsigned char)t[i];
    char enc[18 * 4];
    size_t en = 0, step;
    uint32_t cp;
    if (c < 0x80 || (step = th__decode(t, tlen, i, &cp)) == 0) {
      enc[en++] = (char)c; /* ASCII, or a byte that is not UTF-8 */
      step = 1;
    } else {
      utf8proc_int32_t buf[18];
      size_t n = th__norm_char(cp, false, buf, TH__ARRAY_SIZE(buf));
      for (size_t k = 0; k < n; k++)
        en += (size_t)utf8proc_encode_char(buf[k], (utf8proc_uint8_t *)enc + en);
    }
    if (s->len + en + 1 > cap) {
      while (s->len + en + 1 > cap)
        cap *= 2;
      size_t *bigger = realloc(m, cap * sizeof *m);
      if (bigger == NULL) {
        free(m);
        return false;
      }
      m = bigger;
    }
    for (size_t k = 0; k < en; k++)
      m[s->len + k] = i;
    th__sbuf_put(s, enc, en);
    i += step;
  }
  th__sbuf_put(s, "", 0);
  if (s->oom) {
    free(m);
    return false;
  }
  m[s->len] = tlen;
  *map = m;
  return true;
}

/* ---- the allowlist ------------------------------------------------------- */

#define TH__KEY_MAX 320 /* longer than any address (254) or number */

static void th__key_put(char *key, size_t *k, char c) {
  if (*k < TH__KEY_MAX)
    key[*k] = c;
  (*k)++;
}

/* The form in which a match of kind `what` and an allowlist entry are
 * compared, both read as the scanner reads text (NFKC, format characters
 * removed): for numbers their digits (of any script, as ASCII), a UK phone
 * number in its national form ("+44 (0)20 7946 0000" and "020 7946 0000"
 * are one number); for postcodes and National Insurance numbers their
 * letters and digits in capitals ("nw1  2db" is "NW12DB"); for addresses
 * the text case-folded. Returns the key's length, or 0 when there is none
 * or it does not fit (then nothing equals it). */
static size_t th__allow_key(const char *what, const char *s, size_t n,
                            char key[TH__KEY_MAX]) {
  bool email = strcmp(what, "[email]") == 0;
  bool letters = strcmp(what, "[postcode]") == 0 ||
                 strcmp(what, "[ni number]") == 0;
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t step = th__decode(s, n, i, &cp);
    if (step == 0) { /* not UTF-8: the byte itself */
      if (email)
        th__key_put(key, &k, s[i]);
      i++;
      continue;
    }
    i += step;
    utf8proc_int32_t buf[18];
    size_t cn = th__norm_char(cp, email, buf, TH__ARRAY_SIZE(buf));
    for (size_t c = 0; c < cn; c++) {
      uint32_t x = (uint32_t)buf[c];
      int v;
      if (email) {
        utf8proc_uint8_t enc[4];
        utf8proc_ssize_t en = utf8proc_encode_char(buf[c], enc);
        for (utf8proc_ssize_t e = 0; e < en; e++)
          th__key_put(key, &k, (char)enc[e]);
      } else if (letters) {
        if (x < 0x80 && (th__isalpha(x) || th__isdigit(x)))
          th__key_put(key, &k, (char)th__upper((unsigned char)x));
      } else if ((v = th__digit_cp(x)) >= 0) {
        th__key_put(key, &k, (char)('0' + v));
      }
    }
  }
  if (k > TH__KEY_MAX)
    return 0;
  if (strcmp(what, "[phone]") == 0) {
    size_t from = 0;
    if (k >= 2 && key[0] == '0' && key[1] == '0')
      from = 2;
    if (k - from >= 2 && key[from] == '4' && key[from + 1] == '4') {
      /* 44, perhaps the trunk 0, then the national number: 0 + number. */
      from += 2;
      if (from < k && key[from] == '0')
        from++;
      key[--from] = '0';
    }
    memmove(key, key + from, k - from);
    k -= from;
  }
  return k;
}

/* Whether the match m (in the scanned text s) equals an entry of `allow`. */
static bool th__allowed(const th__match *m, const char *s, const char *allow) {
  if (allow == NULL || *allow == '\0')
    return false;
  char want[TH__KEY_MAX], got[TH__KEY_MAX];
  size_t wn = th__allow_key(m->what, s + m->b, m->e - m->b, want);
  if (wn == 0)
    return false;
  const char *e;
  for (const char *p = allow; p != NULL; p = e ? e + 1 : NULL) {
    e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    const char *q = p;
    /* Entries are trimmed: "NW1 2DB\r\n", " press@council.gov.uk". */
    while (n && (*q == ' ' || *q == '\t'))
      q++, n--;
    while (n && (q[n - 1] == ' ' || q[n - 1] == '\t' || q[n - 1] == '\r'))
      n--;
    if (th__allow_key(m->what, q, n, got) == wn && memcmp(got, want, wn) == 0)
      return true;
  }
  return false;
}

/* ---- the output ---------------------------------------------------------- */

/* The length of a bidirectional embedding, override or isolate control
 * (U+202A-U+202E, U+2066-U+2069) at t[i], or 0. */
static size_t th__bidi_control(const char *t, size_t len, size_t i) {
  const unsigned char *u = (const unsigned char *)t + i;
  if (len - i < 3 || u[0] != 0xe2)
    return 0;
  if ((u[1] == 0x80 && u[2] >= 0xaa && u[2] <= 0xae) ||
      (u[1] == 0x81 && u[2] >= 0xa6 && u[2] <= 0xa9))
    return 3;
  return 0;
}

/* Appends original text: what nothing matched goes out as it came in,
 * except the bidirectional embedding, override and isolate controls. A
 * right-to-left override turns "exe.txt" into "txt.exe" on screen and makes
 * a title, a comment or a CSV cell read as something else than it is; all
 * free text is stored through here, so none of it holds one. (The marks
 * U+200E and U+200F stay: they only say which way a neutral character
 * runs, and right-to-left text needs them.) */
static void th__put_original(th__sbuf *o, const char *t, size_t from,
                             size_t to) {
  size_t i = from;
  while (i < to) {
    const char *p = memchr(t + i, 0xe2, to - i);
    size_t stop = p ? (size_t)(p - t) : to;
    th__sbuf_put(o, t + i, stop - i);
    i = stop;
    if (i < to) {
      size_t n = th__bidi_control(t, to, i);
      if (n == 0)
        th__sbuf_put(o, t + i, 1);
      i += n ? n : 1;
    }
  }
}

/* Builds the output from the original text t[0..tlen) and the matches
 * found in the scanned text s; `map` (NULL when s is t itself) gives for
 * each byte of s the offset in t of the character it came from. Allowed
 * matches stay as written; the others become their placeholder. */
static void th__emit(th__sbuf *o, const char *t, size_t tlen, const char *s,
                     const size_t *map, const th__matches *ms,
                     const char *allow) {
  size_t copied = 0; /* t[0..copied) is accounted for */
  th__sbuf_reserve(o, tlen);
  for (size_t k = 0; k < ms->n; k++) {
    const th__match *m = &ms->m[k];
    size_t b = map ? map[m->b] : m->b;
    size_t e = map ? map[m->e - 1] + th__char_len(t, tlen, map[m->e - 1]) : m->e;
    if (b < copied) /* one character of t became text of two matches */
      b = copied;
    if (e < b)
      e = b;
    th__put_original(o, t, copied, b);
    if (th__allowed(m, s, allow)) {
      th__put_original(o, t, b, e);
    } else {
      for (size_t i = 0; i < m->outward; i++) {
        char u = (char)th__upper((unsigned char)s[m->b + i]);
        th__sbuf_put(o, &u, 1);
      }
      if (m->outward)
        th__sbuf_putc(o, ' ');
      th__sbuf_puts(o, m->what);
    }
    copied = e;
  }
  th__put_original(o, t, copied, tlen);
}

static int th__redact_once(const char *text, const char *allow, char **out) {
  size_t len = strlen(text);
  th__sbuf o = {0};
  th__sbuf_put(&o, "", 0);
  /* Everything the scanner finds holds a digit or an '@': text without
   * either is returned as it is, without scanning. */
  size_t i = 0;
  while (i < len && (unsigned char)text[i] < 0x80 &&
         !th__isdigit((unsigned char)text[i]) && text[i] != '@')
    i++;
  if (i == len) {
    th__sbuf_put(&o, text, len);
  } else {
    /* ASCII is its own normalised copy. */
    while (i < len && (unsigned char)text[i] < 0x80)
      i++;
    th__sbuf norm = {0};
    size_t *map = NULL;
    const char *s = text;
    size_t slen = len;
    if (i < len) {
      if (!th__normalise(text, len, &norm, &map)) {
        o.oom = true;
      } else {
        s = norm.p;
        slen = norm.len;
      }
    }
    th__matches ms = {0};
    if (!o.oom)
      th__scan(s, slen, &ms);
    o.oom |= ms.oom;
    if (!o.oom)
      th__emit(&o, text, len, s, map, &ms, allow);
    free(ms.m);
    free(map);
    th__sbuf_free(&norm);
  }
  if (o.oom) {
    free(o.p);
    return TH_ENOMEM;
  }
  *out = o.p;
  return TH_OK;
}

int th__redact_allowing(const char *text, const char *allow, char **out) {
  if (text == NULL || out == NULL)
    return TH_EINVAL;
  *out = NULL;
  char *cur = NULL;
  int rc = th__redact_once(text, allow, &cur);
  /* One pass can leave what the next finds: a match that ends inside a
   * character the normalised copy spells as several ("\u00bd" is "1/2",
   * with a fraction slash) leaves the rest of that character beside the
   * text that follows, and the placeholder that replaces it in the output
   * does not. So the passes go on until one changes nothing; each that
   * changes something removes a digit or an '@', so they end (and after a
   * few, nothing real is left to find). */
  for (int pass = 1; rc == TH_OK && pass < 8 && strcmp(cur, text) != 0;
       pass++) {
    char *next = NULL;
    rc = th__redact_once(cur, allow, &next);
    if (rc != TH_OK)
      break;
    bool same = strcmp(next, cur) == 0;
    free(cur);
    cur = next;
    if (same)
      break;
  }
  if (rc != TH_OK) {
    free(cur);
    return rc;
  }
  *out = cur;
  return TH_OK;
}

int th_redact(const char *text, char **out) {
  return th__redact_allowing(text, NULL, out);
}
