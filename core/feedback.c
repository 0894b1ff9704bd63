/*
 * feedback.c: "Is this page useful?", a 1-5 rating and a comment, per page.
 *
 * A device's answers on a page on a day form one record, found again by a
 * token keyed with the day's salt (privacy.c): a second answer amends the
 * first, so the widget can record "yes" at once and add a rating later
 * without counting twice. The page row carries every counter, moved in the
 * same transaction, so a summary is one row read.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct th__page {
  int64_t id;
  int64_t yes, no, r[5], comments;
} th__page;

static void th__page_read(sqlite3_stmt *st, th__page *p) {
  p->id = sqlite3_column_int64(st, 0);
  p->yes = sqlite3_column_int64(st, 2);
  p->no = sqlite3_column_int64(st, 3);
  for (int i = 0; i < 5; i++)
    p->r[i] = sqlite3_column_int64(st, 4 + i);
  p->comments = sqlite3_column_int64(st, 9);
}

/* Moves the page counters by one record's contribution (sign +1 or -1). */
static void th__page_count(th__page *p, int sign, int useful, int rating,
                           bool comment) {
  if (useful)
    p->yes += sign;
  else
    p->no += sign;
  if (rating >= 1 && rating <= 5)
    p->r[rating - 1] += sign;
  if (comment)
    p->comments += sign;
}

static int th__page_find(th_db *db, int64_t site_id, const char *url,
                         bool create, th__page *p) {
  memset(p, 0, sizeof *p);
  sqlite3_stmt *st = th__stmt(db, TH__S_PAGE_FIND);
  if (st == NULL)
    return db->errcode;
  sqlite3_bind_int64(st, 1, site_id);
  sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    th__page_read(st, p);
  sqlite3_reset(st);
  if (rc == SQLITE_ROW)
    return TH_OK;
  if (rc != SQLITE_DONE)
    return th__sqlerr(db, rc, "finding a page");
  if (!create)
    return th__err(db, TH_ENOTFOUND, "no feedback on that page yet");
  if ((st = th__stmt(db, TH__S_PAGE_INSERT)) == NULL)
    return db->errcode;
  sqlite3_bind_int64(st, 1, site_id);
  sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, th__day(th_now(db)));
  if ((rc = th__step_done(db, st, "recording a page")) < 0)
    return rc;
  p->id = sqlite3_last_insert_rowid(db->sql);
  return TH_OK;
}

static int th__page_store(th_db *db, const th__page *p, int64_t day) {
  sqlite3_stmt *st = th__stmt(db, TH__S_PAGE_SET);
  if (st == NULL)
    return db->errcode;
  sqlite3_bind_int64(st, 1, p->id);
  sqlite3_bind_int64(st, 2, p->yes);
  sqlite3_bind_int64(st, 3, p->no);
  for (int i = 0; i < 5; i++)
    sqlite3_bind_int64(st, 4 + i, p->r[i]);
  sqlite3_bind_int64(st, 9, p->comments);
  sqlite3_bind_double(st, 10, th__wilson_lower(p->yes, p->yes + p->no));
  sqlite3_bind_int64(st, 11, day);
  return th__step_done(db, st, "updating page counters");
}

/* Normalises a page URL for a site and checks it is on one of its origins. */
static int th__page_url(th_db *db, const th__site_row *site, const char *page,
                        char **url) {
  int rc = th_url_normalize(page, site->keep_params, url);
  if (rc == TH_ETOOLONG)
    return th__err(db, rc, "page URL is longer than 2048 bytes");
  if (rc == TH_ENOMEM)
    return th__err(db, rc, "out of memory");
  if (rc < 0)
    return th__err(db, TH_EINVAL, "page must be an absolute http(s) URL");
  if (site->origins[0] &&
      !th__origin_listed(site->origins, *url, th__url_origin_len(*url))) {
    free(*url);
    *url = NULL;
    return th__err(db, TH_EINVAL, "page is not on one of this site's origins");
  }
  return TH_OK;
}

