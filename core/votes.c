/*
 * votes.c: one vote per resident (or device) per idea, +1, -1 or withdrawn;
 * the idea's counters, ranking keys and daily history move in the same
 * transaction as the vote, so a list never disagrees with the votes behind
 * it.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* The ranking keys of counters, counting devices' votes when the site
 * ranks on them. */
static void th__keys(const th_counts *c, th_time created, int rank_anonymous,
                     double keys[3]) {
  int64_t up = c->up + (rank_anonymous ? c->anon_up : 0);
  int64_t down = c->down + (rank_anonymous ? c->anon_down : 0);
  keys[0] = th__wilson_lower(up, up + down);
  keys[1] = th__hot(up, down, created);
  keys[2] = th__controversial(up, down);
}

int th__idea_store_counts(th_db *db, int64_t idea_id, const th_counts *c,
                          th_time created, int rank_anonymous,
                          const double stored[3]) {
  double keys[3];
  th__keys(c, created, rank_anonymous, keys);
  int mask = 0;
  for (int k = 0; k < 3; k++)
    if (stored == NULL || keys[k] != stored[k])
      mask |= 1 << k;
  th__q *st = th__q_get(db, TH__S_IDEA_SET_COUNTS_0 + mask);
  if (st == NULL)
    return db->errcode;
  th_time now = th_now(db);
  th__q_i64(st, 1, idea_id);
  th__q_i64(st, 2, c->up);
  th__q_i64(st, 3, c->down);
  th__q_i64(st, 4, c->anon_up);
  th__q_i64(st, 5, c->anon_down);
  th__q_f64(st, 6, keys[0]);
  th__q_f64(st, 7, keys[1]);
  th__q_f64(st, 8, keys[2]);
  th__q_i64(st, 9, now);
  int rc = th__q_run(db, st, "updating an idea's counts");
  if (rc < 0)
    return rc;
  /* The day's closing totals, for the idea's history: every vote counts
   * here, signed in or not. */
  if ((st = th__q_get(db, TH__S_VOTE_DAY_SET)) == NULL)
    return db->errcode;
  th__q_i64(st, 1, idea_id);
  th__q_i64(st, 2, th__day(now));
  th__q_i64(st, 3, c->up + c->anon_up);
  th__q_i64(st, 4, c->down + c->anon_down);
  return th__q_run(db, st, "recording vote history");
}

int th__idea_rerank(th_db *db, int64_t idea_id, int rank_anonymous) {
  th__q *st = th__q_get(db, TH__S_IDEA_COUNTS);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, idea_id);
  int rc = th__q_step(db, st, "re-ranking an idea");
  if (rc != TH__ROW)
    return rc == TH__DONE
               ? th__err(db, TH_EDB, "re-ranking an idea: no idea %lld",
                         (long long)idea_id)
               : rc;
  th_counts c = {.up = th__q_col_i64(st, 0),
                 .down = th__q_col_i64(st, 1),
                 .anon_up = th__q_col_i64(st, 2),
                 .anon_down = th__q_col_i64(st, 3)};
  th_time created = th__q_col_i64(st, 4);
  th__q_reset(st);
  /* Re-ranking moves no vote: neither the idea's "updated" time nor its
   * history changes, only the keys. */
  double keys[3];
  th__keys(&c, created, rank_anonymous, keys);
  if ((st = th__q_get(db, TH__S_IDEA_SET_KEYS)) == NULL)
    return db->errcode;
  th__q_i64(st, 1, idea_id);
  th__q_f64(st, 2, keys[0]);
  th__q_f64(st, 3, keys[1]);
  th__q_f64(st, 4, keys[2]);
  return th__q_run(db, st, "re-ranking an idea");
}

