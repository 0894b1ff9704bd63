/*
 * privacy.c: the daily salts (created on first use, persisted 0600, gone
 * after 48 h from memory and disk), pseudonyms (keyed, per consultation,
 * resident and device kept apart), sealing.
 */
#include "helpers.h"
#include "internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_salts(void) {
  t_clock = INT64_C(1772445600000); /* Mon 2026-03-02 10:00 */
  th_db *db = t_open("salts.db");
  t_site(db, "camden", 0, 0);
  int64_t day0 = th__day(t_clock);
  TAP_INT(th__salts_held(db->keys, -1), 0, "no salt before any feedback");
  th_who dev = {.ip = "203.0.113.9", .user_agent = "Mozilla/5.0 test"};
  th_feedback fb = {.size = sizeof(fb), .page = "https://www.camden.gov.uk/bins", .useful = 1};
  TAP_INT(th_feedback_answer(db, "camden", &dev, &fb, "k1", NULL), TH_RECORDED,
          "feedback on day 0 (with an idempotency key)");
  TAP_INT(th__salts_held(db->keys, day0), 1, "day 0's salt exists");
  struct stat sb;
  TAP_OK(stat(t_path("salts.db.key.salts"), &sb) == 0 &&
             (sb.st_mode & 0777) == 0600,
         "salts persisted to a 0600 file beside the key file");
  unsigned char salt0[TH__SALT_BYTES];
  th__salt_for_day(db->keys, day0, t_clock, salt0);
  size_t len = 0;
  unsigned char *file = t_read_file(t_path("salts.db.key.salts"), &len);
  TAP_OK(file && t_contains(file, len, salt0, sizeof salt0),
         "the file holds day 0's salt");
  free(file);

  /* A restart the same day keeps the dedup. */
  th_close(db);
  db = t_open("salts.db");
  TAP_INT(th_feedback_answer(db, "camden", &dev, &fb, "k1", NULL),
          TH_DUPLICATE, "after a restart, a retry the same day still folds");

  /* Next day: new salt, old one still held (until 48 h after its day began). */
  t_clock += TH__DAY_MS;
  TAP_INT(th_feedback_answer(db, "camden", &dev, &fb, "k1", NULL), TH_RECORDED,
          "the next day the key folds nothing");
  TAP_INT(th__salts_held(db->keys, day0), 1, "day 0's salt kept on day 1");
  TAP_INT(th__salts_held(db->keys, day0 + 1), 1, "day 1's salt exists");

  /* Day 2 begins: day 0's salt is destroyed even with no traffic, by the
   * purge the server runs. */
  t_clock = (day0 + 2) * TH__DAY_MS + 1;
  th_purge_report r = TH_PURGE_REPORT_INIT;
  TAP_INT(th_purge(db, &r), TH_OK, "purge on day 2");
  TAP_INT(r.salts, 1, "purge destroyed one salt");
  TAP_INT(th__salts_held(db->keys, day0), 0, "day 0's salt is gone from memory");
  file = t_read_file(t_path("salts.db.key.salts"), &len);
  TAP_OK(file && !t_contains(file, len, salt0, sizeof salt0),
         "and from the salts file");
  free(file);
  unsigned char again[TH__SALT_BYTES];
  TAP_INT(th__salt_for_day(db->keys, day0, t_clock, again), TH_EINVAL,
          "a destroyed day's salt cannot be made again");
  /* After a restart it is not back either. */
  th_close(db);
  db = t_open("salts.db");
  TAP_INT(th__salts_held(db->keys, day0), 0, "not reloaded after a restart");
  TAP_INT(th__salts_held(db->keys, day0 + 1), 1, "day 1's salt reloaded");
  /* 48 h after day 1 began, nothing is left and the file goes. */
  t_clock = (day0 + 3) * TH__DAY_MS;
  th_purge(db, NULL);
  TAP_INT(th__salts_held(db->keys, -1), 0, "no salts left");
  TAP_OK(access(t_path("salts.db.key.salts"), F_OK) != 0,
         "the salts file is removed when empty");
  th_close(db);

  /* Memory only. */
  th_open_options mem = {.size = sizeof(mem), .persist_salts = -1, .now = t_now};
  TAP_INT(th_open(&db, t_target("mem.db"), t_options("mem.db", &mem)), TH_OK,
          "open, salts in memory");
  t_site(db, "camden", 0, 0);
  th_feedback_answer(db, "camden", &dev, &fb, "k1", NULL);
  TAP_OK(access(t_path("mem.db.key.salts"), F_OK) != 0,
         "no salts file when persistence is off");
  th_close(db);
}

