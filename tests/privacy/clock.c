/*
 * clock.c: what time takes away, with a clock the test moves by hand.
 *
 * 1. Daily salts and backups. A backup taken on day 0 holds no salt (salts
 *    are never written to SQLite). On day 1 the day-0 rating can still be
 *    matched to its device by recomputing its token (the control: the
 *    method works while the salt exists). 48 hours after day 0 began the
 *    purge destroys day 0's salt, and then no file anywhere (database, WAL,
 *    shared memory, key file, salts file, both backups) holds it, it cannot
 *    be made again, and no salt that still exists turns the device into the
 *    day-0 token kept in the day-0 backup: the rating cannot be linked to
 *    the device any more, by anyone.
 * 2. A consultation's key after its retention period. While it exists the
 *    resident's pseudonym can be recomputed and their export lists their
 *    vote. key_days after the consultation closes the purge destroys the
 *    key: it cannot be unsealed, the pseudonym cannot be recomputed, the
 *    export shows nothing for that consultation, and neither the sealed key
 *    nor the pseudonym is left in the database or its WAL; the vote still
 *    counts. A backup taken before the purge still holds both (reported:
 *    erasure by key destruction completes only when such backups expire,
 *    which docs/operations.md and docs/privacy.md say).
 * 3. The server keeps the 48 hours without help. A server whose clock
 *    (running in real time) starts a few seconds before the midnight that
 *    ends a salt's 48 hours, with the daily purge interval: no rating comes
 *    in, yet just after midnight the salt is gone from memory and from the
 *    salts file (the server runs its purge just after each midnight UTC,
 *    not only once a day counted from its start); before midnight it was
 *    kept (the control).
 *
 * Built by tests/suites/99-privacy.sh against the library's objects (it
 * reaches th__ internals), with tests/unit/helpers.c for the scratch
 * directory and the test clock. `clock 1 3` runs parts 1 and 3 only (the
 * mutants suite runs the part that judges each mutant).
 */
#include "helpers.h"
#include "store/sqlite.h" /* white box: the handle's connection */

#include <dirent.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#define T0 INT64_C(1772445600000) /* Mon 2026-03-02T10:00:00Z */
#define DAY TH__DAY_MS
#define PAGE "https://www.camden.gov.uk/council-tax"

/* How many files in the test directory hold `needle`; their names go into
 * `where` (for the message). `count` gets how many files were read. */
static int files_holding(const void *needle, size_t n, char *where,
                         size_t cap, int *count) {
  DIR *d = opendir(t_dir());
  int hits = 0;
  *count = 0;
  where[0] = '\0';
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    size_t len = 0;
    unsigned char *data = t_read_file(t_path(e->d_name), &len);
    if (data == NULL)
      continue;
    (*count)++;
    if (t_contains(data, len, needle, n)) {
      hits++;
      size_t used = strlen(where);
      snprintf(where + used, cap - used, "%s%s", used ? ", " : "", e->d_name);
    }
    free(data);
  }
  if (d)
    closedir(d);
  return hits;
}

static int file_holds(const char *name, const void *needle, size_t n) {
  size_t len = 0;
  unsigned char *data = t_read_file(t_path(name), &len);
  int in = data && t_contains(data, len, needle, n);
  free(data);
  return in;
}