int th_feedback_record(th_db *db, const char *site_slug, const th_who *who,
                       const th_feedback *fb) {
  th__clear_err(db);
  if (fb == NULL)
    return th__err(db, TH_EINVAL, "feedback is NULL");
  if (fb->useful != 0 && fb->useful != 1)
    return th__err(db, TH_EINVAL, "useful is 1 (yes) or 0 (no)");
  if (fb->rating < 0 || fb->rating > 5)
    return th__err(db, TH_ERANGE, "rating is 1 to 5, or 0 for none");
  if (fb->page == NULL)
    return th__err(db, TH_EINVAL, "page is required");
  int rc = th__text_check(db, "comment", fb->comment, 0, 2000,
                          TH__TEXT_MULTILINE | TH__TEXT_OPTIONAL);
  if (rc < 0)
    return rc;
  th__site_row site;
  if ((rc = th__site_lookup(db, site_slug, &site)) < 0)
    return rc;
  char *url = NULL, *comment = NULL;
  if ((rc = th__page_url(db, &site, fb->page, &url)) < 0)
    return rc;
  if (fb->comment) {
    /* White space alone is no comment. */
    const char *c = fb->comment;
    while (*c == ' ' || *c == '\n' || *c == '\r' || *c == '\t')
      c++;
    if (*c && th_redact(fb->comment, &comment) != TH_OK) {
      free(url);
      return th__err(db, TH_ENOMEM, "out of memory");
    }
  }
  bool device = who && who->ip && who->ip[0];
  int64_t day = th__day(th_now(db));
  if ((rc = th__write_begin(db)) < 0)
    goto out;
  th__page p;
  rc = th__page_find(db, site.id, url, true, &p);
  unsigned char token[8];
  if (rc >= 0 && device)
    rc = th__device_token(db, site.id, p.id, who, day, token);

  /* An earlier answer from this device today? */
  int64_t fid = 0;
  int old_useful = 0, old_rating = 0;
  char *old_comment = NULL;
  if (rc >= 0 && device) {
    sqlite3_stmt *st = th__stmt(db, TH__S_FB_FIND);
    if (st == NULL) {
      rc = db->errcode;
    } else {
      sqlite3_bind_int64(st, 1, p.id);
      sqlite3_bind_int64(st, 2, day);
      sqlite3_bind_blob(st, 3, token, sizeof token, SQLITE_STATIC);
      int src = sqlite3_step(st);
      if (src == SQLITE_ROW) {
        fid = sqlite3_column_int64(st, 0);
        old_useful = sqlite3_column_int(st, 1);
        old_rating = sqlite3_column_int(st, 2);
        if (sqlite3_column_type(st, 3) != SQLITE_NULL)
          old_comment = th__col_text(st, 3);
      } else if (src != SQLITE_DONE) {
        rc = th__sqlerr(db, src, "reading feedback");
      }
      sqlite3_reset(st);
    }
  }
  if (rc >= 0 && fid) {
    /* Amend: the new answer stands; a rating or comment not given now keeps
     * the earlier one. */
    int rating = fb->rating ? fb->rating : old_rating;
    const char *text = comment ? comment : old_comment;
    if (fb->useful == old_useful && rating == old_rating &&
        ((text == NULL && old_comment == NULL) ||
         (text && old_comment && strcmp(text, old_comment) == 0))) {
      rc = TH_DUPLICATE;
    } else {
      th__page_count(&p, -1, old_useful, old_rating, old_comment != NULL);
      th__page_count(&p, +1, fb->useful, rating, text != NULL);
      sqlite3_stmt *st = th__stmt(db, TH__S_FB_UPDATE);
      if (st == NULL) {
        rc = db->errcode;
      } else {
        sqlite3_bind_int64(st, 1, fid);
        sqlite3_bind_int(st, 2, fb->useful);
        sqlite3_bind_int(st, 3, rating);
        if (text)
          sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
        rc = th__step_done(db, st, "amending feedback");
      }
      if (rc >= 0)
        rc = th__page_store(db, &p, day);
      if (rc >= 0)
        rc = TH_RECORDED;
    }
  } else if (rc >= 0) {
    sqlite3_stmt *st = th__stmt(db, TH__S_FB_INSERT);
    if (st == NULL) {
      rc = db->errcode;
    } else {
      sqlite3_bind_int64(st, 1, p.id);
      sqlite3_bind_int64(st, 2, day);
      sqlite3_bind_int(st, 3, fb->useful);
      sqlite3_bind_int(st, 4, fb->rating);
      if (comment)
        sqlite3_bind_text(st, 5, comment, -1, SQLITE_STATIC);
      if (device)
        sqlite3_bind_blob(st, 6, token, sizeof token, SQLITE_STATIC);
      rc = th__step_done(db, st, "recording feedback");
    }
    th__page_count(&p, +1, fb->useful, fb->rating, comment != NULL);
    if (rc >= 0)
      rc = th__page_store(db, &p, day);
    if (rc >= 0)
      rc = TH_RECORDED;
  }
  free(old_comment);
  rc = th__write_end(db, rc);
out:
  free(url);
  free(comment);
  return rc;
}