static void test_pseudonyms(void) {
  unsigned char k1[32], k2[32], a[16], b[16], c[16];
  randombytes_buf(k1, sizeof k1);
  randombytes_buf(k2, sizeof k2);
  int kind = -1;
  th_who r = {.resident = "resident-42"};
  TAP_INT(th__pseudonym(k1, &r, a, &kind), TH_OK, "resident pseudonym");
  TAP_INT(kind, 0, "kind resident");
  /* Never trimmed into another resident's id (issue 12). */
  th_who r2 = {.resident = "  resident-42\t"};
  TAP_INT(th__pseudonym(k1, &r2, b, &kind), TH_EINVAL,
          "surrounding white space refused, not trimmed");
  th_who r3 = {.resident = "resident-42 "};
  TAP_INT(th__pseudonym(k1, &r3, b, &kind), TH_EINVAL,
          "a trailing space refused");
  th__pseudonym(k2, &r, c, &kind);
  TAP_OK(memcmp(a, c, 16) != 0, "another consultation's key: unlinkable");
  th_who d = {.ip = "198.51.100.7", .user_agent = "UA"};
  TAP_INT(th__pseudonym(k1, &d, b, &kind), TH_OK, "device pseudonym");
  TAP_INT(kind, 1, "kind device");
  th_who d6a = {.ip = "2001:db8:1:2:aaaa::1", .user_agent = "UA"};
  th_who d6b = {.ip = "2001:db8:1:2:bbbb::9", .user_agent = "UA"};
  th__pseudonym(k1, &d6a, a, &kind);
  th__pseudonym(k1, &d6b, c, &kind);
  TAP_OK(memcmp(a, c, 16) == 0, "IPv6 devices are one within a /64");
  th_who mapped = {.ip = "::ffff:198.51.100.7", .user_agent = "UA"};
  th__pseudonym(k1, &mapped, c, &kind);
  TAP_OK(memcmp(b, c, 16) == 0, "IPv4-mapped IPv6 is the IPv4 address");
  th_who ua2 = {.ip = "198.51.100.7", .user_agent = "UA2"};
  th__pseudonym(k1, &ua2, c, &kind);
  TAP_OK(memcmp(b, c, 16) != 0, "another user agent, another device");
  /* A resident id equal to a device's text never collides with it. */
  th_who none = {0};
  TAP_INT(th__pseudonym(k1, &none, a, &kind), TH_EINVAL, "nobody: EINVAL");
  th_who blank = {.resident = "   "};
  TAP_INT(th__pseudonym(k1, &blank, a, &kind), TH_EINVAL,
          "a blank resident id: EINVAL");
}

static void test_seal(void) {
  th_db *db = t_open("seal.db");
  unsigned char msg[32], sealed[32 + TH__SEALED_OVERHEAD], out[32];
  randombytes_buf(msg, sizeof msg);
  th__seal(db->keys, "ad-1", msg, sizeof msg, sealed);
  TAP_INT(th__unseal(db->keys, "ad-1", sealed, sizeof sealed, out), TH_OK,
          "sealed value opens");
  TAP_OK(memcmp(msg, out, 32) == 0, "round trip");
  TAP_INT(th__unseal(db->keys, "ad-2", sealed, sizeof sealed, out), TH_EKEY,
          "bound to its row: another label does not open it");
  sealed[30] ^= 1;
  TAP_INT(th__unseal(db->keys, "ad-1", sealed, sizeof sealed, out), TH_EKEY,
          "tampering detected");
  TAP_INT(th__unseal(db->keys, "ad-1", sealed, 10, out), TH_EKEY,
          "too short to be sealed");
  unsigned char h1[32], h2[32];
  th__token_hash(db->keys, "tok", 3, h1);
  th__token_hash(db->keys, "tok", 3, h2);
  TAP_OK(memcmp(h1, h2, 32) == 0, "token hash is deterministic");
  unsigned char plain[32];
  crypto_generichash(plain, 32, (const unsigned char *)"tok", 3, NULL, 0);
  TAP_OK(memcmp(h1, plain, 32) != 0, "token hash is keyed");
  unsigned char s1[32], s2[32];
  th__subkey(db->keys, 7, "testctx_", s1);
  th__subkey(db->keys, 8, "testctx_", s2);
  TAP_OK(memcmp(s1, s2, 32) != 0, "subkeys differ by id");
  /* Two handles on one key file share one keyring (and so one day's salt). */
  th_db *db2 = t_open("seal.db");
  TAP_OK(db->keys == db2->keys, "handles share the keyring");
  th_close(db2);
  th_close(db);
}

int main(void) {
  test_salts();
  test_pseudonyms();
  test_seal();
  return tap_done();
}
