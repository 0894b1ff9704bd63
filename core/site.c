/*
 * site.c: sites: their settings and lists (wards, categories, contacts),
 * validated and normalised here, and each site's sealed secret, with which
 * its residents' tokens are signed and checked.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- sites ---------------------------------------------------------------- */

int th__site_lookup(th_db *db, const char *slug, th__site_row *out) {
  memset(out, 0, sizeof *out); /* defined on every path, success or not */
  if (slug == NULL || slug[0] == '\0')
    return th__err(db, TH_EINVAL, "no site given");
  th__q *st = th__q_get(db, TH__S_SITE_LOOKUP);
  if (st == NULL)
    return db->errcode;
  th__q_text(st, 1, slug);
  int rc = th__q_step(db, st, "looking up a site");
  if (rc == TH__ROW) {
    out->id = th__q_col_i64(st, 0);
    snprintf(out->origins, sizeof out->origins, "%s",
             th__q_col_text(st, 1));
    snprintf(out->keep_params, sizeof out->keep_params, "%s",
             th__q_col_text(st, 2));
    out->moderate_ideas = th__q_col_int(st, 3);
    out->allow_anonymous = th__q_col_int(st, 4);
    out->rank_anonymous = th__q_col_int(st, 5);
    out->disclosure.min = th__q_col_i64(st, 6);
    out->disclosure.round = th__q_col_i64(st, 7);
    th__disclosure_fix(&out->disclosure);
    th__q_reset(st);
    return TH_OK;
  }
  if (rc == TH__DONE)
    return th__err(db, TH_ENOTFOUND, "no site \"%.60s\"", slug);
  return rc;
}

/* Validates and normalises a space-separated list of origins into out. */
static int th__origins_normalize(th_db *db, const char *in, char *out,
                                 size_t cap) {
  out[0] = '\0';
  if (in == NULL)
    return TH_OK;
  size_t used = 0;
  const char *p = in;
  while (*p) {
    while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n')
      p++;
    if (*p == '\0')
      break;
    const char *e = p;
    while (*e && *e != ' ' && *e != ',' && *e != '\t' && *e != '\n')
      e++;
    char one[300];
    size_t n = (size_t)(e - p);
    if (n >= sizeof one - 1)
      return th__err(db, TH_ETOOLONG, "origin too long: \"%.60s...\"", p);
    memcpy(one, p, n);
    one[n] = '\0';
    /* th_url_normalize would quietly drop a query, a fragment or user info,
     * so "https://host?x" would become a different origin from the one
     * typed. An origin is scheme://host[:port] and nothing else: refuse. */
    if (strpbrk(one, "?#@") != NULL)
      return th__err(db, TH_EINVAL,
                     "origins: \"%.*s\" is not an origin such as "
                     "https://www.council.gov.uk (no query, fragment or user)",
                     (int)n, p);
    if (n && one[n - 1] != '/')
      one[n++] = '/', one[n] = '\0';
    char *norm = NULL;
    if (th_url_normalize(one, NULL, &norm) != TH_OK)
      return th__err(db, TH_EINVAL,
                     "origins: \"%.*s\" is not an origin such as "
                     "https://www.council.gov.uk",
                     (int)(e - p), p);
    size_t ol = th__url_origin_len(norm);
    if (strcmp(norm + ol, "/") != 0) {
      free(norm);
      return th__err(db, TH_EINVAL,
                     "origins: \"%.*s\" has a path; an origin is only "
                     "scheme://host[:port]",
                     (int)(e - p), p);
    }
    if (used + ol + 2 > cap) {
      free(norm);
      return th__err(db, TH_ETOOLONG, "too many origins");
    }
    if (!th__origin_listed(out, norm, ol)) {
      if (used)
        out[used++] = ' ';
      memcpy(out + used, norm, ol);
      used += ol;
      out[used] = '\0';
    }
    free(norm);
    p = e;
  }
  return TH_OK;
}

