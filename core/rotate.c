/*
 * rotate.c: rotating the master key file (th_key_rotate).
 *
 * What the master key protects in the database: the site secrets and the
 * consultation keys, sealed under its sealing subkey, and the staff token
 * hashes, keyed with its token subkey. The first two are re-sealed under the
 * new key in one transaction; the token hashes cannot be recomputed without
 * the tokens, so the tokens are revoked in that transaction. Pseudonyms are
 * keyed with the consultation keys and do not change.
 *
 * The rotation holds SQLite's exclusive lock on the database file from
 * before the backup to after the checkpoint: a server that kept running
 * would go on sealing new consultation keys under the old key, so it must be
 * stopped first, and the lock is how that is checked (every other
 * connection to a WAL database holds a shared lock on the file for as long
 * as it is open).
 */
#include "internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A sealed value is at most this long: a site secret (TH__SECRET_MAX) or a
 * consultation key, with the nonce and tag. */
#define TH__SEALED_MAX (TH__SECRET_MAX + TH__SEALED_OVERHEAD)

typedef struct th__reseal {
  const char *what;   /* for messages: "site secret", "consultation key" */
  const char *select; /* id, site id, slug (or NULL), sealed value */
  const char *update; /* ?1 = sealed value, ?2 = id */
} th__reseal;

static const th__reseal th__reseals[] = {
    {"site secret",
     "SELECT id, id, NULL, secret FROM sites WHERE secret IS NOT NULL",
     "UPDATE sites SET secret = ?1 WHERE id = ?2"},
    {"consultation key",
     "SELECT id, site_id, slug, pkey FROM consultations WHERE pkey IS NOT NULL",
     "UPDATE consultations SET pkey = ?1 WHERE id = ?2"},
};

/* Re-seals every value one query selects from `from` to `to`; counts them. */
static int th__reseal_all(th_db *db, const th__reseal *r, th__keyring *from,
                          th__keyring *to, int64_t *count) {
  sqlite3_stmt *sel = NULL, *upd = NULL;
  int rc = sqlite3_prepare_v2(db->sql, r->select, -1, &sel, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(db->sql, r->update, -1, &upd, NULL);
  if (rc != SQLITE_OK) {
    rc = th__sqlerr(db, rc, "preparing the key rotation");
    goto done;
  }
  unsigned char plain[TH__SEALED_MAX], sealed[TH__SEALED_MAX];
  while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(sel, 0);
    int64_t site_id = sqlite3_column_int64(sel, 1);
    const unsigned char *old = sqlite3_column_blob(sel, 3);
    int n = sqlite3_column_bytes(sel, 3);
    char ad[160];
    if (sqlite3_column_type(sel, 2) == SQLITE_NULL)
      th__secret_ad(ad, sizeof ad, site_id);
    else
      th__pkey_ad(ad, sizeof ad, site_id,
                  (const char *)sqlite3_column_text(sel, 2));
    if (old == NULL || n <= TH__SEALED_OVERHEAD || n > TH__SEALED_MAX ||
        th__unseal(from, ad, old, (size_t)n, plain) != TH_OK) {
      rc = th__err(db, TH_EKEY,
                   "the %s with id %lld does not open under the current key "
                   "file, so it cannot be re-sealed; nothing was changed",
                   r->what, (long long)id);
      goto done;
    }
    size_t len = (size_t)n - TH__SEALED_OVERHEAD;
    th__seal(to, ad, plain, len, sealed);
    sodium_memzero(plain, sizeof plain);
    sqlite3_bind_blob(upd, 1, sealed, n, SQLITE_STATIC);
    sqlite3_bind_int64(upd, 2, id);
    if ((rc = th__step_done(db, upd, "re-sealing under the new key")) < 0)
      goto done;
    (*count)++;
  }
  rc = rc == SQLITE_DONE ? TH_OK : th__sqlerr(db, rc, "reading sealed values");
done:
  sqlite3_finalize(sel);
  sqlite3_finalize(upd);
  return rc;
}

/* Everything inside the transaction: re-seal, revoke, audit. */
static int th__rotate_txn(th_db *db, th_actor actor, th__keyring *to,
                          th_key_rotation *r) {
  int rc = TH_OK;
  for (size_t i = 0; rc == TH_OK && i < TH__ARRAY_SIZE(th__reseals); i++)
    rc = th__reseal_all(db, &th__reseals[i], db->keys, to,
                        i == 0 ? &r->site_secrets : &r->consultation_keys);
  if (rc < 0)
    return rc;
  rc = th__exec(db, "UPDATE staff_tokens SET revoked = 1 WHERE revoked = 0");
  if (rc < 0)
    return rc;
  r->tokens_revoked = sqlite3_changes64(db->sql);
  char detail[160];
  snprintf(detail, sizeof detail,
           "master key rotated: %lld site secrets and %lld consultation keys "
           "re-sealed, %lld staff tokens revoked",
           (long long)r->site_secrets, (long long)r->consultation_keys,
           (long long)r->tokens_revoked);
  sqlite3_stmt *st = NULL;
  rc = sqlite3_prepare_v2(db->sql, "SELECT id FROM sites ORDER BY id", -1, &st,
                          NULL);
  if (rc != SQLITE_OK)
    return th__sqlerr(db, rc, "listing the sites");
  int src;
  while ((src = sqlite3_step(st)) == SQLITE_ROW &&
         (rc = th__audit(db, sqlite3_column_int64(st, 0), actor, "key:rotate",
                         0, detail)) >= 0)
    ;
  if (rc >= 0 && src != SQLITE_DONE)
    rc = th__sqlerr(db, src, "listing the sites");
  sqlite3_finalize(st);
  return rc < 0 ? rc : TH_OK;
}

