/*
 * fuzz_form: query strings and application/x-www-form-urlencoded bodies
 * (th__form_decode, th__pct_decode). Whatever decodes must be valid UTF-8
 * without a NUL, never longer than what came in.
 */
#include "config.h"

#include "fuzz_common.h"
#include "http.h"

static void check_pct(const uint8_t *data, size_t size, bool plus) {
  char *s = fuzz_strndup(data, size);
  size_t len = size;
  if (th__pct_decode(s, &len, plus)) {
    FUZZ_ASSERT(len <= size, "decoded %zu bytes from %zu", len, size);
    FUZZ_ASSERT(s[len] == '\0', "not terminated");
    FUZZ_ASSERT(strlen(s) == len, "a NUL inside the decoded text");
    FUZZ_ASSERT(th_utf8_check(s, len) == TH_OK, "invalid UTF-8 accepted");
  }
  free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_t *o = th__form_decode((const char *)data, size);
  if (o) {
    FUZZ_ASSERT(json_is_object(o), "not an object");
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
      FUZZ_ASSERT(json_is_string(v), "value of %s is not a string", k);
      FUZZ_ASSERT(strlen(json_string_value(v)) == json_string_length(v),
                  "a NUL inside the value of %s", k);
      FUZZ_ASSERT(th_utf8_check(k, strlen(k)) == TH_OK, "bad key");
    }
    char *s = json_dumps(o, JSON_COMPACT);
    free(s);
    json_decref(o);
  }
  check_pct(data, size, true);
  check_pct(data, size, false);
  return 0;
}
