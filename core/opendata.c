/*
 * opendata.c: open data (Open Government Licence v3.0), safe to publish.
 *
 *   feedback.csv   page feedback per page per ISO week
 *   ideas.csv      ideas, their status, votes and the council's response
 *
 * The server publishes these files (GET /v1/sites/{site}/open/...), the
 * command (townhall open-data) and both bindings write them: every one of
 * them calls this file, so the bytes are the same wherever they come from.
 *
 * Anyone may download these files, so every count in them is treated as if
 * it were going to be published on a council's website forever:
 *
 *  - Small counts are suppressed: a count from 1 to open_min - 1 (the site's
 *    setting, 8 by default: the NHS rule) is written as "*". Zero stays 0.
 *  - Every other count is rounded to the nearest multiple of open_round (5
 *    by default; halves round up), and never down to 0.
 *  - Differencing: a total must not give a suppressed cell away. The only
 *    total in these files is a feedback row's "responses", which is exactly
 *    yes + no (every answer says yes or no). If exactly one of yes and no is
 *    suppressed, responses minus the other would recover it, so responses
 *    is suppressed too ("*" then means "withheld", not necessarily "fewer
 *    than open_min"). Rating columns have no published total (an answer
 *    need not carry a rating), so nothing else can be subtracted.
 *  - Differencing over time: the files only describe complete ISO weeks
 *    (Monday to Sunday, UTC). The week in progress is never published, so
 *    two downloads a day apart are identical and cannot be subtracted to
 *    isolate one day's answers. For the same reason ideas.csv gives each
 *    idea's votes as they stood at the end of the last complete week (from
 *    the per-day tallies kept for the idea's history) and lists only ideas
 *    created before that week ended.
 *  - No authors, no comments, no idea bodies: only what the council already
 *    shows everyone (titles, statuses, official responses) and counts.
 *
 * Rounding is what protects against differencing between different
 * publications (an all-time page summary against the weekly rows): a site
 * that sets open_round to 1 keeps the suppression but loses that
 * protection; docs/privacy.md says so.
 *
 * Both queries are bounded: feedback.csv covers at most 104 weeks (52 by
 * default) and both files stop at TH__OPEN_MAX_ROWS rows. feedback.csv
 * aggregates every answer in its window, which on a large site takes a
 * second or more: the server builds it off its loop and keeps what it
 * built until the week ends (handlers/open_data.c).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TH__OPEN_MAX_ROWS 50000
#define TH__OPEN_DEFAULT_WEEKS 52
#define TH__OPEN_MAX_WEEKS 104

/* "2026-W02" for the ISO week starting on the Monday `monday`: the week
 * belongs to the year of its Thursday. */
static void th__iso_week(int64_t monday, char *out, size_t cap) {
  time_t t = (time_t)((monday + 3) * 86400);
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL) {
    snprintf(out, cap, "?");
    return;
  }
  snprintf(out, cap, "%04d-W%02d", (tm.tm_year + 1900) % 10000,
           (tm.tm_yday / 7 + 1) % 100);
}

/* One count as published (disclosure.c): 0, "*", or rounded. */
static void th__cell(th__sbuf *b, int64_t published, bool last) {
  if (published == TH_WITHHELD)
    th__csv_text(b, "*", last);
  else
    th__csv_int(b, published, last);
}

int th__open_rules_get(th_db *db, int64_t site_id, th__open_rules *r) {
  th__q *st = th__q_get(db, TH__S_OPEN_RULES);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, site_id);
  int rc = th__q_step(db, st, "reading the site's open-data settings");
  if (rc != TH__ROW)
    return rc == TH__DONE
               ? th__err(db, TH_EDB,
                         "reading the site's open-data settings: no site %lld",
                         (long long)site_id)
               : rc;
  r->min = th__q_col_i64(st, 0);
  r->round = th__q_col_i64(st, 1);
  r->created = th__q_col_i64(st, 2);
  th__q_reset(st);
  if (r->min < 0)
    r->min = 0;
  if (r->round < 1)
    r->round = 1;
  return TH_OK;
}

int th__open_window_get(th_db *db, const char *from, int64_t weeks,
                        th__open_window *w) {
  if (weeks < 0 || weeks > TH__OPEN_MAX_WEEKS)
    return th__err(db, TH_ERANGE, "weeks must be 1 to %d (0: the default)",
                   TH__OPEN_MAX_WEEKS);
  int64_t this_monday = th__monday(th__day(th_now(db)));
  int64_t start =
      this_monday - 7 * (weeks ? weeks : TH__OPEN_DEFAULT_WEEKS);
  if (from) {
    struct tm tm = {0};
    const char *end = strptime(from, "%Y-%m-%d", &tm);
    if (end == NULL || *end != '\0')
      return th__err(db, TH_EINVAL, "from is a date such as 2026-01-05.");
    start = th__monday((int64_t)timegm(&tm) / 86400);
  }
  int64_t to = start + 7 * (weeks ? weeks : TH__OPEN_MAX_WEEKS);
  if (to > this_monday)
    to = this_monday; /* the week in progress is never published */
  w->from = start;
  w->to = to;
  w->this_monday = this_monday;
  return TH_OK;
}

