/*
 * feedback.c: page feedback. Validation, one record per device per page per
 * day (amended, never counted twice), URL normalisation and origins,
 * scrubbed comments, the summary counters against hand-computed values, the
 * worst-first page list walked by cursor, and comments newest first.
 */
#include "helpers.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>

#define T0 INT64_C(1772445600000) /* 2026-03-02T10:00:00Z */
#define DAY TH__DAY_MS
#define PAGE "https://www.camden.gov.uk/bins"

static char *repeat(const char *unit, size_t n) {
  size_t u = strlen(unit);
  char *s = malloc(u * n + 1);
  for (size_t i = 0; i < n; i++)
    memcpy(s + i * u, unit, u);
  s[u * n] = '\0';
  return s;
}

static int record(th_db *db, const char *site, const char *ip, const char *page,
                  int useful, int rating, const char *comment) {
  th_who w = {.ip = ip, .user_agent = "Mozilla/5.0 (feedback test)"};
  th_feedback fb = {
      .page = page, .useful = useful, .rating = rating, .comment = comment};
  return th_feedback_record(db, site, &w, &fb);
}

static th_page_summary *summary(th_db *db, const char *site, const char *page) {
  th_page_summary *s = NULL;
  if (th_feedback_summary(db, site, page, &s) != TH_OK)
    printf("# summary %s: %s\n", page, th_errmsg(db));
  return s;
}

static int summary_is(th_page_summary *s, int64_t yes, int64_t no,
                      const int64_t r[5], int64_t comments) {
  if (s == NULL)
    return 0;
  int ok = s->yes == yes && s->no == no && s->comments == comments;
  int64_t n = 0;
  for (int i = 0; i < 5; i++) {
    ok &= s->ratings[i] == r[i];
    n += r[i];
  }
  ok &= s->rating_count == n;
  if (!ok)
    printf("# yes %lld no %lld ratings %lld %lld %lld %lld %lld comments "
           "%lld\n",
           (long long)s->yes, (long long)s->no, (long long)s->ratings[0],
           (long long)s->ratings[1], (long long)s->ratings[2],
           (long long)s->ratings[3], (long long)s->ratings[4],
           (long long)s->comments);
  return ok;
}

