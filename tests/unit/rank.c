/*
 * rank.c: each sort order against values computed by hand (in Python, from
 * the formulas in DESIGN.md section 6), and cursors walking 1,000 ideas
 * without gaps or repeats.
 */
#include "helpers.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>

#define T0 INT64_C(1772445600000) /* 2026-03-02T10:00:00Z */

static void test_formulas(void) {
  TAP_DBL(th__wilson_lower(3, 4), 0.30063605244263664, 1e-12, "wilson 3/4");
  TAP_DBL(th__wilson_lower(10, 12), 0.5519636426153274, 1e-12, "wilson 10/12");
  TAP_DBL(th__wilson_lower(1, 1), 0.20654329147389294, 1e-12, "wilson 1/1");
  TAP_DBL(th__wilson_lower(50, 100), 0.40382982859014716, 1e-12,
          "wilson 50/100");
  TAP_DBL(th__wilson_lower(0, 5), 0.0, 1e-12, "wilson 0/5");
  TAP_DBL(th__wilson_lower(0, 0), 0.0, 0, "wilson with no votes is 0");
  TAP_DBL(th__hot(10, 2, T0), 39388.58308998699, 1e-9, "hot +8");
  TAP_DBL(th__hot(0, 5, T0), 39386.981029995666, 1e-9, "hot -5");
  TAP_DBL(th__hot(3, 3, T0), 39387.68, 1e-9, "hot 0 is the age alone");
  TAP_DBL(th__hot(1, 0, T0), 39387.68, 1e-9, "hot +1: log10(1) = 0");
  TAP_OK(th__hot(0, 0, T0 + 45000000) > th__hot(9, 0, T0),
         "an idea 12.5 h newer outranks one with +9");
  TAP_DBL(th__controversial(5, 3), 3.4822022531844965, 1e-12, "contro 5/3");
  TAP_DBL(th__controversial(100, 100), 200.0, 1e-12, "contro even split");
  TAP_DBL(th__controversial(50, 0), 0.0, 0, "one-sided is not controversial");
  TAP_DBL(th__controversial(0, 0), 0.0, 0, "no votes is not controversial");
  TAP_OK(th__random_key(1, 5) == th__random_key(1, 5), "random key stable");
  TAP_OK(th__random_key(1, 5) != th__random_key(2, 5), "depends on the seed");
  TAP_OK(th__random_key(1, 5) != th__random_key(1, 6), "depends on the id");
}

/* Casts `n` votes of `value` on an idea by fresh residents. */
static void votes(th_db *db, int64_t idea, int n, int value, int *who_next) {
  for (int i = 0; i < n; i++) {
    char r[32];
    snprintf(r, sizeof r, "voter-%d", (*who_next)++);
    th_who w = {.resident = r};
    th_vote(db, "camden", &w, idea, value, NULL);
  }
}

static int64_t submit(th_db *db, const char *title, th_time at) {
  t_clock = at;
  th_who w = {.resident = "author"};
  th_idea_new n = {.size = sizeof(n), .title = title};
  int64_t id = 0;
  if (th_idea_submit(db, "camden", &w, &n, &id) != TH_RECORDED)
    printf("# submit %s: %s\n", title, th_errmsg(db));
  return id;
}

static void expect_order(th_db *db, int sort, uint64_t seed,
                         const int64_t *want, size_t n, const char *name) {
  th_idea_query q = {.size = sizeof(q), .sort = sort, .seed = seed, .limit = 100};
  th_idea_page *p = NULL;
  int rc = th_idea_list(db, "camden", &q, &p);
  int same = rc == TH_OK && p->count == n;
  for (size_t i = 0; same && i < n; i++)
    same = p->items[i].id == want[i];
  if (!same && p) {
    printf("# got:");
    for (size_t i = 0; i < p->count; i++)
      printf(" %lld", (long long)p->items[i].id);
    printf("\n");
  }
  TAP_OK(same, "%s order", name);
  th_idea_page_free(p);
}

