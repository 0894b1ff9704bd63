/*
 * retention.c: applying each site's retention settings. Comments, audit
 * entries and consultation keys are kept only as long as the site says;
 * day-old answer selectors and device tokens, and 48-hour-old salts, go
 * regardless. After the
 * deletions the WAL is checkpointed and truncated, so removed bytes do not
 * survive in it (secure_delete is on, so the database pages are zeroed).
 */
#include "internal.h"

#include <stdlib.h>

int th_purge(th_db *db, th_purge_report *report) {
  th__clear_err(db);
  th_purge_report r = TH_PURGE_REPORT_INIT;
  /* The caller's report is checked before anything is purged, and filled
   * in as far as its size goes (townhall.h, "Structs that grow"). */
  if (report && TH__SIZED_OUT(db, th_purge_report, report, &r) < 0)
    return TH_EINVAL;
  th_time now = th_now(db);
  int64_t today = th__day(now);
  int rc = th__write_begin(db);
  if (rc < 0)
    return rc;
  th__q *sites = th__q_get(db, TH__S_PURGE_SITES);
  if (sites == NULL)
    return th__write_end(db, db->errcode);
  typedef struct {
    int64_t id;
    int comment_days, audit_days, key_days;
  } th__policy;
  th__policy *p = NULL;
  size_t n = 0, cap = 0;
  int src;
  while ((src = th__q_step(db, sites, "reading retention settings")) ==
         TH__ROW) {
    th__policy *np = th__grow(p, n, &cap, sizeof *np);
    if (np == NULL)
      break;
    p = np;
    p[n++] = (th__policy){th__q_col_i64(sites, 0),
                          th__q_col_int(sites, 1),
                          th__q_col_int(sites, 2),
                          th__q_col_int(sites, 3)};
  }
  th__q_reset(sites);
  if (src != TH__DONE)
    rc = src == TH__ROW ? th__err(db, TH_ENOMEM,
                                  "reading retention settings: out of memory")
                        : src;

  for (size_t i = 0; rc >= 0 && i < n; i++) {
    th__q *st;
    if (p[i].comment_days > 0) {
      if ((st = th__q_get(db, TH__S_PURGE_COMMENTS)) == NULL)
        rc = db->errcode;
      else {
        th__q_i64(st, 1, p[i].id);
        th__q_i64(st, 2, today - p[i].comment_days);
        rc = th__q_run(db, st, "removing old comments");
        r.comments += th__q_changes(db);
      }
      /* A statement that cannot be prepared is a failure, not a step to
       * skip: the purge must not report success having left data behind. */
      if (rc >= 0) {
        if ((st = th__q_get(db, TH__S_PURGE_COMMENT_COUNTS)) == NULL) {
          rc = db->errcode;
        } else {
          th__q_i64(st, 1, p[i].id);
          rc = th__q_run(db, st, "recounting comments");
        }
      }
    }
    if (rc >= 0 && p[i].audit_days > 0) {
      if ((st = th__q_get(db, TH__S_PURGE_AUDIT)) == NULL)
        rc = db->errcode;
      else {
        th__q_i64(st, 1, p[i].id);
        th__q_i64(st, 2, now - (th_time)p[i].audit_days * TH__DAY_MS);
        rc = th__q_run(db, st, "removing old audit entries");
        r.audit += th__q_changes(db);
      }
    }
    if (rc >= 0 && p[i].key_days > 0) {
      if ((st = th__q_get(db, TH__S_PURGE_KEYS)) == NULL)
        rc = db->errcode;
      else {
        th__q_i64(st, 1, p[i].id);
        th__q_i64(st, 2, now - (th_time)p[i].key_days * TH__DAY_MS);
        rc = th__q_run(db, st, "destroying consultation keys");
        r.keys += th__q_changes(db);
      }
    }
  }
  free(p);
  th__q *st;
  if (rc >= 0)
    rc = (st = th__q_get(db, TH__S_PURGE_PSEUDONYMS)) == NULL
             ? db->errcode
             : th__q_run(db, st, "forgetting pseudonyms");
  /* An answer's selector, verifier and device token serve only their own
   * day (a handle amends, a retry folds, the same day alone), so once that
   * day is over they serve nothing, while with its salt, still held for up
   * to another day, a selector or token could be matched against a device:
   * clear every one of an earlier day. */
  if (rc >= 0) {
    if ((st = th__q_get(db, TH__S_PURGE_DEDUP)) == NULL) {
      rc = db->errcode;
    } else {
      th__q_i64(st, 1, today);
      rc = th__q_run(db, st, "clearing old feedback tokens");
      r.dedup_tokens = th__q_changes(db);
    }
  }
  rc = th__write_end(db, rc);
  if (rc < 0)
    return rc;
  r.salts = th__salts_expire(db->keys, now);
  if (!db->in_batch)
    th__store_checkpoint(db);
  if (report)
    TH__SIZED_OUT(db, th_purge_report, report, &r);
  return TH_OK;
}
