/*
 * db.c: opening databases good and bad, migrations, pragmas, batches; days
 * and their dates (th__day, th__day_text).
 */
#include "helpers.h"
#include "store/sqlite.h" /* white box: the handle's connection */

#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int pragma_int(const char *path, const char *pragma) {
  sqlite3 *s = NULL;
  sqlite3_stmt *st = NULL;
  int v = -1;
  char sql[128];
  snprintf(sql, sizeof sql, "PRAGMA %s", pragma);
  if (sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(s);
  return v;
}

static void exec_raw(const char *path, const char *sql) {
  sqlite3 *s = NULL;
  sqlite3_open(path, &s);
  char *err = NULL;
  if (sqlite3_exec(s, sql, NULL, NULL, &err) != SQLITE_OK)
    printf("# raw sql failed: %s\n", err);
  sqlite3_free(err);
  sqlite3_close(s);
}

/* th_open on the test database `name` (t_target) as the test writes it for
 * SQLite, where o may be NULL (the defaults); on PostgreSQL o's key file
 * is the database's own unless o names another (t_options). */
static int open_as(th_db **db, const char *name, th_open_options *o) {
  th_open_options d = {.size = sizeof(d)};
  if (t_pg() && o == NULL)
    o = &d;
  return th_open(db, t_target(name), o ? t_options(name, o) : NULL);
}

static void test_versions(void) {
  TAP_STR(th_version_string(), PACKAGE_VERSION, "th_version_string");
  TAP_INT(th_version(),
          (TH_VERSION_MAJOR << 16) | (TH_VERSION_MINOR << 8) | TH_VERSION_PATCH,
          "th_version packs major.minor.patch");
  TAP_STR(th_strerror(TH_ENOTFOUND), "not found", "th_strerror");
  TAP_STR(th_strerror(-9999), "unknown error", "th_strerror unknown");
  TAP_STR(th_err_name(TH_EKEY), "TH_EKEY", "th_err_name");
  TAP_STR(th_err_name(TH_DUPLICATE), "TH_DUPLICATE", "th_err_name duplicate");
  TAP_STR(th_err_name(12345), "TH_EUNKNOWN", "th_err_name unknown");
  TAP_STR(th_strerror(TH_OK), "success", "th_strerror ok");
  TAP_STR(th_strerror(TH_RECORDED), "recorded", "th_strerror recorded");
  TAP_STR(th_strerror(TH_DUPLICATE), "already recorded", "th_strerror dup");
  TAP_STR(th_err_name(TH_OK), "TH_OK", "th_err_name ok");
  TAP_STR(th_err_name(TH_RECORDED), "TH_RECORDED", "th_err_name recorded");
  /* Every code in the table has a distinct name and a message. */
  int codes[] = {
#define T_CODE(name, value, text) TH_##name,
      TH_ERRNO_MAP(T_CODE)
#undef T_CODE
  };
  int named = 0;
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    named += strcmp(th_strerror(codes[i]), "unknown error") != 0 &&
             strncmp(th_err_name(codes[i]), "TH_E", 4) == 0;
  TAP_INT(named, (int)(sizeof codes / sizeof codes[0]),
          "every error code has a name and a message");
  th_free(NULL);
}

static void test_open_fresh(void) {
  th_db *db = t_open("fresh.db");
  TAP_INT(th_schema_version(db), th_schema_latest(), "fresh db is migrated");
  TAP_OK(th_schema_latest() >= 4, "at least four migrations are compiled in");
  TAP_STR(th_errmsg(db), "", "no error after a good open");
  TAP_INT(th_errcode(db), TH_OK, "errcode OK");
  TAP_INT(th_now(db), t_clock, "th_now uses the handle's clock");
  th_close(db);
  if (t_on_sqlite("test_open_fresh: application_id",
                  "a PRAGMA of the SQLite file; PostgreSQL's counterpart, "
                  "townhall_meta, is tests/pg/test_open.py's"))
    TAP_INT(pragma_int(t_path("fresh.db"), "application_id"), 0x5448414c,
            "application_id marks the file as townhall's");
  struct stat sb;
  TAP_OK(stat(t_path("fresh.db.key"), &sb) == 0 &&
             (sb.st_mode & 0777) == 0600 && sb.st_size == 32,
         "key file created beside the db: 32 bytes, mode 0600");
  /* Reopening does not migrate again and keeps the same key. */
  db = t_open("fresh.db");
  TAP_INT(th_schema_version(db), th_schema_latest(), "reopen keeps schema");
  th_close(db);
  TAP_INT(th_close(NULL), TH_OK, "th_close(NULL) is a no-op");
}

