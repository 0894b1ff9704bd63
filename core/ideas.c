/*
 * ideas.c: proposing, reading and listing ideas, and their lifecycle:
 * pending -> published -> under review -> accepted / in progress / done /
 * declined, plus hidden (moderation), withdrawn (by the author) and merged.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const th__status_names[] = {
    "pending",     "published", "under_review", "accepted", "in_progress",
    "done",        "declined",  "hidden",       "withdrawn", "merged"};

const char *th_status_name(int status) {
  if (status < 0 || status >= (int)TH__ARRAY_SIZE(th__status_names))
    return NULL;
  return th__status_names[status];
}

int th_status_parse(const char *name) {
  for (size_t i = 0; name && i < TH__ARRAY_SIZE(th__status_names); i++)
    if (strcmp(name, th__status_names[i]) == 0)
      return (int)i;
  return TH_EINVAL;
}

static const char *const th__sort_names[] = {"top", "hot", "new",
                                             "controversial", "random"};

const char *th_sort_name(int sort) {
  if (sort < 0 || sort >= (int)TH__ARRAY_SIZE(th__sort_names))
    return NULL;
  return th__sort_names[sort];
}

int th_sort_parse(const char *name) {
  for (size_t i = 0; name && i < TH__ARRAY_SIZE(th__sort_names); i++)
    if (strcmp(name, th__sort_names[i]) == 0)
      return (int)i;
  return TH_EINVAL;
}

static const char *const th__moderation_names[] = {"publish", "hide", "reject",
                                                   "merge"};

const char *th_moderation_name(int action) {
  if (action < 0 || action >= (int)TH__ARRAY_SIZE(th__moderation_names))
    return NULL;
  return th__moderation_names[action];
}

int th_moderation_parse(const char *name) {
  for (size_t i = 0; name && i < TH__ARRAY_SIZE(th__moderation_names); i++)
    if (strcmp(name, th__moderation_names[i]) == 0)
      return (int)i;
  return TH_EINVAL;
}

static bool th__is_public(int status) {
  return status >= 0 && status < 32 &&
         (TH_STATUS_PUBLIC & TH_STATUS_BIT(status)) != 0;
}

/* Resolves a consultation of a site by slug (NULL: the ideas board). */
static int th__consultation_resolve(th_db *db, int64_t site_id,
                                    const char *slug, int64_t *id,
                                    th_time *opens, th_time *closes) {
  /* Outputs are defined on every path, success or not. */
  *id = 0;
  if (opens)
    *opens = 0;
  if (closes)
    *closes = 0;
  th__q *st = th__q_get(db, TH__S_CONS_OPEN);
  if (st == NULL)
    return db->errcode;
  if (slug == NULL || slug[0] == '\0')
    slug = "ideas";
  th__q_i64(st, 1, site_id);
  th__q_text(st, 2, slug);
  int rc = th__q_step(db, st, "finding a consultation");
  if (rc != TH__ROW)
    return rc == TH__DONE
               ? th__err(db, TH_ENOTFOUND, "no consultation \"%.60s\"", slug)
               : rc;
  *id = th__q_col_i64(st, 0);
  if (opens)
    *opens = th__q_col_i64(st, 1);
  if (closes)
    *closes = th__q_col_i64(st, 2);
  th__q_reset(st);
  return TH_OK;
}

static int th__check_open(th_db *db, th_time opens, th_time closes) {
  th_time now = th_now(db);
  if (now < opens)
    return th__err(db, TH_ECLOSED, "this consultation has not opened yet");
  if (closes && now >= closes)
    return th__err(db, TH_ECLOSED, "this consultation has closed");
  return TH_OK;
}

static bool th__is_anonymous(const th_who *who) {
  return who == NULL || who->resident == NULL || who->resident[0] == '\0';
}

