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
  th_purge_report r = {0};
  th_time now = th_now(db);
  int64_t today = th__day(now);
  int rc = th__write_begin(db);
  if (rc < 0)
    return rc;
  sqlite3_stmt *sites = th__stmt(db, TH__S_PURGE_SITES);
  if (sites == NULL)
    return th__write_end(db, db->errcode);
  typedef struct {
    int64_t id;
    int comment_days, audit_days, key_days;
  } th__policy;
  th__policy *p = NULL;
  size_t n = 0, cap = 0;
  int src;
  while ((src = sqlite3_step(sites)) == SQLITE_ROW) {
    th__policy *np = th__grow(p, n, &cap, sizeof *np);
    if (np == NULL) {
      src = SQLITE_NOMEM;
      break;
    }
    p = np;
    p[n++] = (th__policy){sqlite3_column_int64(sites, 0),
                          sqlite3_column_int(sites, 1),
                          sqlite3_column_int(sites, 2),
                          sqlite3_column_int(sites, 3)};
  }
  sqlite3_reset(sites);
  if (src != SQLITE_DONE)
    rc = th__sqlerr(db, src, "reading retention settings");

  for (size_t i = 0; rc >= 0 && i < n; i++) {
    sqlite3_stmt *st;
    if (p[i].comment_days > 0) {
      if ((st = th__stmt(db, TH__S_PURGE_COMMENTS)) == NULL)
        rc = db->errcode;
      else {
        sqlite3_bind_int64(st, 1, p[i].id);
        sqlite3_bind_int64(st, 2, today - p[i].comment_days);
        rc = th__step_done(db, st, "removing old comments");
        r.comments += sqlite3_changes(db->sql);
      }
      /* A statement that cannot be prepared is a failure, not a step to
       * skip: the purge must not report success having left data behind. */
      if (rc >= 0) {
        if ((st = th__stmt(db, TH__S_PURGE_COMMENT_COUNTS)) == NULL) {
          rc = db->errcode;
        } else {
          sqlite3_bind_int64(st, 1, p[i].id);
          rc = th__step_done(db, st, "recounting comments");
        }
      }
    }
    if (rc >= 0 && p[i].audit_days > 0) {
      if ((st = th__stmt(db, TH__S_PURGE_AUDIT)) == NULL)
        rc = db->errcode;
      else {
        sqlite3_bind_int64(st, 1, p[i].id);
        sqlite3_bind_int64(st, 2, now - (th_time)p[i].audit_days * TH__DAY_MS);
        rc = th__step_done(db, st, "removing old audit entries");
        r.audit += sqlite3_changes(db->sql);
      }
    }
    if (rc >= 0 && p[i].key_days > 0) {
      if ((st = th__stmt(db, TH__S_PURGE_KEYS)) == NULL)
        rc = db->errcode;
      else {
        sqlite3_bind_int64(st, 1, p[i].id);
        sqlite3_bind_int64(st, 2, now - (th_time)p[i].key_days * TH__DAY_MS);
        rc = th__step_done(db, st, "destroying consultation keys");
        r.keys += sqlite3_changes(db->sql);
      }
    }
  }
  free(p);
  sqlite3_stmt *st;
  if (rc >= 0)
    rc = (st = th__stmt(db, TH__S_PURGE_PSEUDONYMS)) == NULL
             ? db->errcode
             : th__step_done(db, st, "forgetting pseudonyms");
  /* An answer's selector, verifier and device token serve only their own
   * day (a handle amends, a retry folds, the same day alone), so once that
   * day is over they serve nothing, while with its salt, still held for up
   * to another day, a selector or token could be matched against a device:
   * clear every one of an earlier day. */
  if (rc >= 0) {
    if ((st = th__stmt(db, TH__S_PURGE_DEDUP)) == NULL) {
      rc = db->errcode;
    } else {
      sqlite3_bind_int64(st, 1, today);
      rc = th__step_done(db, st, "clearing old feedback tokens");
      r.dedup_tokens = sqlite3_changes(db->sql);
    }
  }
  rc = th__write_end(db, rc);
  if (rc < 0)
    return rc;
  r.salts = th__salts_expire(db->keys, now);
  if (!db->in_batch)
    sqlite3_wal_checkpoint_v2(db->sql, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
                              NULL);
  if (report)
    *report = r;
  return TH_OK;
}