static void test_validation(void) {
  t_clock = T0;
  th_db *db = t_open("validate.db");
  t_site(db, "camden", 0, 0);
  th_who w = {.ip = "198.51.100.1", .user_agent = "UA"};
  TAP_INT(th_feedback_record(db, "camden", &w, NULL), TH_EINVAL,
          "NULL feedback");
  struct {
    const char *what;
    th_feedback fb;
    int want;
  } cases[] = {
      {"useful 2", {.page = PAGE, .useful = 2}, TH_EINVAL},
      {"useful -1", {.page = PAGE, .useful = -1}, TH_EINVAL},
      {"rating 6", {.page = PAGE, .useful = 1, .rating = 6}, TH_ERANGE},
      {"rating -1", {.page = PAGE, .useful = 1, .rating = -1}, TH_ERANGE},
      {"NULL page", {.page = NULL, .useful = 1}, TH_EINVAL},
      {"empty page", {.page = "", .useful = 1}, TH_EINVAL},
      {"relative page", {.page = "/bins", .useful = 1}, TH_EINVAL},
      {"not http",
       {.page = "ftp://www.camden.gov.uk/bins", .useful = 1},
       TH_EINVAL},
      {"javascript", {.page = "javascript:alert(1)", .useful = 1}, TH_EINVAL},
      {"another origin",
       {.page = "https://evil.example/bins", .useful = 1},
       TH_EINVAL},
      {"http, not https",
       {.page = "http://www.camden.gov.uk/bins", .useful = 1},
       TH_EINVAL},
      {"another port",
       {.page = "https://www.camden.gov.uk:8443/bins", .useful = 1},
       TH_EINVAL},
      {"a look-alike host",
       {.page = "https://www.camden.gov.uk.evil.example/", .useful = 1},
       TH_EINVAL},
      {"user info hiding another host",
       {.page = "https://www.camden.gov.uk@evil.example/", .useful = 1},
       TH_EINVAL},
      {"control character in a comment",
       {.page = PAGE, .useful = 1, .comment = "bad\x01"},
       TH_EINVAL},
      {"invalid UTF-8 comment",
       {.page = PAGE, .useful = 1, .comment = "\xc3\x28"},
       TH_EUTF8},
      {"invalid UTF-8 in the URL",
       {.page = "https://www.camden.gov.uk/\xc3\x28", .useful = 1},
       TH_EINVAL},
  };
  for (size_t i = 0; i < TH__ARRAY_SIZE(cases); i++)
    TAP_INT(th_feedback_record(db, "camden", &w, &cases[i].fb), cases[i].want,
            "%s", cases[i].what);
  th_feedback ok = {.page = PAGE, .useful = 1};
  TAP_INT(th_feedback_record(db, "nowhere", &w, &ok), TH_ENOTFOUND,
          "unknown site");
  TAP_INT(th_feedback_record(db, NULL, &w, &ok), TH_EINVAL, "NULL site");
  char *longpath = repeat("a", 2100);
  char url[2200];
  snprintf(url, sizeof url, "https://www.camden.gov.uk/%s", longpath);
  free(longpath);
  th_feedback lf = {.page = url, .useful = 1};
  TAP_INT(th_feedback_record(db, "camden", &w, &lf), TH_ETOOLONG,
          "a URL over 2048 bytes");
  char *c2001 = repeat("c", 2001);
  th_feedback cf = {.page = PAGE, .useful = 1, .comment = c2001};
  TAP_INT(th_feedback_record(db, "camden", &w, &cf), TH_ETOOLONG,
          "comment of 2001 characters");
  free(c2001);
  char *e2001 = repeat("\xc3\xa9", 2001);
  cf.comment = e2001;
  TAP_INT(th_feedback_record(db, "camden", &w, &cf), TH_ETOOLONG,
          "comment of 2001 two-byte characters");
  e2001[4000] = '\0';
  TAP_INT(th_feedback_record(db, "camden", &w, &cf), TH_RECORDED,
          "comment of 2000 two-byte characters (4000 bytes)");
  free(e2001);
  th_page_summary *s = (th_page_summary *)1;
  TAP_INT(th_feedback_summary(db, "camden", PAGE "/other", &s), TH_ENOTFOUND,
          "no summary for a page without feedback");
  TAP_OK(s == NULL, "*out NULL on failure");
  s = summary(db, "camden", PAGE);
  int64_t r0[5] = {0};
  TAP_OK(summary_is(s, 1, 0, r0, 1), "only the good record counted");
  th_page_summary_free(s);
  th_page_summary_free(NULL);

  /* A site with no origins takes any page. */
  th_site open = {.slug = "open", .name = "Open"};
  th_site_create(db, NULL, &open, NULL);
  th_feedback anyp = {.page = "https://anything.example/x", .useful = 0};
  TAP_INT(th_feedback_record(db, "open", &w, &anyp), TH_RECORDED,
          "a site without origins takes any http(s) page");
  anyp.page = "mailto:jo@example.org";
  TAP_INT(th_feedback_record(db, "open", &w, &anyp), TH_EINVAL,
          "but still only http(s)");
  th_close(db);
}