int th_key_rotate(th_db *db, th_actor actor, const char *new_key_file,
                  const char *backup_dest, th_key_rotation *report) {
  th__clear_err(db);
  th_key_rotation r = TH_KEY_ROTATION_INIT;
  /* The caller's report is checked (and zeroed) before anything changes,
   * and filled in as far as its size goes (townhall.h, "Structs that
   * grow"). */
  if (report && TH__SIZED_OUT(db, th_key_rotation, report, &r) < 0)
    return TH_EINVAL;
  if (new_key_file == NULL || new_key_file[0] == '\0')
    return th__err(db, TH_EINVAL, "no new key file given");
  if (db->sql == NULL)
    return th__lost(db);
  if (db->flags & TH_OPEN_READONLY)
    return th__err(db, TH_ESTATE, "the handle is read-only");
  if (db->in_batch)
    return th__err(db, TH_ESTATE, "a batch is open on this handle");
  struct stat sb;
  if (stat(new_key_file, &sb) == 0)
    return th__err(db, TH_EEXIST,
                   "%s already exists; the new key file must be a new file "
                   "(one left by an interrupted rotation was never used: "
                   "delete it)",
                   new_key_file);
  /* The handle's key file from then on: what th__db_open_like and
   * th__db_reconnect open (a server started on this handle, say). */
  char *new_path = strdup(new_key_file);
  if (new_path == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");

  /* The lock first, for everything that follows: in exclusive locking
   * mode an (empty) exclusive transaction leaves the connection holding the
   * file's exclusive lock after it ends, so the backup (which cannot read
   * from a connection inside a write transaction) sees what is rotated. */
  int rc = th__exec(db, "PRAGMA locking_mode=EXCLUSIVE");
  if (rc == TH_OK && (rc = th__exec(db, "BEGIN EXCLUSIVE")) == TH_EBUSY) {
    /* The unix VFS keeps the PENDING lock of a failed attempt, which no
     * later statement drops in WAL mode and which keeps every new
     * connection out: only closing the connection does. */
    if (th__db_reconnect(db) == TH_OK)
      th__err(db, TH_EBUSY,
              "%s is open elsewhere (is the server running?): stop it "
              "first; the key was not changed",
              db->path);
    free(new_path);
    return db->errcode;
  }
  if (rc == TH_OK)
    rc = th__exec(db, "COMMIT");
  bool created = false, backed_up = false;
  th__keyring *to = NULL;
  if (rc == TH_OK && backup_dest)
    backed_up = (rc = th_backup(db, backup_dest)) == TH_OK;
  if (rc == TH_OK) {
    rc = th__key_file_create(db, new_key_file);
    if (rc == TH_EEXIST)
      th__err(db, TH_EEXIST, "%s already exists; not overwriting it",
              new_key_file);
    created = rc == TH_OK;
  }
  /* Its salts in memory only: the new key file is installed under the old
   * one's name, whose salts file goes on serving (docs/operations.md). */
  if (rc == TH_OK)
    rc = th__keyring_acquire(db, new_key_file, false, false, &to);
  bool in_txn = false;
  if (rc == TH_OK)
    in_txn = (rc = th__exec(db, "BEGIN IMMEDIATE")) == TH_OK;
  if (rc == TH_OK)
    rc = th__rotate_txn(db, actor, to, &r);
  if (rc == TH_OK) {
    rc = th__exec(db, "COMMIT");
    in_txn = rc < 0 && !sqlite3_get_autocommit(db->sql);
  }
  if (in_txn)
    sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
  if (rc == TH_OK) {
    /* The old sealed values leave the WAL; secure_delete has zeroed them
     * in the pages. A failure here changes nothing already committed. */
    sqlite3_exec(db->sql, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    th__keyring_release(db->keys);
    db->keys = to;
    to = NULL;
    free(db->key_path);
    db->key_path = new_path;
    db->opt.key_file = new_path;
    new_path = NULL;
    if (report)
      TH__SIZED_OUT(db, th_key_rotation, report, &r);
  } else {
    if (created) {
      unlink(new_key_file);
      th__fsync_dir(new_key_file);
    }
    if (backed_up) {
      unlink(backup_dest);
      th__fsync_dir(backup_dest);
    }
  }
  if (to)
    th__keyring_release(to);
  free(new_path);
  /* Back to normal locking: the next read releases the exclusive lock (a
   * failure there is not the caller's: the rotation is done or not). */
  sqlite3_exec(db->sql,
               "PRAGMA locking_mode=NORMAL; SELECT 1 FROM sites LIMIT 1", NULL,
               NULL, NULL);
  if (rc == TH_OK)
    th__clear_err(db);
  return rc;
}