static int64_t int_of(th_db *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  int64_t v = -1;
  if (sqlite3_prepare_v2(th__sql(db), sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

static void test_salts_and_backups(void) {
  t_clock = T0;
  th_db *db = t_open("salts.db");
  t_site(db, "camden", 1, 0);
  int64_t day0 = th__day(T0);
  th_who dev = {.ip = "203.0.113.45",
                .user_agent = "Mozilla/5.0 (X11; Linux x86_64) clock-test"};
  th_feedback fb = {.size = sizeof(fb), .page = PAGE, .useful = 0, .rating = 2};
  /* The 0.1.0 widget's protocol keeps the device token itself: the
   * strongest link from a rating to a device that anything stores. */
  TAP_INT(th__feedback_legacy(db, "camden", &dev, &fb, false, NULL),
          TH_RECORDED, "day 0: a device rates a page (the 0.1.0 widget)");
  TAP_INT(th_feedback_answer(db, "camden", &dev, &fb, "clock-key", NULL),
          TH_RECORDED, "and again with an idempotency key (the 0.2 widget)");
  int64_t site_id = int_of(db, "SELECT id FROM sites WHERE slug = 'camden'");
  int64_t page_id = int_of(db, "SELECT id FROM pages");
  unsigned char salt0[TH__SALT_BYTES];
  TAP_INT(th__salt_for_day(db->keys, day0, t_clock, salt0), TH_OK,
          "day 0's salt exists");
  unsigned char token0[8];
  TAP_INT(th__device_token(db, site_id, page_id, &dev, day0, token0), TH_OK,
          "the device's day-0 token, recomputed");

  char where[512];
  int nfiles = 0;
  TAP_OK(th_backup(db, t_path("backup-day0.db")) == TH_OK,
         "a backup taken on day 0");
  TAP_OK(!file_holds("backup-day0.db", salt0, sizeof salt0),
         "the day-0 backup holds no salt");
  TAP_OK(!file_holds("salts.db", salt0, sizeof salt0) &&
             !file_holds("salts.db-wal", salt0, sizeof salt0),
         "nor do the database and its WAL");
  TAP_OK(file_holds("salts.db.key.salts", salt0, sizeof salt0),
         "control: the 0600 salts file beside the key holds it on day 0");
  unsigned char stored[8];
  TAP_OK(t_blob("backup-day0.db",
                "SELECT dedup FROM feedback WHERE dedup IS NOT NULL", stored,
                sizeof stored) == 8 &&
             memcmp(stored, token0, 8) == 0,
         "the day-0 backup keeps the day-0 token of that rating");

  /* Day 1: while day 0's salt lives, the rating can be linked. */
  t_clock = T0 + DAY;
  TAP_INT(th__feedback_legacy(db, "camden", &dev, &fb, false, NULL),
          TH_RECORDED,
          "day 1: the same device answers again (a new day, a new record)");
  TAP_OK(th_backup(db, t_path("backup-day1.db")) == TH_OK,
         "a backup taken on day 1");
  unsigned char again[8];
  TAP_OK(th__device_token(db, site_id, page_id, &dev, day0, again) == TH_OK &&
             memcmp(again, stored, 8) == 0,
         "control: on day 1 the day-0 rating in the backup is matched to "
         "the device by recomputing its token");

  /* 48 hours after day 0 began. */
  t_clock = (day0 + 2) * DAY;
  th_purge_report r = TH_PURGE_REPORT_INIT;
  TAP_INT(th_purge(db, &r), TH_OK, "the purge at the start of day 2");
  TAP_INT(r.salts, 1, "it destroyed one salt");
  TAP_INT(th__salts_held(db->keys, day0), 0, "day 0's salt is not in memory");
  th_close(db);
  db = t_open("salts.db"); /* and not back after a restart */
  TAP_INT(th__salts_held(db->keys, day0), 0,
          "nor after a restart (nothing reloads it)");
  int hits = files_holding(salt0, sizeof salt0, where, sizeof where, &nfiles);
  TAP_OK(hits == 0 && nfiles >= 5,
         "after 48 h no file holds day 0's salt (%d files scanned: database, "
         "WAL, key, salts, backups)%s%s",
         nfiles, hits ? "; found in: " : "", hits ? where : "");
  unsigned char tmp[TH__SALT_BYTES];
  TAP_INT(th__salt_for_day(db->keys, day0, t_clock, tmp), TH_EINVAL,
          "day 0's salt cannot be made again");
  TAP_OK(th__device_token(db, site_id, page_id, &dev, day0, again) < 0,
         "so the device's day-0 token cannot be recomputed");
  int linked = 0;
  for (int64_t d = day0 + 1; d <= day0 + 2; d++) {
    if (th__salts_held(db->keys, d) == 0)
      continue;
    if (th__device_token(db, site_id, page_id, &dev, d, again) == TH_OK &&
        memcmp(again, stored, 8) == 0)
      linked++;
  }
  TAP_OK(linked == 0 && th__salts_held(db->keys, -1) >= 1,
         "no salt that still exists links the day-0 rating in the backup "
         "to the device");
  TAP_INT(int_of(db, "SELECT count(*) FROM feedback WHERE (dedup IS NOT NULL"
                     " OR idem IS NOT NULL OR verifier IS NOT NULL)"
                     " AND day < (SELECT max(day) FROM feedback)"),
          0, "the live database keeps no token, selector or verifier of an "
             "earlier day");
  th_page_summary *s = NULL;
  th_feedback_summary(db, "camden", PAGE, &s);
  TAP_OK(s && s->no == 3 && s->ratings[1] == 3,
         "the ratings themselves still count");
  th_page_summary_free(s);
  th_close(db);
  sodium_memzero(salt0, sizeof salt0);
}

static void test_consultation_key(void) {
  t_clock = T0;
  th_db *db = t_open("keys.db");
  th_site site = {.size = sizeof(th_site),
                  .slug = "camden",
                  .name = "Camden",
                  .origins = "https://www.camden.gov.uk",
                  .key_days = 30};
  TAP_INT(th_site_create(db, "test", &site, NULL), TH_RECORDED,
          "a site that keeps consultation keys 30 days after closing");
  th_consultation c = {.size = sizeof(th_consultation),
                       .slug = "parks",
                       .title = "Parks for everyone",
                       .opens = T0 - DAY,
                       .closes = T0 + 10 * DAY};
  int64_t cid = 0;
  TAP_INT(th_consultation_create(db, "camden", "planner", &c, &cid),
          TH_RECORDED, "a consultation closing on day 10");
  th_who author = {.resident = "author-8812-clocktest"};
  th_idea_new n = {.size = sizeof(n), .consultation = "parks", .title = "A bench by the pond"};
  int64_t idea = 0;
  TAP_INT(th_idea_submit(db, "camden", &author, &n, &idea), TH_RECORDED,
          "an idea");
  const char *resident = "resident-4471-clocktest";
  th_who who = {.resident = resident};
  TAP_INT(th_vote(db, "camden", &who, idea, 1, NULL), TH_RECORDED,
          "a resident votes");

  unsigned char key[TH__KEY_BYTES], pseud[TH__PSEUDONYM_BYTES];
  int kind = -1;
  TAP_OK(th__consultation_key(db, cid, key) == TH_OK &&
             th__pseudonym(key, &who, pseud, &kind) == TH_OK && kind == 0,
         "while the key exists the resident's pseudonym is recomputed");
  sodium_memzero(key, sizeof key);
  char *json = NULL;
  TAP_OK(th_resident_export(db, "camden", resident, &json) == TH_OK && json &&
             strstr(json, "\"parks\"") != NULL,
         "and their export lists the vote in \"parks\"");
  th_free(json);
  unsigned char sealed[256];
  size_t sealed_len = t_blob("keys.db",
                              "SELECT pkey FROM consultations WHERE slug = "
                              "'parks'",
                              sealed, sizeof sealed);
  TAP_OK(sealed_len > TH__SEALED_OVERHEAD, "the key is stored sealed");
  TAP_OK(th_backup(db, t_path("keys-before.db")) == TH_OK,
         "a backup before the purge");
  char where[512];
  int nfiles = 0;
  TAP_OK(files_holding(pseud, sizeof pseud, where, sizeof where, &nfiles) > 0,
         "control: the pseudonym is found in the files (%s)", where);

  /* key_days after closing, to the millisecond, and one more. */
  t_clock = c.closes + 30 * DAY + 1;
  th_purge_report r = TH_PURGE_REPORT_INIT;
  TAP_INT(th_purge(db, &r), TH_OK, "the purge 30 days after closing");
  TAP_INT(r.keys, 1, "it destroyed the consultation's key");
  unsigned char k2[TH__KEY_BYTES];
  TAP_INT(th__consultation_key(db, cid, k2), TH_EKEY,
          "the key can no longer be unsealed: the pseudonym cannot be "
          "recomputed");
  json = NULL;
  TAP_OK(th_resident_export(db, "camden", resident, &json) == TH_OK && json &&
             strstr(json, "\"parks\"") == NULL,
         "the resident's export shows nothing of \"parks\"");
  th_free(json);
  th_idea *i = NULL;
  th_idea_get(db, "camden", idea, &i);
  TAP_OK(i && i->up == 1, "the vote still counts, anonymous for good");
  th_idea_free(i);
  th_close(db);
  const char *live[] = {"keys.db", "keys.db-wal", "keys.db-shm"};
  int left = 0;
  for (int k = 0; k < 3; k++)
    left += file_holds(live[k], pseud, sizeof pseud) +
            file_holds(live[k], sealed, sealed_len);
  TAP_INT(left, 0,
          "neither the pseudonym nor the sealed key is left in the database, "
          "its WAL or shared memory");
  TAP_OK(file_holds("keys-before.db", sealed, sealed_len),
         "a backup taken before the purge still holds the sealed key: "
         "erasure completes when such backups expire (docs/operations.md)");
}


/* ---- 3. the server's own purge, just after midnight ------------------------ */

static th_time real_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (th_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static th_time run_base, run_started;
static th_time running_now(void *unused) {
  (void)unused;
  return run_base + (real_ms() - run_started);
}

typedef struct midnight_test {
  th_db *db;
  th_server *srv;
  int64_t day0;
  unsigned char salt0[TH__SALT_BYTES];
  int before, after, file_after, purges;
  uv_timer_t before_t, after_t;
} midnight_test;

static void purge_log(void *data, const char *line) {
  midnight_test *m = data;
  if (strstr(line, "\"retention purge\""))
    m->purges++;
}

static void midnight_before(uv_timer_t *t) {
  midnight_test *m = t->data;
  m->before = th__salts_held(m->db->keys, m->day0);
}

static void server_closed(th_server *srv, void *data) {
  (void)srv;
  (void)data;
}

static void midnight_after(uv_timer_t *t) {
  midnight_test *m = t->data;
  m->after = th__salts_held(m->db->keys, m->day0);
  m->file_after = file_holds("midnight.db.key.salts", m->salt0,
                             sizeof m->salt0);
  th_server_close(m->srv, server_closed, NULL);
  uv_close((uv_handle_t *)&m->before_t, NULL);
  uv_close((uv_handle_t *)&m->after_t, NULL);
}

static void test_server_purges_at_midnight(void) {
  midnight_test m = {0};
  t_clock = T0;
  m.day0 = th__day(T0);
  th_db *db = t_open("midnight.db");
  t_site(db, "camden", 1, 0);
  th_who dev = {.ip = "203.0.113.46",
                .user_agent = "Mozilla/5.0 (X11; Linux x86_64) midnight-test"};
  th_feedback fb = {.size = sizeof(fb), .page = PAGE, .useful = 1, .rating = 4};
  TAP_INT(th_feedback_record(db, "camden", &dev, &fb), TH_RECORDED,
          "day 0: a device rates a page");
  TAP_INT(th__salt_for_day(db->keys, m.day0, t_clock, m.salt0), TH_OK,
          "day 0's salt");
  th_close(db);

  /* The server's clock: 6.5 s before the midnight that begins day 2. The
   * purge runs 5 s after start (before midnight: the salt must stay), and
   * must run again just after midnight; the daily interval alone would
   * not come back for another day. */
  run_base = (m.day0 + 2) * DAY - 6500;
  run_started = real_ms();
  th_open_options o = {.size = sizeof(o), .now = running_now};
  m.db = NULL;
  TAP_INT(th_open(&m.db, t_path("midnight.db"), &o), TH_OK,
          "the server's database, its clock at 23:59:53.5 on day 1");
  TAP_INT(th__salts_held(m.db->keys, m.day0), 1,
          "day 0's salt is back from the salts file (a restart keeps it)");
  uv_loop_t loop;
  uv_loop_init(&loop);
  th_server_config cfg = {.size = sizeof(cfg), .port = -1,
                          .purge_interval_s = 86400,
                          .log = purge_log,
                          .log_data = &m,
                          .log_level = 3};
  TAP_INT(th_server_new(&m.srv, m.db, &loop, &cfg), TH_OK,
          "a server with a daily purge");
  uv_timer_init(&loop, &m.before_t);
  uv_timer_init(&loop, &m.after_t);
  m.before_t.data = m.after_t.data = &m;
  uv_timer_start(&m.before_t, midnight_before, 6000, 0); /* 23:59:59.5 */
  uv_timer_start(&m.after_t, midnight_after, 9500, 0);   /* 00:00:03 */
  uv_run(&loop, UV_RUN_DEFAULT);
  TAP_INT(uv_loop_close(&loop), 0, "the loop closes cleanly");
  TAP_OK(m.purges >= 1, "the server ran its first purge before midnight");
  TAP_INT(m.before, 1,
          "control: half a second before midnight, with no rating since, "
          "day 0's salt is still held (47 h 59 min old)");
  TAP_INT(m.after, 0,
          "3 s after midnight, with no rating to trigger it, the server's "
          "purge destroyed day 0's salt in memory (%d purges)",
          m.purges);
  TAP_INT(m.file_after, 0, "and in the salts file");
  th_close(m.db);
  sodium_memzero(m.salt0, sizeof m.salt0);
}

/* clock [PART...]: every part, or only those named (1, 2, 3). */
int main(int argc, char **argv) {
  if (sodium_init() < 0)
    return 1;
  void (*const parts[])(void) = {test_salts_and_backups, test_consultation_key,
                                 test_server_purges_at_midnight};
  for (int p = 1; p <= 3; p++) {
    bool run = argc < 2;
    for (int a = 1; a < argc; a++)
      run |= atoi(argv[a]) == p;
    if (run)
      parts[p - 1]();
  }
  return tap_done();
}
