/*
 * rotate.c: th_key_rotate: everything sealed under the old key file opens
 * under the new one and no longer under the old; pseudonyms stay; staff
 * tokens are revoked; the old sealed bytes leave the database file and its
 * WAL; nothing changes when it fails (another connection open, a value that
 * does not open, a key file that exists); the backup it takes holds the
 * database as it was, under the old key.
 */
#include "helpers.h"
#include "internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static th_db *open_with(const char *name, const char *key, int busy_ms,
                        int *rc) {
  th_db *db = NULL;
  th_open_options o = {.size = sizeof(o),
      .now = t_now, .key_file = key, .busy_timeout_ms = busy_ms};
  *rc = th_open(&db, t_path(name), &o);
  return db;
}

static int in_files(const unsigned char *needle, size_t n) {
  size_t fl = 0, wl = 0;
  unsigned char *f = t_read_file(t_path("rot.db"), &fl);
  unsigned char *w = t_read_file(t_path("rot.db-wal"), &wl);
  int found =
      t_contains(f, fl, needle, n) || (w && t_contains(w, wl, needle, n));
  free(f);
  free(w);
  return found;
}

static int vote(th_db *db, const char *resident, int64_t idea) {
  th_who who = {.resident = resident};
  return th_vote(db, "camden", &who, idea, 1, NULL);
}

/* The rotation as SQLite does it, end to end: the backup it takes first
 * (th_backup), SQLite's exclusive lock refusing it while a second
 * connection is open, damage made with sqlite3, and the old sealed values
 * looked for in the file and its WAL. */
