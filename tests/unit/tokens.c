/*
 * tokens.c: staff API tokens: shown once, stored as keyed hashes, checked in
 * constant time, scoped to a site, expiring, revocable; resident tokens
 * signed by th_resident_token and accepted by the server's verifier; and
 * backups.
 */
#include "helpers.h"
#include "internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_tokens(void) {
  th_db *db = t_open("tokens.db");
  t_site(db, "camden", 0, 0);
  th_site other = {
      .size = sizeof(th_site), .slug = "islington", .name = "Islington"};
  th_site_create(db, NULL, &other, NULL);
  TAP_STR(th_role_name(TH_ROLE_MODERATOR), "moderator", "role names");
  TAP_STR(th_role_name(TH_ROLE_ADMIN), "admin", "role names");
  TAP_OK(th_role_name(0) == NULL && th_role_name(4) == NULL, "out of range");
  TAP_INT(th_role_parse("councillor"), TH_ROLE_COUNCILLOR, "parse");
  TAP_INT(th_role_parse("mayor"), TH_EINVAL, "parse unknown");
  TAP_INT(th_role_parse(NULL), TH_EINVAL, "parse NULL");

  char *tok = NULL;
  int64_t id = 0;
  TAP_INT(th_token_create(db, "t", "camden", TH_ROLE_COUNCILLOR, "Cllr desk", 0,
                          &tok, &id),
          TH_RECORDED, "create a site token");
  TAP_OK(tok && strncmp(tok, "th_", 3) == 0 && strlen(tok) > 36,
         "token shape th_<id>_<secret>: %s", tok ? tok : "");
  th_token_info *info = NULL;
  TAP_INT(th_token_check(db, tok, "camden", &info), TH_OK, "checks");
  TAP_INT(info ? info->role : -1, TH_ROLE_COUNCILLOR, "role");
  TAP_STR(info ? info->site : NULL, "camden", "site");
  TAP_STR(info ? info->label : NULL, "Cllr desk", "label");
  TAP_OK(info && info->expires == t_clock + 90 * TH__DAY_MS, "90 days default");
  th_token_info_free(info);
  TAP_INT(th_token_check(db, tok, NULL, NULL), TH_OK, "any site");
  TAP_INT(th_token_check(db, tok, "islington", NULL), TH_EPERM,
          "another site: EPERM");

  /* The secret is never stored: not as text, not unkeyed-hashed. */
  th_close(db);
  /* th_<id>_<secret>: the secret is everything after the id. It is
   * base64url, so it may itself contain '_': split at the first one. */
  const char *secret = strchr(tok + 3, '_') + 1;
  TAP_INT((int)strlen(secret), 32, "the secret is 24 random bytes, 32 characters");
  unsigned char sha[32];
  crypto_hash_sha256(sha, (const unsigned char *)tok, strlen(tok));
  if (t_on_sqlite("test_tokens: the file's bytes",
                  "reads the SQLite file and its WAL; PostgreSQL's data "
                  "directory is the privacy scan's (issue 15)")) {
    size_t len = 0;
    unsigned char *file = t_read_file(t_path("tokens.db"), &len);
    size_t wl = 0;
    unsigned char *wal = t_read_file(t_path("tokens.db-wal"), &wl);
    TAP_OK(!t_contains(file, len, secret, strlen(secret)) &&
               !t_contains(wal, wl, secret, strlen(secret)) &&
               !t_contains(file, len, sha, 32) && !t_contains(wal, wl, sha, 32),
           "the token's secret is not in the database");
    free(file);
    free(wal);
  }
  db = t_open("tokens.db");

  /* Wrong, malformed, tampered. */
  char bad[128];
  snprintf(bad, sizeof bad, "%s", tok);
  bad[strlen(bad) - 1] ^= 1;
  TAP_INT(th_token_check(db, bad, "camden", NULL), TH_EAUTH, "one bit off");
  const char *malformed[] = {"", "th_", "th__x", "th_1", "th_x_abc",
                             "Bearer th_1_x", "th_99999_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                             "th_1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
  for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
    TAP_INT(th_token_check(db, malformed[i], NULL, NULL), TH_EAUTH,
            "malformed %zu refused", i);
  TAP_INT(th_token_check(db, NULL, NULL, NULL), TH_EAUTH, "NULL refused");
  TAP_STR(th_errmsg(db), "the staff token is not valid",
          "one message for every failure");

  /* Expiry. */
  char *short_tok = NULL;
  int64_t sid = 0;
  TAP_INT(th_token_create(db, "t", NULL, TH_ROLE_ADMIN, "all sites",
                          t_clock + 1000, &short_tok, &sid),
          TH_RECORDED, "a token for every site");
  TAP_INT(th_token_check(db, short_tok, "islington", NULL), TH_OK,
          "valid on any site");
  t_clock += 1000;
  TAP_INT(th_token_check(db, short_tok, NULL, NULL), TH_EAUTH, "expired");
  th_free(short_tok);

  /* Creation errors. */
  char *t2 = NULL;
  TAP_INT(th_token_create(db, "t", "camden", 9, "x", 0, &t2, NULL), TH_EINVAL,
          "bad role");
  TAP_INT(th_token_create(db, "t", "camden", TH_ROLE_ADMIN, "", 0, &t2, NULL),
          TH_EINVAL, "empty label");
  TAP_INT(th_token_create(db, "t", "nowhere", TH_ROLE_ADMIN, "x", 0, &t2, NULL),
          TH_ENOTFOUND, "unknown site");
  TAP_INT(th_token_create(db, "t", NULL, TH_ROLE_ADMIN, "x", t_clock - 1, &t2,
                          NULL),
          TH_EINVAL, "expiry in the past");
  TAP_INT(th_token_create(db, "t", NULL, TH_ROLE_ADMIN, "x",
                          t_clock + 800 * TH__DAY_MS, &t2, NULL),
          TH_EINVAL, "more than two years");
  TAP_INT(th_token_create(db, "t", NULL, TH_ROLE_ADMIN, "x", 0, NULL, NULL),
          TH_EINVAL, "no token_out");
  TAP_OK(t2 == NULL, "nothing returned on failure");

  /* Listing and revoking. */
  th_token_list *l = NULL;
  TAP_INT(th_token_list_all(db, &l), TH_OK, "list");
  TAP_INT(l ? (int)l->count : -1, 2, "two tokens");
  TAP_OK(l && l->items[0].id > l->items[1].id, "newest first");
  TAP_STR(l ? l->items[0].site : NULL, "", "every-site token has no site");
  th_token_list_free(l);
  TAP_INT(th_token_revoke(db, "t", id), TH_RECORDED, "revoke");
  TAP_INT(th_token_revoke(db, "t", id), TH_DUPLICATE, "revoke again");
  TAP_INT(th_token_revoke(db, "t", 424242), TH_ENOTFOUND, "revoke unknown");
  TAP_INT(th_token_check(db, tok, "camden", NULL), TH_EAUTH,
          "a revoked token no longer works");
  th_audit_list *a = NULL;
  th_audit_list_get(db, "camden", 0, 10, &a);
  int create = 0, revoke = 0;
  for (size_t i = 0; a && i < a->count; i++) {
    create += strcmp(a->items[i].action, "token:create") == 0;
    revoke += strcmp(a->items[i].action, "token:revoke") == 0;
  }
  TAP_OK(create == 1 && revoke == 1, "token creation and revocation audited");
  th_audit_list_free(a);
  th_free(tok);
  th_close(db);
}

