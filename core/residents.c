/*
 * residents.c: a resident's rights of access and erasure (UK GDPR articles
 * 15 and 17). The library holds nothing that names a resident: what it holds
 * about one is found by recomputing their pseudonym in each consultation
 * whose key still exists.
 */
#include "internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A code point's length at s (valid UTF-8 assumed) and its value. */
static size_t th__cp(const unsigned char *s, uint32_t *cp) {
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  if ((s[0] & 0xe0) == 0xc0) {
    *cp = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
    return 2;
  }
  if ((s[0] & 0xf0) == 0xe0) {
    *cp = (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 |
          (s[2] & 0x3f);
    return 3;
  }
  *cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
        (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
  return 4;
}

/* Unicode's White_Space, and the invisible characters that pass for it
 * (zero-width space and joiners, word joiner, byte order mark). */
static bool th__blank(uint32_t c) {
  return c == 0x20 || (c >= 0x09 && c <= 0x0d) || c == 0x85 || c == 0xa0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200d) || c == 0x2028 ||
         c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x2060 ||
         c == 0x3000 || c == 0xfeff;
}

const char *th__resident_id_problem(const char *id, size_t len) {
  if (id == NULL || len == 0)
    return "the resident id is empty";
  if (th_utf8_check(id, len) != TH_OK)
    return "the resident id is not valid UTF-8";
  const unsigned char *s = (const unsigned char *)id;
  uint32_t c = 0, first = 0;
  th__cp(s, &first);
  for (size_t i = 0; i < len;) {
    i += th__cp(s + i, &c);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
      return "the resident id holds a control character";
  }
  if (th__blank(first) || th__blank(c))
    return "the resident id begins or ends with white space; it is taken "
           "exactly as given, never trimmed";
  return NULL;
}

int th__resident_id_check(th_db *db, const char *id) {
  const char *why = th__resident_id_problem(id, id ? strlen(id) : 0);
  return why ? th__err(db, TH_EINVAL, "%s", why) : TH_OK;
}

typedef struct th__membership {
  int64_t consultation_id;
  char *slug, *title;
  int64_t participant_id;
} th__membership;

/* Every consultation of the site in which the resident is a participant. */
static int th__memberships(th_db *db, int64_t site_id, const char *resident,
                           th__membership **out, size_t *count) {
  *out = NULL;
  *count = 0;
  th__q *st = th__q_get(db, TH__S_CONS_LIVE_KEYS);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, site_id);
  th__membership *m = NULL;
  size_t n = 0, cap = 0;
  int rc;
  while ((rc = th__q_step(db, st, "listing consultations")) == TH__ROW) {
    th__membership *nm = th__grow(m, n, &cap, sizeof *nm);
    if (nm == NULL)
      break;
    m = nm;
    m[n].consultation_id = th__q_col_i64(st, 0);
    m[n].slug = th__q_col_dup(st, 1);
    m[n].title = th__q_col_dup(st, 2);
    m[n].participant_id = 0;
    n++;
  }
  th__q_reset(st);
  int err = rc == TH__DONE ? TH_OK
            : rc == TH__ROW ? th__err(db, TH_ENOMEM, "out of memory")
                            : rc;
  th_who who = {.resident = resident};
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t pid = 0;
    int kind = 0;
    if (err == TH_OK && (!m[i].slug || !m[i].title))
      err = th__err(db, TH_ENOMEM, "out of memory");
    if (err == TH_OK)
      err = th__participant(db, m[i].consultation_id, &who, false, &pid, &kind);
    if (err == TH_OK && pid && kind == 0) {
      m[i].participant_id = pid;
      m[kept++] = m[i];
    } else {
      free(m[i].slug);
      free(m[i].title);
    }
  }
  if (err < 0) {
    for (size_t i = 0; i < kept; i++) {
      free(m[i].slug);
      free(m[i].title);
    }
    free(m);
    return err;
  }
  *out = m;
  *count = kept;
  return TH_OK;
}

static void th__memberships_free(th__membership *m, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(m[i].slug);
    free(m[i].title);
  }
  free(m);
}

