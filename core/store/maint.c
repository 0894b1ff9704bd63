/*
 * maint.c: the store's upkeep that is not a statement of the domain's:
 * checkpoints, whether a transaction is open, and the database held by
 * one handle alone (a key rotation).
 */
#include "sqlite.h"

void th__sqlite_checkpoint(th_db *db) {
  /* A failure here changes nothing committed: the WAL stays as it is until
   * the next checkpoint. */
  if (th__sql(db))
    sqlite3_wal_checkpoint_v2(th__sql(db), NULL, SQLITE_CHECKPOINT_TRUNCATE,
                              NULL, NULL);
}

bool th__sqlite_in_txn(th_db *db) {
  return th__sql(db) != NULL && !sqlite3_get_autocommit(th__sql(db));
}

bool th__sqlite_connected(th_db *db) { return th__sql(db) != NULL; }

int th__sqlite_exclusive_begin(th_db *db) {
  /* Every other connection to a WAL database holds a shared lock on the
   * file for as long as it is open, so an exclusive transaction fails while
   * one is. In exclusive locking mode an (empty) exclusive transaction
   * leaves the connection holding the file's exclusive lock after it ends:
   * the handle can then read (a backup cannot read from a connection inside
   * a write transaction) and write with nobody else in. */
  int rc = th__exec(db, "PRAGMA locking_mode=EXCLUSIVE");
  if (rc == TH_OK && (rc = th__exec(db, "BEGIN EXCLUSIVE")) == TH_EBUSY) {
    /* The unix VFS keeps the PENDING lock of a failed attempt, which no
     * later statement drops in WAL mode and which keeps every new
     * connection out: only closing the connection does. */
    return th__db_reconnect(db) == TH_OK ? TH_EBUSY : db->errcode;
  }
  if (rc == TH_OK && (rc = th__exec(db, "COMMIT")) == TH_OK)
    return TH_OK;
  th__store_exclusive_end(db);
  return rc;
}

void th__sqlite_exclusive_end(th_db *db) {
  /* Back to normal locking: the next read releases the exclusive lock. */
  if (th__sql(db))
    sqlite3_exec(th__sql(db),
                 "PRAGMA locking_mode=NORMAL; SELECT 1 FROM sites LIMIT 1",
                 NULL, NULL, NULL);
}
