/*
 * fuzz_url: page URL normalisation (th_url_normalize). Input: the URL, then
 * optionally a newline and the site's keep_params list (inputs whose list
 * holds what no site's list may hold are skipped).
 *
 * Properties of an accepted URL, which the open-redirect guard and the
 * origin checks rely on: it starts with http:// or https://, holds no
 * space, control character or fragment, is valid UTF-8, its origin ends
 * where its path begins, and normalising it again changes nothing.
 */
#include "config.h"

#include "fuzz_common.h"
#include "internal.h"

#include <ctype.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nl = memchr(data, '\n', size);
  size_t ul = nl ? (size_t)(nl - data) : size;
  char *url = fuzz_strndup(data, ul);
  char *keep = nl ? fuzz_strndup(nl + 1, size - ul - 1) : NULL;
  /* Only keep lists a site can have (th_site_create refuses other
   * characters in parameter names): "`" kept raw would be "%60" on the
   * second pass and no longer match. */
  for (const char *k = keep; k && *k; k++)
    if (!(isalnum((unsigned char)*k) || strchr("_-. ,", *k))) {
      free(url);
      free(keep);
      return 0;
    }
  char *out = NULL;
  int rc = th_url_normalize(url, keep, &out);
  if (rc == TH_OK) {
    FUZZ_ASSERT(out != NULL, "TH_OK without a result");
    size_t n = strlen(out);
    FUZZ_ASSERT(strncmp(out, "http://", 7) == 0 || strncmp(out, "https://", 8) == 0,
                "%s", out);
    for (size_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)out[i];
      FUZZ_ASSERT(c > 0x20 && c != 0x7f, "byte %02x in %s", c, out);
    }
    FUZZ_ASSERT(strchr(out, '#') == NULL, "fragment kept: %s", out);
    FUZZ_ASSERT(th_utf8_check(out, n) == TH_OK, "invalid UTF-8 out: %s", out);
    size_t ol = th__url_origin_len(out);
    size_t scheme = out[4] == 's' ? 8 : 7;
    FUZZ_ASSERT(ol > scheme && ol < n && out[ol] == '/',
                "origin does not end at the path: %s", out);
    FUZZ_ASSERT(n <= 2048, "longer than the limit: %zu", n);
    char *again = NULL;
    int rc2 = th_url_normalize(out, keep, &again);
    FUZZ_ASSERT(rc2 == TH_OK && strcmp(again, out) == 0,
                "not idempotent:\n  in:    %s\n  once:  %s\n  twice: %s (%s)",
                url, out, again ? again : "(null)", th_err_name(rc2));
    th_free(again);
  } else {
    FUZZ_ASSERT(out == NULL, "a result with an error");
  }
  th_free(out);
  free(url);
  free(keep);
  return 0;
}