static void test_orders(void) {
  th_db *db = t_open("orders.db");
  t_clock = T0;
  t_site(db, "camden", 0, 0);
  int voter = 0;
  /* a: 3 up 1 down, oldest.  b: 10 up 2 down.  c: 5 up 3 down, newest.
   * d: no votes.  e: 0 up 5 down. */
  int64_t a = submit(db, "Idea a: repair the swings", T0);
  int64_t b = submit(db, "Idea b: more bins", T0 + 3600000);
  int64_t c = submit(db, "Idea c: 20 mph on Camden Road", T0 + 7200000);
  int64_t d = submit(db, "Idea d: a community fridge", T0 + 1800000);
  int64_t e = submit(db, "Idea e: close the library", T0 + 5400000);
  t_clock = T0 + 8 * 3600000;
  votes(db, a, 3, 1, &voter);
  votes(db, a, 1, -1, &voter);
  votes(db, b, 10, 1, &voter);
  votes(db, b, 2, -1, &voter);
  votes(db, c, 5, 1, &voter);
  votes(db, c, 3, -1, &voter);
  votes(db, e, 5, -1, &voter);

  th_idea *ia = NULL;
  th_idea_get(db, "camden", a, &ia);
  TAP_DBL(ia ? ia->top : -1, 0.30063605244263664, 1e-12, "stored top of a");
  TAP_DBL(ia ? ia->hot : -1,
          log10(2) + (double)((T0) / 1000) / 45000.0, 1e-9, "stored hot of a");
  TAP_DBL(ia ? ia->controversial : -1, pow(4, 1.0 / 3), 1e-12,
          "stored controversial of a");
  th_idea_free(ia);

  /* top: b .552, c wilson(5,8), a .301, d 0 / e 0 (ties: higher id first) */
  int64_t top[] = {b, c, a, e, d};
  TAP_DBL(th__wilson_lower(5, 8), 0.3057, 0.0001, "wilson 5/8 ~ 0.3057");
  expect_order(db, TH_SORT_TOP, 0, top, 5, "top");
  /* new: c, e, b, d, a */
  int64_t nw[] = {c, e, b, d, a};
  expect_order(db, TH_SORT_NEW, 0, nw, 5, "new");
  /* hot: log10(s) + created/45000 s. b: 0.903+t0+0.08=..; c: 0.301+0.16;
   * a: 0.301+0; d: 0+0.04; e: -0.699+0.12 */
  double hb = log10(8) + 3600.0 / 45000, hc = log10(2) + 7200.0 / 45000,
         ha = log10(2), hd = 1800.0 / 45000, he = -log10(5) + 5400.0 / 45000;
  TAP_OK(hb > hc && hc > ha && ha > hd && hd > he, "hand-computed hot order");
  int64_t hot[] = {b, c, a, d, e};
  expect_order(db, TH_SORT_HOT, 0, hot, 5, "hot");
  /* controversial: c 8^0.6=3.48, b 12^0.2=1.64, a 4^(1/3)=1.587, e 0, d 0 */
  int64_t con[] = {c, b, a, e, d};
  expect_order(db, TH_SORT_CONTROVERSIAL, 0, con, 5, "controversial");

  /* random: stable per seed, a permutation, and seeds differ. */
  th_idea_query q = {.size = sizeof(q), .sort = TH_SORT_RANDOM, .seed = 42, .limit = 100};
  th_idea_page *p1 = NULL, *p2 = NULL, *p3 = NULL;
  th_idea_list(db, "camden", &q, &p1);
  th_idea_list(db, "camden", &q, &p2);
  q.seed = 43;
  th_idea_list(db, "camden", &q, &p3);
  int same = p1 && p2 && p1->count == 5 && p2->count == 5;
  for (size_t i = 0; same && i < 5; i++)
    same = p1->items[i].id == p2->items[i].id;
  TAP_OK(same, "random order is stable for a seed");
  /* The order follows th__random_key: check it by hand. */
  int sorted = 1;
  for (size_t i = 1; p1 && i < p1->count; i++)
    sorted &= (th__random_key(42, p1->items[i - 1].id) >> 1) <=
              (th__random_key(42, p1->items[i].id) >> 1);
  TAP_OK(sorted, "random order follows the keyed hash");
  th_idea_page_free(p1);
  th_idea_page_free(p2);
  th_idea_page_free(p3);

  /* Filters. */
  th_idea_query f = {.size = sizeof(f), .sort = TH_SORT_NEW, .created_from = T0 + 3600000,
                     .created_to = T0 + 7200000};
  th_idea_page *p = NULL;
  th_idea_list(db, "camden", &f, &p);
  TAP_INT(p ? (int)p->count : -1, 2, "date range: from inclusive, to exclusive");
  th_idea_page_free(p);
  th_close(db);
}

static int cmp_double_desc(double a, double b) { return a < b ? 1 : a > b ? -1 : 0; }

