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
  th_feedback fb = {.size = sizeof(fb),
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
  for (size_t i = 0; i < TH__ARRAY_SIZE(cases); i++) {
    cases[i].fb.size = sizeof cases[i].fb;
    TAP_INT(th_feedback_record(db, "camden", &w, &cases[i].fb), cases[i].want,
            "%s", cases[i].what);
  }
  th_feedback ok = {.size = sizeof(ok), .page = PAGE, .useful = 1};
  TAP_INT(th_feedback_record(db, "nowhere", &w, &ok), TH_ENOTFOUND,
          "unknown site");
  TAP_INT(th_feedback_record(db, NULL, &w, &ok), TH_EINVAL, "NULL site");
  char *longpath = repeat("a", 2100);
  char url[2200];
  snprintf(url, sizeof url, "https://www.camden.gov.uk/%s", longpath);
  free(longpath);
  th_feedback lf = {.size = sizeof(lf), .page = url, .useful = 1};
  TAP_INT(th_feedback_record(db, "camden", &w, &lf), TH_ETOOLONG,
          "a URL over 2048 bytes");
  char *c2001 = repeat("c", 2001);
  th_feedback cf = {.size = sizeof(cf), .page = PAGE, .useful = 1, .comment = c2001};
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
  th_site open = {.size = sizeof(th_site), .slug = "open", .name = "Open"};
  th_site_create(db, NULL, &open, NULL);
  th_feedback anyp = {.size = sizeof(anyp), .page = "https://anything.example/x", .useful = 0};
  TAP_INT(th_feedback_record(db, "open", &w, &anyp), TH_RECORDED,
          "a site without origins takes any http(s) page");
  anyp.page = "mailto:jo@example.org";
  TAP_INT(th_feedback_record(db, "open", &w, &anyp), TH_EINVAL,
          "but still only http(s)");
  th_close(db);
}

static int answer(th_db *db, const char *site, const char *ip, const char *ua,
                  const char *page, int useful, int rating, const char *comment,
                  const char *key, char handle[TH_HANDLE_SIZE]) {
  th_who w = {.ip = ip, .user_agent = ua};
  th_feedback fb = {.size = sizeof(fb),
      .page = page, .useful = useful, .rating = rating, .comment = comment};
  return th_feedback_answer(db, site, &w, &fb, key, handle);
}

static int amend(th_db *db, const char *site, const char *handle,
                 const char *page, int useful, int rating,
                 const char *comment) {
  th_feedback fb = {.size = sizeof(fb),
      .page = page, .useful = useful, .rating = rating, .comment = comment};
  return th_feedback_amend(db, site, handle, &fb);
}

#define UA "Mozilla/5.0 (feedback test)"

/* Two residents behind one address with one browser: two answers, and each
 * amends only its own through its handle. */
