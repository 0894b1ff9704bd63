/*
 * fuzz_redact: the PII redactor (th_redact, th__redact_allowing) on any
 * text.
 *
 * The input is the text; if it holds a NUL, what follows the first NUL is
 * an allowlist (newline-separated) for th__redact_allowing.
 *
 * Properties, for text that is valid UTF-8 (what the library stores has
 * been checked to be): no crash or sanitizer report; the output is valid
 * UTF-8; it holds no bidirectional embedding, override or isolate control
 * (U+202A-U+202E, U+2066-U+2069); and redacting it again (with the same
 * allowlist) changes nothing -- if it did, the stored text would still hold
 * something the redactor itself recognises as personal data. Text that is
 * not UTF-8 must still be redacted without a crash or a report.
 *
 * The text is also tried as a page URL, as core/feedback.c stores one
 * (th_url_normalize, th__url_scrub, normalised again when scrubbing changed
 * it; what follows the NUL is then the parameters to keep): the stored
 * address must normalise and scrub to itself, so that it finds its own row.
 */
#include "config.h"

#include "fuzz_common.h"
#include "internal.h"

/* The first bidirectional control in s, or NULL. */
static const char *fuzz_bidi(const char *s) {
  for (const char *p = s; (p = strchr(p, '\xe2')) != NULL; p++) {
    unsigned char b1 = (unsigned char)p[1], b2 = b1 ? (unsigned char)p[2] : 0;
    if ((b1 == 0x80 && b2 >= 0xaa && b2 <= 0xae) ||
        (b1 == 0x81 && b2 >= 0xa6 && b2 <= 0xa9))
      return p;
  }
  return NULL;
}

static void fuzz_one(const char *in, const char *allow) {
  char *out = NULL;
  int rc = allow ? th__redact_allowing(in, allow, &out) : th_redact(in, &out);
  FUZZ_ASSERT(rc == TH_OK && out != NULL, "redacting: %s", th_err_name(rc));
  size_t inl = strlen(in), outl = strlen(out);
  if (th_utf8_check(in, inl) == TH_OK) {
    FUZZ_ASSERT(th_utf8_check(out, outl) == TH_OK,
                "valid UTF-8 in, invalid out");
    const char *b = fuzz_bidi(out);
    FUZZ_ASSERT(b == NULL, "a bidi control at byte %zu of the output",
                (size_t)(b - out));
    char *again = NULL;
    rc = allow ? th__redact_allowing(out, allow, &again)
               : th_redact(out, &again);
    FUZZ_ASSERT(rc == TH_OK, "second pass failed");
    FUZZ_ASSERT(strcmp(again, out) == 0,
                "not idempotent:\n  in:    %s\n  once:  %s\n  twice: %s", in,
                out, again);
    th_free(again);
  }
  th_free(out);
}

/* The page address feedback.c would store for `url`, or NULL. */
static char *fuzz_page(const char *url, const char *keep) {
  char *norm = NULL, *scrubbed = NULL, *out = NULL;
  if (th_url_normalize(url, keep, &norm) != TH_OK)
    return NULL;
  FUZZ_ASSERT(th__url_scrub(norm, &scrubbed) == TH_OK, "scrubbing %s", norm);
  if (strcmp(scrubbed, norm) == 0) {
    free(scrubbed);
    return norm;
  }
  free(norm);
  int rc = th_url_normalize(scrubbed, keep, &out);
  FUZZ_ASSERT(rc == TH_OK || rc == TH_ETOOLONG,
              "a scrubbed URL does not normalise: %s (%s)", scrubbed,
              th_err_name(rc));
  free(scrubbed);
  return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *in = fuzz_strndup(data, size);
  size_t inl = strlen(in);
  char *allow = inl < size ? fuzz_strndup(data + inl + 1, size - inl - 1)
                           : NULL;
  fuzz_one(in, NULL);
  if (allow)
    fuzz_one(in, allow);
  char *page = fuzz_page(in, allow);
  if (page) {
    char *again = fuzz_page(page, allow);
    FUZZ_ASSERT(again && strcmp(again, page) == 0,
                "a stored page address does not find itself:\n  in:     %s\n"
                "  stored: %s\n  again:  %s",
                in, page, again ? again : "(refused)");
    free(again);
    free(page);
  }
  free(allow);
  free(in);
  return 0;
}
