/*
 * txn.c: the transaction discipline every write follows: BEGIN IMMEDIATE
 * alone, or a SAVEPOINT inside a batch the caller opened (th_batch_*), and
 * a rollback that keeps the first error's message. The same for every
 * engine: it speaks only store.h (the statements BEGIN, SAVEPOINT, ...).
 */
#include "../internal.h"

#include <string.h>

static int th__run(th_db *db, th__stmt_id id, const char *what) {
  th__q *q = th__q_get(db, id);
  if (q == NULL)
    return db->errcode;
  return th__q_run(db, q, what);
}

int th__write_begin(th_db *db) {
  if (db->flags & TH_OPEN_READONLY)
    return th__err(db, TH_EREADONLY, "this handle was opened read-only");
  if (db->write_depth++ > 0)
    return TH_OK; /* nested inside a write of the same call */
  int rc = db->in_batch ? th__run(db, TH__S_SAVEPOINT, "starting a write")
                        : th__run(db, TH__S_BEGIN, "starting a write");
  /* A write that did not start is not paired with th__write_end: its
   * depth must not stay counted, or every later write of the handle would
   * take itself for a nested one and start no savepoint. */
  if (rc < 0)
    db->write_depth--;
  return rc;
}

/* Undoes what failed with `rc` (a savepoint's writes, or the whole
 * transaction if one is still open) and returns rc, with the first error's
 * code and message kept: undoing must not replace them. */
static int th__undo(th_db *db, int rc, bool savepoint, const char *what) {
  char msg[sizeof db->errmsg];
  memcpy(msg, db->errmsg, sizeof msg);
  if (savepoint) {
    th__run(db, TH__S_ROLLBACK_TO, what);
    th__run(db, TH__S_RELEASE, what);
  } else if (th__store_in_txn(db)) {
    th__run(db, TH__S_ROLLBACK, what);
  }
  memcpy(db->errmsg, msg, sizeof msg);
  db->errcode = rc;
  return rc;
}

int th__write_end(th_db *db, int rc) {
  if (--db->write_depth > 0)
    return rc;
  if (db->in_batch) {
    if (rc < 0)
      return th__undo(db, rc, true, "undoing a write");
    int r = th__run(db, TH__S_RELEASE, "finishing a write");
    return r < 0 ? r : rc;
  }
  if (rc < 0)
    return th__undo(db, rc, false, "undoing a write");
  int r = th__run(db, TH__S_COMMIT, "committing");
  return r < 0 ? th__undo(db, r, false, "undoing a failed commit") : rc;
}

int th_batch_begin(th_db *db) {
  th__clear_err(db);
  if (db->in_batch)
    return th__err(db, TH_ESTATE, "a batch is already open on this handle");
  if (db->flags & TH_OPEN_READONLY)
    return th__err(db, TH_EREADONLY, "this handle was opened read-only");
  int rc = th__run(db, TH__S_BEGIN, "starting a batch");
  if (rc < 0)
    return rc;
  db->in_batch = 1;
  return TH_OK;
}

int th_batch_commit(th_db *db) {
  th__clear_err(db);
  if (!db->in_batch)
    return th__err(db, TH_ESTATE, "no batch is open on this handle");
  db->in_batch = 0;
  int rc = th__run(db, TH__S_COMMIT, "committing a batch");
  return rc < 0 ? th__undo(db, rc, false, "undoing a failed batch") : rc;
}

int th_batch_rollback(th_db *db) {
  th__clear_err(db);
  if (!db->in_batch)
    return th__err(db, TH_ESTATE, "no batch is open on this handle");
  db->in_batch = 0;
  /* A lost connection says so (the rollback's error) rather than "done". */
  if (th__store_connected(db) && !th__store_in_txn(db))
    return TH_OK;
  return th__run(db, TH__S_ROLLBACK, "rolling back a batch");
}