static void test_open_bad(void) {
  T_SQLITE_ONLY("missing, foreign and non-database SQLite files; "
                "PostgreSQL's counterparts (a wrong URI, a missing or "
                "foreign database) are tests/pg/test_open.py's");
  th_db *db = NULL;
  TAP_INT(th_open(NULL, "x", NULL), TH_EINVAL, "th_open without out");
  int rc = th_open(&db, "", NULL);
  TAP_INT(rc, TH_EINVAL, "empty path refused");
  th_close(db);

  th_open_options ro = {.size = sizeof(ro), .flags = TH_OPEN_READONLY, .now = t_now};
  rc = th_open(&db, t_path("absent.db"), &ro);
  TAP_INT(rc, TH_ENOTFOUND, "read-only open of a missing file");
  TAP_OK(strstr(th_errmsg(db), "does not exist") != NULL, "message says why");
  th_close(db);
  th_open_options nc = {.size = sizeof(nc), .flags = TH_OPEN_NOCREATE, .now = t_now};
  rc = th_open(&db, t_path("absent.db"), &nc);
  TAP_INT(rc, TH_ENOTFOUND, "NOCREATE open of a missing file");
  th_close(db);
  TAP_OK(access(t_path("absent.db"), F_OK) != 0, "no file was created");

  /* Not a database at all. */
  FILE *f = fopen(t_path("text.db"), "w");
  fputs("Dear councillor, this is a letter, not a database.\n", f);
  for (int i = 0; i < 200; i++)
    fputs("padding padding padding padding padding padding\n", f);
  fclose(f);
  rc = th_open(&db, t_path("text.db"), NULL);
  TAP_INT(rc, TH_ENOTDB, "a text file is not a townhall database");
  TAP_OK(strstr(th_errmsg(db), "not a townhall database") != NULL,
         "clear message: %s", th_errmsg(db));
  th_close(db);
  TAP_OK(access(t_path("text.db.key"), F_OK) != 0,
         "no key file is created beside a foreign file");

  /* Someone else's SQLite database. */
  exec_raw(t_path("other.db"), "CREATE TABLE customers (name TEXT);"
                               "INSERT INTO customers VALUES ('x');");
  size_t before_len = 0, after_len = 0;
  unsigned char *before = t_read_file(t_path("other.db"), &before_len);
  rc = th_open(&db, t_path("other.db"), NULL);
  TAP_INT(rc, TH_ENOTDB, "another application's SQLite file is refused");
  TAP_OK(strstr(th_errmsg(db), "not a townhall one") != NULL, "%s",
         th_errmsg(db));
  th_close(db);
  unsigned char *after = t_read_file(t_path("other.db"), &after_len);
  TAP_OK(before && after && before_len == after_len &&
             memcmp(before, after, before_len) == 0,
         "the foreign file is untouched");
  free(before);
  free(after);
}

static void test_newer(void) {
  T_SQLITE_ONLY("writes a newer PRAGMA user_version into the SQLite file "
                "by hand; tests/pg/test_open.py does it to townhall_meta");
  th_db *db = t_open("newer.db");
  th_close(db);
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA user_version=%d", th_schema_latest() + 1);
  exec_raw(t_path("newer.db"), sql);
  size_t before_len = 0, after_len = 0;
  unsigned char *before = t_read_file(t_path("newer.db"), &before_len);
  int rc = th_open(&db, t_path("newer.db"), NULL);
  TAP_INT(rc, TH_ENEWER, "a newer schema is refused");
  TAP_OK(strstr(th_errmsg(db), "newer townhall") != NULL, "%s", th_errmsg(db));
  th_close(db);
  unsigned char *after = t_read_file(t_path("newer.db"), &after_len);
  TAP_OK(before && after && before_len == after_len &&
             memcmp(before, after, before_len) == 0,
         "the newer file is untouched");
  free(before);
  free(after);
}

