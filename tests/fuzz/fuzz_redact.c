/*
 * fuzz_redact: the PII redactor (th_redact) on any text.
 *
 * Properties: valid UTF-8 in, valid UTF-8 out; and redacting the result
 * again changes nothing — if it did, the stored text would still hold
 * something the redactor itself recognises as personal data.
 */
#include "config.h"

#include "fuzz_common.h"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *in = fuzz_strndup(data, size);
  char *out = NULL;
  int rc = th_redact(in, &out);
  FUZZ_ASSERT(rc == TH_OK && out != NULL, "th_redact: %s", th_err_name(rc));
  size_t inl = strlen(in), outl = strlen(out);
  if (th_utf8_check(in, inl) == TH_OK) {
    FUZZ_ASSERT(th_utf8_check(out, outl) == TH_OK,
                "valid UTF-8 in, invalid out");
    char *again = NULL;
    FUZZ_ASSERT(th_redact(out, &again) == TH_OK, "second pass failed");
    FUZZ_ASSERT(strcmp(again, out) == 0,
                "not idempotent:\n  in:    %s\n  once:  %s\n  twice: %s", in,
                out, again);
    th_free(again);
  }
  th_free(out);
  free(in);
  return 0;
}
