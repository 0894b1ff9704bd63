/*
 * lists.c: the store's lists whose shape varies with what is asked (store.h,
 * "lists"): the SQL is built here from typed arguments and cached by its
 * text, one prepared statement per shape.
 */
#include "sqlite.h"

#include <stdio.h>

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

th__q *th__sqlite_idea_list_q(th_db *db, const th__idea_list_args *a) {
  if (a->sort < 0 || a->sort >= (int)TH__ARRAY_SIZE(th__sorts)) {
    th__err(db, TH_EINVAL, "unknown sort %d", a->sort);
    return NULL;
  }
  char in[64] = "";
  size_t n = 0;
  for (int s = 0; s <= TH_MERGED; s++)
    if (a->statuses & TH_STATUS_BIT(s))
      n += (size_t)snprintf(in + n, sizeof in - n, "%s%d", n ? "," : "", s);
  const char *key = th__sorts[a->sort].key;
  const char *cmp = th__sorts[a->sort].ascending ? ">" : "<";
  const char *dir = th__sorts[a->sort].ascending ? "ASC" : "DESC";
  bool after = a->after_id != 0;
  char sql[1400];
  snprintf(sql, sizeof sql,
           "SELECT " TH__IDEA_COLS ", %s FROM ideas i JOIN consultations c"
           " ON c.id = i.consultation_id WHERE %s = ?1 AND i.status IN (%s)"
           "%s%s%s%s%s%s%s%s%s%s%s ORDER BY %s %s, i.id %s LIMIT ?8",
           key, a->consultation_id ? "i.consultation_id" : "i.site_id", in,
           a->ward ? " AND i.ward = ?2" : "",
           a->category ? " AND i.category = ?3" : "",
           a->created_from ? " AND i.created >= ?4" : "",
           a->created_to ? " AND i.created < ?5" : "",
           after ? " AND (" : "", after ? key : "", after ? cmp : "",
           after ? " ?6 OR (" : "", after ? key : "",
           after ? " = ?6 AND i.id " : "",
           after ? (th__sorts[a->sort].ascending ? "> ?7))" : "< ?7))") : "",
           key, dir, dir);
  th__q *st = th__stmt_dynamic(db, sql);
  if (st == NULL)
    return NULL;
  th__sqlite_q_i64(st, 1, a->consultation_id ? a->consultation_id : a->site_id);
  if (a->ward)
    th__sqlite_q_text(st, 2, a->ward);
  if (a->category)
    th__sqlite_q_text(st, 3, a->category);
  if (a->created_from)
    th__sqlite_q_i64(st, 4, a->created_from);
  if (a->created_to)
    th__sqlite_q_i64(st, 5, a->created_to);
  if (after) {
    if (th__sorts[a->sort].integer)
      th__sqlite_q_i64(st, 6, a->after_key_int);
    else
      th__sqlite_q_f64(st, 6, a->after_key);
    th__sqlite_q_i64(st, 7, a->after_id);
  }
  th__sqlite_q_i64(st, 8, a->rows);
  th__sqlite_q_i64(st, 9, a->seed);
  return st;
}