static void test_old_schema(void) {
  T_SQLITE_ONLY("downgrades the SQLite file to schema 1 by hand; "
                "PostgreSQL's schema begins at version 10, so no older "
                "PostgreSQL database exists to migrate");
  /* A database at schema 1 (as an older townhall left it) migrates forward
   * and keeps its data. */
  th_db *db = t_open("old.db");
  t_site(db, "camden", 0, 0);
  th_close(db);
  exec_raw(t_path("old.db"),
           "DROP TABLE staff_tokens; DROP TABLE audit; DROP TABLE feedback;"
           " DROP TABLE pages; DROP TABLE vote_days;"
           " ALTER TABLE ideas DROP COLUMN merged_from;"
           " ALTER TABLE sites DROP COLUMN wards;"
           " ALTER TABLE sites DROP COLUMN categories;"
           " ALTER TABLE sites DROP COLUMN contacts; DROP TABLE probe;"
           " PRAGMA user_version=1;");
  TAP_INT(pragma_int(t_path("old.db"), "user_version"), 1, "downgraded to 1");
  th_open_options nm = {.size = sizeof(nm), .flags = TH_OPEN_NOMIGRATE, .now = t_now};
  int rc = th_open(&db, t_path("old.db"), &nm);
  TAP_INT(rc, TH_ESTATE, "NOMIGRATE refuses a schema that needs migrating");
  th_close(db);
  rc = th_open(&db, t_path("new-nomigrate.db"), &nm);
  TAP_INT(rc, TH_OK, "NOMIGRATE still creates a new database");
  TAP_INT(th_schema_version(db), th_schema_latest(), "at the latest schema");
  th_close(db);
  th_open_options ro = {.size = sizeof(ro), .flags = TH_OPEN_READONLY, .now = t_now};
  rc = th_open(&db, t_path("old.db"), &ro);
  TAP_INT(rc, TH_ESTATE, "read-only refuses a schema that needs migrating");
  th_close(db);
  db = t_open("old.db");
  TAP_INT(th_schema_version(db), th_schema_latest(), "migrated to latest");
  th_site *s = NULL;
  TAP_INT(th_site_get(db, "camden", &s), TH_OK, "data survived migrating");
  th_site_free(s);
  th_close(db);
}

static void test_corrupt(void) {
  T_SQLITE_ONLY("overwrites pages of the SQLite file");
  th_db *db = t_open("corrupt.db");
  t_site(db, "camden", 0, 0);
  th_close(db);
  /* Overwrite the schema page (page 1 past the 100-byte header). */
  int fd = open(t_path("corrupt.db"), O_WRONLY);
  unsigned char junk[3000];
  for (size_t i = 0; i < sizeof junk; i++)
    junk[i] = (unsigned char)(i * 7 + 3);
  TAP_OK(pwrite(fd, junk, sizeof junk, 100) == (ssize_t)sizeof junk,
         "corrupted the schema page");
  close(fd);
  int rc = th_open(&db, t_path("corrupt.db"), NULL);
  TAP_OK(rc == TH_ECORRUPT || rc == TH_ENOTDB,
         "corrupt file refused (%s): %s", th_err_name(rc), th_errmsg(db));
  th_close(db);

  /* Corrupt the header magic: not even SQLite. */
  db = t_open("corrupt2.db");
  th_close(db);
  fd = open(t_path("corrupt2.db"), O_WRONLY);
  TAP_OK(pwrite(fd, "NOT SQLITE AT ALL", 16, 0) == 16, "corrupted the magic");
  close(fd);
  rc = th_open(&db, t_path("corrupt2.db"), NULL);
  TAP_INT(rc, TH_ENOTDB, "bad magic: %s", th_errmsg(db));
  th_close(db);
}

