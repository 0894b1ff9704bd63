/*
 * consultation.c: consultations, each with its own random pseudonym key
 * sealed under the key file, so destroying the key erases who took part.
 */
#include "internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void th__pkey_ad(char *ad, size_t cap, int64_t site_id, const char *slug) {
  snprintf(ad, cap, "th-consultation:%lld:%s", (long long)site_id, slug);
}

int th__consultation_insert(th_db *db, int64_t site_id,
                            const th_consultation *c, th_time opens,
                            int64_t *id_out) {
  /* A random key, not one derived from the master key: a derived key could
   * always be derived again, and destroying it would then erase nothing. */
  unsigned char key[TH__KEY_BYTES];
  unsigned char sealed[TH__KEY_BYTES + TH__SEALED_OVERHEAD];
  char ad[128];
  randombytes_buf(key, sizeof key);
  th__pkey_ad(ad, sizeof ad, site_id, c->slug);
  th__seal(db->keys, ad, key, sizeof key, sealed);
  sodium_memzero(key, sizeof key);

  th__q *st = th__q_get(db, TH__S_CONS_INSERT);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, site_id);
  th__q_text(st, 2, c->slug);
  th__q_text(st, 3, c->title);
  th__q_text(st, 4, c->description ? c->description : "");
  th__q_text(st, 5, c->ward ? c->ward : "");
  th__q_i64(st, 6, opens);
  if (c->closes)
    th__q_i64(st, 7, c->closes);
  th__q_blob(st, 8, sealed, sizeof sealed);
  th__q_i64(st, 9, th_now(db));
  int64_t id = 0;
  int rc = th__q_insert(db, st, "creating a consultation", &id);
  if (rc < 0)
    return rc == TH_EEXIST ? th__err(db, TH_EEXIST,
                                     "a consultation \"%s\" already exists",
                                     c->slug)
                           : rc;
  if (id_out)
    *id_out = id;
  return TH_OK;
}

int th_consultation_create(th_db *db, const char *site_slug, th_actor actor,
                           const th_consultation *cons, int64_t *id_out) {
  th__clear_err(db);
  if (cons == NULL)
    return th__err(db, TH_EINVAL, "consultation is NULL");
  /* Only what the caller's size covers (townhall.h, "Structs that grow"). */
  th_consultation c_in = {0};
  if (TH__SIZED_IN(db, th_consultation, cons, &c_in) < 0)
    return TH_EINVAL;
  const th_consultation *c = &c_in;
  int rc;
  if ((rc = th__slug_check(db, "slug", c->slug, 60)) < 0 ||
      (rc = th__text_check(db, "title", c->title, 1, 200, 0)) < 0 ||
      (rc = th__text_check(db, "description", c->description, 0, 10000,
                           TH__TEXT_MULTILINE | TH__TEXT_OPTIONAL)) < 0 ||
      (rc = th__text_check(db, "ward", c->ward, 0, 60, TH__TEXT_OPTIONAL)) < 0)
    return rc;
  th_time opens = c->opens ? c->opens : th_now(db);
  if (c->opens < 0 || c->closes < 0 || (c->closes && c->closes <= opens))
    return th__err(db, TH_EINVAL, "closes must come after opens");
  th__site_row site;
  if ((rc = th__site_lookup(db, site_slug, &site)) < 0)
    return rc;
  /* Staff-written and public: the title and description are scrubbed,
   * keeping the council's own contact details; the ward comes from the
   * site's list where it has one, as an idea's does. */
  th__site_lists lists;
  if ((rc = th__site_lists_get(db, site.id, &lists)) < 0)
    return rc;
  th_consultation clean = *c;
  char *title = NULL, *description = NULL, *ward = NULL;
  if (th__redact_allowing(c->title, lists.contacts, &title) != TH_OK ||
      th__redact_allowing(c->description ? c->description : "",
                          lists.contacts, &description) != TH_OK)
    rc = th__err(db, TH_ENOMEM, "out of memory");
  else
    rc = th__vocab_pick(db, "ward", "wards", lists.wards, c->ward, &ward);
  th__site_lists_free(&lists);
  clean.title = title;
  clean.description = description;
  clean.ward = ward;
  int64_t id = 0;
  if (rc >= 0 && (rc = th__write_begin(db)) >= 0) {
    rc = th__consultation_insert(db, site.id, &clean, opens, &id);
    if (rc >= 0)
      rc = th__audit(db, site.id, actor, "consultation:create", 0, c->slug);
    rc = th__write_end(db, rc < 0 ? rc : TH_RECORDED);
  }
  free(title);
  free(description);
  free(ward);
  if (rc >= 0 && id_out)
    *id_out = id;
  return rc;
}