static void test_amend(void) {
  t_clock = T0;
  th_db *db = t_open("amend.db");
  t_site(db, "camden", 0, 0);
  const char *ip = "198.51.100.10";
  int64_t r[5] = {0};
  TAP_INT(record(db, "camden", ip, PAGE, 1, 0, NULL), TH_RECORDED, "yes");
  th_page_summary *s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 1, 0, r, 0), "1 yes");
  th_page_summary_free(s);
  TAP_INT(record(db, "camden", ip, PAGE, 1, 0, NULL), TH_DUPLICATE,
          "the same answer again: TH_DUPLICATE");
  TAP_INT(
      record(db, "camden", ip, PAGE "?utm_source=newsletter#top", 1, 0, NULL),
      TH_DUPLICATE, "the same page with ?utm= and a fragment: duplicate");
  TAP_INT(record(db, "camden", ip, "HTTPS://WWW.CAMDEN.GOV.UK:443/bins", 1, 0,
                 NULL),
          TH_DUPLICATE, "the same page spelled differently: duplicate");
  t_clock += 3600000;
  TAP_INT(record(db, "camden", ip, PAGE, 1, 4, NULL), TH_RECORDED,
          "a rating added later amends");
  r[3] = 1;
  s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 1, 0, r, 0), "still 1 yes, one 4-star rating");
  th_page_summary_free(s);
  TAP_INT(record(db, "camden", ip, PAGE, 1, 0, NULL), TH_DUPLICATE,
          "yes without a rating keeps the rating: nothing new");
  TAP_INT(record(db, "camden", ip, PAGE, 1, 4, NULL), TH_DUPLICATE,
          "the same rating again: TH_DUPLICATE");
  TAP_INT(record(db, "camden", ip, PAGE, 1, 2, "Hard to find the day"),
          TH_RECORDED, "rating changed and a comment added");
  r[3] = 0;
  r[1] = 1;
  s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 1, 0, r, 1), "the rating moved from 4 to 2; 1 comment");
  th_page_summary_free(s);
  TAP_INT(record(db, "camden", ip, PAGE, 1, 2, "Hard to find the day"),
          TH_DUPLICATE, "identical: TH_DUPLICATE");
  TAP_INT(record(db, "camden", ip, PAGE, 1, 0, NULL), TH_DUPLICATE,
          "no rating and no comment keeps both");
  TAP_INT(record(db, "camden", ip, PAGE, 1, 0, "   \n "), TH_DUPLICATE,
          "a blank comment is no comment");
  TAP_INT(record(db, "camden", ip, PAGE, 0, 0, NULL), TH_RECORDED, "yes -> no");
  s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 0, 1, r, 1), "0 yes, 1 no, rating and comment kept");
  th_page_summary_free(s);
  TAP_INT(record(db, "camden", ip, PAGE, 0, 0, "Now it is clear"), TH_RECORDED,
          "comment replaced");
  s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 0, 1, r, 1), "still one comment");
  th_page_summary_free(s);
  th_comment_list *cl = NULL;
  th_feedback_comments(db, "camden", PAGE, 0, &cl);
  TAP_OK(cl && cl->count == 1 &&
             strcmp(cl->items[0].text, "Now it is clear") == 0 &&
             cl->items[0].useful == 0 && cl->items[0].rating == 2,
         "the comment amended in place");
  th_comment_list_free(cl);

  /* Another device the same day counts. */
  TAP_INT(record(db, "camden", "198.51.100.11", PAGE, 1, 5, NULL), TH_RECORDED,
          "another device");
  th_who ua = {.ip = ip, .user_agent = "Another browser"};
  th_feedback fb = {.page = PAGE, .useful = 1};
  TAP_INT(th_feedback_record(db, "camden", &ua, &fb), TH_RECORDED,
          "the same address with another browser is another device");
  th_who res = {.resident = "resident-1",
                .ip = ip,
                .user_agent = "Mozilla/5.0 (feedback test)"};
  fb.useful = 0;
  fb.rating = 2;
  fb.comment = "Now it is clear";
  TAP_INT(th_feedback_record(db, "camden", &res, &fb), TH_DUPLICATE,
          "a resident id is ignored: the device decides");
  r[4] = 1;
  s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 2, 1, r, 1), "2 yes, 1 no");
  th_page_summary_free(s);

  /* The next day the same device counts again. */
  t_clock += DAY;
  TAP_INT(record(db, "camden", ip, PAGE, 0, 0, NULL), TH_RECORDED,
          "the next day: a new record");
  s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 2, 2, r, 1), "2 yes, 2 no");
  TAP_INT(s ? s->first : -1, th__day(T0) * DAY, "first: day 0");
  TAP_INT(s ? s->last : -1, (th__day(T0) + 1) * DAY, "last: day 1");
  th_page_summary_free(s);
  TAP_INT(record(db, "camden", ip, PAGE, 0, 0, NULL), TH_DUPLICATE,
          "and is a duplicate again that day");

  /* Pages differ by path, and by kept parameters only. */
  TAP_INT(record(db, "camden", ip, PAGE "/", 1, 0, NULL), TH_RECORDED,
          "/bins/ is another page than /bins");
  th_site keep = {.slug = "keep",
                  .name = "Keep",
                  .origins = "https://www.camden.gov.uk",
                  .keep_params = "service"};
  th_site_create(db, NULL, &keep, NULL);
  TAP_INT(record(db, "keep", ip, PAGE "?service=1&utm_source=x", 1, 0, NULL),
          TH_RECORDED, "service 1");
  TAP_INT(record(db, "keep", ip, PAGE "?utm_source=y&service=1", 1, 0, NULL),
          TH_DUPLICATE, "service 1 with another utm: the same page");
  TAP_INT(record(db, "keep", ip, PAGE "?service=2", 1, 0, NULL), TH_RECORDED,
          "service 2 is another page");
  s = summary(db, "keep", PAGE "?service=2&email=jo@example.org");
  TAP_STR(s ? s->page : NULL, PAGE "?service=2",
          "the summary names the normalised URL");
  th_page_summary_free(s);
  th_close(db);
}

