/*
 * csv.c: CSV as spreadsheets read it (RFC 4180, UTF-8 with a byte-order
 * mark so Excel reads the encoding), with text cells neutralised against
 * formula injection: a cell a spreadsheet would evaluate (starting with =,
 * +, -, @, tab or carriage return) gets a leading apostrophe, as OWASP
 * recommends. Numbers are written as numbers. Every CSV townhall produces
 * (dashboard exports and open data) goes through here.
 */
#include "http.h"

#include <inttypes.h>
#include <string.h>

void th__csv_begin(th__sbuf *b) { th__sbuf_put(b, "\xEF\xBB\xBF", 3); }

void th__csv_text(th__sbuf *b, const char *s, bool last) {
  if (s == NULL)
    s = "";
  bool risky = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
               s[0] == '\t' || s[0] == '\r';
  bool quote = risky || strpbrk(s, ",\"\r\n") != NULL;
  if (quote)
    th__sbuf_put(b, "\"", 1);
  if (risky)
    th__sbuf_put(b, "'", 1);
  for (const char *p = s; *p; p++) {
    if (*p == '"')
      th__sbuf_put(b, "\"\"", 2);
    else
      th__sbuf_put(b, p, 1);
  }
  if (quote)
    th__sbuf_put(b, "\"", 1);
  th__sbuf_put(b, last ? "\r\n" : ",", last ? 2 : 1);
}

void th__csv_int(th__sbuf *b, int64_t v, bool last) {
  th__sbuf_printf(b, "%" PRId64 "%s", v, last ? "\r\n" : ",");
}

void th__csv_real(th__sbuf *b, double v, bool last) {
  th__sbuf_printf(b, "%.6g%s", v, last ? "\r\n" : ",");
}
