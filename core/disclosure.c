/*
 * disclosure.c: what the public may see of counts of people.
 *
 * Page feedback is anonymous, but a count of 1 or 2 "no" answers on a page
 * can still describe a person known to have read it. Every public output
 * of page feedback (the summary anyone may ask for, open data) goes through
 * this file, so that one set of rules holds everywhere (docs/privacy.md,
 * "What is published"):
 *
 *  1. Windows. A published figure counts every answer on a page from its
 *     first up to the end of a complete ISO week (Monday to Sunday, UTC):
 *     the callers' part. Nothing covers the week in progress, and no
 *     window starts anywhere but at the page's first answer, so no two
 *     published windows differ by a stretch of time that a subtraction
 *     could isolate, other than whole weeks of the same running total --
 *     whose rounded values lie on one grid, so that the difference of two
 *     of them never pins a count. (Weekly counts beside running totals do:
 *     seven weeks shown as "1 to 7" each beside a total shown as "1 to 7"
 *     are seven weeks of exactly 1. So weekly counts are never published.)
 *  2. Counts. A count from 1 to min - 1 is withheld (the NHS rule, min 8);
 *     zero stays zero; every other count is rounded to the nearest
 *     multiple of `round` (5), halves up, never down to 0.
 *  3. Derived figures. Every other figure (a total, a mean, a bound) is
 *     computed from the published counts alone, so that it tells nothing
 *     they do not, and is withheld when any count it would be computed from
 *     is withheld: no total stands beside a hidden part. (A mean of 3.65
 *     from 26 ratings beside a hidden count of 3 "no" gives the 3 back; so
 *     does a Wilson bound, or "responses" minus a shown "yes".)
 *  4. Ratings. A rated answer is an answer, so the ratings can never add up
 *     to more than yes + no. That link is what remains after rule 3: a
 *     histogram shown whole beside yes and no could bound a withheld
 *     rating bucket to exactly 1. So the ratings are shown only beside a
 *     shown yes and no, and only when every withheld bucket still has at
 *     least two values it could hold; otherwise all five are withheld.
 *
 * Idea vote counts are not counts of anonymous people (a signed-in
 * resident's vote on a public idea is counted in public, as on every
 * petitions site), and counts of council actions are not counts of people:
 * neither comes here.
 */
#include "internal.h"

void th__disclosure_fix(th__disclosure *r) {
  if (r->min < 0)
    r->min = 0;
  if (r->round < 1)
    r->round = 1;
}

int64_t th__publish_count(const th__disclosure *r, int64_t v) {
  if (v <= 0)
    return 0;
  if (v < r->min)
    return TH_WITHHELD;
  if (r->round <= 1)
    return v;
  int64_t out = (v + r->round / 2) / r->round * r->round;
  return out == 0 ? r->round : out;
}

/* The least and the greatest true count that is published as `p`: what
 * anyone reading the figure knows of it. */
static int64_t th__least(const th__disclosure *r, int64_t p) {
  if (p == 0)
    return 0;
  if (p == TH_WITHHELD)
    return 1;
  int64_t lo = p == r->round ? 1 : p - r->round / 2;
  return lo > r->min ? lo : (r->min > 1 ? r->min : 1);
}

static int64_t th__most(const th__disclosure *r, int64_t p) {
  if (p == 0)
    return 0;
  if (p == TH_WITHHELD)
    return r->min - 1;
  return p - r->round / 2 + r->round - 1;
}

void th__page_derive(th_page_summary *s) {
  int64_t sum = 0;
  s->rating_count = 0;
  for (int i = 0; i < 5; i++) {
    s->rating_count += s->ratings[i];
    sum += s->ratings[i] * (i + 1);
  }
  s->responses = s->yes + s->no;
  s->rating_mean =
      s->rating_count ? (double)sum / (double)s->rating_count : 0;
  s->useful_lower = th__wilson_lower(s->yes, s->responses);
}

/* Rule 4: whether the published ratings, beside a published yes and no,
 * leave every withheld bucket at least two values. The ratings add up to
 * at most yes + no, so a withheld bucket holds at most the most yes + no
 * could be, less the least every other bucket could be. */
static bool th__ratings_safe(const th__disclosure *r, int64_t yes, int64_t no,
                             const int64_t pub[5]) {
  int64_t room = th__most(r, yes) + th__most(r, no);
  int64_t least = 0;
  for (int i = 0; i < 5; i++)
    least += th__least(r, pub[i]);
  for (int i = 0; i < 5; i++)
    if (pub[i] == TH_WITHHELD && room - (least - 1) < 2)
      return false;
  return true;
}

void th__publish_page(const th__disclosure *r, const th_page_summary *ex,
                      th_page_summary *pub) {
  th_page_summary out = {.page = ex->page, .first = ex->first,
                         .last = ex->last, .exact = 0};
  out.yes = th__publish_count(r, ex->yes);
  out.no = th__publish_count(r, ex->no);
  bool answers_shown = out.yes != TH_WITHHELD && out.no != TH_WITHHELD;
  bool every_bucket = true;
  for (int i = 0; i < 5; i++) {
    out.ratings[i] = th__publish_count(r, ex->ratings[i]);
    every_bucket = every_bucket && out.ratings[i] != TH_WITHHELD;
  }
  bool ratings_shown =
      answers_shown && th__ratings_safe(r, out.yes, out.no, out.ratings);
  /* Rule 3: derived from the published counts only. */
  th_page_summary d = {.yes = out.yes, .no = out.no};
  for (int i = 0; i < 5; i++)
    d.ratings[i] = every_bucket ? out.ratings[i] : 0;
  th__page_derive(&d);
  if (!answers_shown) {
    out.responses = TH_WITHHELD;
    out.useful_lower = TH_WITHHELD;
  } else {
    out.responses = d.responses;
    out.useful_lower = d.useful_lower;
  }
  if (!ratings_shown)
    for (int i = 0; i < 5; i++)
      out.ratings[i] = TH_WITHHELD;
  if (ratings_shown && every_bucket) {
    out.rating_count = d.rating_count;
    out.rating_mean = d.rating_mean;
  } else {
    out.rating_count = TH_WITHHELD;
    out.rating_mean = TH_WITHHELD;
  }
  /* Comments are removed by retention: a public count of them would fall,
   * and the fall would count the removed ones. */
  out.comments = TH_WITHHELD;
  *pub = out;
}