int th_idea_submit(th_db *db, const char *site_slug, const th_who *who,
                   const th_idea_new *idea, int64_t *id_out) {
  th__clear_err(db);
  if (idea == NULL)
    return th__err(db, TH_EINVAL, "idea is NULL");
  /* Only what the caller's size covers (townhall.h, "Structs that grow"). */
  th_idea_new idea_in;
  if (TH__SIZED_IN(db, th_idea_new, idea, &idea_in) < 0)
    return TH_EINVAL;
  idea = &idea_in;
  int rc;
  if ((rc = th__text_check(db, "title", idea->title, 3, 140, 0)) < 0 ||
      (rc = th__text_check(db, "body", idea->body, 0, 5000,
                           TH__TEXT_MULTILINE | TH__TEXT_OPTIONAL)) < 0 ||
      (rc = th__text_check(db, "category", idea->category, 0, 60,
                           TH__TEXT_OPTIONAL)) < 0 ||
      (rc = th__text_check(db, "ward", idea->ward, 0, 60, TH__TEXT_OPTIONAL)) <
          0)
    return rc;
  th__site_row site;
  if ((rc = th__site_lookup(db, site_slug, &site)) < 0)
    return rc;
  if (th__is_anonymous(who) && !site.allow_anonymous)
    return th__err(db, TH_EPERM, "sign in to propose ideas on this site");
  if (who == NULL)
    return th__err(db, TH_EINVAL, "who is NULL");
  int64_t cid;
  th_time opens, closes;
  if ((rc = th__consultation_resolve(db, site.id, idea->consultation, &cid,
                                     &opens, &closes)) < 0 ||
      (rc = th__check_open(db, opens, closes)) < 0)
    return rc;

  /* A ward and a category come from the site's lists where it has them;
   * where it has none they are free text, scrubbed like the rest. */
  th__site_lists lists;
  char *ward = NULL, *category = NULL;
  if ((rc = th__site_lists_get(db, site.id, &lists)) < 0)
    return rc;
  rc = th__vocab_pick(db, "ward", "wards", lists.wards, idea->ward, &ward);
  if (rc >= 0)
    rc = th__vocab_pick(db, "category", "categories", lists.categories,
                        idea->category, &category);
  th__site_lists_free(&lists);
  /* Personal details come out before anything is stored. */
  char *title = NULL, *body = NULL;
  if (rc >= 0 && (th_redact(idea->title, &title) != TH_OK ||
                  th_redact(idea->body ? idea->body : "", &body) != TH_OK))
    rc = th__err(db, TH_ENOMEM, "out of memory");
  if (rc < 0 || (rc = th__write_begin(db)) < 0)
    goto out;
  int64_t author = 0, id = 0;
  rc = th__participant(db, cid, who, true, &author, NULL);
  th__q *st = rc < 0 ? NULL : th__q_get(db, TH__S_IDEA_DEDUP);
  if (rc >= 0 && st == NULL)
    rc = db->errcode;
  if (st) {
    th__q_i64(st, 1, cid);
    th__q_i64(st, 2, author);
    th__q_text(st, 3, title);
    int src = th__q_step(db, st, "checking for a duplicate idea");
    if (src == TH__ROW) {
      id = th__q_col_i64(st, 0);
      rc = TH_DUPLICATE;
      th__q_reset(st);
    } else if (src < 0) {
      rc = src;
    }
  }
  if (rc == TH_OK) {
    st = th__q_get(db, TH__S_IDEA_INSERT);
    if (st == NULL) {
      rc = db->errcode;
    } else {
      th_time now = th_now(db);
      th__q_i64(st, 1, site.id);
      th__q_i64(st, 2, cid);
      th__q_i64(st, 3, author);
      th__q_text(st, 4, title);
      th__q_text(st, 5, body);
      th__q_text(st, 6, category);
      th__q_text(st, 7, ward);
      th__q_i64(st, 8, site.moderate_ideas ? TH_PENDING : TH_PUBLISHED);
      th__q_f64(st, 9, th__hot(0, 0, now));
      th__q_i64(st, 10, now);
      rc = th__q_insert(db, st, "recording an idea", &id);
      if (rc >= 0)
        rc = TH_RECORDED;
    }
  }
  rc = th__write_end(db, rc);
  if (rc >= 0 && id_out)
    *id_out = id;
out:
  free(title);
  free(body);
  free(ward);
  free(category);
  return rc;
}

/* ---- reading -------------------------------------------------------------- */

