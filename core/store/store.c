/*
 * store.c: store.h's functions, each handed to the engine behind the handle
 * or the statement (engine.h): one indirect call, nothing allocated.
 */
#include "engine.h"

#include <string.h>

th__q *th__q_get(th_db *db, th__stmt_id id) {
  return th__engine_of(db)->q_get(db, id);
}

void th__q_i64(th__q *q, int i, int64_t v) { q->engine->q_i64(q, i, v); }

void th__q_f64(th__q *q, int i, double v) { q->engine->q_f64(q, i, v); }

void th__q_null(th__q *q, int i) { q->engine->q_null(q, i); }

void th__q_text(th__q *q, int i, const char *s) {
  q->engine->q_text(q, i, s);
}

void th__q_textn(th__q *q, int i, const char *s, size_t len) {
  q->engine->q_textn(q, i, s, len);
}

void th__q_text_copy(th__q *q, int i, const char *s) {
  q->engine->q_text_copy(q, i, s);
}

void th__q_blob(th__q *q, int i, const void *p, size_t len) {
  q->engine->q_blob(q, i, p, len);
}

int th__q_step(th_db *db, th__q *q, const char *what) {
  return q->engine->q_step(db, q, what);
}

int th__q_run(th_db *db, th__q *q, const char *what) {
  return q->engine->q_run(db, q, what);
}

int th__q_insert(th_db *db, th__q *q, const char *what, int64_t *id) {
  return q->engine->q_insert(db, q, what, id);
}

void th__q_reset(th__q *q) {
  if (q)
    q->engine->q_reset(q);
}

int64_t th__q_changes(th_db *db) { return th__engine_of(db)->q_changes(db); }

int64_t th__q_col_i64(th__q *q, int col) {
  return q->engine->q_col_i64(q, col);
}

int th__q_col_int(th__q *q, int col) { return q->engine->q_col_int(q, col); }

double th__q_col_f64(th__q *q, int col) {
  return q->engine->q_col_f64(q, col);
}

bool th__q_col_null(th__q *q, int col) {
  return q->engine->q_col_null(q, col);
}

const char *th__q_col_text(th__q *q, int col) {
  return q->engine->q_col_text(q, col);
}

size_t th__q_col_len(th__q *q, int col) {
  return q->engine->q_col_len(q, col);
}

const void *th__q_col_blob(th__q *q, int col, size_t *len) {
  return q->engine->q_col_blob(q, col, len);
}

char *th__q_col_dup(th__q *q, int col) {
  const char *t = th__q_col_text(q, col);
  return th__strdup(t ? t : "");
}

th__q *th__idea_list_q(th_db *db, const th__idea_list_args *a) {
  return th__engine_of(db)->idea_list_q(db, a);
}

bool th__store_is_uri(const char *path) {
  return strncmp(path, "postgresql://", 13) == 0 ||
         strncmp(path, "postgres://", 11) == 0;
}

const char *th__store_name(const th_db *db) {
  if (!th__store_is_uri(db->path))
    return db->path;
#ifdef HAVE_LIBPQ
  const char *name = th__pg_name(db);
  if (name)
    return name;
#endif
  /* Not connected: the URI itself may hold a password. */
  return "the PostgreSQL database";
}

int th__store_open(th_db *db, const th_open_options *opt, int *version) {
  if (!th__store_is_uri(db->path))
    return th__sqlite_open(db, opt, version);
  /* The URI itself stays out of every message: it may hold a password. */
#ifdef HAVE_LIBPQ
  if (opt->key_file == NULL)
    return th__err(db, TH_EKEY,
                   "a PostgreSQL database has no file beside it to keep its "
                   "key in: name the key file (th_open_options.key_file, "
                   "--key-file)");
  return th__pg_open(db, opt, version);
#else
  return th__err(db, TH_EINVAL,
                 "the database is a PostgreSQL URI, but this townhall was "
                 "built without PostgreSQL (configure found no libpq)");
#endif
}

int th__store_configure(th_db *db, const th_open_options *opt) {
  return th__engine_of(db)->store_configure(db, opt);
}

void th__store_close(th_db *db) { th__engine_of(db)->store_close(db); }

int th__db_reconnect(th_db *db) { return th__engine_of(db)->reconnect(db); }

int th__migrate(th_db *db) { return th__engine_of(db)->migrate(db); }

int th_schema_version(th_db *db) {
  return th__engine_of(db)->schema_version(db);
}

int th__data_version(th_db *db, int64_t *out) {
  return th__engine_of(db)->data_version(db, out);
}

int th__write_probe(th_db *db) { return th__engine_of(db)->write_probe(db); }

bool th__store_in_txn(th_db *db) { return th__engine_of(db)->in_txn(db); }

bool th__store_connected(th_db *db) {
  return th__engine_of(db)->connected(db);
}

void th__store_checkpoint(th_db *db) { th__engine_of(db)->checkpoint(db); }

int th__store_exclusive_begin(th_db *db) {
  return th__engine_of(db)->exclusive_begin(db);
}

void th__store_exclusive_end(th_db *db) {
  th__engine_of(db)->exclusive_end(db);
}

int th__synchronous(th_db *db) { return th__engine_of(db)->synchronous(db); }

int th_backup(th_db *db, const char *dest) {
  return th__engine_of(db)->backup(db, dest);
}