static int th__params_normalize(th_db *db, const char *in, char *out,
                                size_t cap) {
  out[0] = '\0';
  if (in == NULL)
    return TH_OK;
  size_t used = 0;
  for (const char *p = in; *p;) {
    while (*p == ' ' || *p == ',')
      p++;
    const char *e = p;
    while (*e && *e != ' ' && *e != ',') {
      char c = *e;
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
        return th__err(db, TH_EINVAL,
                       "keep_params: parameter names may hold only letters, "
                       "digits, '_', '-' and '.'");
      e++;
    }
    size_t n = (size_t)(e - p);
    if (n) {
      if (used + n + 2 > cap)
        return th__err(db, TH_ETOOLONG, "keep_params is too long");
      if (used)
        out[used++] = ' ';
      memcpy(out + used, p, n);
      used += n;
      out[used] = '\0';
    }
    p = e;
  }
  return TH_OK;
}

static int th__days(th_db *db, const char *field, int v, int dflt, int *out) {
  if (v == 0)
    *out = dflt;
  else if (v == -1 || (v >= 1 && v <= 36500))
    *out = v;
  else
    return th__err(db, TH_ERANGE,
                   "%s must be 1 to 36500 days, 0 for the default or -1 to "
                   "keep forever",
                   field);
  return TH_OK;
}

/* ---- a site's lists: wards, categories, contacts ---------------------------- */

/* Normalises a list given one item per line into *out (malloc'd; "" for
 * none): each item trimmed of spaces, tabs and carriage returns, blank
 * lines dropped; each 1..max_chars characters of text without control
 * characters; at most max_items; no item twice (ignoring ASCII case, as
 * th__vocab_pick matches). */
