/*
 * feedback.c: "Is this page useful?", a 1-5 rating and a comment, per page.
 *
 * Every answer is a record of its own. The first post of an answer returns
 * its handle (townhall.h, th_feedback_answer), and only the handle amends
 * it the same day: the widget records "yes" at once and adds a rating later
 * without counting twice, and two residents behind one address with the
 * same browser never touch each other's answer. A retry of the first post
 * (a double click, a lost response) is folded by the idempotency key the
 * widget made for it, but only from the same device with the same answer.
 * The page row carries every counter, moved in the same transaction, so a
 * summary is one row read.
 */
#include "internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

typedef struct th__page {
  int64_t id;
  int64_t yes, no, r[5], comments;
  int64_t first_day, last_day;
  int64_t pub_yes, pub_no, pub_r[5]; /* as the week of last_day began */
} th__page;

static void th__page_read(th__q *st, th__page *p) {
  p->id = th__q_col_i64(st, 0);
  p->yes = th__q_col_i64(st, 2);
  p->no = th__q_col_i64(st, 3);
  for (int i = 0; i < 5; i++)
    p->r[i] = th__q_col_i64(st, 4 + i);
  p->comments = th__q_col_i64(st, 9);
  p->first_day = th__q_col_i64(st, 11);
  p->last_day = th__q_col_i64(st, 12);
  p->pub_yes = th__q_col_i64(st, 13);
  p->pub_no = th__q_col_i64(st, 14);
  for (int i = 0; i < 5; i++)
    p->pub_r[i] = th__q_col_i64(st, 15 + i);
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

/* One row of pages, by site and URL or (url NULL) by id. */
static int th__page_get(th_db *db, int64_t site_id, const char *url,
                        int64_t id, th__page *p) {
  memset(p, 0, sizeof *p);
  th__q *st = th__q_get(db, url ? TH__S_PAGE_FIND : TH__S_PAGE_BY_ID);
  if (st == NULL)
    return db->errcode;
  if (url) {
    th__q_i64(st, 1, site_id);
    th__q_text(st, 2, url);
  } else {
    th__q_i64(st, 1, id);
  }
  int rc = th__q_step(db, st, "finding a page");
  if (rc == TH__ROW) {
    th__page_read(st, p);
    th__q_reset(st);
    return TH_OK;
  }
  if (rc < 0)
    return rc;
  return th__err(db, TH_ENOTFOUND, "no feedback on that page yet");
}

static int th__page_find(th_db *db, int64_t site_id, const char *url,
                         bool create, th__page *p) {
  int rc = th__page_get(db, site_id, url, 0, p);
  if (rc != TH_ENOTFOUND || !create)
    return rc;
  th__q *st = th__q_get(db, TH__S_PAGE_INSERT);
  if (st == NULL)
    return db->errcode;
  int64_t today = th__day(th_now(db));
  th__q_i64(st, 1, site_id);
  th__q_text(st, 2, url);
  th__q_i64(st, 3, today);
  int64_t id = 0;
  if ((rc = th__q_insert(db, st, "recording a page", &id)) < 0)
    return rc;
  memset(p, 0, sizeof *p);
  p->id = id;
  p->first_day = p->last_day = today;
  th__clear_err(db);
  return TH_OK;
}

static int th__page_store(th_db *db, const th__page *p, int64_t day) {
  th__q *st = th__q_get(db, TH__S_PAGE_SET);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, p->id);
  th__q_i64(st, 2, p->yes);
  th__q_i64(st, 3, p->no);
  for (int i = 0; i < 5; i++)
    th__q_i64(st, 4 + i, p->r[i]);
  th__q_i64(st, 9, p->comments);
  th__q_f64(st, 10, th__wilson_lower(p->yes, p->yes + p->no));
  th__q_i64(st, 11, day);
  th__q_i64(st, 12, th__monday(day));
  return th__q_run(db, st, "updating page counters");
}

/* Normalises a page URL for a site and checks it is on one of its origins.
 *
 * Its path and kept query values are scrubbed like free text, because
 * sites put people in them ("/users/canary@example.org/profile") and the
 * page is published in open/feedback.csv. Scrubbed rather than refused:
 * the widget sends the address of the page it is on, which the resident
 * did not choose and cannot change, and their answer about the page is as
 * good as anyone's. Lookups (summaries, comments) go through here too, so
 * the page as the browser shows it finds its scrubbed row. */