static void test_summary(void) {
  t_clock = T0;
  th_db *db = t_open("summary.db");
  t_site(db, "camden", 0, 0);
  const char *page = "https://www.camden.gov.uk/council-tax";
  /* 7 yes, 3 no; ratings 1, 2, 2, 3, 5, 5, 5; comments from 4 devices (one
   * blank, which is none). */
  int useful[10] = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
  int rating[10] = {1, 2, 2, 3, 5, 5, 5, 0, 0, 0};
  const char *comment[10] = {"Clear",
                             NULL,
                             "Email me at jo.bloggs@example.org",
                             NULL,
                             NULL,
                             "  ",
                             NULL,
                             "Call 020 7974 4444",
                             "Too long",
                             NULL};
  for (int i = 0; i < 10; i++) {
    char ip[32];
    snprintf(ip, sizeof ip, "203.0.113.%d", i + 1);
    TAP_INT(record(db, "camden", ip, page, useful[i], rating[i], comment[i]),
            TH_RECORDED, "record %d", i);
  }
  th_page_summary *s = summary(db, "camden", page);
  int64_t r[5] = {1, 2, 1, 0, 3};
  TAP_OK(summary_is(s, 7, 3, r, 4), "7 yes, 3 no, histogram, 4 comments");
  TAP_INT(s ? s->rating_count : -1, 7, "7 ratings");
  TAP_DBL(s ? s->rating_mean : -1, 23.0 / 7.0, 1e-12, "mean 23/7");
  /* By hand (Python): p = 0.7, n = 10, z = 1.96. */
  TAP_DBL(s ? s->useful_lower : -1, 0.3967732199795652, 1e-12,
          "Wilson lower bound of 7/10");
  TAP_STR(s ? s->page : NULL, page, "page");
  th_page_summary_free(s);

  th_comment_list *cl = NULL;
  TAP_INT(th_feedback_comments(db, "camden", page, 0, &cl), TH_OK, "comments");
  TAP_INT(cl ? (int)cl->count : -1, 4, "four comments");
  int scrubbed = 1;
  for (size_t i = 0; cl && i < cl->count; i++)
    scrubbed &= strstr(cl->items[i].text, "jo.bloggs") == NULL &&
                strstr(cl->items[i].text, "7974") == NULL;
  TAP_OK(scrubbed, "no e-mail or phone number in any comment");
  if (cl && cl->count == 4) {
    TAP_STR(cl->items[0].text, "Too long", "newest first (same day: by id)");
    TAP_STR(cl->items[1].text, "Call [phone]", "phone scrubbed");
    TAP_STR(cl->items[2].text, "Email me at [email]", "e-mail scrubbed");
    TAP_INT(cl->items[2].rating, 2, "rating with the comment");
    TAP_INT(cl->items[2].useful, 1, "useful with the comment");
    TAP_INT(cl->items[0].rating, 0, "no rating: 0");
    TAP_INT(cl->items[0].day, th__day(T0) * DAY, "day, not time");
  }
  th_comment_list_free(cl);
  th_comment_list_free(NULL);

  /* No ratings: mean 0. */
  record(db, "camden", "203.0.113.50", PAGE, 0, 0, NULL);
  s = summary(db, "camden", PAGE);
  TAP_OK(s && s->rating_count == 0 && s->rating_mean == 0 &&
             s->useful_lower == 0,
         "no ratings: mean 0; no yes: lower bound 0");
  th_page_summary_free(s);

  th_page_summary *x = NULL;
  TAP_INT(th_feedback_summary(db, "camden", page, NULL), TH_EINVAL, "NULL out");
  TAP_INT(th_feedback_summary(db, "camden", NULL, &x), TH_EINVAL, "NULL page");
  TAP_INT(th_feedback_summary(db, "camden", "nope", &x), TH_EINVAL,
          "not a URL");
  TAP_INT(th_feedback_summary(db, "camden", "https://evil.example/", &x),
          TH_EINVAL, "off the site's origins");
  TAP_INT(th_feedback_summary(db, "nowhere", page, &x), TH_ENOTFOUND,
          "unknown site");
  th_close(db);
}