/* ---- reading -------------------------------------------------------------- */

static int th__summary_fill(sqlite3_stmt *st, th_page_summary *s) {
  memset(s, 0, sizeof *s);
  s->page = th__col_text(st, 1);
  s->yes = sqlite3_column_int64(st, 2);
  s->no = sqlite3_column_int64(st, 3);
  int64_t sum = 0;
  for (int i = 0; i < 5; i++) {
    s->ratings[i] = sqlite3_column_int64(st, 4 + i);
    s->rating_count += s->ratings[i];
    sum += s->ratings[i] * (i + 1);
  }
  s->rating_mean = s->rating_count ? (double)sum / (double)s->rating_count : 0;
  s->comments = sqlite3_column_int64(st, 9);
  s->useful_lower = sqlite3_column_double(st, 10);
  s->first = sqlite3_column_int64(st, 11) * TH__DAY_MS;
  s->last = sqlite3_column_int64(st, 12) * TH__DAY_MS;
  return s->page ? TH_OK : TH_ENOMEM;
}

void th_page_summary_free(th_page_summary *s) {
  if (s == NULL)
    return;
  free(s->page);
  free(s);
}

int th_feedback_summary(th_db *db, const char *site_slug, const char *page,
                        th_page_summary **out) {
  th__clear_err(db);
  if (out == NULL)
    return th__err(db, TH_EINVAL, "out is NULL");
  *out = NULL;
  th__site_row site;
  int rc = th__site_lookup(db, site_slug, &site);
  if (rc < 0)
    return rc;
  char *url = NULL;
  if ((rc = th__page_url(db, &site, page, &url)) < 0)
    return rc;
  sqlite3_stmt *st = th__stmt(db, TH__S_PAGE_FIND);
  if (st == NULL) {
    free(url);
    return db->errcode;
  }
  sqlite3_bind_int64(st, 1, site.id);
  sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  th_page_summary *s = NULL;
  if (rc == SQLITE_ROW) {
    s = malloc(sizeof *s);
    if (s == NULL || th__summary_fill(st, s) != TH_OK)
      rc = SQLITE_NOMEM;
  }
  sqlite3_reset(st);
  free(url);
  if (rc != SQLITE_ROW) {
    th_page_summary_free(s);
    return rc == SQLITE_DONE
               ? th__err(db, TH_ENOTFOUND, "no feedback on that page yet")
               : th__sqlerr(db, rc, "reading a page summary");
  }
  *out = s;
  return TH_OK;
}

#define TH__PAGE_CURSOR 0x80

