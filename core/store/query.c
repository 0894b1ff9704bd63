/*
 * query.c: the statement half of the store's interface (store.h) over
 * SQLite (engine.h's table, in sqlite.c). A th__q is the handle's cached
 * sqlite3_stmt behind the engine's table: the domain never sees the
 * engine's types or result codes.
 */
#include "sqlite.h"

#include <stdlib.h>
#include <string.h>

th__q *th__sqlite_q_get(th_db *db, th__stmt_id id) {
  return th__stmt(db, id) ? &th__sqlite_conn_of(db)->stmts[id].q : NULL;
}

void th__sqlite_q_i64(th__q *q, int i, int64_t v) {
  sqlite3_bind_int64(th__st(q), i, v);
}

void th__sqlite_q_f64(th__q *q, int i, double v) {
  sqlite3_bind_double(th__st(q), i, v);
}

void th__sqlite_q_null(th__q *q, int i) { sqlite3_bind_null(th__st(q), i); }

void th__sqlite_q_text(th__q *q, int i, const char *s) {
  sqlite3_bind_text(th__st(q), i, s, -1, SQLITE_STATIC);
}

void th__sqlite_q_textn(th__q *q, int i, const char *s, size_t len) {
  sqlite3_bind_text64(th__st(q), i, s, len, SQLITE_STATIC, SQLITE_UTF8);
}

void th__sqlite_q_text_copy(th__q *q, int i, const char *s) {
  sqlite3_bind_text(th__st(q), i, s, -1, SQLITE_TRANSIENT);
}

void th__sqlite_q_blob(th__q *q, int i, const void *p, size_t len) {
  /* A zero-length blob is an empty blob, not NULL. */
  static const char empty[1];
  sqlite3_bind_blob64(th__st(q), i, p ? p : empty, len, SQLITE_STATIC);
}

int th__sqlite_q_step(th_db *db, th__q *q, const char *what) {
  int rc = sqlite3_step(th__st(q));
  if (rc == SQLITE_ROW)
    return TH__ROW;
  if (rc == SQLITE_DONE) {
    sqlite3_reset(th__st(q));
    return TH__DONE;
  }
  int err = th__sqlerr(db, rc, what);
  sqlite3_reset(th__st(q));
  return err;
}

int th__sqlite_q_run(th_db *db, th__q *q, const char *what) {
  return th__step_done(db, th__st(q), what);
}

int th__sqlite_q_insert(th_db *db, th__q *q, const char *what, int64_t *id) {
  if (((th__sqlite_q *)q)->rowid) {
    /* Prepared without its RETURNING (th__stmt, sqlite.c). */
    int rc = th__step_done(db, th__st(q), what);
    sqlite3 *s = sqlite3_db_handle(th__st(q));
    *id = rc == TH_OK && sqlite3_changes64(s) > 0 ? sqlite3_last_insert_rowid(s)
                                                  : 0;
    return rc;
  }
  int rc = th__sqlite_q_step(db, q, what);
  *id = rc == TH__ROW ? sqlite3_column_int64(th__st(q), 0) : 0;
  if (rc < 0)
    return rc;
  /* Stepping to the end finishes the statement (SQLite has made every
   * change at the first step; a reset would too). */
  return rc == TH__ROW ? th__sqlite_q_run(db, q, what) : TH_OK;
}

void th__sqlite_q_reset(th__q *q) {
  sqlite3_reset(th__st(q));
}

int64_t th__sqlite_q_changes(th_db *db) {
  return th__sql(db) ? sqlite3_changes64(th__sql(db)) : 0;
}

int64_t th__sqlite_q_col_i64(th__q *q, int col) {
  return sqlite3_column_int64(th__st(q), col);
}

int th__sqlite_q_col_int(th__q *q, int col) {
  return sqlite3_column_int(th__st(q), col);
}

double th__sqlite_q_col_f64(th__q *q, int col) {
  return sqlite3_column_double(th__st(q), col);
}

bool th__sqlite_q_col_null(th__q *q, int col) {
  return sqlite3_column_type(th__st(q), col) == SQLITE_NULL;
}

const char *th__sqlite_q_col_text(th__q *q, int col) {
  return (const char *)sqlite3_column_text(th__st(q), col);
}

size_t th__sqlite_q_col_len(th__q *q, int col) {
  return (size_t)sqlite3_column_bytes(th__st(q), col);
}

const void *th__sqlite_q_col_blob(th__q *q, int col, size_t *len) {
  const void *p = sqlite3_column_blob(th__st(q), col);
  *len = (size_t)sqlite3_column_bytes(th__st(q), col);
  return p;
}