static int th__page_url(th_db *db, const th__site_row *site, const char *page,
                        char **url) {
  int rc = th__page_normalize(page, site->keep_params, url);
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

/* ---- one answer's fields -------------------------------------------------- */

/* A request's answer, checked, with its page normalised and its comment
 * scrubbed (NULL when none, or white space only). */
typedef struct th__answer_in {
  th__site_row site;
  th_feedback fb; /* fb.page: url; fb.comment: the comment as given */
  char *url, *comment;
} th__answer_in;

static void th__answer_in_free(th__answer_in *a) {
  free(a->url);
  free(a->comment);
  a->url = a->comment = NULL;
}

/* `amend`: useful may be -1 and page NULL (kept as they are). */
static int th__answer_in_read(th_db *db, const char *site_slug,
                              const th_feedback *fb, bool amend,
                              th__answer_in *a) {
  memset(a, 0, sizeof *a);
  if (fb == NULL)
    return th__err(db, TH_EINVAL, "feedback is NULL");
  /* Only what the caller's size covers (townhall.h, "Structs that grow"). */
  th_feedback fb_in;
  if (TH__SIZED_IN(db, th_feedback, fb, &fb_in) < 0)
    return TH_EINVAL;
  fb = &fb_in;
  if (fb->useful != 0 && fb->useful != 1 && !(amend && fb->useful == -1))
    return th__err(db, TH_EINVAL, amend ? "useful is 1 (yes), 0 (no) or -1"
                                          " (unchanged)"
                                        : "useful is 1 (yes) or 0 (no)");
  if (fb->rating < 0 || fb->rating > 5)
    return th__err(db, TH_ERANGE, "rating is 1 to 5, or 0 for none");
  if (fb->page == NULL && !amend)
    return th__err(db, TH_EINVAL, "page is required");
  int rc = th__text_check(db, "comment", fb->comment, 0, 2000,
                          TH__TEXT_MULTILINE | TH__TEXT_OPTIONAL);
  if (rc < 0)
    return rc;
  if ((rc = th__site_lookup(db, site_slug, &a->site)) < 0)
    return rc;
  if (fb->page && (rc = th__page_url(db, &a->site, fb->page, &a->url)) < 0)
    return rc;
  a->fb = *fb;
  a->fb.page = a->url;
  if (fb->comment) {
    /* White space alone is no comment. */
    const char *c = fb->comment;
    while (*c == ' ' || *c == '\n' || *c == '\r' || *c == '\t')
      c++;
    if (*c == '\0')
      a->fb.comment = NULL;
    else if (th_redact(fb->comment, &a->comment) != TH_OK) {
      th__answer_in_free(a);
      return th__err(db, TH_ENOMEM, "out of memory");
    }
  }
  return TH_OK;
}

/* An answer as stored. */
typedef struct th__answer_row {
  int64_t id, page_id, day;
  int useful, rating;
  char *comment;
} th__answer_row;

static int th__answer_row_read(th__q *st, th__answer_row *r) {
  r->id = th__q_col_i64(st, 0);
  r->page_id = th__q_col_i64(st, 1);
  r->day = th__q_col_i64(st, 2);
  r->useful = th__q_col_int(st, 3);
  r->rating = th__q_col_int(st, 4);
  r->comment = NULL;
  if (!th__q_col_null(st, 5) && (r->comment = th__q_col_dup(st, 5)) == NULL)
    return TH_ENOMEM;
  return TH_OK;
}

/* Amends the stored answer `r` with `a`'s fields (those it gives) and
 * moves its page's counters exactly. TH_RECORDED, or TH_DUPLICATE if
 * nothing changed. Inside a write. */
static int th__answer_amend(th_db *db, const th__answer_row *r,
                            const th__answer_in *a, int64_t day) {
  int useful = a->fb.useful >= 0 ? a->fb.useful : r->useful;
  int rating = a->fb.rating ? a->fb.rating : r->rating;
  const char *text = a->comment ? a->comment : r->comment;
  if (useful == r->useful && rating == r->rating &&
      (text == r->comment || (text && r->comment && strcmp(text, r->comment) == 0)))
    return TH_DUPLICATE;
  th__page p;
  int rc = th__page_get(db, 0, NULL, r->page_id, &p);
  if (rc < 0)
    return rc;
  th__page_count(&p, -1, r->useful, r->rating, r->comment != NULL);
  th__page_count(&p, +1, useful, rating, text != NULL);
  th__q *st = th__q_get(db, TH__S_FB_UPDATE);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, r->id);
  th__q_i64(st, 2, useful);
  th__q_i64(st, 3, rating);
  if (text)
    th__q_text(st, 4, text);
  if ((rc = th__q_run(db, st, "amending an answer")) < 0)
    return rc;
  if ((rc = th__page_store(db, &p, day)) < 0)
    return rc;
  return TH_RECORDED;
}