static void test_answers(void) {
  t_clock = T0;
  th_db *db = t_open("answers.db");
  t_site(db, "camden", 0, 0);
  const char *ip = "198.51.100.10";
  int64_t r[5] = {0};
  char h1[TH_HANDLE_SIZE], h2[TH_HANDLE_SIZE];
  TAP_INT(answer(db, "camden", ip, UA, PAGE, 1, 0, NULL, NULL, h1),
          TH_RECORDED, "a first resident's yes");
  TAP_INT(answer(db, "camden", ip, UA, PAGE, 0, 0, "Hard to read", NULL, h2),
          TH_RECORDED, "a second resident, same address and browser: a no");
  TAP_INT((int)strlen(h1), 22, "a handle is 22 characters");
  TAP_OK(strcmp(h1, h2) != 0, "each answer has its own handle");
  th_page_summary *s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 1, 1, r, 1), "both answers counted: 1 yes, 1 no");
  th_page_summary_free(s);

  TAP_INT(amend(db, "camden", h1, PAGE, -1, 4, NULL), TH_RECORDED,
          "the first adds a rating through its handle");
  TAP_INT(amend(db, "camden", h2, NULL, -1, 2, "Hard to read on a phone"),
          TH_RECORDED, "the second amends its own (no page given)");
  r[3] = 1;
  r[1] = 1;
  s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 1, 1, r, 1), "still 1 yes and 1 no; a 4 and a 2");
  th_page_summary_free(s);
  th_comment_list *cl = NULL;
  th_feedback_comments(db, "camden", PAGE, 0, &cl);
  TAP_OK(cl && cl->count == 1 &&
             strcmp(cl->items[0].text, "Hard to read on a phone") == 0 &&
             cl->items[0].useful == 0 && cl->items[0].rating == 2,
         "the second's comment replaced in place, with its own rating");
  th_comment_list_free(cl);
  TAP_INT(amend(db, "camden", h1, PAGE, -1, 4, NULL), TH_DUPLICATE,
          "the same rating again: TH_DUPLICATE");
  TAP_INT(amend(db, "camden", h1, PAGE, -1, 0, "   \n "), TH_DUPLICATE,
          "a blank comment and no rating keep both");
  TAP_INT(amend(db, "camden", h1, PAGE "?utm_source=x#top", 0, 0, NULL),
          TH_RECORDED, "yes -> no, the page spelled with ?utm= and #top");
  s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 0, 2, r, 1), "0 yes, 2 no, the ratings kept");
  th_page_summary_free(s);

  /* A handle reaches its own answer and nothing else. */
  TAP_INT(amend(db, "camden", h1, PAGE "/other", 1, 0, NULL), TH_ENOTFOUND,
          "not on another page");
  t_site(db, "other", 0, 0);
  TAP_INT(amend(db, "other", h1, NULL, 1, 0, NULL), TH_ENOTFOUND,
          "not on another site");
  char forged[TH_HANDLE_SIZE];
  memcpy(forged, h1, sizeof forged);
  forged[20] = forged[20] == 'A' ? 'B' : 'A';
  TAP_INT(amend(db, "camden", forged, PAGE, 1, 0, NULL), TH_ENOTFOUND,
          "a handle with its secret changed");
  memcpy(forged, h2, 11);
  memcpy(forged + 11, h1 + 11, 12);
  TAP_INT(amend(db, "camden", forged, PAGE, 1, 0, NULL), TH_ENOTFOUND,
          "one answer's selector with another's secret");
  const char *bad[] = {"", "short", "!!!!!!!!!!!!!!!!!!!!!!",
                       "AAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAA",
                       NULL};
  for (int i = 0; bad[i]; i++)
    TAP_INT(amend(db, "camden", bad[i], PAGE, 1, 0, NULL), TH_ENOTFOUND,
            "malformed handle \"%s\"", bad[i]);
  TAP_INT(amend(db, "camden", NULL, PAGE, 1, 0, NULL), TH_ENOTFOUND,
          "NULL handle");
  TAP_INT(amend(db, "camden", h1, PAGE, 2, 0, NULL), TH_EINVAL, "useful 2");
  TAP_INT(amend(db, "camden", h1, PAGE, -1, 6, NULL), TH_ERANGE, "rating 6");
  TAP_INT(th_feedback_amend(db, "camden", h1, NULL), TH_EINVAL, "NULL change");
  s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 0, 2, r, 1), "nothing refused changed anything");
  th_page_summary_free(s);

  /* A handle expires with its day. */
  t_clock += DAY;
  TAP_INT(amend(db, "camden", h2, PAGE, 1, 0, NULL), TH_ENOTFOUND,
          "the next day, yesterday's handle amends nothing");
  s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 0, 2, r, 1), "yesterday's answers stand");
  th_page_summary_free(s);
  TAP_INT(answer(db, "camden", ip, UA, PAGE, 1, 0, NULL, NULL, NULL),
          TH_RECORDED, "a new answer without asking for its handle");
  th_close(db);
}

/* Retries fold by idempotency key, from the same device with the same
 * answer only. */