static void th__idea_fill(th__q *st, th_idea *i) {
  i->id = th__q_col_i64(st, 0);
  i->consultation_id = th__q_col_i64(st, 1);
  i->consultation = th__q_col_dup(st, 2);
  i->title = th__q_col_dup(st, 3);
  i->body = th__q_col_dup(st, 4);
  i->category = th__q_col_dup(st, 5);
  i->ward = th__q_col_dup(st, 6);
  i->status = th__q_col_int(st, 7);
  i->merged_into = th__q_col_i64(st, 8);
  i->response = th__q_col_dup(st, 9);
  i->response_at = th__q_col_i64(st, 10);
  i->up = th__q_col_i64(st, 11);
  i->down = th__q_col_i64(st, 12);
  i->anon_up = th__q_col_i64(st, 13);
  i->anon_down = th__q_col_i64(st, 14);
  i->top = th__q_col_f64(st, 15);
  i->hot = th__q_col_f64(st, 16);
  i->controversial = th__q_col_f64(st, 17);
  i->created = th__q_col_i64(st, 18);
  i->updated = th__q_col_i64(st, 19);
  i->merged_from =
      i->status == TH_MERGED ? th__q_col_int(st, 20) : -1;
}

static bool th__idea_filled(const th_idea *i) {
  return i->consultation && i->title && i->body && i->category && i->ward &&
         i->response;
}

static void th__idea_clear(th_idea *i) {
  free((char *)i->consultation);
  free((char *)i->title);
  free((char *)i->body);
  free((char *)i->category);
  free((char *)i->ward);
  free((char *)i->response);
}

void th_idea_free(th_idea *idea) {
  if (idea == NULL)
    return;
  th__idea_clear(idea);
  free(idea);
}

int th_idea_get(th_db *db, const char *site_slug, int64_t id, th_idea **out) {
  th__clear_err(db);
  if (out == NULL)
    return th__err(db, TH_EINVAL, "out is NULL");
  *out = NULL;
  th__site_row site;
  int rc = th__site_lookup(db, site_slug, &site);
  if (rc < 0)
    return rc;
  th__q *st = th__q_get(db, TH__S_IDEA_GET);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, id);
  th__q_i64(st, 2, site.id);
  rc = th__q_step(db, st, "reading an idea");
  if (rc != TH__ROW)
    return rc == TH__DONE
               ? th__err(db, TH_ENOTFOUND, "no idea %lld on this site",
                         (long long)id)
               : rc;
  th_idea *i = calloc(1, sizeof *i);
  if (i)
    th__idea_fill(st, i);
  th__q_reset(st);
  if (i == NULL || !th__idea_filled(i)) {
    th_idea_free(i);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  *out = i;
  return TH_OK;
}

int th_idea_is_public(const th_idea *idea) {
  if (idea == NULL)
    return 0;
  if (idea->status == TH_MERGED)
    return th__is_public(idea->merged_from);
  return th__is_public(idea->status);
}

int th_idea_get_public(th_db *db, const char *site_slug, int64_t id,
                       th_idea **out) {
  int rc = th_idea_get(db, site_slug, id, out);
  if (rc < 0 || th_idea_is_public(*out))
    return rc;
  th_idea_free(*out);
  *out = NULL;
  /* The words of a missing idea: nothing tells the two apart. */
  return th__err(db, TH_ENOTFOUND, "no idea %lld on this site", (long long)id);
}

int th_idea_get_as(th_db *db, const th_staff *staff, const char *site_slug,
                   int64_t id, th_idea **out) {
  th__clear_err(db);
  if (out == NULL)
    return th__err(db, TH_EINVAL, "out is NULL");
  *out = NULL;
  if (staff == NULL)
    return th_idea_get_public(db, site_slug, id, out);
  int rc = th__staff_may(db, staff, site_slug, TH__MAY_STAFF_READ,
                         "see an idea the public may not");
  return rc < 0 ? rc : th_idea_get(db, site_slug, id, out);
}

void th_idea_page_free(th_idea_page *page) {
  if (page == NULL)
    return;
  for (size_t i = 0; i < page->count; i++)
    th__idea_clear(&page->items[i]);
  free(page->items);
  free(page->next_cursor);
  free(page);
}