static void test_key_file(void) {
  th_db *db = t_open("k.db");
  th_close(db);
  chmod(t_path("k.db.key"), 0644);
  int rc = open_as(&db, "k.db", NULL);
  TAP_INT(rc, TH_EKEY, "a world-readable key file is refused");
  TAP_OK(strstr(th_errmsg(db), "chmod 600") != NULL, "says how to fix it: %s",
         th_errmsg(db));
  th_close(db);
  chmod(t_path("k.db.key"), 0640);
  rc = open_as(&db, "k.db", NULL);
  TAP_INT(rc, TH_EKEY, "a group-readable key file is refused");
  th_close(db);
  chmod(t_path("k.db.key"), 0600);
  rc = open_as(&db, "k.db", NULL);
  TAP_INT(rc, TH_OK, "0600 accepted again");
  th_close(db);

  /* Wrong size. */
  FILE *f = fopen(t_path("short.key"), "w");
  fputs("too short", f);
  fclose(f);
  chmod(t_path("short.key"), 0600);
  th_open_options o = {.size = sizeof(o), .key_file = t_path("short.key"), .now = t_now};
  rc = open_as(&db, "k2.db", &o);
  TAP_INT(rc, TH_EKEY, "a key file of the wrong size is refused");
  TAP_OK(strstr(th_errmsg(db), "exactly 32") != NULL, "%s", th_errmsg(db));
  th_close(db);

  /* Missing key file for an existing database, read-only: no creation. */
  th_open_options ro = {.size = sizeof(ro), .flags = TH_OPEN_READONLY,
                        .key_file = t_path("nokey.key"),
                        .now = t_now};
  rc = open_as(&db, "k.db", &ro);
  TAP_INT(rc, TH_EKEY, "read-only open with a missing key file");
  th_close(db);
  TAP_OK(access(t_path("nokey.key"), F_OK) != 0,
         "read-only open never creates a key file");

  /* A key file that is a directory. */
  mkdir(t_path("dir.key"), 0700);
  th_open_options dk = {.size = sizeof(dk), .key_file = t_path("dir.key"), .now = t_now};
  rc = open_as(&db, "k3.db", &dk);
  TAP_INT(rc, TH_EKEY, "a directory as key file is refused");
  th_close(db);

  /* Another key file: sealed data no longer opens. */
  db = t_open("k4.db");
  t_site(db, "camden", 0, 0);
  const char secret[] = "0123456789abcdef0123456789abcdef-secret";
  TAP_INT(th_site_set_secret(db, "camden", secret, sizeof secret - 1),
          TH_RECORDED, "site secret set");
  th_close(db);
  th_open_options other = {.size = sizeof(other), .key_file = t_path("other.key"), .now = t_now};
  rc = open_as(&db, "k4.db", &other);
  TAP_INT(rc, TH_EKEY, "an existing database with a missing key file is refused");
  th_close(db);
  TAP_OK(access(t_path("other.key"), F_OK) != 0,
         "and no new key file is made for it");
  /* Another key file, made by hand. */
  unsigned char k[32];
  for (size_t j = 0; j < sizeof k; j++)
    k[j] = (unsigned char)(j * 37 + 11);
  int kfd = open(t_path("other.key"), O_WRONLY | O_CREAT | O_EXCL, 0600);
  TAP_OK(kfd >= 0 && write(kfd, k, sizeof k) == (ssize_t)sizeof k,
         "another key file");
  if (kfd >= 0)
    close(kfd);
  rc = open_as(&db, "k4.db", &other);
  TAP_INT(rc, TH_OK, "opens with another key file");
  char buf[64];
  size_t len = 0;
  TAP_INT(th_site_get_secret(db, "camden", buf, sizeof buf, &len), TH_EKEY,
          "a secret sealed under another key file does not open");
  th_who who = {.resident = "r1"};
  th_idea_new idea = {.size = sizeof(idea), .title = "More benches"};
  TAP_INT(th_idea_submit(db, "camden", &who, &idea, NULL), TH_EKEY,
          "neither does a consultation key");
  th_close(db);
}