static void test_retries(void) {
  t_clock = T0;
  th_db *db = t_open("retries.db");
  t_site(db, "camden", 0, 0);
  const char *ip = "198.51.100.20", *key = "6b0c2f1e-9a4d-4c1b-8f3e-2a7d5c9e1b40";
  int64_t r[5] = {0};
  char h1[TH_HANDLE_SIZE], h2[TH_HANDLE_SIZE], h3[TH_HANDLE_SIZE];
  TAP_INT(answer(db, "camden", ip, UA, PAGE, 1, 0, NULL, key, h1), TH_RECORDED,
          "an answer with a key");
  TAP_INT(answer(db, "camden", ip, UA, PAGE, 1, 0, NULL, key, h2),
          TH_DUPLICATE, "the same request again (a retry): TH_DUPLICATE");
  TAP_STR(h2, h1, "the retry gets the first answer's handle");
  TAP_INT(answer(db, "camden", ip, UA,
                 "HTTPS://www.camden.gov.uk/bins?utm_campaign=x", 1, 0, NULL,
                 key, h2),
          TH_DUPLICATE, "the same page however spelled");
  th_page_summary *s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 1, 0, r, 0), "one answer");
  th_page_summary_free(s);
  TAP_INT(amend(db, "camden", h1, PAGE, -1, 5, NULL), TH_RECORDED,
          "then a rating through the handle");
  TAP_INT(answer(db, "camden", ip, UA, PAGE, 1, 0, NULL, key, h2),
          TH_DUPLICATE, "a late retry of the first post still folds");
  r[4] = 1;
  s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 1, 0, r, 0), "and leaves the rating alone");
  th_page_summary_free(s);

  TAP_INT(answer(db, "camden", ip, UA, PAGE, 0, 0, NULL, key, h3),
          TH_ECONFLICT, "the same key and device with another answer");
  TAP_OK(strstr(th_errmsg(db), "idempotency key") != NULL,
         "says why: %s", th_errmsg(db));
  TAP_INT(answer(db, "camden", ip, UA, PAGE, 1, 0, "and a comment", key, h3),
          TH_ECONFLICT, "or the same answer with a comment");
  TAP_INT(answer(db, "camden", "198.51.100.21", UA, PAGE, 1, 0, NULL, key, h3),
          TH_RECORDED, "the same key from another device: another answer");
  TAP_OK(strcmp(h3, h1) != 0, "with a handle of its own");
  TAP_INT(answer(db, "camden", ip, "Another browser", PAGE, 1, 0, NULL, key,
                 h3),
          TH_RECORDED, "or from another browser on the same address");
  TAP_INT(answer(db, "camden", ip, UA, PAGE "/other", 1, 0, NULL, key, h3),
          TH_RECORDED, "or on another page");
  TAP_INT(answer(db, "camden", ip, UA, PAGE, 1, 0, NULL, "another-key", h3),
          TH_RECORDED, "another key from the first device: another answer");
  s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 4, 0, r, 0), "4 answers on the page");
  th_page_summary_free(s);
  t_clock += DAY;
  TAP_INT(answer(db, "camden", ip, UA, PAGE, 1, 0, NULL, key, h2),
          TH_RECORDED, "the next day the key folds nothing");

  char k255[256], k256[257];
  memset(k255, 'k', 255);
  k255[255] = '\0';
  memset(k256, 'k', 256);
  k256[256] = '\0';
  TAP_INT(answer(db, "camden", ip, UA, PAGE, 1, 0, NULL, k255, NULL),
          TH_RECORDED, "a key of 255 characters");
  const char *bad[] = {"", k256, "with space", "tab\tkey", "caf\xc3\xa9",
                       NULL};
  for (int i = 0; bad[i]; i++)
    TAP_INT(answer(db, "camden", ip, UA, PAGE, 1, 0, NULL, bad[i], h2),
            TH_EINVAL, "key %d refused", i);
  TAP_STR(h2, "", "no handle on failure");
  /* Importers have no device: a key still folds their retries. */
  th_feedback fb = {.size = sizeof(fb), .page = PAGE "/import", .useful = 1};
  TAP_INT(th_feedback_answer(db, "camden", NULL, &fb, "row-1", h1),
          TH_RECORDED, "an import row");
  TAP_INT(th_feedback_answer(db, "camden", NULL, &fb, "row-1", h2),
          TH_DUPLICATE, "the same row again");
  TAP_INT(th_feedback_answer(db, "camden", NULL, &fb, "row-2", NULL),
          TH_RECORDED, "the next row");
  th_close(db);
}

/* The 0.1.0 widget posts "yes" and then its rating, with no handle: the
 * follow-up amends, and two people behind one device are still two. */