static void th__consultation_fill(th__q *st, th_consultation *c) {
  c->size = sizeof *c;
  c->id = th__q_col_i64(st, 0);
  c->site_id = th__q_col_i64(st, 1);
  c->slug = th__q_col_dup(st, 2);
  c->title = th__q_col_dup(st, 3);
  c->description = th__q_col_dup(st, 4);
  c->ward = th__q_col_dup(st, 5);
  c->opens = th__q_col_i64(st, 6);
  c->closes = th__q_col_i64(st, 7);
  c->key_destroyed = th__q_col_int(st, 8);
  c->created = th__q_col_i64(st, 9);
}

static void th__consultation_clear(th_consultation *c) {
  free((char *)c->slug);
  free((char *)c->title);
  free((char *)c->description);
  free((char *)c->ward);
}

void th_consultation_free(th_consultation *c) {
  if (c == NULL)
    return;
  th__consultation_clear(c);
  free(c);
}

int th_consultation_create_as(th_db *db, const th_staff *staff,
                              const char *site_slug, const th_consultation *c,
                              int64_t *id_out) {
  th__clear_err(db);
  int rc = th__staff_may(db, staff, site_slug, TH__MAY_CREATE_CONSULTATION,
                         "open a consultation");
  return rc < 0 ? rc
                : th_consultation_create(db, site_slug, staff->actor, c,
                                        id_out);
}

int th_consultation_get(th_db *db, const char *site_slug, const char *slug,
                        th_consultation **out) {
  th__clear_err(db);
  if (out == NULL)
    return th__err(db, TH_EINVAL, "out is NULL");
  *out = NULL;
  th__site_row site;
  int rc = th__site_lookup(db, site_slug, &site);
  if (rc < 0)
    return rc;
  th__q *st = th__q_get(db, TH__S_CONS_BY_SLUG);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, site.id);
  th__q_text(st, 2, slug ? slug : "");
  rc = th__q_step(db, st, "reading a consultation");
  if (rc != TH__ROW)
    return rc == TH__DONE
               ? th__err(db, TH_ENOTFOUND, "no consultation \"%.60s\"",
                         slug ? slug : "")
               : rc;
  th_consultation *c = calloc(1, sizeof *c);
  if (c)
    th__consultation_fill(st, c);
  th__q_reset(st);
  if (c == NULL || !c->slug || !c->title || !c->description || !c->ward) {
    th_consultation_free(c);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  *out = c;
  return TH_OK;
}

int th_consultation_list_all(th_db *db, const char *site_slug,
                             th_consultation_list **out) {
  th__clear_err(db);
  if (out == NULL)
    return th__err(db, TH_EINVAL, "out is NULL");
  *out = NULL;
  th__site_row site;
  int rc = th__site_lookup(db, site_slug, &site);
  if (rc < 0)
    return rc;
  th__q *st = th__q_get(db, TH__S_CONS_LIST);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, site.id);
  th_consultation_list *l = calloc(1, sizeof *l);
  if (l == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");
  size_t cap = 0;
  while ((rc = th__q_step(db, st, "listing consultations")) == TH__ROW) {
    /* The items are pointers: sizeof *n is a pointer's, as meant. */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    th_consultation **n = th__grow(l->items, l->count, &cap, sizeof *n);
    if (n == NULL)
      break;
    l->items = n;
    th_consultation *item = calloc(1, sizeof *item);
    if (item == NULL)
      break;
    th__consultation_fill(st, item);
    l->items[l->count++] = item;
  }
  th__q_reset(st);
  if (rc != TH__DONE) {
    th_consultation_list_free(l);
    return rc == TH__ROW ? th__err(db, TH_ENOMEM, "out of memory") : rc;
  }
  *out = l;
  return TH_OK;
}

void th_consultation_list_free(th_consultation_list *l) {
  if (l == NULL)
    return;
  for (size_t i = 0; i < l->count; i++)
    th_consultation_free(l->items[i]);
  free(l->items);
  free(l);
}

int th__consultation_key(th_db *db, int64_t consultation_id,
                         unsigned char key[TH__KEY_BYTES]) {
  th__q *st = th__q_get(db, TH__S_CONS_KEY);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, consultation_id);
  int rc = th__q_step(db, st, "reading a consultation key");
  if (rc != TH__ROW)
    return rc == TH__DONE
               ? th__err(db, TH_ENOTFOUND, "no consultation %lld",
                         (long long)consultation_id)
               : rc;
  int64_t site_id = th__q_col_i64(st, 0);
  char ad[128];
  th__pkey_ad(ad, sizeof ad, site_id, th__q_col_text(st, 1));
  size_t n = 0;
  const unsigned char *sealed = th__q_col_blob(st, 2, &n);
  if (sealed == NULL) {
    th__q_reset(st);
    return th__err(db, TH_EKEY,
                   "this consultation's key was destroyed after its retention "
                   "period: its participants can no longer be recognised");
  }
  rc = n == TH__KEY_BYTES + TH__SEALED_OVERHEAD
           ? th__unseal(db->keys, ad, sealed, n, key)
           : TH_EKEY;
  th__q_reset(st);
  if (rc < 0)
    return th__err(db, TH_EKEY,
                   "the consultation's key does not open under this key file "
                   "(was the key file replaced?)");
  return TH_OK;
}