static void test_rotation_on_sqlite(void) {
  T_SQLITE_ONLY("the backup into a file (th_backup), SQLite's exclusive "
                "lock against a second connection, damage made with "
                "sqlite3 and the file's and WAL's bytes; test_rotation "
                "checks what the rotation does on both engines");
  th_db *db = t_open("rot.db");
  char old_key[512], new_key[512], backup[512]; /* t_path's buffers rotate */
  snprintf(old_key, sizeof old_key, "%s", t_path("rot.db.key"));
  snprintf(new_key, sizeof new_key, "%s", t_path("new.key"));
  snprintf(backup, sizeof backup, "%s", t_path("rot.backup"));
  t_site(db, "camden", 0, 0);
  unsigned char secret[40];
  for (size_t i = 0; i < sizeof secret; i++)
    secret[i] = (unsigned char)(i * 7 + 1);
  T_CHECK(db, th_site_set_secret(db, "camden", secret, sizeof secret));
  th_site other = {
      .size = sizeof(th_site), .slug = "islington", .name = "Islington"};
  T_CHECK(db, th_site_create(db, NULL, &other, NULL));
  th_consultation c = {
      .size = sizeof(th_consultation), .slug = "parks", .title = "Parks"};
  T_CHECK(db, th_consultation_create(db, "camden", NULL, &c, NULL));
  th_who author = {.resident = "author-1"};
  th_idea_new n = {.size = sizeof(n), .title = "More benches", .body = "By the pond."};
  int64_t idea = 0;
  T_CHECK(db, th_idea_submit(db, "camden", &author, &n, &idea));
  TAP_INT(vote(db, "resident-1", idea), TH_RECORDED, "a resident votes");
  char *tok = NULL;
  int64_t tok_id = 0;
  T_CHECK(db, th_token_create(db, "t", NULL, TH_ROLE_ADMIN, "ops", 0, &tok,
                              &tok_id));

  unsigned char old_secret[400], old_pkey[400];
  size_t ls = t_blob("rot.db", "SELECT secret FROM sites WHERE slug = 'camden'",
                     old_secret, sizeof old_secret);
  size_t lp =
      t_blob("rot.db", "SELECT pkey FROM consultations WHERE slug = 'parks'",
             old_pkey, sizeof old_pkey);
  TAP_OK(ls > 40 && lp > 32, "sealed values read (%zu and %zu bytes)", ls, lp);

  /* ---- refused, and nothing changes --------------------------------- */
  TAP_INT(th_key_rotate(db, "t", NULL, NULL, NULL), TH_EINVAL, "no key file");
  TAP_INT(th_key_rotate(db, "t", old_key, NULL, NULL), TH_EEXIST,
          "an existing file is never overwritten");
  int rc;
  th_db *other_db = open_with("rot.db", NULL, 100, &rc);
  TAP_INT(rc, TH_OK, "a second handle (as a running server holds one)");
  th_db *busy = open_with("rot.db", NULL, 100, &rc);
  rc = th_key_rotate(busy, "t", new_key, backup, NULL);
  TAP_INT(rc, TH_EBUSY, "refused while another connection has it open");
  TAP_OK(strstr(th_errmsg(busy), "server running") != NULL, "says why: %s",
         th_errmsg(busy));
  TAP_OK(access(new_key, F_OK) != 0 && access(backup, F_OK) != 0,
         "no new key file and no backup were left");
  th_close(other_db);
  /* The refused handle stays open, as an embedding program's would. */
  sqlite3 *fresh = NULL;
  sqlite3_open(t_path("rot.db"), &fresh);
  sqlite3_busy_timeout(fresh, 200);
  TAP_INT(sqlite3_exec(fresh,
                       "SELECT count(*) FROM sites; BEGIN IMMEDIATE; "
                       "UPDATE sites SET name = name; COMMIT",
                       NULL, NULL, NULL),
          SQLITE_OK,
          "the refused handle holds no lock: a new connection reads and "
          "writes");
  sqlite3_close(fresh);
  TAP_INT(th_site_get_secret(busy, "camden", (unsigned char[64]){0}, 64,
                             &(size_t){0}),
          TH_OK, "and the refused handle still works");
  th_close(busy);
  TAP_INT(vote(db, "resident-2", idea), TH_RECORDED,
          "the database is unlocked again: a vote is recorded");

  /* A value that does not open: the whole rotation is refused. */
  sqlite3 *raw = NULL;
  sqlite3_open(t_path("rot.db"), &raw);
  sqlite3_busy_timeout(raw, 1000);
  TAP_INT(sqlite3_exec(raw,
                       "INSERT INTO consultations (site_id, slug, title, "
                       "description, ward, opens, pkey, created) SELECT "
                       "site_id, 'broken', 'Broken', '', '', opens, "
                       "zeroblob(72), created FROM consultations WHERE slug "
                       "= 'parks'",
                       NULL, NULL, NULL),
          SQLITE_OK, "a consultation whose sealed key is damaged");
  sqlite3_close(raw);
  rc = th_key_rotate(db, "t", new_key, backup, NULL);
  TAP_INT(rc, TH_EKEY, "refused: %s", th_errmsg(db));
  TAP_OK(access(new_key, F_OK) != 0 && access(backup, F_OK) != 0,
         "the new key file and the backup were removed");
  size_t got = 0;
  unsigned char buf[64];
  TAP_INT(th_site_get_secret(db, "camden", buf, sizeof buf, &got), TH_OK,
          "the site secret still opens under the old key");
  TAP_INT(th_token_check(db, tok, NULL, NULL), TH_OK, "the token still works");
  sqlite3_open(t_path("rot.db"), &raw);
  sqlite3_exec(raw, "DELETE FROM consultations WHERE slug = 'broken'", NULL,
               NULL, NULL);
  sqlite3_close(raw);

  /* ---- rotated ------------------------------------------------------- */
  th_key_rotation r = TH_KEY_ROTATION_INIT;
  rc = th_key_rotate(db, "ops desk", new_key, backup, &r);
  if (rc < 0)
    printf("# %s\n", th_errmsg(db));
  TAP_INT(rc, TH_OK, "rotated");
  TAP_INT((int)r.site_secrets, 1, "one site secret re-sealed");
  TAP_INT((int)r.consultation_keys, 3,
          "three consultation keys re-sealed (two ideas boards and parks)");
  TAP_INT((int)r.tokens_revoked, 1, "one staff token revoked");
  struct stat sb;
  TAP_OK(stat(new_key, &sb) == 0 && sb.st_size == 32 &&
             (sb.st_mode & 0777) == 0600,
         "the new key file: 32 bytes, mode 0600");
  TAP_OK(!in_files(old_secret, ls) && !in_files(old_pkey, lp),
         "the old sealed values are in neither the database nor its WAL");
  TAP_INT(th_site_get_secret(db, "camden", buf, sizeof buf, &got), TH_OK,
          "this handle opens the site secret under the new key");
  TAP_OK(got == sizeof secret && memcmp(buf, secret, got) == 0,
         "the same secret");
  TAP_INT(vote(db, "resident-1", idea), TH_DUPLICATE,
          "a resident who voted is still recognised (pseudonyms unchanged)");
  TAP_INT(th_token_check(db, tok, NULL, NULL), TH_EAUTH,
          "the staff token no longer works");
  th_db *like = NULL;
  TAP_INT(th__db_open_like(db, TH_OPEN_READONLY, &like), TH_OK,
          "a handle opened like this one (as th_server_new does)");
  TAP_INT(th_site_get_secret(like, "camden", buf, sizeof buf, &got), TH_OK,
          "opens the new key file: the site secret opens");
  th_close(like);
  th_audit_list *al = NULL;
  T_CHECK(db, th_audit_list_get(db, "islington", 0, 10, &al));
  TAP_OK(al && al->count > 0 &&
             strcmp(al->items[0].action, "key:rotate") == 0 &&
             strcmp(al->items[0].actor, "ops desk") == 0,
         "each site's audit log records it");
  th_audit_list_free(al);
  TAP_INT(vote(db, "resident-3", idea), TH_RECORDED,
          "unlocked after it: a vote is recorded");
  th_close(db);

  db = open_with("rot.db", new_key, 0, &rc);
  TAP_INT(rc, TH_OK, "reopened with the new key file");
  TAP_INT(th_site_get_secret(db, "camden", buf, sizeof buf, &got), TH_OK,
          "the site secret opens");
  TAP_INT(vote(db, "resident-2", idea), TH_DUPLICATE,
          "a resident who voted is recognised");
  TAP_INT(vote(db, "resident-4", idea), TH_RECORDED, "a new vote is recorded");
  th_close(db);

  db = open_with("rot.db", old_key, 0, &rc);
  TAP_INT(th_site_get_secret(db, "camden", buf, sizeof buf, &got), TH_EKEY,
          "with the old key file the site secret does not open");
  TAP_INT(vote(db, "resident-5", idea), TH_EKEY,
          "and no vote can be recorded: %s", th_errmsg(db));
  th_close(db);

  db = open_with("rot.backup", old_key, 0, &rc);
  TAP_INT(rc, TH_OK, "the backup taken first opens with the old key file");
  TAP_INT(th_site_get_secret(db, "camden", buf, sizeof buf, &got), TH_OK,
          "and holds the secret sealed under it");
  TAP_INT(th_token_check(db, tok, NULL, NULL), TH_OK,
          "and the token as it was before the rotation");
  th_close(db);
  th_free(tok);
}

