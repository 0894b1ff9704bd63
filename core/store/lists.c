/*
 * lists.c: the store's lists whose shape varies with what is asked (store.h,
 * "lists"): the SQL is built here from typed arguments and cached by its
 * text, one prepared statement per shape, for each engine.
 */
#include "sqlite.h"
#ifdef HAVE_LIBPQ
#include "pg.h"
#endif

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The sort key column (or expression) of each sort, and whether the key is
 * an integer (new, random) or a double. */
static const struct {
  const char *key;
  bool integer;
  bool ascending;
} th__sorts[] = {
    [TH_SORT_TOP] = {"i.top", false, false},
    [TH_SORT_HOT] = {"i.hot", false, false},
    [TH_SORT_NEW] = {"i.created", true, false},
    [TH_SORT_CONTROVERSIAL] = {"i.controversial", false, false},
    [TH_SORT_RANDOM] = {"th_rand(?9, i.id)", true, true},
};

/* The text listing `a` into sql (?N placeholders: 1 the site or
 * consultation, 2 ward, 3 category, 4 and 5 the creation bounds, 6 and 7 the
 * page's last key and id, 8 the rows, then the engine's own), its sort key
 * `key` and `join` after the consultations'. False for an unknown sort,
 * with db's error set. */
static bool th__idea_list_sql(th_db *db, const th__idea_list_args *a,
                              const char *key, const char *join, char *sql,
                              size_t size) {
  if (a->sort < 0 || a->sort >= (int)TH__ARRAY_SIZE(th__sorts)) {
    th__err(db, TH_EINVAL, "unknown sort %d", a->sort);
    return false;
  }
  char in[64] = "";
  size_t n = 0;
  for (int s = 0; s <= TH_MERGED; s++)
    if (a->statuses & TH_STATUS_BIT(s))
      n += (size_t)snprintf(in + n, sizeof in - n, "%s%d", n ? "," : "", s);
  const char *cmp = th__sorts[a->sort].ascending ? ">" : "<";
  const char *dir = th__sorts[a->sort].ascending ? "ASC" : "DESC";
  bool after = a->after_id != 0;
  snprintf(sql, size,
           "SELECT " TH__IDEA_COLS ", %s FROM ideas i JOIN consultations c"
           " ON c.id = i.consultation_id%s WHERE %s = ?1 AND i.status IN (%s)"
           "%s%s%s%s%s%s%s%s%s%s%s ORDER BY %s %s, i.id %s LIMIT ?8",
           key, join, a->consultation_id ? "i.consultation_id" : "i.site_id",
           in,
           a->ward ? " AND i.ward = ?2" : "",
           a->category ? " AND i.category = ?3" : "",
           a->created_from ? " AND i.created >= ?4" : "",
           a->created_to ? " AND i.created < ?5" : "",
           after ? " AND (" : "", after ? key : "", after ? cmp : "",
           after ? " ?6 OR (" : "", after ? key : "",
           after ? " = ?6 AND i.id " : "",
           after ? (th__sorts[a->sort].ascending ? "> ?7))" : "< ?7))") : "",
           key, dir, dir);
  return true;
}

/* Binds what th__idea_list_sql's text names (?1 to ?8), through store.h:
 * the statement is the engine's. */
static void th__idea_list_bind(th__q *st, const th__idea_list_args *a) {
  th__q_i64(st, 1, a->consultation_id ? a->consultation_id : a->site_id);
  if (a->ward)
    th__q_text(st, 2, a->ward);
  if (a->category)
    th__q_text(st, 3, a->category);
  if (a->created_from)
    th__q_i64(st, 4, a->created_from);
  if (a->created_to)
    th__q_i64(st, 5, a->created_to);
  if (a->after_id != 0) {
    if (th__sorts[a->sort].integer)
      th__q_i64(st, 6, a->after_key_int);
    else
      th__q_f64(st, 6, a->after_key);
    th__q_i64(st, 7, a->after_id);
  }
  th__q_i64(st, 8, a->rows);
}