static void test_legacy(void) {
  t_clock = T0;
  th_db *db = t_open("legacy.db");
  t_site(db, "camden", 0, 0);
  th_who w = {.ip = "198.51.100.30", .user_agent = UA};
  th_feedback yes = {.size = sizeof(yes), .page = PAGE, .useful = 1};
  th_feedback rated = {.size = sizeof(rated), .page = PAGE, .useful = 1, .rating = 4};
  th_feedback commented = {.size = sizeof(commented), .page = PAGE, .useful = 1, .rating = 3,
                           .comment = "Fine"};
  int64_t r[5] = {0};
  TAP_INT(th__feedback_legacy(db, "camden", &w, &yes, false, NULL),
          TH_RECORDED, "0.1.0: yes");
  TAP_INT(th__feedback_legacy(db, "camden", &w, &rated, true, NULL),
          TH_RECORDED, "0.1.0: its rating amends it");
  r[3] = 1;
  th_page_summary *s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 1, 0, r, 0), "one answer, rated 4");
  th_page_summary_free(s);
  TAP_INT(th__feedback_legacy(db, "camden", &w, &rated, true, NULL),
          TH_DUPLICATE, "the follow-up retried: TH_DUPLICATE");
  TAP_INT(th__feedback_legacy(db, "camden", &w, &yes, false, NULL),
          TH_RECORDED, "a second person on the device: yes");
  TAP_INT(th__feedback_legacy(db, "camden", &w, &yes, false, NULL),
          TH_RECORDED, "a third: yes");
  TAP_INT(th__feedback_legacy(db, "camden", &w, &commented, true, NULL),
          TH_RECORDED, "the third's follow-up");
  TAP_INT(th__feedback_legacy(db, "camden", &w, &rated, true, NULL),
          TH_RECORDED, "the second's follow-up (the same as the first's)");
  r[3] = 2;
  r[2] = 1;
  s = summary(db, "camden", PAGE);
  TAP_OK(summary_is(s, 3, 0, r, 1), "three answers, each rated once");
  th_page_summary_free(s);
  th_feedback no = {.size = sizeof(no), .page = PAGE, .useful = 0, .rating = 1};
  TAP_INT(th__feedback_legacy(db, "camden", &w, &no, true, NULL), TH_RECORDED,
          "a follow-up with no answer to amend is an answer");
  s = summary(db, "camden", PAGE);
  TAP_INT(s ? (int)s->responses : -1, 4, "four answers");
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

static th_page_summary *published(th_db *db, const char *page, int want) {
  th_page_summary *s = NULL;
  int rc = th_feedback_summary_public(db, "camden", page, &s);
  if (rc != want)
    printf("# public summary: %s\n", th_errmsg(db));
  TAP_INT(rc, want, "public summary: %s", th_err_name(want));
  return s;
}

/* What the public sees: complete weeks only, small counts withheld, and
 * nothing derived from a withheld count. */
static void test_published(void) {
  t_clock = T0; /* a Monday */
  th_db *db = t_open("published.db");
  t_site(db, "camden", 0, 0);
  /* 23 yes and 3 no, every answer rated: 95 stars in 26 ratings. */
  int stars[26] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 4, 4, 4, 4,
                   4, 4, 4, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1};
  int sum = 0;
  for (int i = 0; i < 26; i++) {
    char ip[32];
    snprintf(ip, sizeof ip, "203.0.113.%d", i + 1);
    TAP_INT(answer(db, "camden", ip, UA, PAGE, i < 23, stars[i], NULL, NULL,
                   NULL),
            TH_RECORDED, "answer %d", i);
    sum += stars[i];
  }
  TAP_INT(sum, 95, "95 stars");
  th_page_summary *s = published(db, PAGE, TH_ENOTFOUND);
  TAP_OK(s == NULL, "nothing published while the week is in progress");
  s = summary(db, "camden", PAGE);
  TAP_OK(s && s->exact && s->yes == 23 && s->no == 3 && s->responses == 26,
         "staff see the exact counters at once");
  TAP_DBL(s ? s->rating_mean : 0, 95.0 / 26.0, 1e-12, "and the exact mean");
  th_page_summary_free(s);

  t_clock += 6 * DAY;
  s = published(db, PAGE, TH_ENOTFOUND);
  TAP_OK(s == NULL, "nor on its Sunday");
  t_clock += DAY; /* the next Monday */
  s = published(db, PAGE, TH_OK);
  if (s) {
    TAP_INT(s->exact, 0, "published figures");
    TAP_INT(s->yes, 25, "yes: 23 rounded to 25");
    TAP_INT(s->no, TH_WITHHELD, "no: 3 withheld");
    TAP_INT(s->responses, TH_WITHHELD, "no total beside a withheld part");
    TAP_OK(s->useful_lower < 0, "no Wilson bound beside a withheld part");
    TAP_OK(s->rating_mean < 0, "no mean (ratings beside a withheld no)");
    int withheld = 0;
    for (int i = 0; i < 5; i++)
      withheld += s->ratings[i] == TH_WITHHELD;
    TAP_INT(withheld, 5, "every rating withheld beside a withheld no");
    TAP_INT(s->rating_count, TH_WITHHELD, "no rating count");
    TAP_INT(s->comments, TH_WITHHELD, "comments are never counted in public");
    TAP_INT(s->first, th__day(T0) * DAY, "first: the Monday of the first week");
    TAP_INT(s->last, (th__day(T0) + 6) * DAY, "last: the Sunday just ended");
  }
  th_page_summary_free(s);

  /* Answers of the week in progress are not seen until it ends. */
  for (int i = 0; i < 6; i++) {
    char ip[32];
    snprintf(ip, sizeof ip, "203.0.113.%d", 100 + i);
    answer(db, "camden", ip, UA, PAGE, 0, 5, NULL, NULL, NULL);
  }
  s = published(db, PAGE, TH_OK);
  TAP_OK(s && s->yes == 25 && s->no == TH_WITHHELD,
         "during the second week: the first week's figures still");
  th_page_summary_free(s);
  t_clock += 3 * DAY;
  answer(db, "camden", "203.0.113.200", UA, PAGE, 1, 0, NULL, NULL, NULL);
  s = published(db, PAGE, TH_OK);
  TAP_OK(s && s->yes == 25 && s->no == TH_WITHHELD,
         "still, after another answer mid-week");
  th_page_summary_free(s);
  t_clock += 4 * DAY; /* the third Monday */
  s = published(db, PAGE, TH_OK);
  if (s) {
    TAP_INT(s->yes, 25, "yes: 24 rounded to 25");
    TAP_INT(s->no, 10, "no: 9 rounded to 10");
    TAP_INT(s->responses, 35, "responses from the published counts: 35");
    TAP_DBL(s->useful_lower, th__wilson_lower(25, 35), 1e-12,
            "the bound from the published counts");
    TAP_INT(s->last, (th__day(T0) + 13) * DAY, "through the second Sunday");
  }
  th_page_summary_free(s);
  s = published(db, PAGE "/none", TH_ENOTFOUND);
  th_page_summary_free(s);
  th_close(db);
}