int th_idea_list(th_db *db, const char *site_slug, const th_idea_query *q,
                 th_idea_page **out) {
  th__clear_err(db);
  if (out == NULL || q == NULL)
    return th__err(db, TH_EINVAL, "query and out are required");
  *out = NULL;
  /* Only what the caller's size covers (townhall.h, "Structs that grow"). */
  th_idea_query q_in;
  if (TH__SIZED_IN(db, th_idea_query, q, &q_in) < 0)
    return TH_EINVAL;
  q = &q_in;
  if (th_sort_name(q->sort) == NULL)
    return th__err(db, TH_EINVAL, "unknown sort %d", q->sort);
  if (q->limit < 0 || q->limit > 100)
    return th__err(db, TH_ERANGE, "limit must be 1 to 100");
  int limit = q->limit ? q->limit : 20;
  unsigned statuses = q->statuses ? q->statuses : TH_STATUS_PUBLIC;
  if (statuses >> (TH_MERGED + 1))
    return th__err(db, TH_EINVAL, "unknown status in the filter");
  th__cursor cur = {0};
  if (q->cursor && q->cursor[0]) {
    if (th__cursor_decode(q->cursor, &cur) != TH_OK || cur.kind != q->sort ||
        (q->sort == TH_SORT_RANDOM && cur.seed != q->seed))
      return th__err(db, TH_EINVAL,
                     "the cursor is malformed or belongs to another list");
  }
  th__site_row site;
  int rc = th__site_lookup(db, site_slug, &site);
  if (rc < 0)
    return rc;
  int64_t cid = 0;
  if (q->consultation && q->consultation[0] &&
      (rc = th__consultation_resolve(db, site.id, q->consultation, &cid, NULL,
                                     NULL)) < 0)
    return rc;

  th__idea_list_args args = {.site_id = site.id,
                             .consultation_id = cid,
                             .statuses = statuses,
                             .ward = q->ward,
                             .category = q->category,
                             .created_from = q->created_from,
                             .created_to = q->created_to,
                             .sort = q->sort,
                             .seed = (int64_t)q->seed,
                             .after_key = cur.key,
                             .after_key_int = cur.key2,
                             .after_id = cur.id,
                             .rows = limit + 1};
  th__q *st = th__idea_list_q(db, &args);
  if (st == NULL)
    return db->errcode;

  th_idea_page *page = calloc(1, sizeof *page);
  if (page == NULL || (page->items = calloc((size_t)limit, sizeof(th_idea))) ==
                          NULL) {
    free(page);
    th__q_reset(st);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  th__cursor next = {.kind = (uint8_t)q->sort, .seed = q->seed};
  bool more = false;
  while ((rc = th__q_step(db, st, "listing ideas")) == TH__ROW) {
    if (page->count == (size_t)limit) {
      more = true;
      break;
    }
    th_idea *i = &page->items[page->count++];
    th__idea_fill(st, i);
    if (!th__idea_filled(i)) {
      rc = th__err(db, TH_ENOMEM, "listing ideas: out of memory");
      break;
    }
    next.id = i->id;
    next.key = th__q_col_f64(st, 21);
    next.key2 = th__q_col_i64(st, 21);
  }
  th__q_reset(st);
  if (rc < 0) {
    th_idea_page_free(page);
    return rc;
  }
  if (more && (page->next_cursor = th__cursor_encode(&next)) == NULL) {
    th_idea_page_free(page);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  *out = page;
  return TH_OK;
}

int th_idea_list_as(th_db *db, const th_staff *staff, const char *site_slug,
                    const th_idea_query *q, th_idea_page **out) {
  th__clear_err(db);
  if (out)
    *out = NULL;
  th_idea_query q_in;
  if (q) {
    if (TH__SIZED_IN(db, th_idea_query, q, &q_in) < 0)
      return TH_EINVAL;
    q = &q_in;
  }
  /* The public's statuses for anyone; the rest for staff, and a staff
   * member given is checked whatever is asked (another site's token is
   * refused, as the server's gate refuses it). */
  if (staff || (q && (q->statuses & ~TH_STATUS_PUBLIC) != 0)) {
    int rc = th__staff_may(db, staff, site_slug, TH__MAY_STAFF_READ,
                           "list ideas the public may not see");
    if (rc < 0)
      return rc;
  }
  return th_idea_list(db, site_slug, q, out);
}

/* ---- lifecycle ------------------------------------------------------------ */

int th__idea_state_get(th_db *db, int64_t site_id, int64_t id,
                       th__idea_state *s) {
  memset(s, 0, sizeof *s);
  th__q *st = th__q_get(db, TH__S_IDEA_STATE);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, id);
  th__q_i64(st, 2, site_id);
  int rc = th__q_step(db, st, "reading an idea");
  if (rc != TH__ROW)
    return rc == TH__DONE
               ? th__err(db, TH_ENOTFOUND, "no idea %lld on this site",
                         (long long)id)
               : rc;
  s->consultation_id = th__q_col_i64(st, 0);
  s->status = th__q_col_int(st, 1);
  s->opens = th__q_col_i64(st, 2);
  s->closes = th__q_col_i64(st, 3);
  s->counts.up = th__q_col_i64(st, 4);
  s->counts.down = th__q_col_i64(st, 5);
  s->counts.anon_up = th__q_col_i64(st, 6);
  s->counts.anon_down = th__q_col_i64(st, 7);
  s->created = th__q_col_i64(st, 8);
  s->author_id = th__q_col_i64(st, 9);
  for (int k = 0; k < 3; k++)
    s->keys[k] = th__q_col_f64(st, 11 + k);
  s->response = th__q_col_dup(st, 10);
  th__q_reset(st);
  if (s->response == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");
  return TH_OK;
}

static int th__set_status(th_db *db, int64_t id, int status) {
  th__q *st = th__q_get(db, TH__S_IDEA_SET_STATUS);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, id);
  th__q_i64(st, 2, status);
  th__q_i64(st, 3, th_now(db));
  return th__q_run(db, st, "changing an idea's status");
}

int th_idea_set_status(th_db *db, const char *site_slug, th_actor actor,
                       int64_t id, int status, const char *response) {
  th__clear_err(db);
  if (!th__is_public(status))
    return th__err(db, TH_EINVAL,
                   "status must be published, under_review, accepted, "
                   "in_progress, done or declined");
  int rc;
  if (response && (rc = th__text_check(db, "response", response, 0, 5000,
                                       TH__TEXT_MULTILINE)) < 0)
    return rc;
  th__site_row site;
  if ((rc = th__site_lookup(db, site_slug, &site)) < 0)
    return rc;
  /* The official response is published: a resident's e-mail address
   * pasted into it comes out, the council's own contact details stay. */
  char *scrubbed = NULL;
  if (response && (rc = th__staff_scrub(db, site.id, response, &scrubbed)) < 0)
    return rc;
  response = scrubbed;
  if ((rc = th__write_begin(db)) < 0) {
    free(scrubbed);
    return rc;
  }
  th__idea_state s;
  rc = th__idea_state_get(db, site.id, id, &s);
  if (rc >= 0 && !th__is_public(s.status))
    rc = th__err(db, TH_ESTATE,
                 "idea %lld is %s: only a published idea's status can be set "
                 "(moderate it first)",
                 (long long)id, th_status_name(s.status));
  bool status_changes = rc >= 0 && s.status != status;
  bool response_changes =
      rc >= 0 && response && s.response && strcmp(response, s.response) != 0;
  if (rc >= 0 && !status_changes && !response_changes)
    rc = TH_DUPLICATE;
  if (rc == TH_OK && status_changes)
    rc = th__set_status(db, id, status);
  if (rc == TH_OK && response_changes) {
    th__q *st = th__q_get(db, TH__S_IDEA_SET_RESPONSE);
    if (st == NULL) {
      rc = db->errcode;
    } else {
      th__q_i64(st, 1, id);
      th__q_text(st, 2, response);
      th__q_i64(st, 3, response[0] ? th_now(db) : 0);
      rc = th__q_run(db, st, "writing the official response");
    }
  }
  if (rc == TH_OK) {
    char detail[96];
    snprintf(detail, sizeof detail, "%s -> %s%s", th_status_name(s.status),
             th_status_name(status), response_changes ? ", response" : "");
    rc = th__audit(db, site.id, actor, "status", id, detail);
    if (rc >= 0)
      rc = TH_RECORDED;
  }
  free(s.response);
  free(scrubbed);
  return th__write_end(db, rc);
}

int th_idea_set_status_as(th_db *db, const th_staff *staff,
                          const char *site_slug, int64_t id, int status,
                          const char *response) {
  th__clear_err(db);
  int rc = th__staff_may(db, staff, site_slug, TH__MAY_SET_STATUS,
                         "set an idea's status");
  return rc < 0 ? rc
                : th_idea_set_status(db, site_slug, staff->actor, id, status,
                                     response);
}

static int th__merge(th_db *db, int64_t site_id, int64_t id,
                     const th__idea_state *src, int64_t into,
                     int rank_anonymous) {
  if (into == id)
    return th__err(db, TH_EINVAL, "an idea cannot be merged into itself");
  th__idea_state dst;
  int rc = th__idea_state_get(db, site_id, into, &dst);
  if (rc < 0)
    return rc;
  free(dst.response);
  if (dst.consultation_id != src->consultation_id)
    return th__err(db, TH_EINVAL,
                   "ideas can only be merged within one consultation");
  if (!th__is_public(dst.status))
    return th__err(db, TH_ESTATE, "the idea merged into must be visible (it "
                                  "is %s)",
                   th_status_name(dst.status));
  /* Where a voter voted on both, the target's vote stands: drop theirs on
   * the source, then move the rest. */
  th__q *st = th__q_get(db, TH__S_VOTES_MERGE_DROP);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, id);
  th__q_i64(st, 2, into);
  if ((rc = th__q_run(db, st, "merging votes")) < 0)
    return rc;
  if ((st = th__q_get(db, TH__S_VOTES_MERGE_MOVE)) == NULL)
    return db->errcode;
  th__q_i64(st, 1, id);
  th__q_i64(st, 2, into);
  if ((rc = th__q_run(db, st, "merging votes")) < 0)
    return rc;
  /* Recount the target from its votes: exact, whatever moved. */
  if ((st = th__q_get(db, TH__S_VOTES_TALLY)) == NULL)
    return db->errcode;
  th__q_i64(st, 1, into);
  th_counts c = {0};
  if ((rc = th__q_step(db, st, "counting votes")) != TH__ROW)
    return rc == TH__DONE ? th__err(db, TH_EDB, "counting votes: no row")
                          : rc;
  c.up = th__q_col_i64(st, 0);
  c.down = th__q_col_i64(st, 1);
  c.anon_up = th__q_col_i64(st, 2);
  c.anon_down = th__q_col_i64(st, 3);
  th__q_reset(st);
  if ((rc = th__idea_store_counts(db, into, &c, dst.created, rank_anonymous,
                                  dst.keys)) < 0)
    return rc;
  th_counts zero = {0};
  if ((rc = th__idea_store_counts(db, id, &zero, src->created,
                                  rank_anonymous, src->keys)) < 0)
    return rc;
  if ((st = th__q_get(db, TH__S_IDEA_SET_MERGED)) == NULL)
    return db->errcode;
  th__q_i64(st, 1, id);
  th__q_i64(st, 2, into);
  th__q_i64(st, 3, th_now(db));
  /* What it was, so that a pending idea merged away stays private
   * (th_idea_is_public). */
  th__q_i64(st, 4, src->status);
  return th__q_run(db, st, "merging an idea");
}