/* Inserts `a` as a new answer on page `p` and counts it. `device`: the
 * device token, kept only for the 0.1.0 widget's answers (NULL otherwise).
 * Inside a write. */
static int th__answer_insert(th_db *db, th__page *p, const th__answer_in *a,
                             int64_t day, const unsigned char *device,
                             const unsigned char sel[8],
                             const unsigned char secret[8]) {
  unsigned char verifier[8];
  th__answer_verifier(db->keys, secret, verifier);
  th__q *st = th__q_get(db, TH__S_FB_INSERT);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, p->id);
  th__q_i64(st, 2, day);
  th__q_i64(st, 3, a->fb.useful);
  th__q_i64(st, 4, a->fb.rating);
  if (a->comment)
    th__q_text(st, 5, a->comment);
  if (device)
    th__q_blob(st, 6, device, 8);
  th__q_blob(st, 7, sel, 8);
  th__q_blob(st, 8, verifier, 8);
  int rc = th__q_run(db, st, "recording an answer");
  if (rc < 0)
    return rc;
  th__page_count(p, +1, a->fb.useful, a->fb.rating, a->comment != NULL);
  if ((rc = th__page_store(db, p, day)) < 0)
    return rc;
  return TH_RECORDED;
}

static void th__handle_encode(const unsigned char sel[8],
                              const unsigned char secret[8], char *out) {
  unsigned char raw[16];
  memcpy(raw, sel, 8);
  memcpy(raw + 8, secret, 8);
  sodium_bin2base64(out, TH_HANDLE_SIZE, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
}

static bool th__handle_decode(const char *handle, unsigned char sel[8],
                              unsigned char secret[8]) {
  unsigned char raw[16];
  size_t len = 0;
  const char *end = NULL;
  if (handle == NULL || strlen(handle) != 22 ||
      sodium_base642bin(raw, sizeof raw, handle, 22, NULL, &len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      len != sizeof raw || *end != '\0')
    return false;
  memcpy(sel, raw, 8);
  memcpy(secret, raw + 8, 8);
  sodium_memzero(raw, sizeof raw);
  return true;
}

/* The answer whose handle has selector `sel` and secret `secret` (a
 * verifier equal in constant time), on site `site_id`, given `day`:
 * *found (its id, 0 if none) and the row. *other: some answer has the
 * selector but another secret (the same key and device, another answer).
 * Inside a write, or on a reader. */
static int th__answer_by_handle(th_db *db, int64_t site_id, int64_t day,
                                const unsigned char sel[8],
                                const unsigned char secret[8],
                                th__answer_row *found, bool *other) {
  unsigned char verifier[8];
  th__answer_verifier(db->keys, secret, verifier);
  memset(found, 0, sizeof *found);
  *other = false;
  th__q *st = th__q_get(db, TH__S_FB_BY_IDEM);
  if (st == NULL)
    return db->errcode;
  th__q_blob(st, 1, sel, 8);
  int rc;
  while ((rc = th__q_step(db, st, "finding an answer")) == TH__ROW) {
    size_t vlen = 0;
    const void *v = th__q_col_blob(st, 6, &vlen);
    bool mine = th__q_col_i64(st, 7) == site_id && th__q_col_i64(st, 2) == day;
    if (!mine)
      continue;
    if (v && vlen == 8 && sodium_memcmp(v, verifier, 8) == 0 &&
        found->id == 0) {
      if (th__answer_row_read(st, found) != TH_OK) {
        th__q_reset(st);
        free(found->comment);
        return th__err(db, TH_ENOMEM, "out of memory");
      }
    } else {
      *other = true;
    }
  }
  th__q_reset(st);
  if (rc != TH__DONE) {
    free(found->comment);
    found->comment = NULL;
    found->id = 0;
    return rc;
  }
  return TH_OK;
}

static bool th__key_ok(const char *key) {
  size_t n = 0;
  for (const char *k = key; *k; k++, n++)
    if (*k < 0x21 || *k > 0x7e)
      return false;
  return n >= 1 && n <= 255;
}

/* What a new answer starts with: its fields read and checked, the write
 * begun, and its page found or made. On failure nothing is held; on
 * success the caller ends the write (th__write_end) and frees `a`. */
static int th__answer_begin(th_db *db, const char *site_slug,
                            const th_feedback *fb, th__answer_in *a,
                            th__page *p, int64_t *day) {
  int rc = th__answer_in_read(db, site_slug, fb, false, a);
  if (rc < 0)
    return rc;
  *day = th__day(th_now(db));
  if ((rc = th__write_begin(db)) < 0) {
    th__answer_in_free(a);
    return rc;
  }
  if ((rc = th__page_find(db, a->site.id, a->url, true, p)) < 0) {
    rc = th__write_end(db, rc);
    th__answer_in_free(a);
  }
  return rc;
}

int th_feedback_answer(th_db *db, const char *site_slug, const th_who *who,
                       const th_feedback *fb, const char *idempotency_key,
                       char *handle_out) {
  th__clear_err(db);
  if (handle_out)
    handle_out[0] = '\0';
  if (idempotency_key && !th__key_ok(idempotency_key))
    return th__err(db, TH_EINVAL,
                   "an idempotency key is 1 to 255 printable ASCII "
                   "characters");
  /* a.fb holds the comment as given (the secret half is derived from it,
   * so that a retry derives it again), a.comment the one stored. */
  th__answer_in a;
  th__page p;
  int64_t day;
  int rc = th__answer_begin(db, site_slug, fb, &a, &p, &day);
  if (rc < 0)
    return rc;
  unsigned char device[8] = {0}, sel[8], secret[8];
  if (idempotency_key)
    rc = th__device_token(db, a.site.id, p.id, who, day, device);
  if (rc >= 0)
    rc = th__answer_tags(db, day, device, idempotency_key, &a.fb, sel, secret);
  if (rc >= 0 && idempotency_key) {
    th__answer_row seen;
    bool other = false;
    rc = th__answer_by_handle(db, a.site.id, day, sel, secret, &seen, &other);
    if (rc >= 0 && seen.id)
      rc = TH_DUPLICATE; /* a retry: the answer is recorded already */
    else if (rc >= 0 && other)
      rc = th__err(db, TH_ECONFLICT,
                   "this idempotency key was used for another answer on this "
                   "page today; make a new key for each answer");
    free(seen.comment);
  }
  if (rc == TH_OK)
    rc = th__answer_insert(db, &p, &a, day, NULL, sel, secret);
  rc = th__write_end(db, rc);
  if (rc >= 0 && handle_out)
    th__handle_encode(sel, secret, handle_out);
  sodium_memzero(secret, sizeof secret);
  th__answer_in_free(&a);
  return rc;
}

int th_feedback_record(th_db *db, const char *site_slug, const th_who *who,
                       const th_feedback *fb) {
  return th_feedback_answer(db, site_slug, who, fb, NULL, NULL);
}

int th_feedback_amend(th_db *db, const char *site_slug, const char *handle,
                      const th_feedback *change) {
  th__clear_err(db);
  unsigned char sel[8], secret[8];
  if (!th__handle_decode(handle, sel, secret))
    return th__err(db, TH_ENOTFOUND, "no answer of today has that handle");
  th__answer_in a;
  int rc = th__answer_in_read(db, site_slug, change, true, &a);
  if (rc < 0)
    return rc;
  int64_t day = th__day(th_now(db));
  if ((rc = th__write_begin(db)) < 0) {
    th__answer_in_free(&a);
    return rc;
  }
  th__answer_row r;
  bool other;
  rc = th__answer_by_handle(db, a.site.id, day, sel, secret, &r, &other);
  if (rc >= 0 && r.id && a.url) {
    /* A handle names one answer on one page. */
    th__page p;
    rc = th__page_get(db, a.site.id, a.url, 0, &p);
    if (rc == TH_ENOTFOUND || (rc >= 0 && p.id != r.page_id))
      r.id = 0;
    if (rc == TH_ENOTFOUND)
      rc = TH_OK;
  }
  if (rc >= 0 && r.id == 0)
    rc = th__err(db, TH_ENOTFOUND,
                 "no answer of today on this site and page has that handle "
                 "(a handle can amend its answer until midnight UTC)");
  if (rc >= 0)
    rc = th__answer_amend(db, &r, &a, day);
  rc = th__write_end(db, rc);
  free(r.comment);
  sodium_memzero(secret, sizeof secret);
  th__answer_in_free(&a);
  return rc;
}

int th__feedback_legacy(th_db *db, const char *site_slug, const th_who *who,
                        const th_feedback *fb, bool follow_up,
                        char *handle_out) {
  th__clear_err(db);
  if (handle_out)
    handle_out[0] = '\0';
  th__answer_in a;
  th__page p;
  int64_t day;
  int rc = th__answer_begin(db, site_slug, fb, &a, &p, &day);
  if (rc < 0)
    return rc;
  unsigned char device[8], sel[8], secret[8];
  th__answer_row r = {0};
  rc = th__device_token(db, a.site.id, p.id, who, day, device);
  if (rc >= 0 && follow_up) {
    th__q *st = th__q_get(db, TH__S_FB_LEGACY_FIND);
    if (st == NULL) {
      rc = db->errcode;
    } else {
      th__q_i64(st, 1, p.id);
      th__q_i64(st, 2, day);
      th__q_blob(st, 3, device, 8);
      th__q_i64(st, 4, a.fb.useful);
      th__q_i64(st, 5, a.fb.rating);
      if (a.comment)
        th__q_text(st, 6, a.comment);
      int src = th__q_step(db, st, "finding an answer to amend");
      if (src == TH__ROW && th__answer_row_read(st, &r) != TH_OK)
        rc = th__err(db, TH_ENOMEM, "out of memory");
      else if (src < 0)
        rc = src;
      th__q_reset(st);
    }
  }
  if (rc >= 0 && r.id)
    rc = th__answer_amend(db, &r, &a, day);
  else if (rc >= 0 && (rc = th__answer_tags(db, day, NULL, NULL, &a.fb, sel,
                                            secret)) >= 0)
    rc = th__answer_insert(db, &p, &a, day, device, sel, secret);
  rc = th__write_end(db, rc);
  if (rc >= 0 && r.id == 0 && handle_out)
    th__handle_encode(sel, secret, handle_out);
  free(r.comment);
  sodium_memzero(secret, sizeof secret);
  th__answer_in_free(&a);
  return rc;
}

/* ---- reading -------------------------------------------------------------- */

/* The exact summary of a page row (read by PAGE_FIND or PAGES_WORST). */
static int th__summary_fill(th__q *st, th_page_summary *s) {
  memset(s, 0, sizeof *s);
  th__page p;
  th__page_read(st, &p);
  s->page = th__q_col_dup(st, 1);
  s->yes = p.yes;
  s->no = p.no;
  memcpy(s->ratings, p.r, sizeof s->ratings);
  th__page_derive(s);
  s->useful_lower = th__q_col_f64(st, 10); /* as the cursor sorts */
  s->comments = p.comments;
  s->first = p.first_day * TH__DAY_MS;
  s->last = p.last_day * TH__DAY_MS;
  s->exact = 1;
  return s->page ? TH_OK : TH_ENOMEM;
}

void th_page_summary_free(th_page_summary *s) {
  if (s == NULL)
    return;
  free(s->page);
  free(s);
}

/* A page's row, exact (`public_view` false) or as published. */
static int th__summary_get(th_db *db, const char *site_slug, const char *page,
                           bool public_view, th_page_summary **out) {
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
  th__page p;
  if ((rc = th__page_get(db, site.id, url, 0, &p)) < 0) {
    free(url);
    return rc;
  }
  th_page_summary *s = calloc(1, sizeof *s);
  if (s == NULL) {
    free(url);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  s->page = url;
  s->yes = p.yes;
  s->no = p.no;
  memcpy(s->ratings, p.r, sizeof s->ratings);
  s->comments = p.comments;
  s->first = p.first_day * TH__DAY_MS;
  s->last = p.last_day * TH__DAY_MS;
  s->exact = 1;
  if (public_view) {
    /* Complete weeks only: while the week of the last answer is in
     * progress, the counters as it began. */
    int64_t this_monday = th__monday(th__day(th_now(db)));
    if (p.first_day >= this_monday) {
      th_page_summary_free(s);
      return th__err(db, TH_ENOTFOUND, "no feedback on that page yet");
    }
    if (th__monday(p.last_day) >= this_monday) {
      s->yes = p.pub_yes;
      s->no = p.pub_no;
      memcpy(s->ratings, p.pub_r, sizeof s->ratings);
    }
    s->first = th__monday(p.first_day) * TH__DAY_MS;
    s->last = (this_monday - 1) * TH__DAY_MS;
    th__publish_page(&site.disclosure, s, s);
  } else {
    th__page_derive(s);
  }
  *out = s;
  return TH_OK;
}

int th_feedback_summary(th_db *db, const char *site_slug, const char *page,
                        th_page_summary **out) {
  return th__summary_get(db, site_slug, page, false, out);
}

int th_feedback_summary_public(th_db *db, const char *site_slug,
                               const char *page, th_page_summary **out) {
  return th__summary_get(db, site_slug, page, true, out);
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
  th__q *st = th__q_get(db, TH__S_PAGES_WORST);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, site.id);
  th__q_i64(st, 2, cur.id != 0);
  th__q_f64(st, 3, cur.key);
  th__q_i64(st, 4, cur.key2);
  th__q_i64(st, 5, cur.id);
  th__q_i64(st, 6, limit + 1);
  th_page_list *l = calloc(1, sizeof *l);
  if (l == NULL || (l->items = calloc((size_t)limit, sizeof *l->items)) ==
                       NULL) {
    free(l);
    th__q_reset(st);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  th__cursor next = {.kind = TH__PAGE_CURSOR};
  bool more = false;
  while ((rc = th__q_step(db, st, "listing pages")) == TH__ROW) {
    if (l->count == (size_t)limit) {
      more = true;
      break;
    }
    th_page_summary *s = &l->items[l->count++];
    if (th__summary_fill(st, s) != TH_OK)
      break;
    next.id = th__q_col_i64(st, 0);
    next.key = s->useful_lower;
    next.key2 = s->no;
  }
  th__q_reset(st);
  if (rc != TH__DONE && !more) {
    th_page_list_free(l);
    return rc == TH__ROW
               ? th__err(db, TH_ENOMEM, "listing pages: out of memory")
               : rc;
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
  th__q *st = th__q_get(db, TH__S_FB_COMMENTS);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, p.id);
  th__q_i64(st, 2, limit ? limit : 50);
  th_comment_list *l = calloc(1, sizeof *l);
  if (l == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");
  size_t cap = 0;
  while ((rc = th__q_step(db, st, "reading comments")) == TH__ROW) {
    th_comment *n = th__grow(l->items, l->count, &cap, sizeof *n);
    if (n == NULL)
      break;
    l->items = n;
    th_comment *c = &l->items[l->count++];
    c->day = th__q_col_i64(st, 0) * TH__DAY_MS;
    c->useful = th__q_col_int(st, 1);
    c->rating = th__q_col_int(st, 2);
    c->text = th__q_col_dup(st, 3);
  }
  th__q_reset(st);
  if (rc != TH__DONE) {
    th_comment_list_free(l);
    return rc == TH__ROW ? th__err(db, TH_ENOMEM, "out of memory") : rc;
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