static void walk(th_db *db, int sort, uint64_t seed, int limit, int n_ideas,
                 const char *name) {
  th_idea_query q = {.size = sizeof(q), .sort = sort, .seed = seed, .limit = limit};
  char *cursor = NULL;
  int seen_count = 0, pages = 0, dup = 0, misordered = 0;
  char *seen = calloc((size_t)n_ideas * 2 + 2, 1);
  double last_key = 0;
  int64_t last_id = 0;
  int64_t last_ikey = 0;
  for (;;) {
    q.cursor = cursor;
    th_idea_page *p = NULL;
    if (th_idea_list(db, "camden", &q, &p) != TH_OK) {
      printf("# %s\n", th_errmsg(db));
      break;
    }
    pages++;
    for (size_t i = 0; i < p->count; i++) {
      const th_idea *it = &p->items[i];
      if (it->id <= 0 || it->id > n_ideas * 2 || seen[it->id]++)
        dup++;
      seen_count++;
      double k = sort == TH_SORT_TOP   ? it->top
                 : sort == TH_SORT_HOT ? it->hot
                                       : it->controversial;
      int64_t ik = sort == TH_SORT_NEW
                       ? it->created
                       : (int64_t)(th__random_key(seed, it->id) >> 1);
      if (last_id) {
        if (sort == TH_SORT_NEW)
          misordered += ik > last_ikey || (ik == last_ikey && it->id > last_id);
        else if (sort == TH_SORT_RANDOM)
          misordered += ik < last_ikey || (ik == last_ikey && it->id < last_id);
        else
          misordered += cmp_double_desc(last_key, k) > 0 ||
                        (k == last_key && it->id > last_id);
      }
      last_key = k;
      last_ikey = ik;
      last_id = it->id;
    }
    free(cursor);
    cursor = p->next_cursor ? th__strdup(p->next_cursor) : NULL;
    th_idea_page_free(p);
    if (cursor == NULL)
      break;
    if (pages > n_ideas + 1) { /* a cursor that does not advance */
      free(cursor);
      cursor = NULL;
      misordered++;
      break;
    }
  }
  TAP_INT(seen_count, n_ideas, "%s: the walk sees every idea", name);
  TAP_INT(dup, 0, "%s: no idea twice", name);
  TAP_INT(misordered, 0, "%s: pages continue the order exactly", name);
  TAP_INT(pages, (n_ideas + limit - 1) / limit, "%s: page count", name);
  free(seen);
}

static void test_cursors(void) {
  th_db *db = t_open("cursors.db");
  t_clock = T0;
  t_site(db, "camden", 0, 0);
  enum { N = 1000 };
  th_batch_begin(db);
  srand(7);
  th_who author = {.resident = "author"};
  for (int i = 0; i < N; i++) {
    char title[40];
    snprintf(title, sizeof title, "Idea number %d", i);
    /* Many share a creation time: ties the cursor must break by id. */
    t_clock = T0 + (i / 10) * 1000;
    th_idea_new n = {.size = sizeof(n), .title = title};
    th_idea_submit(db, "camden", &author, &n, NULL);
  }
  /* Votes from 30 residents: many ideas tie on every key. */
  for (int v = 0; v < 30; v++) {
    char r[16];
    snprintf(r, sizeof r, "r%d", v);
    th_who w = {.resident = r};
    for (int k = 0; k < 60; k++)
      th_vote(db, "camden", &w, 1 + rand() % N, rand() % 3 - 1, NULL);
  }
  int crc = th_batch_commit(db);
  if (crc < 0) printf("# %s\n", th_errmsg(db));
  TAP_INT(crc, TH_OK, "1,000 ideas and votes committed");
  walk(db, TH_SORT_TOP, 0, 37, N, "top");
  walk(db, TH_SORT_HOT, 0, 37, N, "hot");
  walk(db, TH_SORT_NEW, 0, 37, N, "new");
  walk(db, TH_SORT_CONTROVERSIAL, 0, 37, N, "controversial");
  walk(db, TH_SORT_RANDOM, 12345, 37, N, "random");
  walk(db, TH_SORT_TOP, 0, 100, N, "top by 100");
  walk(db, TH_SORT_NEW, 0, 1, N, "new by 1");

  /* Bad cursors. */
  th_idea_query q = {.size = sizeof(q), .sort = TH_SORT_TOP, .limit = 10};
  th_idea_page *p = NULL;
  th_idea_list(db, "camden", &q, &p);
  char *good = p && p->next_cursor ? th__strdup(p->next_cursor) : NULL;
  th_idea_page_free(p);
  TAP_OK(good != NULL, "a first page has a cursor");
  const char *bad[] = {"", "x", "!!!!", "AAAA", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
                       "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
  for (size_t i = 1; i < sizeof bad / sizeof bad[0]; i++) {
    q.cursor = bad[i];
    p = NULL;
    TAP_INT(th_idea_list(db, "camden", &q, &p), TH_EINVAL,
            "malformed cursor %zu refused", i);
    TAP_OK(p == NULL, "no page on error");
  }
  q.cursor = good;
  q.sort = TH_SORT_NEW;
  TAP_INT(th_idea_list(db, "camden", &q, &p), TH_EINVAL,
          "a cursor of another sort is refused");
  q.sort = TH_SORT_RANDOM;
  q.seed = 1;
  TAP_INT(th_idea_list(db, "camden", &q, &p), TH_EINVAL,
          "a top cursor on a random list is refused");
  free(good);
  th_idea_query rq = {.size = sizeof(rq), .sort = TH_SORT_RANDOM, .seed = 5, .limit = 10};
  th_idea_list(db, "camden", &rq, &p);
  good = p && p->next_cursor ? th__strdup(p->next_cursor) : NULL;
  th_idea_page_free(p);
  rq.cursor = good;
  rq.seed = 6;
  p = NULL;
  TAP_INT(th_idea_list(db, "camden", &rq, &p), TH_EINVAL,
          "a random cursor with another seed is refused");
  free(good);
  th_close(db);
}

int main(void) {
  test_formulas();
  test_orders();
  test_cursors();
  return tap_done();
}