static void test_readonly_and_batch(void) {
  th_db *db = t_open("b.db");
  t_site(db, "camden", 0, 0);
  th_close(db);
  th_open_options ro = {.size = sizeof(ro), .flags = TH_OPEN_READONLY, .now = t_now};
  int rc = open_as(&db, "b.db", &ro);
  TAP_INT(rc, TH_OK, "read-only open");
  th_site s = {
      .size = sizeof(th_site), .slug = "islington", .name = "Islington"};
  TAP_INT(th_site_create(db, NULL, &s, NULL), TH_EREADONLY,
          "writes on a read-only handle are refused");
  TAP_INT(th_batch_begin(db), TH_EREADONLY, "and batches too");
  th_site *got = NULL;
  TAP_INT(th_site_get(db, "camden", &got), TH_OK, "reads work read-only");
  th_site_free(got);
  th_close(db);

  db = t_open("b.db");
  TAP_INT(th_batch_commit(db), TH_ESTATE, "commit without a batch");
  TAP_INT(th_batch_rollback(db), TH_ESTATE, "rollback without a batch");
  TAP_INT(th_batch_begin(db), TH_OK, "batch begins");
  TAP_INT(th_batch_begin(db), TH_ESTATE, "no nested batches");
  th_who who = {.resident = "r"};
  int64_t ids[50];
  int recorded = 0;
  for (int i = 0; i < 50; i++) {
    char title[32];
    snprintf(title, sizeof title, "Batch idea %d", i);
    th_idea_new n = {.size = sizeof(n), .title = title};
    recorded += th_idea_submit(db, "camden", &who, &n, &ids[i]) == TH_RECORDED;
  }
  TAP_INT(recorded, 50, "50 writes inside a batch");
  /* A failing write inside the batch rolls back alone. */
  th_idea_new bad = {.size = sizeof(bad), .title = "x"};
  TAP_INT(th_idea_submit(db, "camden", &who, &bad, NULL), TH_ETOOSHORT,
          "a bad write fails inside the batch");
  th_idea_new dup = {.size = sizeof(dup), .title = "Batch idea 7"};
  int64_t dup_id = 0;
  TAP_INT(th_idea_submit(db, "camden", &who, &dup, &dup_id), TH_DUPLICATE,
          "duplicates are seen inside the batch");
  TAP_INT(dup_id, ids[7], "the duplicate names the first idea");
  TAP_INT(th_vote(db, "camden", &who, ids[0], 1, NULL), TH_RECORDED,
          "a vote inside the batch");
  TAP_INT(th_vote(db, "camden", &who, 999999, 1, NULL), TH_ENOTFOUND,
          "a vote on a missing idea fails alone");
  TAP_INT(th_batch_commit(db), TH_OK, "batch commits");
  th_idea_query q = {.size = sizeof(q), .sort = TH_SORT_NEW, .limit = 100};
  th_idea_page *page = NULL;
  TAP_INT(th_idea_list(db, "camden", &q, &page), TH_OK, "list after batch");
  TAP_INT(page ? page->count : 0, 50, "all 50 committed");
  th_idea_page_free(page);

  TAP_INT(th_batch_begin(db), TH_OK, "second batch");
  th_idea_new gone = {.size = sizeof(gone), .title = "Rolled back idea"};
  TAP_INT(th_idea_submit(db, "camden", &who, &gone, NULL), TH_RECORDED,
          "write in a batch to roll back");
  TAP_INT(th_batch_rollback(db), TH_OK, "rollback");
  page = NULL;
  th_idea_list(db, "camden", &q, &page);
  TAP_INT(page ? page->count : 0, 50, "rolled-back write is gone");
  th_idea_page_free(page);

  /* Closing with a batch open rolls it back. */
  TAP_INT(th_batch_begin(db), TH_OK, "third batch");
  th_idea_new lost = {.size = sizeof(lost), .title = "Never committed"};
  th_idea_submit(db, "camden", &who, &lost, NULL);
  th_close(db);
  db = t_open("b.db");
  page = NULL;
  th_idea_list(db, "camden", &q, &page);
  TAP_INT(page ? page->count : 0, 50, "closing with an open batch rolls back");
  th_idea_page_free(page);
  th_close(db);
}