static void test_disclosure(void) {
  th__disclosure d = {8, 5};
  const int64_t in[] = {0, 1, 7, 8, 9, 10, 12, 13, 22, 23, 27, 28};
  const int64_t out[] = {0, TH_WITHHELD, TH_WITHHELD, 10, 10, 10, 10, 15,
                         20, 25, 25, 30};
  for (size_t i = 0; i < TH__ARRAY_SIZE(in); i++)
    TAP_INT(th__publish_count(&d, in[i]), out[i], "count %lld",
            (long long)in[i]);
  th__disclosure exact = {0, 1};
  TAP_INT(th__publish_count(&exact, 3), 3, "a site that publishes exactly");
  th__disclosure r10 = {3, 10};
  TAP_INT(th__publish_count(&r10, 4), 10, "never rounded down to 0");

  /* Everything shown: figures from the published counts. */
  th_page_summary ex = {.yes = 48, .no = 12, .ratings = {9, 10, 11, 12, 13}};
  th_page_summary pub;
  th__publish_page(&d, &ex, &pub);
  TAP_OK(pub.yes == 50 && pub.no == 10 && pub.responses == 60,
         "50 + 10 = 60, not the exact 60 by chance alone");
  TAP_INT(pub.rating_count, 10 + 10 + 10 + 10 + 15, "rating count 55");
  TAP_DBL(pub.rating_mean, (10 + 20 + 30 + 40 + 75) / 55.0, 1e-12,
          "the mean of the published histogram");
  TAP_DBL(pub.useful_lower, th__wilson_lower(50, 60), 1e-12, "the bound");

  /* Rule 4: a withheld bucket that the total would pin to 1. Yes 12 and no
   * 12 (each shown as 10, so at most 12), 23 five-star ratings (shown as
   * 25, so at least 23) and one four-star: the 4-star count can be only 1. */
  th_page_summary edge = {.yes = 12, .no = 12, .ratings = {0, 0, 0, 1, 23}};
  th__publish_page(&d, &edge, &pub);
  TAP_OK(pub.ratings[3] == TH_WITHHELD && pub.ratings[4] == TH_WITHHELD &&
             pub.ratings[0] == TH_WITHHELD,
         "a histogram that would pin a withheld bucket is withheld whole");
  TAP_OK(pub.yes == 10 && pub.no == 10 && pub.responses == 20,
         "yes and no still shown");
  th_page_summary room = {.yes = 12, .no = 12, .ratings = {0, 0, 0, 1, 13}};
  th__publish_page(&d, &room, &pub);
  TAP_OK(pub.ratings[4] == 15 && pub.ratings[3] == TH_WITHHELD &&
             pub.ratings[0] == 0,
         "with room left, the histogram shows, the small bucket withheld");
  TAP_OK(pub.rating_count == TH_WITHHELD && pub.rating_mean < 0,
         "but no count or mean beside it");
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

/* A page's path and kept query values are scrubbed like free text: the
 * address is published (open/feedback.csv, the staff lists), and sites put
 * people in their paths. The page as the browser shows it still finds the
 * scrubbed row, and the row found is the one whose address was stored. */
static void test_page_paths(void) {
  t_clock = T0;
  th_db *db = t_open("paths.db");
  t_site(db, "camden", 0, 0);
  const char *raw = "https://www.camden.gov.uk/users/canary@example.org/profile";
  const char *stored = "https://www.camden.gov.uk/users/%5Bemail%5D/profile";
  TAP_INT(record(db, "camden", "192.0.2.1", raw, 1, 0, NULL), TH_RECORDED,
          "an answer on a page whose path holds an address");
  TAP_INT(record(db, "camden", "192.0.2.2",
                 "https://www.camden.gov.uk/users/canary%40EXAMPLE.org/profile",
                 0, 0, NULL),
          TH_RECORDED, "the same address percent-encoded");
  TAP_INT(record(db, "camden", "192.0.2.3",
                 "https://www.camden.gov.uk/call/07700%20900461?x=1", 1, 0,
                 NULL),
          TH_RECORDED, "a phone number in a path");
  th_page_list *l = NULL;
  TAP_INT(th_feedback_pages(db, "camden", 10, NULL, &l), TH_OK, "pages");
  int found = 0, leaked = 0;
  for (size_t i = 0; l && i < l->count; i++) {
    found += strcmp(l->items[i].page, stored) == 0 &&
             l->items[i].yes == 1 && l->items[i].no == 1;
    found += strcmp(l->items[i].page,
                    "https://www.camden.gov.uk/call/%5Bphone%5D") == 0;
    leaked += strstr(l->items[i].page, "canary") != NULL ||
              strstr(l->items[i].page, "900461") != NULL;
  }
  TAP_INT(l ? (int)l->count : -1, 2, "two pages");
  TAP_INT(found, 2, "listed with their paths scrubbed, one row each");
  TAP_INT(leaked, 0, "nothing of the address or the number listed");
  th_page_list_free(l);
  th_page_summary *s = summary(db, "camden", raw);
  TAP_OK(s && s->yes == 1 && s->no == 1 && strcmp(s->page, stored) == 0,
         "the page as the browser shows it finds the scrubbed row");
  th_page_summary_free(s);
  s = summary(db, "camden", stored);
  TAP_OK(s && s->yes == 1 && s->no == 1, "and so does the stored address");
  th_page_summary_free(s);
  /* Ordinary paths are kept as they are. */
  const char *plain = "https://www.camden.gov.uk/2024/budget/section-3";
  TAP_INT(record(db, "camden", "192.0.2.4", plain, 1, 0, NULL), TH_RECORDED,
          "an ordinary path");
  s = summary(db, "camden", plain);
  TAP_STR(s ? s->page : NULL, plain, "kept as it was");
  th_page_summary_free(s);
  th_close(db);
  /* The address is in no byte of the database or its WAL. */
  if (!t_on_sqlite("test_page_paths: the file's bytes",
                   "reads the SQLite file and its WAL; PostgreSQL's data "
                   "directory and WAL are the privacy scan's (issue 15)"))
    return;
  static const char *const files[] = {"paths.db", "paths.db-wal"};
  for (size_t f = 0; f < TH__ARRAY_SIZE(files); f++) {
    size_t len = 0;
    unsigned char *bytes = t_read_file(t_path(files[f]), &len);
    TAP_OK(bytes == NULL ||
               (!t_contains(bytes, len, "canary", 6) &&
                !t_contains(bytes, len, "900461", 6)),
           "%s holds neither the address nor the number", files[f]);
    free(bytes);
  }
}

int main(void) {
  test_validation();
  test_page_paths();
  test_answers();
  test_retries();
  test_legacy();
  test_published();
  test_disclosure();
  test_summary();
  test_comments();
  test_pages();
  return tap_done();
}