/* th_open on the test database `name` with the key file `key`. */
static th_db *open_keyed(const char *name, const char *key, int *rc) {
  th_db *db = NULL;
  th_open_options o = {.size = sizeof(o), .now = t_now, .key_file = key};
  *rc = th_open(&db, t_target(name), &o);
  return db;
}

/* What a rotation does, on either engine (no backup: th_backup is
 * SQLite's): every sealed value re-sealed under the new key file, as the
 * database holds it; the handle and a reopened one work under the new key
 * and not under the old; residents still recognised; staff tokens revoked;
 * each site's audit log told. */
static void test_rotation(void) {
  th_db *db = t_open("rot2.db");
  char old_key[512], new_key[512]; /* t_path's buffers rotate */
  snprintf(old_key, sizeof old_key, "%s", t_path("rot2.db.key"));
  snprintf(new_key, sizeof new_key, "%s", t_path("new2.key"));
  t_site(db, "camden", 0, 0);
  unsigned char secret[40];
  for (size_t i = 0; i < sizeof secret; i++)
    secret[i] = (unsigned char)(i * 5 + 3);
  T_CHECK(db, th_site_set_secret(db, "camden", secret, sizeof secret));
  th_site other = {
      .size = sizeof(th_site), .slug = "islington", .name = "Islington"};
  T_CHECK(db, th_site_create(db, NULL, &other, NULL));
  th_consultation c = {
      .size = sizeof(th_consultation), .slug = "parks", .title = "Parks"};
  T_CHECK(db, th_consultation_create(db, "camden", NULL, &c, NULL));
  th_who author = {.resident = "author-1"};
  th_idea_new n = {.size = sizeof(n), .title = "More benches", .body = "By the pond."};
  int64_t idea = 0;
  T_CHECK(db, th_idea_submit(db, "camden", &author, &n, &idea));
  TAP_INT(vote(db, "resident-1", idea), TH_RECORDED, "rotation: a resident votes");
  char *tok = NULL;
  int64_t tok_id = 0;
  T_CHECK(db, th_token_create(db, "t", NULL, TH_ROLE_ADMIN, "ops", 0, &tok,
                              &tok_id));
  unsigned char old_secret[400], old_pkey[400], now[400];
  size_t ls = t_blob("rot2.db", "SELECT secret FROM sites WHERE slug = 'camden'",
                     old_secret, sizeof old_secret);
  size_t lp =
      t_blob("rot2.db", "SELECT pkey FROM consultations WHERE slug = 'parks'",
             old_pkey, sizeof old_pkey);
  TAP_OK(ls > 40 && lp > 32, "rotation: sealed values read (%zu and %zu bytes)",
         ls, lp);

  th_key_rotation r = TH_KEY_ROTATION_INIT;
  int rc = th_key_rotate(db, "ops desk", new_key, NULL, &r);
  if (rc < 0)
    printf("# %s\n", th_errmsg(db));
  TAP_INT(rc, TH_OK, "rotation: rotated, no backup asked for");
  TAP_INT((int)r.site_secrets, 1, "rotation: one site secret re-sealed");
  TAP_INT((int)r.consultation_keys, 3,
          "rotation: three consultation keys re-sealed");
  TAP_INT((int)r.tokens_revoked, 1, "rotation: one staff token revoked");
  struct stat sb;
  TAP_OK(stat(new_key, &sb) == 0 && sb.st_size == 32 &&
             (sb.st_mode & 0777) == 0600,
         "rotation: the new key file: 32 bytes, mode 0600");
  size_t ns = t_blob("rot2.db", "SELECT secret FROM sites WHERE slug = "
                     "'camden'", now, sizeof now);
  TAP_OK(ns > 40 && !(ns == ls && memcmp(now, old_secret, ns) == 0),
         "rotation: the stored site secret is sealed anew");
  size_t np = t_blob("rot2.db", "SELECT pkey FROM consultations WHERE slug "
                     "= 'parks'", now, sizeof now);
  TAP_OK(np > 32 && !(np == lp && memcmp(now, old_pkey, np) == 0),
         "rotation: the stored consultation key is sealed anew");
  size_t got = 0;
  unsigned char buf[64];
  TAP_INT(th_site_get_secret(db, "camden", buf, sizeof buf, &got), TH_OK,
          "rotation: this handle opens the site secret under the new key");
  TAP_OK(got == sizeof secret && memcmp(buf, secret, got) == 0,
         "rotation: the same secret");
  TAP_INT(vote(db, "resident-1", idea), TH_DUPLICATE,
          "rotation: a resident who voted is still recognised");
  TAP_INT(th_token_check(db, tok, NULL, NULL), TH_EAUTH,
          "rotation: the staff token no longer works");
  th_audit_list *al = NULL;
  T_CHECK(db, th_audit_list_get(db, "islington", 0, 10, &al));
  TAP_OK(al && al->count > 0 &&
             strcmp(al->items[0].action, "key:rotate") == 0 &&
             strcmp(al->items[0].actor, "ops desk") == 0,
         "rotation: each site's audit log records it");
  th_audit_list_free(al);
  th_close(db);

  db = open_keyed("rot2.db", new_key, &rc);
  if (!TAP_INT(rc, TH_OK, "rotation: reopened with the new key file: %s",
               th_errmsg(db))) {
    th_close(db);
    th_free(tok);
    return; /* a handle th_open refused only tells why */
  }
  TAP_INT(th_site_get_secret(db, "camden", buf, sizeof buf, &got), TH_OK,
          "rotation: the site secret opens");
  TAP_INT(vote(db, "resident-2", idea), TH_RECORDED,
          "rotation: a new vote is recorded");
  TAP_INT(vote(db, "resident-1", idea), TH_DUPLICATE,
          "rotation: and an old voter recognised");
  th_close(db);

  db = open_keyed("rot2.db", old_key, &rc);
  if (!TAP_INT(rc, TH_OK, "rotation: the old key file still opens the "
               "database: %s", th_errmsg(db))) {
    th_close(db);
    th_free(tok);
    return;
  }
  TAP_INT(th_site_get_secret(db, "camden", buf, sizeof buf, &got), TH_EKEY,
          "rotation: with the old key file the site secret does not open");
  TAP_INT(vote(db, "resident-3", idea), TH_EKEY,
          "rotation: and no vote can be recorded");
  th_close(db);
  th_free(tok);
}

int main(void) {
  test_rotation();
  test_rotation_on_sqlite();
  return tap_done();
}
