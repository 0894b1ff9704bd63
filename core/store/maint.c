/*
 * maint.c: the store's upkeep that is not a statement of the domain's:
 * checkpoints, and whether a transaction is open.
 */
#include "../internal.h"

void th__store_checkpoint(th_db *db) {
  /* A failure here changes nothing committed: the WAL stays as it is until
   * the next checkpoint. */
  if (db->sql)
    sqlite3_wal_checkpoint_v2(db->sql, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
                              NULL);
}

bool th__store_in_txn(th_db *db) {
  return db->sql != NULL && !sqlite3_get_autocommit(db->sql);
}