int th_feedback_pages(th_db *db, const char *site_slug, int limit,
                      const char *cursor, th_page_list **out) {
  th__clear_err(db);
  if (out == NULL)
    return th__err(db, TH_EINVAL, "out is NULL");
  *out = NULL;
  if (limit < 0 || limit > 100)
    return th__err(db, TH_ERANGE, "limit must be 1 to 100");
  if (limit == 0)
    limit = 20;
  th__cursor cur = {0};
  if (cursor && cursor[0] &&
      (th__cursor_decode(cursor, &cur) != TH_OK ||
       cur.kind != TH__PAGE_CURSOR))
    return th__err(db, TH_EINVAL,
                   "the cursor is malformed or belongs to another list");
  th__site_row site;
  int rc = th__site_lookup(db, site_slug, &site);
  if (rc < 0)
    return rc;
  sqlite3_stmt *st = th__stmt(db, TH__S_PAGES_WORST);
  if (st == NULL)
    return db->errcode;
  sqlite3_bind_int64(st, 1, site.id);
  sqlite3_bind_int(st, 2, cur.id != 0);
  sqlite3_bind_double(st, 3, cur.key);
  sqlite3_bind_int64(st, 4, cur.key2);
  sqlite3_bind_int64(st, 5, cur.id);
  sqlite3_bind_int(st, 6, limit + 1);
  th_page_list *l = calloc(1, sizeof *l);
  if (l == NULL || (l->items = calloc((size_t)limit, sizeof *l->items)) ==
                       NULL) {
    free(l);
    sqlite3_reset(st);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  th__cursor next = {.kind = TH__PAGE_CURSOR};
  bool more = false;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (l->count == (size_t)limit) {
      more = true;
      break;
    }
    th_page_summary *s = &l->items[l->count++];
    if (th__summary_fill(st, s) != TH_OK) {
      rc = SQLITE_NOMEM;
      break;
    }
    next.id = sqlite3_column_int64(st, 0);
    next.key = s->useful_lower;
    next.key2 = s->no;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE && !(rc == SQLITE_ROW && more)) {
    th_page_list_free(l);
    return th__sqlerr(db, rc, "listing pages");
  }
  if (more && (l->next_cursor = th__cursor_encode(&next)) == NULL) {
    th_page_list_free(l);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  *out = l;
  return TH_OK;
}

void th_page_list_free(th_page_list *l) {
  if (l == NULL)
    return;
  for (size_t i = 0; i < l->count; i++)
    free(l->items[i].page);
  free(l->items);
  free(l->next_cursor);
  free(l);
}

int th_feedback_comments(th_db *db, const char *site_slug, const char *page,
                         int limit, th_comment_list **out) {
  th__clear_err(db);
  if (out == NULL)
    return th__err(db, TH_EINVAL, "out is NULL");
  *out = NULL;
  if (limit < 0 || limit > 500)
    return th__err(db, TH_ERANGE, "limit must be 1 to 500");
  th__site_row site;
  int rc = th__site_lookup(db, site_slug, &site);
  if (rc < 0)
    return rc;
  char *url = NULL;
  if ((rc = th__page_url(db, &site, page, &url)) < 0)
    return rc;
  th__page p;
  rc = th__page_find(db, site.id, url, false, &p);
  free(url);
  if (rc < 0)
    return rc;
  sqlite3_stmt *st = th__stmt(db, TH__S_FB_COMMENTS);
  if (st == NULL)
    return db->errcode;
  sqlite3_bind_int64(st, 1, p.id);
  sqlite3_bind_int(st, 2, limit ? limit : 50);
  th_comment_list *l = calloc(1, sizeof *l);
  if (l == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");
  size_t cap = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    th_comment *n = th__grow(l->items, l->count, &cap, sizeof *n);
    if (n == NULL)
      break;
    l->items = n;
    th_comment *c = &l->items[l->count++];
    c->day = sqlite3_column_int64(st, 0) * TH__DAY_MS;
    c->useful = sqlite3_column_int(st, 1);
    c->rating = sqlite3_column_int(st, 2);
    c->text = th__col_text(st, 3);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    th_comment_list_free(l);
    return rc == SQLITE_ROW ? th__err(db, TH_ENOMEM, "out of memory")
                            : th__sqlerr(db, rc, "reading comments");
  }
  *out = l;
  return TH_OK;
}

void th_comment_list_free(th_comment_list *l) {
  if (l == NULL)
    return;
  for (size_t i = 0; i < l->count; i++)
    free((char *)l->items[i].text);
  free(l->items);
  free(l);
}