int th_idea_moderate(th_db *db, const char *site_slug, th_actor actor,
                     int64_t id, int action, int64_t into,
                     const char *reason) {
  th__clear_err(db);
  if (th_moderation_name(action) == NULL)
    return th__err(db, TH_EINVAL, "unknown moderation action %d", action);
  int rc;
  if ((rc = th__text_check(db, "reason", reason, 1, 500, TH__TEXT_MULTILINE)) <
      0)
    return rc;
  th__site_row site;
  if ((rc = th__site_lookup(db, site_slug, &site)) < 0)
    return rc;
  /* The reason is kept in the audit log: scrubbed as staff text is. */
  char *why = NULL;
  if ((rc = th__staff_scrub(db, site.id, reason, &why)) < 0)
    return rc;
  reason = why;
  if ((rc = th__write_begin(db)) < 0) {
    free(why);
    return rc;
  }
  th__idea_state s;
  rc = th__idea_state_get(db, site.id, id, &s);
  free(s.response);
  if (rc < 0) {
    free(why);
    return th__write_end(db, rc);
  }
  int to = -1;
  switch (action) {
  case TH_MOD_PUBLISH:
    if (s.status == TH_PUBLISHED)
      rc = TH_DUPLICATE;
    else if (s.status == TH_PENDING || s.status == TH_HIDDEN)
      to = TH_PUBLISHED;
    break;
  case TH_MOD_HIDE:
    if (s.status == TH_HIDDEN)
      rc = TH_DUPLICATE;
    else if (s.status == TH_PENDING || th__is_public(s.status))
      to = TH_HIDDEN;
    break;
  case TH_MOD_REJECT:
    if (s.status == TH_HIDDEN)
      rc = TH_DUPLICATE;
    else if (s.status == TH_PENDING)
      to = TH_HIDDEN;
    break;
  case TH_MOD_MERGE:
    if (s.status == TH_MERGED)
      rc = TH_DUPLICATE;
    else if (s.status == TH_PENDING || th__is_public(s.status))
      to = TH_MERGED;
    break;
  }
  if (rc == TH_OK && to < 0)
    rc = th__err(db, TH_ESTATE, "cannot %s an idea that is %s",
                 th_moderation_name(action), th_status_name(s.status));
  if (rc == TH_OK)
    rc = to == TH_MERGED
             ? th__merge(db, site.id, id, &s, into, site.rank_anonymous)
             : th__set_status(db, id, to);
  if (rc == TH_OK) {
    char act[32], detail[600];
    snprintf(act, sizeof act, "moderate:%s", th_moderation_name(action));
    if (to == TH_MERGED)
      snprintf(detail, sizeof detail, "into %lld: %s", (long long)into, reason);
    else
      snprintf(detail, sizeof detail, "%s", reason);
    rc = th__audit(db, site.id, actor, act, id, detail);
    if (rc >= 0)
      rc = TH_RECORDED;
  }
  free(why);
  return th__write_end(db, rc);
}