int th__vote_apply(th_db *db, int64_t idea_id, const th__idea_state *known,
                   int64_t participant_id, int kind, int value,
                   int rank_anonymous, bool *changed, th_counts *out) {
  *changed = false;
  th_counts c;
  th_time created;
  double stored[3];
  th__q *st;
  int rc;
  if (known) {
    c = known->counts;
    created = known->created;
    memcpy(stored, known->keys, sizeof stored);
  } else {
    if ((st = th__q_get(db, TH__S_IDEA_COUNTS)) == NULL)
      return db->errcode;
    th__q_i64(st, 1, idea_id);
    rc = th__q_step(db, st, "reading an idea");
    if (rc != TH__ROW)
      return rc == TH__DONE ? th__err(db, TH_ENOTFOUND, "no idea %lld",
                                      (long long)idea_id)
                            : rc;
    c = (th_counts){.up = th__q_col_i64(st, 0),
                    .down = th__q_col_i64(st, 1),
                    .anon_up = th__q_col_i64(st, 2),
                    .anon_down = th__q_col_i64(st, 3)};
    created = th__q_col_i64(st, 4);
    for (int k = 0; k < 3; k++)
      stored[k] = th__q_col_f64(st, 5 + k);
    th__q_reset(st);
  }

  int old = 0;
  if (participant_id) {
    if ((st = th__q_get(db, TH__S_VOTE_GET)) == NULL)
      return db->errcode;
    th__q_i64(st, 1, idea_id);
    th__q_i64(st, 2, participant_id);
    if ((rc = th__q_step(db, st, "reading a vote")) < 0)
      return rc;
    if (rc == TH__ROW)
      old = th__q_col_int(st, 0);
    th__q_reset(st);
  }
  if (old != value) {
    if (value == 0) {
      if ((st = th__q_get(db, TH__S_VOTE_DELETE)) == NULL)
        return db->errcode;
      th__q_i64(st, 1, idea_id);
      th__q_i64(st, 2, participant_id);
    } else {
      if ((st = th__q_get(db, TH__S_VOTE_UPSERT)) == NULL)
        return db->errcode;
      th__q_i64(st, 1, idea_id);
      th__q_i64(st, 2, participant_id);
      th__q_i64(st, 3, value);
      th__q_i64(st, 4, th__day(th_now(db)));
    }
    if ((rc = th__q_run(db, st, "recording a vote")) < 0)
      return rc;
    int64_t *up = kind ? &c.anon_up : &c.up;
    int64_t *down = kind ? &c.anon_down : &c.down;
    if (old == 1)
      (*up)--;
    else if (old == -1)
      (*down)--;
    if (value == 1)
      (*up)++;
    else if (value == -1)
      (*down)++;
    if ((rc = th__idea_store_counts(db, idea_id, &c, created, rank_anonymous,
                                    stored)) < 0)
      return rc;
    *changed = true;
  }
  if (out) {
    *out = c;
    out->my_vote = value;
  }
  return TH_OK;
}

int th_vote(th_db *db, const char *site_slug, const th_who *who,
            int64_t idea_id, int value, th_counts *out) {
  th__clear_err(db);
  if (value < -1 || value > 1)
    return th__err(db, TH_EINVAL, "a vote is 1 (up), -1 (down) or 0 (withdraw)");
  if (who == NULL)
    return th__err(db, TH_EINVAL, "who is NULL");
  th__site_row site;
  int rc = th__site_lookup(db, site_slug, &site);
  if (rc < 0)
    return rc;
  bool anonymous = who->resident == NULL || who->resident[0] == '\0';
  if (anonymous && !site.allow_anonymous)
    return th__err(db, TH_EPERM, "sign in to vote on this site");
  if ((rc = th__write_begin(db)) < 0)
    return rc;
  th__idea_state s;
  rc = th__idea_state_get(db, site.id, idea_id, &s);
  free(s.response);
  s.response = NULL;
  th_time now = th_now(db);
  if (rc >= 0 && (now < s.opens || (s.closes && now >= s.closes)))
    rc = th__err(db, TH_ECLOSED, "voting on this consultation is %s",
                 now < s.opens ? "not open yet" : "closed");
  if (rc >= 0 && s.status != TH_PUBLISHED && s.status != TH_UNDER_REVIEW)
    rc = th__err(db, TH_ESTATE, "idea %lld is %s: it is not open for votes",
                 (long long)idea_id, th_status_name(s.status));
  int64_t pid = 0;
  int kind = 0;
  if (rc >= 0)
    rc = th__participant(db, s.consultation_id, who, value != 0, &pid, &kind);
  bool changed = false;
  if (rc >= 0)
    rc = th__vote_apply(db, idea_id, &s, pid, kind, value,
                        site.rank_anonymous, &changed, out);
  if (rc >= 0)
    rc = changed ? TH_RECORDED : TH_DUPLICATE;
  return th__write_end(db, rc);
}

