/*
 * query.c: the statement half of the store's interface (store.h) over
 * SQLite. A th__q is the handle's cached sqlite3_stmt under another name:
 * the domain never sees the engine's types or result codes.
 */
#include "sqlite.h"

#include <stdlib.h>
#include <string.h>

static sqlite3_stmt *th__st(th__q *q) { return (sqlite3_stmt *)q; }

th__q *th__q_get(th_db *db, th__stmt_id id) {
  return (th__q *)th__stmt(db, id);
}

void th__q_i64(th__q *q, int i, int64_t v) {
  sqlite3_bind_int64(th__st(q), i, v);
}

void th__q_f64(th__q *q, int i, double v) {
  sqlite3_bind_double(th__st(q), i, v);
}

void th__q_null(th__q *q, int i) { sqlite3_bind_null(th__st(q), i); }

void th__q_text(th__q *q, int i, const char *s) {
  sqlite3_bind_text(th__st(q), i, s, -1, SQLITE_STATIC);
}

void th__q_textn(th__q *q, int i, const char *s, size_t len) {
  sqlite3_bind_text64(th__st(q), i, s, len, SQLITE_STATIC, SQLITE_UTF8);
}

void th__q_text_copy(th__q *q, int i, const char *s) {
  sqlite3_bind_text(th__st(q), i, s, -1, SQLITE_TRANSIENT);
}

void th__q_blob(th__q *q, int i, const void *p, size_t len) {
  /* A zero-length blob is an empty blob, not NULL. */
  static const char empty[1];
  sqlite3_bind_blob64(th__st(q), i, p ? p : empty, len, SQLITE_STATIC);
}

int th__q_step(th_db *db, th__q *q, const char *what) {
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

int th__q_run(th_db *db, th__q *q, const char *what) {
  return th__step_done(db, th__st(q), what);
}

int th__q_insert(th_db *db, th__q *q, const char *what, int64_t *id) {
  int rc = th__q_step(db, q, what);
  *id = rc == TH__ROW ? sqlite3_column_int64(th__st(q), 0) : 0;
  if (rc < 0)
    return rc;
  /* Stepping to the end finishes the statement (SQLite has made every
   * change at the first step; a reset would too). */
  return rc == TH__ROW ? th__q_run(db, q, what) : TH_OK;
}

void th__q_reset(th__q *q) {
  if (q)
    sqlite3_reset(th__st(q));
}

int64_t th__q_changes(th_db *db) {
  return th__sql(db) ? sqlite3_changes64(th__sql(db)) : 0;
}

int64_t th__q_col_i64(th__q *q, int col) {
  return sqlite3_column_int64(th__st(q), col);
}

int th__q_col_int(th__q *q, int col) {
  return sqlite3_column_int(th__st(q), col);
}

double th__q_col_f64(th__q *q, int col) {
  return sqlite3_column_double(th__st(q), col);
}

bool th__q_col_null(th__q *q, int col) {
  return sqlite3_column_type(th__st(q), col) == SQLITE_NULL;
}

const char *th__q_col_text(th__q *q, int col) {
  return (const char *)sqlite3_column_text(th__st(q), col);
}

size_t th__q_col_len(th__q *q, int col) {
  return (size_t)sqlite3_column_bytes(th__st(q), col);
}

const void *th__q_col_blob(th__q *q, int col, size_t *len) {
  const void *p = sqlite3_column_blob(th__st(q), col);
  *len = (size_t)sqlite3_column_bytes(th__st(q), col);
  return p;
}

char *th__q_col_dup(th__q *q, int col) {
  const char *t = th__q_col_text(q, col);
  return th__strdup(t ? t : "");
}