/* ---- feedback.csv ---------------------------------------------------------- */

int th__open_feedback_build(th_db *db, int64_t site_id,
                            const th__open_window *w,
                            const th__open_rules *rules, th__sbuf *b) {
  th__disclosure d = {rules->min, rules->round};
  int64_t from = w->from, to = w->to;
  th__csv_begin(b);
  static const char *const head[] = {"page",     "week",     "yes",
                                     "no",       "rating_1", "rating_2",
                                     "rating_3", "rating_4", "rating_5",
                                     "responses"};
  for (size_t i = 0; i < TH__ARRAY_SIZE(head); i++)
    th__csv_text(b, head[i], i + 1 == TH__ARRAY_SIZE(head));
  if (from >= to)
    return TH_OK;
  /* Each page's answers per week from its first, in order: the running
   * totals are what is published (disclosure.c, rule 1). */
  th__q *st = th__q_get(db, TH__S_OPEN_FEEDBACK);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, site_id);
  th__q_i64(st, 2, from);
  th__q_i64(st, 3, to);
  int src;
  size_t rows = 0;
  th_page_summary total = {0}, shown = {0};
  char *url = NULL;
  while ((src = th__q_step(db, st, "aggregating feedback for open data")) ==
             TH__ROW &&
         rows < TH__OPEN_MAX_ROWS) {
    const char *u = th__q_col_text(st, 0);
    if (url == NULL || strcmp(url, u) != 0) {
      /* The next page: its totals start from nothing. */
      free(url);
      if ((url = strdup(u)) == NULL) {
        b->oom = true;
        break;
      }
      memset(&total, 0, sizeof total);
      memset(&shown, 0, sizeof shown);
    }
    int64_t monday = th__q_col_i64(st, 1);
    total.yes += th__q_col_i64(st, 2);
    total.no += th__q_col_i64(st, 3);
    for (int k = 0; k < 5; k++)
      total.ratings[k] += th__q_col_i64(st, 4 + k);
    th_page_summary pub;
    th__publish_page(&d, &total, &pub);
    bool changed = pub.yes != shown.yes || pub.no != shown.no ||
                   memcmp(pub.ratings, shown.ratings, sizeof pub.ratings) != 0;
    shown = pub;
    /* A row only where a published figure moved: which weeks had answers
     * is itself a count the totals may not show. */
    if (monday < from || !changed)
      continue;
    char week[32];
    th__iso_week(monday, week, sizeof week);
    th__csv_text(b, url, false);
    th__csv_text(b, week, false);
    th__cell(b, pub.yes, false);
    th__cell(b, pub.no, false);
    for (int k = 0; k < 5; k++)
      th__cell(b, pub.ratings[k], false);
    th__cell(b, pub.responses, true);
    rows++;
  }
  free(url);
  if (src == TH__ROW)
    th__q_reset(st); /* stopped at the row limit (or out of memory) */
  return src < 0 ? src : TH_OK;
}

/* ---- ideas.csv ------------------------------------------------------------- */

int th__open_ideas_build(th_db *db, int64_t site_id, int64_t this_monday,
                         const th__open_rules *rules, th__sbuf *b) {
  th__disclosure d = {rules->min, rules->round};
  th__csv_begin(b);
  static const char *const head[] = {
      "id",       "consultation", "title",         "status",
      "category", "ward",         "created",       "votes_for",
      "votes_against", "response", "response_date"};
  for (size_t i = 0; i < TH__ARRAY_SIZE(head); i++)
    th__csv_text(b, head[i], i + 1 == TH__ARRAY_SIZE(head));
  /* Public statuses only (published, under review, accepted, in progress,
   * done, declined): never pending, hidden, withdrawn or merged ideas. */
  th__q *st = th__q_get(db, TH__S_OPEN_IDEAS);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, site_id);
  th__q_i64(st, 2, this_monday);
  th__q_i64(st, 3, this_monday * TH__DAY_MS);
  th__q_i64(st, 4, TH__OPEN_MAX_ROWS);
  int src;
  while ((src = th__q_step(db, st, "listing ideas for open data")) ==
         TH__ROW) {
    /* Days as "2026-03-02"; "" for none (a time of 0). */
    char created[16] = "", responded[16] = "";
    int64_t at = th__q_col_i64(st, 6);
    if (at > 0)
      th__day_text(th__day(at), created, sizeof created);
    const char *response = th__q_col_text(st, 9);
    at = th__q_col_i64(st, 10);
    if (response && response[0] && at > 0)
      th__day_text(th__day(at), responded, sizeof responded);
    const char *status = th_status_name(th__q_col_int(st, 3));
    th__csv_int(b, th__q_col_i64(st, 0), false);
    th__csv_text(b, th__q_col_text(st, 1), false);
    th__csv_text(b, th__q_col_text(st, 2), false);
    th__csv_text(b, status ? status : "", false);
    th__csv_text(b, th__q_col_text(st, 4), false);
    th__csv_text(b, th__q_col_text(st, 5), false);
    th__csv_text(b, created, false);
    th__cell(b, th__publish_count(&d, th__q_col_i64(st, 7)), false);
    th__cell(b, th__publish_count(&d, th__q_col_i64(st, 8)), false);
    th__csv_text(b, response, false);
    th__csv_text(b, responded, true);
  }
  return src < 0 ? src : TH_OK; /* a TH__DONE step has reset it */
}