int th_resident_export(th_db *db, const char *site_slug, const char *resident,
                       char **json_out) {
  th__clear_err(db);
  if (json_out == NULL)
    return th__err(db, TH_EINVAL, "json_out is NULL");
  *json_out = NULL;
  if (resident == NULL || resident[0] == '\0')
    return th__err(db, TH_EINVAL, "no resident given");
  if (th__resident_id_check(db, resident) < 0)
    return db->errcode;
  th__site_row site;
  int rc = th__site_lookup(db, site_slug, &site);
  if (rc < 0)
    return rc;
  th__membership *m;
  size_t n;
  if ((rc = th__memberships(db, site.id, resident, &m, &n)) < 0)
    return rc;
  json_t *doc = json_object();
  json_t *list = json_array();
  json_object_set_new(doc, "site", json_string(site_slug));
  json_object_set_new(
      doc, "note",
      json_string("townhall stores no name, e-mail or account id: only a "
                  "keyed pseudonym per consultation. This is everything "
                  "linked to yours. Page feedback is anonymous and cannot be "
                  "linked to you; consultations whose key was destroyed "
                  "after their retention period cannot either."));
  json_object_set_new(doc, "consultations", list);
  for (size_t i = 0; rc >= 0 && i < n; i++) {
    json_t *c = json_object();
    json_t *votes = json_array(), *ideas = json_array();
    json_object_set_new(c, "consultation", json_string(m[i].slug));
    json_object_set_new(c, "title", json_string(m[i].title));
    json_object_set_new(c, "votes", votes);
    json_object_set_new(c, "ideas", ideas);
    json_array_append_new(list, c);
    th__q *st = th__q_get(db, TH__S_VOTES_BY_PARTICIPANT);
    if (st == NULL) {
      rc = db->errcode;
      break;
    }
    th__q_i64(st, 1, m[i].participant_id);
    int src;
    while ((src = th__q_step(db, st, "reading votes")) == TH__ROW) {
      char day[64];
      th__day_text(th__q_col_i64(st, 3), day, sizeof day);
      json_array_append_new(
          votes, json_pack("{s:I,s:s,s:i,s:s}", "idea",
                           (json_int_t)th__q_col_i64(st, 0), "title",
                           th__q_col_text(st, 1), "vote",
                           th__q_col_int(st, 2), "day", day));
    }
    th__q_reset(st);
    if (src != TH__DONE) {
      rc = src;
      break;
    }
    if ((st = th__q_get(db, TH__S_IDEAS_BY_AUTHOR)) == NULL) {
      rc = db->errcode;
      break;
    }
    th__q_i64(st, 1, m[i].participant_id);
    while ((src = th__q_step(db, st, "reading ideas")) == TH__ROW) {
      json_array_append_new(
          ideas, json_pack("{s:I,s:s,s:s,s:I}", "id",
                           (json_int_t)th__q_col_i64(st, 0), "title",
                           th__q_col_text(st, 1), "status",
                           th_status_name(th__q_col_int(st, 2)),
                           "created",
                           (json_int_t)th__q_col_i64(st, 3)));
    }
    th__q_reset(st);
    if (src != TH__DONE)
      rc = src;
  }
  th__memberships_free(m, n);
  if (rc >= 0) {
    *json_out = json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    if (*json_out == NULL)
      rc = th__err(db, TH_ENOMEM, "out of memory");
  }
  json_decref(doc);
  return rc < 0 ? rc : TH_OK;
}

int th_resident_erase(th_db *db, const char *site_slug, const char *resident,
                      int64_t *erased) {
  th__clear_err(db);
  if (erased)
    *erased = 0;
  if (resident == NULL || resident[0] == '\0')
    return th__err(db, TH_EINVAL, "no resident given");
  if (th__resident_id_check(db, resident) < 0)
    return db->errcode;
  th__site_row site;
  int rc = th__site_lookup(db, site_slug, &site);
  if (rc < 0)
    return rc;
  if ((rc = th__write_begin(db)) < 0)
    return rc;
  th__membership *m = NULL;
  size_t n = 0;
  int64_t affected = 0;
  rc = th__memberships(db, site.id, resident, &m, &n);
  for (size_t i = 0; rc >= 0 && i < n; i++) {
    /* Withdraw each vote through the same path as a resident withdrawing
     * it, so the counters move exactly as they would. */
    th__q *st = th__q_get(db, TH__S_VOTES_BY_PARTICIPANT);
    if (st == NULL) {
      rc = db->errcode;
      break;
    }
    th__q_i64(st, 1, m[i].participant_id);
    int64_t *ideas = NULL;
    size_t ni = 0, cap = 0;
    int src;
    while ((src = th__q_step(db, st, "reading votes")) == TH__ROW) {
      int64_t *nn = th__grow(ideas, ni, &cap, sizeof *nn);
      if (nn == NULL)
        break;
      ideas = nn;
      ideas[ni++] = th__q_col_i64(st, 0);
    }
    th__q_reset(st);
    if (src != TH__DONE)
      rc = src == TH__ROW
               ? th__err(db, TH_ENOMEM, "reading votes: out of memory")
               : src;
    for (size_t k = 0; rc >= 0 && k < ni; k++) {
      bool changed = false;
      rc = th__vote_apply(db, ideas[k], NULL, m[i].participant_id, 0, 0,
                          site.rank_anonymous, &changed, NULL);
      affected += changed;
    }
    free(ideas);
    if (rc < 0)
      break;
    if ((st = th__q_get(db, TH__S_IDEA_DETACH_AUTHOR)) == NULL) {
      rc = db->errcode;
      break;
    }
    th__q_i64(st, 1, m[i].participant_id);
    if ((rc = th__q_run(db, st, "detaching ideas")) < 0)
      break;
    affected += th__q_changes(db);
    if ((st = th__q_get(db, TH__S_PART_DELETE)) == NULL) {
      rc = db->errcode;
      break;
    }
    th__q_i64(st, 1, m[i].participant_id);
    rc = th__q_run(db, st, "erasing a participant");
  }
  th__memberships_free(m, n);
  if (rc >= 0)
    rc = n ? TH_RECORDED : TH_DUPLICATE;
  rc = th__write_end(db, rc);
  if (rc >= 0 && erased)
    *erased = affected;
  return rc;
}