static int conn_pragma(th_db *db, const char *pragma) {
  sqlite3_stmt *st = NULL;
  int v = -1;
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA %s", pragma);
  if (sqlite3_prepare_v2(th__sql(db), sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

static void test_pragmas(void) {
  T_SQLITE_ONLY("reads SQLite's PRAGMAs on townhall's connection");
  th_db *db = t_open("p.db");
  TAP_INT(conn_pragma(db, "synchronous"), 2, "synchronous=FULL by default");
  TAP_INT(conn_pragma(db, "foreign_keys"), 1, "foreign keys on");
  TAP_INT(conn_pragma(db, "secure_delete"), 1, "secure_delete on");
  TAP_INT(conn_pragma(db, "busy_timeout"), 5000, "busy timeout 5 s");
  sqlite3_stmt *st = NULL;
  sqlite3_prepare_v2(th__sql(db), "PRAGMA journal_mode", -1, &st, NULL);
  sqlite3_step(st);
  TAP_STR((const char *)sqlite3_column_text(st, 0), "wal", "WAL mode");
  sqlite3_finalize(st);
  th_close(db);
  th_open_options o = {.size = sizeof(o), .synchronous = 1, .busy_timeout_ms = 250, .now = t_now};
  TAP_INT(th_open(&db, t_path("p.db"), &o), TH_OK, "open with NORMAL");
  TAP_INT(conn_pragma(db, "synchronous"), 1, "synchronous=NORMAL on request");
  TAP_INT(conn_pragma(db, "busy_timeout"), 250, "busy timeout as asked");
  th_close(db);
}

static void test_busy(void) {
  T_SQLITE_ONLY("holds SQLite's write lock from a second sqlite3 "
                "connection");
  /* Another process (here: another connection) holds the write lock: a
   * write waits for the busy timeout, then fails clearly. */
  th_db *db = NULL;
  th_open_options o = {.size = sizeof(o), .busy_timeout_ms = 100, .now = t_now};
  TAP_INT(th_open(&db, t_path("busy.db"), &o), TH_OK, "open");
  t_site(db, "camden", 0, 0);
  sqlite3 *other = NULL;
  sqlite3_open(t_path("busy.db"), &other);
  sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  th_site s = {
      .size = sizeof(th_site), .slug = "islington", .name = "Islington"};
  TAP_INT(th_site_create(db, NULL, &s, NULL), TH_EBUSY,
          "locked by another writer: TH_EBUSY");
  TAP_OK(strstr(th_errmsg(db), "locked") != NULL, "%s", th_errmsg(db));
  sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(other);
  TAP_INT(th_site_create(db, NULL, &s, NULL), TH_RECORDED,
          "works again once the lock is gone");
  th_close(db);
}

/* One day's text, and that it fits exactly where it should. */
static void day_text(int64_t day, const char *want) {
  char out[64];
  TAP_OK(th__day_text(day, out, sizeof out), "day %lld has a date",
         (long long)day);
  TAP_STR(out, want, "day %lld", (long long)day);
  size_t n = strlen(want);
  TAP_OK(th__day_text(day, out, n + 1) && strcmp(out, want) == 0,
         "%s fits in %zu bytes", want, n + 1);
  out[0] = 'x';
  TAP_OK(!th__day_text(day, out, n) && out[0] == '\0',
         "%s in %zu bytes: false and \"\"", want, n);
}

static void test_day_text(void) {
  day_text(0, "1970-01-01");
  day_text(-1, "1969-12-31");
  day_text(th__day(-1), "1969-12-31"); /* a millisecond before the epoch */
  day_text(th__day(INT64_C(86399999)), "1970-01-01");
  day_text(11016, "2000-02-29"); /* divisible by 400: a leap year */
  day_text(11017, "2000-03-01");
  day_text(47540, "2100-02-28"); /* divisible by 100: not a leap year */
  day_text(47541, "2100-03-01");
  day_text(20514, "2026-03-02");
  day_text(2932896, "9999-12-31");
  day_text(2932897, "10000-01-01"); /* past 9999: a fifth digit */
  day_text(th__day(INT64_MAX), "292278994-08-17");
  day_text(-719162, "0001-01-01");
  day_text(-719163, "0000-12-31");
  day_text(-719529, "-001-12-31"); /* before year 0: a sign */
  char out[1] = {'x'};
  TAP_OK(!th__day_text(0, out, 0) && out[0] == 'x', "cap 0: nothing written");
}

int main(void) {
  test_day_text();
  test_versions();
  test_open_fresh();
  test_open_bad();
  test_newer();
  test_old_schema();
  test_corrupt();
  test_key_file();
  test_readonly_and_batch();
  test_pragmas();
  test_busy();
  return tap_done();
}