static int th__list_normalize(th_db *db, const char *field, const char *in,
                              int max_chars, size_t max_items, char **out) {
  *out = NULL;
  th__sbuf b = {0};
  th__sbuf_puts(&b, "");
  size_t items = 0;
  for (const char *p = in ? in : ""; *p;) {
    const char *e = strchr(p, '\n');
    if (e == NULL)
      e = p + strlen(p);
    const char *a = p, *z = e;
    while (a < z && (*a == ' ' || *a == '\t' || *a == '\r'))
      a++;
    while (z > a && (z[-1] == ' ' || z[-1] == '\t' || z[-1] == '\r'))
      z--;
    p = *e ? e + 1 : e;
    if (a == z)
      continue;
    size_t n = (size_t)(z - a);
    char *item = malloc(n + 1);
    if (item == NULL) {
      th__sbuf_free(&b);
      return th__err(db, TH_ENOMEM, "out of memory");
    }
    memcpy(item, a, n);
    item[n] = '\0';
    char what[48];
    snprintf(what, sizeof what, "%s: an item", field);
    int rc = th__text_check(db, what, item, 1, max_chars, 0);
    if (rc == TH_OK && ++items > max_items)
      rc = th__err(db, TH_ETOOLONG, "%s: at most %zu items", field, max_items);
    /* Already listed? b.p holds the items so far, one per line. */
    for (const char *q = b.p; rc == TH_OK && q && *q;) {
      const char *qe = strchr(q, '\n');
      size_t qn = qe ? (size_t)(qe - q) : strlen(q);
      if (qn == n && strncasecmp(q, item, n) == 0)
        rc = th__err(db, TH_EINVAL, "%s: \"%.60s\" is listed twice", field,
                     item);
      q += qn + (qe != NULL);
    }
    if (rc == TH_OK) {
      if (b.len)
        th__sbuf_putc(&b, '\n');
      th__sbuf_put(&b, item, n);
    }
    free(item);
    if (rc < 0) {
      th__sbuf_free(&b);
      return rc;
    }
  }
  if (b.oom || b.p == NULL) {
    th__sbuf_free(&b);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  *out = b.p;
  return TH_OK;
}

int th__site_lists_get(th_db *db, int64_t site_id, th__site_lists *out) {
  memset(out, 0, sizeof *out);
  th__q *st = th__q_get(db, TH__S_SITE_VOCAB);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, site_id);
  int rc = th__q_step(db, st, "reading a site's lists");
  if (rc != TH__ROW)
    return rc == TH__DONE
               ? th__err(db, TH_ENOTFOUND, "no site %lld", (long long)site_id)
               : rc;
  out->wards = th__q_col_dup(st, 0);
  out->categories = th__q_col_dup(st, 1);
  out->contacts = th__q_col_dup(st, 2);
  th__q_reset(st);
  if (!out->wards || !out->categories || !out->contacts) {
    th__site_lists_free(out);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  return TH_OK;
}

void th__site_lists_free(th__site_lists *l) {
  free(l->wards);
  free(l->categories);
  free(l->contacts);
  memset(l, 0, sizeof *l);
}

int th__staff_scrub(th_db *db, int64_t site_id, const char *text,
                    char **out) {
  *out = NULL;
  th__site_lists lists;
  int rc = th__site_lists_get(db, site_id, &lists);
  if (rc < 0)
    return rc;
  rc = th__redact_allowing(text ? text : "", lists.contacts, out);
  th__site_lists_free(&lists);
  return rc == TH_OK ? TH_OK : th__err(db, TH_ENOMEM, "out of memory");
}

int th__vocab_pick(th_db *db, const char *field, const char *plural,
                   const char *list, const char *value, char **out) {
  *out = NULL;
  const char *a = value ? value : "";
  while (*a == ' ' || *a == '\t')
    a++;
  size_t n = strlen(a);
  while (n && (a[n - 1] == ' ' || a[n - 1] == '\t'))
    n--;
  if (n == 0 || list == NULL || list[0] == '\0') {
    /* Not given, or no list to choose from: free text, scrubbed like any
     * other text a resident writes. */
    char *v = malloc(n + 1);
    if (v == NULL)
      return th__err(db, TH_ENOMEM, "out of memory");
    memcpy(v, a, n);
    v[n] = '\0';
    if (n && th_redact(v, out) != TH_OK) {
      free(v);
      return th__err(db, TH_ENOMEM, "out of memory");
    }
    if (n)
      free(v);
    else
      *out = v;
    return TH_OK;
  }
  /* The list's own spelling: exactly, else ignoring ASCII case. */
  const char *hit = NULL;
  size_t hit_len = 0;
  for (int pass = 0; pass < 2 && hit == NULL; pass++) {
    for (const char *q = list; *q;) {
      const char *qe = strchr(q, '\n');
      size_t qn = qe ? (size_t)(qe - q) : strlen(q);
      if (qn == n && (pass == 0 ? strncmp(q, a, n) == 0
                                : strncasecmp(q, a, n) == 0)) {
        hit = q;
        hit_len = qn;
        break;
      }
      q += qn + (qe != NULL);
    }
  }
  if (hit == NULL) {
    /* Name the field and show the choices (the first of them, if many). */
    char choices[160];
    size_t used = 0;
    const char *q = list;
    for (; *q && (used + 8 < sizeof choices || (*q & 0xc0) == 0x80); q++)
      if (*q == '\n') {
        memcpy(choices + used, ", ", 2);
        used += 2;
      } else {
        choices[used++] = *q;
      }
    choices[used] = '\0';
    /* The value is echoed scrubbed: a message may be shown or logged. */
    char given[61 * 4], *shown = NULL;
    snprintf(given, sizeof given, "%.*s", (int)n, a);
    if (th_redact(given, &shown) != TH_OK)
      return th__err(db, TH_ENOMEM, "out of memory");
    int rc = th__err(db, TH_EINVAL,
                     "%s: \"%s\" is not one of this site's %s (%s%s)",
                     field, shown, plural, choices, *q ? "..." : "");
    free(shown);
    return rc;
  }
  *out = malloc(hit_len + 1);
  if (*out == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");
  memcpy(*out, hit, hit_len);
  (*out)[hit_len] = '\0';
  return TH_OK;
}

typedef struct th__site_norm {
  char origins[1024];
  char keep_params[512];
  int comment_days, audit_days, key_days, open_min, open_round;
  /* th__site_norm_free; name is scrubbed, keeping the contacts */
  char *name, *wards, *categories, *contacts;
} th__site_norm;

static void th__site_norm_free(th__site_norm *n) {
  free(n->name);
  free(n->wards);
  free(n->categories);
  free(n->contacts);
  n->name = n->wards = n->categories = n->contacts = NULL;
}

static int th__site_validate(th_db *db, const th_site *s, th__site_norm *n) {
  memset(n, 0, sizeof *n); /* defined on every path, success or not */
  int rc;
  if (s == NULL)
    return th__err(db, TH_EINVAL, "site is NULL");
  if ((rc = th__slug_check(db, "slug", s->slug, 40)) < 0 ||
      (rc = th__text_check(db, "name", s->name, 1, 120, 0)) < 0 ||
      (rc = th__origins_normalize(db, s->origins, n->origins,
                                  sizeof n->origins)) < 0 ||
      (rc = th__params_normalize(db, s->keep_params, n->keep_params,
                                 sizeof n->keep_params)) < 0 ||
      (rc = th__days(db, "comment_days", s->comment_days, 365,
                     &n->comment_days)) < 0 ||
      (rc = th__days(db, "audit_days", s->audit_days, 730, &n->audit_days)) <
          0 ||
      (rc = th__days(db, "key_days", s->key_days, 365, &n->key_days)) < 0)
    return rc;
  if (s->open_min < 0 || s->open_min > 1000 || s->open_round < 0 ||
      s->open_round > 1000)
    return th__err(db, TH_ERANGE, "open_min and open_round must be 0 to 1000");
  n->open_min = s->open_min ? s->open_min : 8;
  n->open_round = s->open_round ? s->open_round : 5;
  /* Settings under which the rules of disclosure.c could not keep a count
   * hidden: with open_min 2 a withheld count is exactly 1, and with exact
   * running totals (open_round 1) the difference of two weeks' totals is
   * the week's count, however small. (open_min 1 withholds nothing: a
   * council that publishes everything says so with it.) */
  if (n->open_min == 2)
    return th__err(db, TH_ERANGE,
                   "open_min 2 would show every withheld count as exactly "
                   "1: use 1 (withhold nothing) or 3 or more");
  if (n->open_min > 2 && n->open_round < 2)
    return th__err(db, TH_ERANGE,
                   "open_round 1 publishes exact running totals, whose "
                   "weekly differences would show the counts open_min "
                   "withholds: use 2 or more (or open_min 1)");
  if ((rc = th__list_normalize(db, "wards", s->wards, 60, 200, &n->wards)) <
          0 ||
      (rc = th__list_normalize(db, "categories", s->categories, 60, 200,
                               &n->categories)) < 0 ||
      (rc = th__list_normalize(db, "contacts", s->contacts, 200, 50,
                               &n->contacts)) < 0) {
    th__site_norm_free(n);
    return rc;
  }
  /* The name is staff-written and public: scrubbed like the rest of what
   * staff write, keeping the council's own contact details. */
  if (th__redact_allowing(s->name, n->contacts, &n->name) != TH_OK ||
      n->name == NULL) {
    th__site_norm_free(n);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  return TH_OK;
}

static void th__site_bind(th__q *st, const th_site *s,
                          const th__site_norm *n) {
  th__q_text(st, 2, n->name);
  th__q_text(st, 3, n->origins);
  th__q_text(st, 4, n->keep_params);
  th__q_i64(st, 5, s->moderate_ideas != 0);
  th__q_i64(st, 6, s->allow_anonymous != 0);
  th__q_i64(st, 7, s->rank_anonymous != 0);
  th__q_i64(st, 8, n->comment_days);
  th__q_i64(st, 9, n->audit_days);
  th__q_i64(st, 10, n->key_days);
  th__q_i64(st, 11, n->open_min);
  th__q_i64(st, 12, n->open_round);
  th__q_text(st, 14, n->wards);
  th__q_text(st, 15, n->categories);
  th__q_text(st, 16, n->contacts);
}

/* Only what the caller's size covers (townhall.h, "Structs that grow"). */
static int th__site_in(th_db *db, const th_site *s, th_site *in) {
  if (s == NULL)
    return th__err(db, TH_EINVAL, "site is NULL");
  return TH__SIZED_IN(db, th_site, s, in) < 0 ? TH_EINVAL : TH_OK;
}

int th_site_create(th_db *db, th_actor actor, const th_site *site,
                   int64_t *id_out) {
  th__clear_err(db);
  th_site s_in = {0};
  if (th__site_in(db, site, &s_in) < 0)
    return TH_EINVAL;
  const th_site *s = &s_in;
  th__site_norm n;
  int rc = th__site_validate(db, s, &n);
  if (rc < 0)
    return rc;
  if ((rc = th__write_begin(db)) < 0) {
    th__site_norm_free(&n);
    return rc;
  }
  th__q *st = th__q_get(db, TH__S_SITE_INSERT);
  if (st == NULL) {
    th__site_norm_free(&n);
    return th__write_end(db, db->errcode);
  }
  th_time now = th_now(db);
  th__q_text(st, 1, s->slug);
  th__site_bind(st, s, &n);
  th__q_i64(st, 13, now);
  int64_t id = 0;
  rc = th__q_insert(db, st, "creating a site", &id);
  th__site_norm_free(&n);
  if (rc < 0) {
    if (rc == TH_EEXIST) /* the slug is taken */
      th__err(db, TH_EEXIST, "a site \"%s\" already exists", s->slug);
    return th__write_end(db, rc);
  }
  th_consultation board = {
      .size = sizeof board, .slug = "ideas", .title = "Ideas board"};
  rc = th__consultation_insert(db, id, &board, now, NULL);
  if (rc >= 0)
    rc = th__audit(db, id, actor, "site:create", 0, s->slug);
  rc = th__write_end(db, rc < 0 ? rc : TH_RECORDED);
  if (rc >= 0 && id_out)
    *id_out = id;
  return rc;
}

static void th__site_fill(th__q *st, th_site *s) {
  s->size = sizeof *s;
  s->id = th__q_col_i64(st, 0);
  s->slug = th__q_col_dup(st, 1);
  s->name = th__q_col_dup(st, 2);
  s->origins = th__q_col_dup(st, 3);
  s->keep_params = th__q_col_dup(st, 4);
  s->moderate_ideas = th__q_col_int(st, 5);
  s->allow_anonymous = th__q_col_int(st, 6);
  s->rank_anonymous = th__q_col_int(st, 7);
  s->comment_days = th__q_col_int(st, 8);
  s->audit_days = th__q_col_int(st, 9);
  s->key_days = th__q_col_int(st, 10);
  s->open_min = th__q_col_int(st, 11);
  s->open_round = th__q_col_int(st, 12);
  s->created = th__q_col_i64(st, 13);
  s->wards = th__q_col_dup(st, 14);
  s->categories = th__q_col_dup(st, 15);
  s->contacts = th__q_col_dup(st, 16);
}

static bool th__site_filled(const th_site *s) {
  return s->slug && s->name && s->origins && s->keep_params && s->wards &&
         s->categories && s->contacts;
}

static void th__site_clear(th_site *s) {
  free((char *)s->slug);
  free((char *)s->name);
  free((char *)s->origins);
  free((char *)s->keep_params);
  free((char *)s->wards);
  free((char *)s->categories);
  free((char *)s->contacts);
}

void th_site_free(th_site *s) {
  if (s == NULL)
    return;
  th__site_clear(s);
  free(s);
}

int th_site_get(th_db *db, const char *slug, th_site **out) {
  th__clear_err(db);
  if (out == NULL)
    return th__err(db, TH_EINVAL, "out is NULL");
  *out = NULL;
  if (slug == NULL)
    return th__err(db, TH_EINVAL, "no site given");
  th__q *st = th__q_get(db, TH__S_SITE_BY_SLUG);
  if (st == NULL)
    return db->errcode;
  th__q_text(st, 1, slug);
  int rc = th__q_step(db, st, "reading a site");
  if (rc != TH__ROW)
    return rc == TH__DONE
               ? th__err(db, TH_ENOTFOUND, "no site \"%.60s\"", slug)
               : rc;
  th_site *s = calloc(1, sizeof *s);
  if (s)
    th__site_fill(st, s);
  th__q_reset(st);
  if (s == NULL || !th__site_filled(s)) {
    th_site_free(s);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  *out = s;
  return TH_OK;
}

int th_site_list_all(th_db *db, th_site_list **out) {
  th__clear_err(db);
  if (out == NULL)
    return th__err(db, TH_EINVAL, "out is NULL");
  *out = NULL;
  th__q *st = th__q_get(db, TH__S_SITE_ALL);
  if (st == NULL)
    return db->errcode;
  th_site_list *l = calloc(1, sizeof *l);
  if (l == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");
  size_t cap = 0;
  int rc;
  while ((rc = th__q_step(db, st, "listing sites")) == TH__ROW) {
    /* The items are pointers: sizeof *n is a pointer's, as meant. */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    th_site **n = th__grow(l->items, l->count, &cap, sizeof *n);
    if (n == NULL)
      break;
    l->items = n;
    th_site *item = calloc(1, sizeof *item);
    if (item == NULL)
      break;
    th__site_fill(st, item);
    l->items[l->count++] = item;
  }
  th__q_reset(st);
  if (rc != TH__DONE) {
    th_site_list_free(l);
    return rc == TH__ROW ? th__err(db, TH_ENOMEM, "out of memory") : rc;
  }
  *out = l;
  return TH_OK;
}

void th_site_list_free(th_site_list *l) {
  if (l == NULL)
    return;
  for (size_t i = 0; i < l->count; i++)
    th_site_free(l->items[i]);
  free(l->items);
  free(l);
}

int th_site_update(th_db *db, th_actor actor, const th_site *site) {
  th__clear_err(db);
  th_site s_in = {0};
  if (th__site_in(db, site, &s_in) < 0)
    return TH_EINVAL;
  const th_site *s = &s_in;
  th__site_norm n;
  int rc = th__site_validate(db, s, &n);
  /* Validated means every normalised string is there; said again for the
   * benefit of static analysis, which cannot see th__err's result. */
  if (rc < 0 || !n.name || !n.wards || !n.categories || !n.contacts) {
    th__site_norm_free(&n);
    return rc < 0 ? rc : th__err(db, TH_ENOMEM, "out of memory");
  }
  th_site *old = NULL;
  if ((rc = th_site_get(db, s->slug, &old)) < 0 || old == NULL) {
    th__site_norm_free(&n);
    return rc < 0 ? rc : th__err(db, TH_EIO, "reading a site");
  }
  bool same = strcmp(old->name, n.name) == 0 &&
              strcmp(old->wards, n.wards) == 0 &&
              strcmp(old->categories, n.categories) == 0 &&
              strcmp(old->contacts, n.contacts) == 0 &&
              strcmp(old->origins, n.origins) == 0 &&
              strcmp(old->keep_params, n.keep_params) == 0 &&
              old->moderate_ideas == (s->moderate_ideas != 0) &&
              old->allow_anonymous == (s->allow_anonymous != 0) &&
              old->rank_anonymous == (s->rank_anonymous != 0) &&
              old->comment_days == n.comment_days &&
              old->audit_days == n.audit_days && old->key_days == n.key_days &&
              old->open_min == n.open_min && old->open_round == n.open_round;
  bool rerank = old->rank_anonymous != (s->rank_anonymous != 0);
  int64_t id = old->id;
  th_site_free(old);
  if (same || (rc = th__write_begin(db)) < 0) {
    th__site_norm_free(&n);
    return same ? TH_DUPLICATE : rc;
  }
  th__q *st = th__q_get(db, TH__S_SITE_UPDATE);
  if (st == NULL) {
    th__site_norm_free(&n);
    return th__write_end(db, db->errcode);
  }
  th__q_i64(st, 1, id);
  th__site_bind(st, s, &n);
  rc = th__q_run(db, st, "updating a site");
  th__site_norm_free(&n);
  if (rc >= 0 && rerank) {
    /* The stored ranking keys count what the site ranks on: recompute them
     * all, in this same transaction. */
    th__q *q = th__q_get(db, TH__S_SITE_IDEAS_COUNTS);
    if (q == NULL) {
      rc = db->errcode;
    } else {
      th__q_i64(q, 1, id);
      int64_t *ids = NULL;
      size_t count = 0, cap = 0;
      int src;
      while ((src = th__q_step(db, q, "re-ranking ideas")) == TH__ROW) {
        int64_t *nids = th__grow(ids, count, &cap, sizeof *nids);
        if (nids == NULL) {
          th__q_reset(q);
          src = th__err(db, TH_ENOMEM, "re-ranking ideas: out of memory");
          break;
        }
        ids = nids;
        ids[count++] = th__q_col_i64(q, 0);
      }
      if (src < 0)
        rc = src;
      for (size_t i = 0; rc >= 0 && i < count; i++)
        rc = th__idea_rerank(db, ids[i], s->rank_anonymous != 0);
      free(ids);
    }
  }
  if (rc >= 0)
    rc = th__audit(db, id, actor, "site:update", 0, s->slug);
  return th__write_end(db, rc < 0 ? rc : TH_RECORDED);
}

void th__secret_ad(char *ad, size_t cap, int64_t site_id) {
  snprintf(ad, cap, "th-site-secret:%lld", (long long)site_id);
}

int th_site_set_secret(th_db *db, const char *slug, const void *secret,
                       size_t len) {
  th__clear_err(db);
  if (secret == NULL || len < 32)
    return th__err(db, TH_ETOOSHORT,
                   "a site secret must be at least 32 bytes (256 bits)");
  if (len > TH__SECRET_MAX)
    return th__err(db, TH_ETOOLONG, "a site secret is at most %d bytes",
                   TH__SECRET_MAX);
  th__site_row site;
  int rc = th__site_lookup(db, slug, &site);
  if (rc < 0)
    return rc;
  unsigned char sealed[TH__SECRET_MAX + TH__SEALED_OVERHEAD];
  char ad[64];
  th__secret_ad(ad, sizeof ad, site.id);
  th__seal(db->keys, ad, secret, len, sealed);
  if ((rc = th__write_begin(db)) < 0)
    return rc;
  th__q *st = th__q_get(db, TH__S_SITE_SET_SECRET);
  if (st == NULL)
    return th__write_end(db, db->errcode);
  th__q_i64(st, 1, site.id);
  th__q_blob(st, 2, sealed, len + TH__SEALED_OVERHEAD);
  rc = th__q_run(db, st, "storing a site secret");
  if (rc >= 0)
    rc = th__audit(db, site.id, NULL, "site:secret", 0, "");
  return th__write_end(db, rc < 0 ? rc : TH_RECORDED);
}

int th_site_get_secret(th_db *db, const char *slug, void *buf, size_t cap,
                       size_t *len_out) {
  th__clear_err(db);
  if (buf == NULL || len_out == NULL)
    return th__err(db, TH_EINVAL, "buf and len_out are required");
  if (slug == NULL || slug[0] == '\0')
    return th__err(db, TH_EINVAL, "no site given");
  th__q *st = th__q_get(db, TH__S_SITE_SECRET);
  if (st == NULL)
    return db->errcode;
  th__q_text(st, 1, slug);
  int rc = th__q_step(db, st, "reading a site secret");
  if (rc != TH__ROW)
    return rc == TH__DONE
               ? th__err(db, TH_ENOTFOUND, "no site \"%.60s\"", slug)
               : rc;
  int64_t id = th__q_col_i64(st, 0);
  size_t n = 0;
  const unsigned char *sealed = th__q_col_blob(st, 1, &n);
  if (sealed == NULL || n <= TH__SEALED_OVERHEAD) {
    th__q_reset(st);
    return th__err(db, TH_ENOTFOUND, "site \"%.60s\" has no secret", slug);
  }
  size_t len = n - TH__SEALED_OVERHEAD;
  if (len > cap) {
    th__q_reset(st);
    *len_out = len;
    return th__err(db, TH_ERANGE, "buffer too small for the site secret");
  }
  char ad[64];
  th__secret_ad(ad, sizeof ad, id);
  rc = th__unseal(db->keys, ad, sealed, n, buf);
  th__q_reset(st);
  if (rc < 0)
    return th__err(db, TH_EKEY,
                   "the site secret does not open under this key file "
                   "(was the key file replaced?)");
  *len_out = len;
  return TH_OK;
}