static void test_comments(void) {
  t_clock = T0;
  th_db *db = t_open("comments.db");
  t_site(db, "camden", 0, 0);
  for (int d = 0; d < 5; d++) {
    for (int k = 0; k < 3; k++) {
      char ip[32], text[64];
      snprintf(ip, sizeof ip, "198.51.100.%d", k + 1);
      snprintf(text, sizeof text, "day %d device %d", d, k);
      record(db, "camden", ip, PAGE, k % 2, k + 1, text);
    }
    t_clock += DAY;
  }
  th_comment_list *cl = NULL;
  TAP_INT(th_feedback_comments(db, "camden", PAGE, 4, &cl), TH_OK, "limit 4");
  TAP_INT(cl ? (int)cl->count : -1, 4, "four");
  if (cl && cl->count == 4) {
    TAP_STR(cl->items[0].text, "day 4 device 2", "newest first");
    TAP_STR(cl->items[3].text, "day 3 device 2", "into the previous day");
    TAP_INT(cl->items[0].day, (th__day(T0) + 4) * DAY, "its day");
  }
  th_comment_list_free(cl);
  cl = NULL;
  th_feedback_comments(db, "camden", PAGE, 0, &cl);
  TAP_INT(cl ? (int)cl->count : -1, 15, "default limit 50: all 15");
  int ordered = 1;
  for (size_t i = 1; cl && i < cl->count; i++)
    ordered &= cl->items[i - 1].day >= cl->items[i].day;
  TAP_OK(ordered, "days never increase");
  th_comment_list_free(cl);
  cl = NULL;
  TAP_INT(th_feedback_comments(db, "camden", PAGE, 500, &cl), TH_OK,
          "limit 500");
  th_comment_list_free(cl);
  cl = (th_comment_list *)1;
  TAP_INT(th_feedback_comments(db, "camden", PAGE, 501, &cl), TH_ERANGE,
          "limit 501");
  TAP_OK(cl == NULL, "*out NULL on failure");
  TAP_INT(th_feedback_comments(db, "camden", PAGE, -1, &cl), TH_ERANGE,
          "limit -1");
  TAP_INT(th_feedback_comments(db, "camden", PAGE "/none", 0, &cl),
          TH_ENOTFOUND, "a page without feedback");
  TAP_INT(th_feedback_comments(db, "camden", "nope", 0, &cl), TH_EINVAL,
          "not a URL");
  TAP_INT(th_feedback_comments(db, "nowhere", PAGE, 0, &cl), TH_ENOTFOUND,
          "unknown site");
  TAP_INT(th_feedback_comments(db, "camden", PAGE, 0, NULL), TH_EINVAL,
          "NULL out");
  /* A page with answers but no comments. */
  record(db, "camden", "198.51.100.1", PAGE "/quiet", 1, 0, NULL);
  cl = NULL;
  TAP_INT(th_feedback_comments(db, "camden", PAGE "/quiet", 0, &cl), TH_OK,
          "a page without comments");
  TAP_INT(cl ? (int)cl->count : -1, 0, "an empty list");
  th_comment_list_free(cl);
  th_close(db);
}