int th_vote_mine(th_db *db, const char *site_slug, const th_who *who,
                 const int64_t *ids, size_t n, int *out) {
  th__clear_err(db);
  if (who == NULL || (n && (ids == NULL || out == NULL)))
    return th__err(db, TH_EINVAL, "who, ids or out is NULL");
  th__site_row site;
  int rc = th__site_lookup(db, site_slug, &site);
  if (rc < 0)
    return rc;
  /* A list's ideas mostly share a consultation: one pseudonym each. */
  int64_t cid = -1, pid = 0;
  for (size_t i = 0; i < n; i++) {
    out[i] = 0;
    th__idea_state s;
    rc = th__idea_state_get(db, site.id, ids[i], &s);
    free(s.response);
    if (rc == TH_ENOTFOUND) {
      th__clear_err(db);
      continue;
    }
    if (rc < 0)
      return rc;
    if (s.consultation_id != cid) {
      cid = s.consultation_id;
      rc = th__participant(db, cid, who, false, &pid, NULL);
      if (rc == TH_EKEY) { /* the key was destroyed: nobody is recognised */
        th__clear_err(db);
        pid = 0;
      } else if (rc < 0) {
        return rc;
      }
    }
    if (pid == 0)
      continue;
    th__q *st = th__q_get(db, TH__S_VOTE_GET);
    if (st == NULL)
      return db->errcode;
    th__q_i64(st, 1, ids[i]);
    th__q_i64(st, 2, pid);
    if ((rc = th__q_step(db, st, "reading a vote")) < 0)
      return rc;
    if (rc == TH__ROW)
      out[i] = th__q_col_int(st, 0);
    th__q_reset(st);
  }
  return TH_OK;
}

int th_vote_history_get(th_db *db, const char *site_slug, int64_t idea_id,
                        th_vote_history **out) {
  th__clear_err(db);
  if (out == NULL)
    return th__err(db, TH_EINVAL, "out is NULL");
  *out = NULL;
  th__site_row site;
  int rc = th__site_lookup(db, site_slug, &site);
  if (rc < 0)
    return rc;
  th__idea_state s;
  rc = th__idea_state_get(db, site.id, idea_id, &s);
  free(s.response);
  if (rc < 0)
    return rc;
  th__q *st = th__q_get(db, TH__S_VOTE_DAYS);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, idea_id);
  th_vote_history *h = calloc(1, sizeof *h);
  if (h == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");
  size_t cap = 0;
  while ((rc = th__q_step(db, st, "reading vote history")) == TH__ROW) {
    th_vote_day *grown = th__grow(h->days, h->count, &cap, sizeof *grown);
    if (grown == NULL)
      break;
    h->days = grown;
    th_vote_day *d = &h->days[h->count++];
    d->day = th__q_col_i64(st, 0) * TH__DAY_MS;
    d->up = th__q_col_i64(st, 1);
    d->down = th__q_col_i64(st, 2);
  }
  th__q_reset(st);
  if (rc != TH__DONE) {
    th_vote_history_free(h);
    return rc == TH__ROW ? th__err(db, TH_ENOMEM, "out of memory") : rc;
  }
  *out = h;
  return TH_OK;
}

void th_vote_history_free(th_vote_history *h) {
  if (h == NULL)
    return;
  free(h->days);
  free(h);
}