static void test_backup(void) {
  T_SQLITE_ONLY("th_backup is SQLite's online backup into a file; on "
                "PostgreSQL it is refused in favour of pg_dump and the "
                "provider's backups (docs/design/postgresql.md)");
  th_db *db = t_open("backup.db");
  t_site(db, "camden", 0, 0);
  TAP_INT(th_backup(db, t_path("copy.db")), TH_OK, "backup");
  TAP_INT(th_backup(db, t_path("copy.db")), TH_EEXIST, "never overwrites");
  TAP_INT(th_backup(db, NULL), TH_EINVAL, "no destination");
  TAP_INT(th_backup(db, t_path("no/such/dir/x.db")), TH_EIO, "bad destination");
  TAP_OK(access(t_path("copy.db-wal"), F_OK) != 0, "a single file: no WAL");
  th_close(db);
  /* The copy opens with the original's key file and holds the data. */
  th_open_options o = {.size = sizeof(o), .key_file = t_path("backup.db.key"), .now = t_now};
  TAP_INT(th_open(&db, t_path("copy.db"), &o), TH_OK, "the copy opens");
  th_site *s = NULL;
  TAP_INT(th_site_get(db, "camden", &s), TH_OK, "with the data");
  th_site_free(s);
  th_close(db);
  /* A read-only handle on an old schema can still be backed up. */
  th_open_options ro = {.size = sizeof(ro), .flags = TH_OPEN_READONLY | TH_OPEN_ANY_SCHEMA,
                        .key_file = t_path("backup.db.key"),
                        .now = t_now};
  TAP_INT(th_open(&db, t_path("backup.db"), &ro), TH_OK, "read-only open");
  TAP_INT(th_backup(db, t_path("copy2.db")), TH_OK, "backup from read-only");
  th_close(db);
}

