/*
 * csv.c: CSV as spreadsheets read it (RFC 4180, UTF-8 with a byte-order
 * mark so Excel reads the encoding), with text cells neutralised against
 * formula injection. Numbers are written as numbers. Every CSV townhall
 * produces (dashboard exports and open data) goes through here.
 *
 * The file's separator is the comma, but spreadsheets split on what their
 * locale or their user says: the semicolon (most of Europe), a tab, a
 * vertical bar; LibreOffice's import lets a user tick several at once, and
 * a naive reader splits lines without honouring quotes. So:
 *
 *  - every cell holding any of those separators, a quote or a line break
 *    is quoted, so that a reader honouring quotes keeps it one cell;
 *  - a formula prefix (=, +, -, @, as OWASP lists them) gets an apostrophe
 *    before it not only at the start of the cell but at the start of every
 *    piece a reader could split the cell into: after each separator or
 *    line break, and after the spaces that follow one (` =1+2` is a formula
 *    to a reader that trims). A cell starting with a tab or a carriage
 *    return gets one too, as OWASP says.
 *
 * Neutralised, `x;=1+2;y` is written `"x;'=1+2;y"`: one text cell where
 * quotes are honoured, three text pieces where they are not.
 */
#include "internal.h"

#include <inttypes.h>
#include <string.h>

void th__csv_begin(th__sbuf *b) { th__sbuf_put(b, "\xEF\xBB\xBF", 3); }

/* The characters some spreadsheet splits a cell at, line breaks included. */
static bool th__csv_separator(char c) {
  return c == ',' || c == ';' || c == '\t' || c == '|' || c == '\r' ||
         c == '\n';
}

static bool th__csv_formula_prefix(char c) {
  return c == '=' || c == '+' || c == '-' || c == '@';
}

void th__csv_text(th__sbuf *b, const char *s, bool last) {
  if (s == NULL)
    s = "";
  /* Quoted: a cell with a separator or a quote, and one that gets an
   * apostrophe (any apostrophe after the first follows a separator). */
  const char *first = s + strspn(s, " ");
  bool quote = strpbrk(s, ",;\t|\"\r\n") != NULL ||
               th__csv_formula_prefix(*first);
  if (quote)
    th__sbuf_put(b, "\"", 1);
  if (s[0] == '\t' || s[0] == '\r')
    th__sbuf_put(b, "'", 1);
  /* `piece_start`: the next character begins a piece a reader may split
   * the cell into (the cell's start, or just after a separator, spaces
   * skipped). */
  bool piece_start = true;
  for (const char *p = s; *p; p++) {
    if (piece_start && th__csv_formula_prefix(*p))
      th__sbuf_put(b, "'", 1);
    if (*p == '"')
      th__sbuf_put(b, "\"\"", 2);
    else
      th__sbuf_put(b, p, 1);
    if (th__csv_separator(*p))
      piece_start = true;
    else if (*p != ' ')
      piece_start = false;
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
