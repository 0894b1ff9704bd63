/*
 * audit.c: the audit log, the record of what staff and the system did to a
 * site: written by the domain functions in the same transaction as the
 * change they record, listed newest first.
 */
#include "internal.h"

#include <stdlib.h>

static const char *th__actor(th_actor actor) {
  return actor && actor[0] ? actor : "system";
}

int th__audit(th_db *db, int64_t site_id, th_actor actor, const char *action,
              int64_t idea_id, const char *detail) {
  th__q *st = th__q_get(db, TH__S_AUDIT_INSERT);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, site_id);
  th__q_i64(st, 2, th_now(db));
  th__q_text_copy(st, 3, th__actor(actor));
  th__q_text(st, 4, action);
  th__q_i64(st, 5, idea_id);
  th__q_text_copy(st, 6, detail ? detail : "");
  return th__q_run(db, st, "writing the audit log");
}

int th_audit_list_get(th_db *db, const char *site_slug, int64_t before_id,
                      int limit, th_audit_list **out) {
  th__clear_err(db);
  if (out == NULL)
    return th__err(db, TH_EINVAL, "out is NULL");
  *out = NULL;
  if (limit < 0 || limit > 1000)
    return th__err(db, TH_ERANGE, "limit must be 1 to 1000");
  th__site_row site;
  int rc = th__site_lookup(db, site_slug, &site);
  if (rc < 0)
    return rc;
  th__q *st = th__q_get(db, TH__S_AUDIT_LIST);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, site.id);
  th__q_i64(st, 2, before_id);
  th__q_i64(st, 3, limit ? limit : 100);
  th_audit_list *l = calloc(1, sizeof *l);
  size_t cap = 0;
  if (l == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");
  while ((rc = th__q_step(db, st, "reading the audit log")) == TH__ROW) {
    th_audit_entry *n = th__grow(l->items, l->count, &cap, sizeof *n);
    if (n == NULL)
      break;
    l->items = n;
    th_audit_entry *e = &l->items[l->count++];
    e->id = th__q_col_i64(st, 0);
    e->at = th__q_col_i64(st, 1);
    e->actor = th__q_col_dup(st, 2);
    e->action = th__q_col_dup(st, 3);
    e->idea_id = th__q_col_i64(st, 4);
    e->detail = th__q_col_dup(st, 5);
  }
  if (rc != TH__DONE) {
    th__q_reset(st);
    th_audit_list_free(l);
    return rc == TH__ROW ? th__err(db, TH_ENOMEM, "out of memory") : rc;
  }
  *out = l;
  return TH_OK;
}

void th_audit_list_free(th_audit_list *l) {
  if (l == NULL)
    return;
  for (size_t i = 0; i < l->count; i++) {
    free((char *)l->items[i].actor);
    free((char *)l->items[i].action);
    free((char *)l->items[i].detail);
  }
  free(l->items);
  free(l);
}