th__q *th__sqlite_idea_list_q(th_db *db, const th__idea_list_args *a) {
  char sql[1400];
  if (!th__idea_list_sql(db, a,
                         a->sort >= 0 && a->sort < (int)TH__ARRAY_SIZE(th__sorts)
                             ? th__sorts[a->sort].key
                             : "",
                         "", sql, sizeof sql))
    return NULL;
  th__q *st = th__stmt_dynamic(db, sql);
  if (st == NULL)
    return NULL;
  th__idea_list_bind(st, a);
  th__sqlite_q_i64(st, 9, a->seed);
  return st;
}

#ifdef HAVE_LIBPQ
/* Appends "%s%" PRId64 to a growing buffer; false when out of memory. */
static bool th__pg_append(char **buf, size_t *len, size_t *cap, char sep,
                          int64_t v) {
  if (*cap - *len < 24) {
    size_t n = *cap ? *cap * 2 : 1024;
    char *p = realloc(*buf, n);
    if (p == NULL)
      return false;
    *buf = p;
    *cap = n;
  }
  *len += (size_t)snprintf(*buf + *len, *cap - *len, "%c%" PRId64, sep, v);
  return true;
}

/* TH_SORT_RANDOM on PostgreSQL: th_rand is SQLite's function, a SipHash
 * run from C that PostgreSQL cannot call back. The keys of the site's (or
 * consultation's) ideas are computed here and bound as two arrays (?10
 * ids, ?11 keys) that the list joins: the same order, from the same seed,
 * as on SQLite. */
static int th__pg_random_keys(th_db *db, const th__idea_list_args *a,
                              char **ids_out, char **keys_out) {
  th__q *ids = th__pg_stmt_dynamic(
      db, a->consultation_id
              ? "SELECT id FROM ideas WHERE consultation_id = ?1"
              : "SELECT id FROM ideas WHERE site_id = ?1");
  if (ids == NULL)
    return db->errcode;
  th__q_i64(ids, 1, a->consultation_id ? a->consultation_id : a->site_id);
  char *idv = NULL, *keyv = NULL;
  size_t idn = 0, idc = 0, keyn = 0, keyc = 0;
  bool ok = th__pg_append(&idv, &idn, &idc, '{', 0) &&
            th__pg_append(&keyv, &keyn, &keyc, '{', 0);
  int rc = TH_OK;
  while (ok && (rc = th__q_step(db, ids, "listing ideas")) == TH__ROW) {
    int64_t id = th__q_col_i64(ids, 0);
    ok = th__pg_append(&idv, &idn, &idc, ',', id) &&
         th__pg_append(&keyv, &keyn, &keyc, ',',
                       (int64_t)(th__random_key((uint64_t)a->seed, id) >> 1));
  }
  th__q_reset(ids);
  if (!ok) {
    free(idv);
    free(keyv);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  if (rc < 0) {
    free(idv);
    free(keyv);
    return rc;
  }
  /* "{0" and ",n"...: the leading 0 (no idea has it) keeps the arrays
   * well formed when empty. */
  idv[idn] = '}';
  keyv[keyn] = '}';
  idv[idn + 1] = keyv[keyn + 1] = '\0';
  *ids_out = idv;
  *keys_out = keyv;
  return TH_OK;
}

th__q *th__pg_idea_list_q(th_db *db, const th__idea_list_args *a) {
  bool random = a->sort == TH_SORT_RANDOM;
  char sql[1400];
  if (!th__idea_list_sql(
          db, a,
          random ? "r.k"
          : a->sort >= 0 && a->sort < (int)TH__ARRAY_SIZE(th__sorts)
              ? th__sorts[a->sort].key
              : "",
          random ? " JOIN unnest(?10::bigint[], ?11::bigint[]) AS r (id, k)"
                   " ON r.id = i.id"
                 : "",
          sql, sizeof sql))
    return NULL;
  /* The keys first: their query takes a place in the handle's cache, which
   * must not be the list's. */
  char *ids = NULL, *keys = NULL;
  if (random && th__pg_random_keys(db, a, &ids, &keys) < 0)
    return NULL;
  th__q *st = th__pg_stmt_dynamic(db, sql);
  if (st != NULL) {
    th__idea_list_bind(st, a);
    if (random) {
      th__q_text_copy(st, 10, ids);
      th__q_text_copy(st, 11, keys);
    }
  }
  free(ids);
  free(keys);
  return st;
}
#endif
