/*
 * engine.h: the seam between store.h's functions and the engine behind a
 * handle. Every handle's connection (db->conn) and every statement in use
 * (th__q) begins with the table of its engine's functions; store.c's
 * functions are one indirect call through it, with no allocation, so the
 * SQLite path costs one predictable call more than a direct one. Nothing
 * outside core/store/ includes this header, and it includes no engine's.
 */
#ifndef TH_STORE_ENGINE_H
#define TH_STORE_ENGINE_H

#include "../internal.h"

typedef struct th__engine {
  const char *name; /* "sqlite", "postgresql" */

  /* The statement half (store.h): the same meanings, per engine. */
  th__q *(*q_get)(th_db *db, th__stmt_id id);
  void (*q_i64)(th__q *q, int i, int64_t v);
  void (*q_f64)(th__q *q, int i, double v);
  void (*q_null)(th__q *q, int i);
  void (*q_text)(th__q *q, int i, const char *s);
  void (*q_textn)(th__q *q, int i, const char *s, size_t len);
  void (*q_text_copy)(th__q *q, int i, const char *s);
  void (*q_blob)(th__q *q, int i, const void *p, size_t len);
  int (*q_step)(th_db *db, th__q *q, const char *what);
  int (*q_run)(th_db *db, th__q *q, const char *what);
  int (*q_insert)(th_db *db, th__q *q, const char *what, int64_t *id);
  void (*q_reset)(th__q *q);
  int64_t (*q_changes)(th_db *db);
  int64_t (*q_col_i64)(th__q *q, int col);
  int (*q_col_int)(th__q *q, int col);
  double (*q_col_f64)(th__q *q, int col);
  bool (*q_col_null)(th__q *q, int col);
  const char *(*q_col_text)(th__q *q, int col);
  size_t (*q_col_len)(th__q *q, int col);
  const void *(*q_col_blob)(th__q *q, int col, size_t *len);
  th__q *(*idea_list_q)(th_db *db, const th__idea_list_args *a);

  /* The connection and its upkeep (store.h). */
  int (*store_configure)(th_db *db, const th_open_options *opt);
  void (*store_close)(th_db *db);
  int (*reconnect)(th_db *db);
  int (*migrate)(th_db *db);
  int (*schema_version)(th_db *db);
  int (*data_version)(th_db *db, int64_t *out);
  int (*write_probe)(th_db *db);
  bool (*in_txn)(th_db *db);
  bool (*connected)(th_db *db);
  void (*checkpoint)(th_db *db);
  int (*exclusive_begin)(th_db *db);
  void (*exclusive_end)(th_db *db);
  int (*synchronous)(th_db *db);
  int (*backup)(th_db *db, const char *dest);
} th__engine;

/* What every engine's connection and statement begin with. */
struct th__conn {
  const th__engine *engine;
};
struct th__q {
  const th__engine *engine;
};

/* SQLite (sqlite.c): the default, and the engine of a handle not (or no
 * longer) connected, so that a closed or never-opened handle behaves as it
 * always has. */
extern const th__engine th__sqlite_engine;
/* Opens a SQLite database file (store.h's th__store_open). */
int th__sqlite_open(th_db *db, const th_open_options *opt, int *version);

#ifdef HAVE_LIBPQ
/* Connects to the PostgreSQL database of the URI db->path and identifies
 * it (pg.c). */
int th__pg_open(th_db *db, const th_open_options *opt, int *version);
/* The display form of db's URI (pg.c), or NULL when db has no PostgreSQL
 * connection. */
const char *th__pg_name(const th_db *db);
#endif

/* A migration file's version, from its name ("0003_feedback.sql" -> 3);
 * -1 for a name not of that form (migrate.c). */
int th__migration_version(const char *name);

/* The engine behind db. */
static inline const th__engine *th__engine_of(const th_db *db) {
  return db->conn ? db->conn->engine : &th__sqlite_engine;
}

#endif /* TH_STORE_ENGINE_H */
