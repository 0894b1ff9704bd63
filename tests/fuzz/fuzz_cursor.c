/*
 * fuzz_cursor: the opaque list cursors clients send back (th__cursor_decode),
 * and the two lists that take them (th_idea_list for every sort,
 * th_feedback_pages) on a database with a few pages of ideas and pages.
 *
 * Input: the cursor as text; or 'R' and raw bytes, which are base64url-
 * encoded first so that every field layout is reached, not only what
 * survives base64 mutation. A decoded cursor must encode and decode back to
 * the same fields.
 */
#include "config.h"

#include "fuzz_common.h"
#include "fuzz_server.h"
#include "internal.h"

#include <sodium.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_db();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  th_db *db = fuzz_db();
  char *s;
  if (size > 0 && data[0] == 'R') {
    unsigned char raw[34] = {0};
    size_t n = size - 1 < sizeof raw ? size - 1 : sizeof raw;
    memcpy(raw, data + 1, n);
    s = malloc(64);
    sodium_bin2base64(s, 64, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  } else {
    s = fuzz_strndup(data, size);
  }
  th__cursor c;
  memset(&c, 0, sizeof c);
  uint64_t seed = 7;
  if (th__cursor_decode(s, &c) == TH_OK) {
    char *e = th__cursor_encode(&c);
    FUZZ_ASSERT(e != NULL, "encode failed");
    th__cursor d;
    memset(&d, 0, sizeof d);
    FUZZ_ASSERT(th__cursor_decode(e, &d) == TH_OK, "re-encoded cursor refused");
    FUZZ_ASSERT(c.kind == d.kind && c.seed == d.seed &&
                    memcmp(&c.key, &d.key, sizeof c.key) == 0 &&
                    c.key2 == d.key2 && c.id == d.id,
                "fields changed in a round trip");
    free(e);
    seed = c.seed;
  }
  for (int sort = TH_SORT_TOP; sort <= TH_SORT_RANDOM; sort++) {
    th_idea_query q = {.size = sizeof(q), .sort = sort, .seed = seed, .limit = 5, .cursor = s};
    th_idea_page *page = NULL;
    if (th_idea_list(db, "camden", &q, &page) == TH_OK) {
      FUZZ_ASSERT(page->count <= 5, "more than the limit");
      th_idea_page_free(page);
    } else {
      FUZZ_ASSERT(page == NULL, "a page with an error");
    }
  }
  th_page_list *pl = NULL;
  if (th_feedback_pages(db, "camden", 5, s, &pl) == TH_OK) {
    FUZZ_ASSERT(pl->count <= 5, "more than the limit");
    th_page_list_free(pl);
  }
  free(s);
  return 0;
}