static void test_resident_token(void) {
  t_clock = INT64_C(1772445600000);
  th_db *db = t_open("resident-token.db");
  t_site(db, "camden", 0, 0);
  th_site other = {
      .size = sizeof(th_site), .slug = "nosecret", .name = "No secret"};
  th_site_create(db, NULL, &other, NULL);
  unsigned char secret[40];
  memset(secret, 7, sizeof secret);
  TAP_INT(th_site_set_secret(db, "camden", secret, sizeof secret), TH_RECORDED,
          "a site secret");
  char *jwt = NULL;
  /* A resident id a careless snprintf would break the JSON with. */
  const char *sub = "r\"42\\ \xc3\xa9";
  TAP_INT(th_resident_token(db, "camden", sub, 600, &jwt), TH_OK, "signed");
  char got[64] = "";
  const char *why = NULL;
  int64_t now_s = t_clock / 1000;
  TAP_INT(jwt ? th__jwt_verify(jwt, strlen(jwt), "camden", secret,
                               sizeof secret, now_s, got, sizeof got, &why)
              : -1,
          TH_OK, "the server accepts it");
  TAP_STR(got, sub, "sub round-trips, escaped");
  TAP_OK(jwt && th__jwt_verify(jwt, strlen(jwt), "islington", secret,
                               sizeof secret, now_s, got, sizeof got,
                               &why) != TH_OK,
         "another site's audience is refused");
  TAP_OK(jwt && th__jwt_verify(jwt, strlen(jwt), "camden", secret,
                               sizeof secret, now_s + 601 + 60, got,
                               sizeof got, &why) != TH_OK,
         "refused once expired");
  th_free(jwt);
  jwt = (char *)1;
  TAP_INT(th_resident_token(db, "camden", "r", 3601, &jwt), TH_EINVAL,
          "over an hour");
  TAP_OK(jwt == NULL, "*out NULL on failure");
  TAP_INT(th_resident_token(db, "camden", "r", 0, &jwt), TH_EINVAL, "ttl 0");
  TAP_INT(th_resident_token(db, "camden", "", 60, &jwt), TH_EINVAL,
          "empty resident");
  TAP_INT(th_resident_token(db, "camden", "r", 60, NULL), TH_EINVAL,
          "NULL out");
  TAP_INT(th_resident_token(db, "nowhere", "r", 60, &jwt), TH_ENOTFOUND,
          "unknown site");
  TAP_INT(th_resident_token(db, "nosecret", "r", 60, &jwt), TH_ENOTFOUND,
          "a site without a secret");
  TAP_INT(th_resident_token(NULL, "camden", "r", 60, &jwt), TH_EINVAL,
          "NULL handle");
  th_close(db);
}

int main(void) {
  test_tokens();
  test_resident_token();
  test_backup();
  return tap_done();
}