static void test_pages(void) {
  t_clock = T0;
  th_db *db = t_open("pages.db");
  t_site(db, "camden", 0, 0);
  enum { N = 250 };
  srand(99);
  th_batch_begin(db);
  for (int p = 0; p < N; p++) {
    char url[128];
    snprintf(url, sizeof url, "https://www.camden.gov.uk/page/%d", p);
    /* Few answers each, so many pages tie on the lower bound. */
    int answers = rand() % 5;
    if (answers == 0)
      answers = 1;
    for (int a = 0; a < answers; a++) {
      char ip[32];
      snprintf(ip, sizeof ip, "192.0.2.%d", a + 1);
      record(db, "camden", ip, url, rand() % 2, 0, NULL);
    }
  }
  TAP_INT(th_batch_commit(db), TH_OK, "250 pages recorded");
  char *cursor = NULL;
  char seen[N] = {0};
  int count = 0, dup = 0, misordered = 0, pages = 0;
  double last_key = -1;
  int64_t last_no = 0;
  do {
    th_page_list *l = NULL;
    if (th_feedback_pages(db, "camden", 7, cursor, &l) != TH_OK) {
      printf("# %s\n", th_errmsg(db));
      break;
    }
    pages++;
    for (size_t i = 0; i < l->count; i++) {
      const th_page_summary *s = &l->items[i];
      int num = atoi(strrchr(s->page, '/') + 1);
      if (num < 0 || num >= N || seen[num]++)
        dup++;
      count++;
      if (last_key >= 0 && (s->useful_lower < last_key ||
                            (s->useful_lower == last_key && s->no > last_no)))
        misordered++;
      last_key = s->useful_lower;
      last_no = s->no;
    }
    TAP_OK(l->count == 7 || l->next_cursor == NULL,
           "page %d: 7 items or the last page", pages);
    free(cursor);
    cursor = l->next_cursor ? strdup(l->next_cursor) : NULL;
    th_page_list_free(l);
  } while (cursor && pages < 100);
  free(cursor);
  TAP_INT(count, N, "every page seen");
  TAP_INT(dup, 0, "none twice");
  TAP_INT(misordered, 0, "worst first: lowest bound, then most no");
  TAP_INT(pages, (N + 6) / 7, "in 36 pages of 7");

  /* The worst page is one with only "no" answers, most of them. */
  th_page_list *l = NULL;
  TAP_INT(th_feedback_pages(db, "camden", 0, NULL, &l), TH_OK, "limit 0");
  TAP_INT(l ? (int)l->count : -1, 20, "default limit 20");
  TAP_OK(l && l->count && l->items[0].yes == 0, "the worst has no yes");
  th_page_list_free(l);
  th_page_list_free(NULL);
  l = (th_page_list *)1;
  TAP_INT(th_feedback_pages(db, "camden", 101, NULL, &l), TH_ERANGE,
          "limit 101");
  TAP_OK(l == NULL, "*out NULL on failure");
  TAP_INT(th_feedback_pages(db, "camden", -1, NULL, &l), TH_ERANGE, "limit -1");
  TAP_INT(th_feedback_pages(db, "camden", 7, "garbage!", &l), TH_EINVAL,
          "malformed cursor");
  /* A cursor of an idea list is not a page cursor. */
  th__cursor ic = {.kind = TH_SORT_TOP, .key = 0.5, .id = 3};
  char *idea_cursor = th__cursor_encode(&ic);
  TAP_INT(th_feedback_pages(db, "camden", 7, idea_cursor, &l), TH_EINVAL,
          "an idea cursor");
  free(idea_cursor);
  TAP_INT(th_feedback_pages(db, "nowhere", 7, NULL, &l), TH_ENOTFOUND,
          "unknown site");
  TAP_INT(th_feedback_pages(db, "camden", 7, NULL, NULL), TH_EINVAL,
          "NULL out");
  t_site(db, "empty", 0, 0);
  l = NULL;
  TAP_INT(th_feedback_pages(db, "empty", 7, NULL, &l), TH_OK,
          "a site without feedback");
  TAP_OK(l && l->count == 0 && l->next_cursor == NULL, "an empty list");
  th_page_list_free(l);
  th_close(db);
}

int main(void) {
  test_validation();
  test_amend();
  test_summary();
  test_comments();
  test_pages();
  return tap_done();
}