int th_idea_moderate_as(th_db *db, const th_staff *staff,
                        const char *site_slug, int64_t id, int action,
                        int64_t into, const char *reason) {
  th__clear_err(db);
  int rc = th__staff_may(db, staff, site_slug, TH__MAY_MODERATE,
                         "moderate ideas");
  return rc < 0 ? rc
                : th_idea_moderate(db, site_slug, staff->actor, id, action,
                                   into, reason);
}

int th_idea_withdraw(th_db *db, const char *site_slug, const th_who *who,
                     int64_t id) {
  th__clear_err(db);
  th__site_row site;
  int rc = th__site_lookup(db, site_slug, &site);
  if (rc < 0)
    return rc;
  if (who == NULL)
    return th__err(db, TH_EINVAL, "who is NULL");
  if ((rc = th__write_begin(db)) < 0)
    return rc;
  th__idea_state s;
  rc = th__idea_state_get(db, site.id, id, &s);
  free(s.response);
  int64_t pid = 0;
  if (rc >= 0)
    rc = th__participant(db, s.consultation_id, who, false, &pid, NULL);
  if (rc >= 0 && (pid == 0 || pid != s.author_id))
    rc = th__err(db, TH_EPERM, "only its author can withdraw an idea");
  if (rc >= 0 && s.status == TH_WITHDRAWN)
    rc = TH_DUPLICATE;
  else if (rc >= 0 && s.status != TH_PENDING && s.status != TH_PUBLISHED &&
           s.status != TH_UNDER_REVIEW)
    rc = th__err(db, TH_ESTATE, "an idea that is %s cannot be withdrawn",
                 th_status_name(s.status));
  if (rc == TH_OK && (rc = th__set_status(db, id, TH_WITHDRAWN)) >= 0)
    rc = TH_RECORDED;
  return th__write_end(db, rc);
}