/* ---- the public API ----------------------------------------------------------- */

/* No padding (townhall.h): the size rule below sees every byte a caller
 * may set. A field added later keeps this true. */
_Static_assert(sizeof(th_open_data_options) ==
                   offsetof(th_open_data_options, weeks) + sizeof(int64_t),
               "th_open_data_options has padding");

void th_open_data_options_init(th_open_data_options *opt) {
  if (opt == NULL)
    return;
  memset(opt, 0, sizeof *opt);
  opt->size = sizeof *opt;
}

/* The caller's options as this library knows them: a smaller struct (an
 * older caller) has its missing fields at their defaults; a larger one (a
 * newer caller) must leave every field this library does not know zero,
 * so that nothing it asked for is silently ignored. */
static int th__open_options_read(th_db *db, const th_open_data_options *in,
                                 th_open_data_options *out) {
  if (in == NULL) {
    th_open_data_options_init(out);
    return TH_OK;
  }
  return TH__SIZED_IN(db, th_open_data_options, in, out);
}

/* Hands a finished file to the caller, or the error. */
static int th__open_finish(th_db *db, int rc, th__sbuf *b, char **csv,
                           size_t *len) {
  if (rc == TH_OK && b->oom)
    rc = th__err(db, TH_ENOMEM, "out of memory");
  if (rc < 0) {
    th__sbuf_free(b);
    return rc;
  }
  *csv = b->p; /* never NULL: the byte-order mark at least was put */
  if (len)
    *len = b->len;
  return TH_OK;
}

/* What both files' entry points check first: the handle, the output, and
 * the options (read into *o). */
static int th__open_begin(th_db *db, const th_open_data_options *opt,
                          char **csv, size_t *len, th_open_data_options *o) {
  if (db == NULL)
    return TH_EINVAL;
  th__clear_err(db);
  if (csv == NULL)
    return th__err(db, TH_EINVAL, "csv is NULL");
  *csv = NULL;
  if (len)
    *len = 0;
  return th__open_options_read(db, opt, o);
}

int th_open_data_feedback(th_db *db, const char *site_slug,
                          const th_open_data_options *opt, char **csv,
                          size_t *len) {
  th_open_data_options o = {0};
  int rc = th__open_begin(db, opt, csv, len, &o);
  if (rc < 0)
    return rc;
  th__site_row site;
  if ((rc = th__site_lookup(db, site_slug, &site)) < 0)
    return rc;
  th__open_rules rules = {0};
  if ((rc = th__open_rules_get(db, site.id, &rules)) < 0)
    return rc;
  th__open_window w = {0};
  if ((rc = th__open_window_get(db, o.from, o.weeks, &w)) < 0)
    return rc;
  th__sbuf b = {0};
  rc = th__open_feedback_build(db, site.id, &w, &rules, &b);
  return th__open_finish(db, rc, &b, csv, len);
}

int th_open_data_ideas(th_db *db, const char *site_slug,
                       const th_open_data_options *opt, char **csv,
                       size_t *len) {
  th_open_data_options o = {0};
  int rc = th__open_begin(db, opt, csv, len, &o);
  if (rc < 0)
    return rc;
  if (o.from != NULL || o.weeks != 0)
    return th__err(db, TH_EINVAL,
                   "ideas.csv has no window: it lists the ideas as they "
                   "stood at the end of the last complete week (leave from "
                   "and weeks unset)");
  th__site_row site;
  if ((rc = th__site_lookup(db, site_slug, &site)) < 0)
    return rc;
  th__open_rules rules = {0};
  if ((rc = th__open_rules_get(db, site.id, &rules)) < 0)
    return rc;
  int64_t this_monday = th__monday(th__day(th_now(db)));
  th__sbuf b = {0};
  rc = th__open_ideas_build(db, site.id, this_monday, &rules, &b);
  return th__open_finish(db, rc, &b, csv, len);
}
