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
 * The rotation holds the database for its handle alone (the store's
 * th__store_exclusive_begin) from before the backup to after the
 * checkpoint: a server that kept running would go on sealing new
 * consultation keys under the old key, so it must be stopped first, and
 * taking the database alone is how that is checked (it fails while any
 * other connection is open).
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
  th__stmt_id select; /* id, site id, slug (or NULL), sealed value */
  th__stmt_id update; /* ?1 = id, ?2 = sealed value */
} th__reseal;

static const th__reseal th__reseals[] = {
    {"site secret", TH__S_ROTATE_SECRETS, TH__S_SITE_SET_SECRET},
    {"consultation key", TH__S_ROTATE_PKEYS, TH__S_ROTATE_SET_PKEY},
};

/* Re-seals every value one query selects from `from` to `to`; counts them. */
static int th__reseal_all(th_db *db, const th__reseal *r, th__keyring *from,
                          th__keyring *to, int64_t *count) {
  th__q *sel = th__q_get(db, r->select);
  if (sel == NULL)
    return db->errcode;
  th__q *upd = th__q_get(db, r->update);
  if (upd == NULL) {
    th__q_reset(sel);
    return db->errcode;
  }
  unsigned char plain[TH__SEALED_MAX], sealed[TH__SEALED_MAX];
  int rc;
  while ((rc = th__q_step(db, sel, "reading sealed values")) == TH__ROW) {
    int64_t id = th__q_col_i64(sel, 0);
    int64_t site_id = th__q_col_i64(sel, 1);
    size_t n = 0;
    const unsigned char *old = th__q_col_blob(sel, 3, &n);
    char ad[160];
    if (th__q_col_null(sel, 2))
      th__secret_ad(ad, sizeof ad, site_id);
    else
      th__pkey_ad(ad, sizeof ad, site_id, th__q_col_text(sel, 2));
    if (old == NULL || n <= TH__SEALED_OVERHEAD || n > TH__SEALED_MAX ||
        th__unseal(from, ad, old, n, plain) != TH_OK) {
      th__q_reset(sel);
      return th__err(db, TH_EKEY,
                     "the %s with id %lld does not open under the current "
                     "key file, so it cannot be re-sealed; nothing was "
                     "changed",
                     r->what, (long long)id);
    }
    size_t len = n - TH__SEALED_OVERHEAD;
    th__seal(to, ad, plain, len, sealed);
    sodium_memzero(plain, sizeof plain);
    th__q_i64(upd, 1, id);
    th__q_blob(upd, 2, sealed, n);
    if ((rc = th__q_run(db, upd, "re-sealing under the new key")) < 0) {
      th__q_reset(sel);
      return rc;
    }
    (*count)++;
  }
  return rc == TH__DONE ? TH_OK : rc;
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
  th__q *st = th__q_get(db, TH__S_ROTATE_REVOKE_TOKENS);
  if (st == NULL)
    return db->errcode;
  if ((rc = th__q_run(db, st, "revoking the staff tokens")) < 0)
    return rc;
  r->tokens_revoked = th__q_changes(db);
  char detail[160];
  snprintf(detail, sizeof detail,
           "master key rotated: %lld site secrets and %lld consultation keys "
           "re-sealed, %lld staff tokens revoked",
           (long long)r->site_secrets, (long long)r->consultation_keys,
           (long long)r->tokens_revoked);
  if ((st = th__q_get(db, TH__S_ROTATE_SITE_IDS)) == NULL)
    return db->errcode;
  int src;
  while ((src = th__q_step(db, st, "listing the sites")) == TH__ROW &&
         (rc = th__audit(db, th__q_col_i64(st, 0), actor, "key:rotate", 0,
                         detail)) >= 0)
    ;
  if (src == TH__ROW)
    th__q_reset(st); /* the audit log refused a row */
  else if (src < 0)
    rc = src;
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
  if (!th__store_connected(db))
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

  /* The database alone first, for everything that follows, the backup
   * among it (which then sees what is rotated). */
  int rc = th__store_exclusive_begin(db);
  if (rc < 0) {
    if (rc == TH_EBUSY)
      th__err(db, TH_EBUSY,
              "%s is open elsewhere (is the server running?): stop it "
              "first; the key was not changed",
              th__store_name(db));
    free(new_path);
    return rc;
  }
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
  /* One write: committed whole, or rolled back keeping its error. */
  if (rc == TH_OK && (rc = th__write_begin(db)) == TH_OK)
    rc = th__write_end(db, th__rotate_txn(db, actor, to, &r));
  if (rc == TH_OK) {
    /* The old sealed values leave the WAL; secure_delete has zeroed them
     * in the pages. A failure here changes nothing already committed. */
    th__store_checkpoint(db);
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
  /* The database back to every connection (a failure there is not the
   * caller's: the rotation is done or not). */
  th__store_exclusive_end(db);
  if (rc == TH_OK)
    th__clear_err(db);
  return rc;
}
