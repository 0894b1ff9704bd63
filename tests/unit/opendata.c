/*
 * opendata.c: the open-data API (th_open_data_feedback, th_open_data_ideas):
 * the files' exact bytes for a small site (complete weeks only, counts
 * withheld and rounded), the window (from, weeks), the options struct's
 * size rule, and bad input: an unknown site, a bad date, a window out of
 * range, each with its code and a message that says what was wrong.
 * tests/opendata compares the same functions with the server, the command
 * and both bindings over a larger hand-made database.
 */
#include "helpers.h"
#include "internal.h"

#include <stdlib.h>

#define T0 INT64_C(1772445600000) /* 2026-03-02T10:00:00Z, a Monday */
#define DAY TH__DAY_MS
#define PAGE "https://www.camden.gov.uk/bins"
#define BOM "\xEF\xBB\xBF"
#define FEEDBACK_HEAD                                                        \
  BOM "page,week,yes,no,rating_1,rating_2,rating_3,rating_4,rating_5,"      \
      "responses\r\n"
#define IDEAS_HEAD                                                           \
  BOM "id,consultation,title,status,category,ward,created,votes_for,"       \
      "votes_against,response,response_date\r\n"

static void answer(th_db *db, int n, int useful, int rating) {
  static int ip;
  for (int i = 0; i < n; i++) {
    char addr[32];
    snprintf(addr, sizeof addr, "198.51.%d.%d", ip / 250, ip % 250 + 1);
    ip++;
    th_who w = {.ip = addr, .user_agent = "Mozilla/5.0 (open data test)"};
    th_feedback fb = {.size = sizeof(fb), .page = PAGE, .useful = useful, .rating = rating};
    int rc = th_feedback_record(db, "camden", &w, &fb);
    if (rc < 0)
      printf("# answer: %s\n", th_errmsg(db));
  }
}

/* The file, or NULL (with its code in *rc). */
static char *feedback(th_db *db, const char *site,
                      const th_open_data_options *o, int *rc, size_t *len) {
  char *csv = (char *)"unset";
  *rc = th_open_data_feedback(db, site, o, &csv, len);
  if (*rc < 0 && csv != NULL)
    printf("# *csv not NULL on failure\n");
  return *rc < 0 ? NULL : csv;
}

static void test_feedback_file(void) {
  t_clock = T0;
  th_db *db = t_open("feedback.db");
  t_site(db, "camden", 1, 0);
  answer(db, 10, 1, 0); /* week 2026-W10: 10 yes */
  answer(db, 3, 0, 0);  /* and 3 no: withheld, so responses too */
  int rc;
  size_t len = 0;
  char *csv = feedback(db, "camden", NULL, &rc, &len);
  TAP_INT(rc, TH_OK, "feedback.csv");
  TAP_STR(csv, FEEDBACK_HEAD, "the week in progress is not published");
  TAP_INT(len, strlen(FEEDBACK_HEAD), "*len is the file's length");
  th_free(csv);

  t_clock = T0 + 7 * DAY; /* W10 is complete */
  csv = feedback(db, "camden", NULL, &rc, &len);
  const char *want = FEEDBACK_HEAD PAGE ",2026-W10,10,*,*,*,*,*,*,*\r\n";
  TAP_STR(csv, want, "10 yes rounded to 10; 3 no withheld, and what they "
                     "would give away");
  TAP_INT(len, strlen(want), "*len");
  th_free(csv);

  th_open_data_options o;
  th_open_data_options_init(&o);
  TAP_INT(o.size, sizeof o, "init sets size");
  TAP_OK(o.from == NULL && o.weeks == 0, "init: the defaults");
  o.from = "2026-03-04"; /* a Wednesday: its whole week */
  csv = feedback(db, "camden", &o, &rc, NULL);
  TAP_STR(csv, want, "from a day of the week: the week");
  th_free(csv);
  o.from = "2026-03-09";
  csv = feedback(db, "camden", &o, &rc, NULL);
  TAP_STR(csv, FEEDBACK_HEAD, "from after the answers: the header only");
  th_free(csv);
  o.from = "2099-01-05";
  csv = feedback(db, "camden", &o, &rc, NULL);
  TAP_STR(csv, FEEDBACK_HEAD, "a future window: the header only");
  th_free(csv);
  o.from = NULL;
  o.weeks = 1;
  csv = feedback(db, "camden", &o, &rc, NULL);
  TAP_STR(csv, want, "weeks 1: the last complete week");
  th_free(csv);

  t_clock = T0 + 14 * DAY;
  csv = feedback(db, "camden", &o, &rc, NULL);
  TAP_STR(csv, FEEDBACK_HEAD, "weeks 1, a week later: nothing moved in it");
  th_free(csv);
  o.weeks = 2;
  csv = feedback(db, "camden", &o, &rc, NULL);
  TAP_STR(csv, want, "weeks 2 reaches it again");
  th_free(csv);
  o.from = "2026-02-23";
  o.weeks = 1;
  csv = feedback(db, "camden", &o, &rc, NULL);
  TAP_STR(csv, FEEDBACK_HEAD, "from the week before, one week: nothing");
  th_free(csv);
  th_close(db);
}

static void test_ideas_file(void) {
  t_clock = T0;
  th_db *db = t_open("ideas.db");
  t_site(db, "camden", 1, 0);
  th_who author = {.resident = "author-1"};
  th_idea_new n = {.size = sizeof(n), .title = "=1+2 more bins", .category = "", .ward = ""};
  int64_t id = 0;
  T_CHECK(db, th_idea_submit(db, "camden", &author, &n, &id));
  for (int i = 0; i < 9; i++) {
    char r[32];
    snprintf(r, sizeof r, "voter-%d", i);
    th_who w = {.resident = r};
    T_CHECK(db, th_vote(db, "camden", &w, id, i < 8 ? 1 : -1, NULL));
  }
  char *csv = NULL;
  TAP_INT(th_open_data_ideas(db, "camden", NULL, &csv, NULL), TH_OK,
          "ideas.csv");
  TAP_STR(csv, IDEAS_HEAD, "an idea of the week in progress: not yet");
  th_free(csv);

  t_clock = T0 + 7 * DAY;
  size_t len = 0;
  TAP_INT(th_open_data_ideas(db, "camden", NULL, &csv, &len), TH_OK,
          "ideas.csv a week later");
  char want[512];
  snprintf(want, sizeof want,
           IDEAS_HEAD "%lld,ideas,\"'=1+2 more bins\",published,,,2026-03-02,"
                      "10,*,,\r\n",
           (long long)id);
  TAP_STR(csv, want, "8 for rounded to 10, 1 against withheld, the title "
                     "neutralised, no author or voter");
  TAP_INT(len, strlen(want), "*len");
  th_free(csv);

  th_open_data_options o;
  th_open_data_options_init(&o);
  TAP_INT(th_open_data_ideas(db, "camden", &o, &csv, NULL), TH_OK,
          "default options");
  th_free(csv);
  o.from = "2026-03-02";
  TAP_INT(th_open_data_ideas(db, "camden", &o, &csv, NULL), TH_EINVAL,
          "ideas.csv has no window: from refused");
  TAP_OK(strstr(th_errmsg(db), "no window") != NULL, "says so: %s",
         th_errmsg(db));
  TAP_OK(csv == NULL, "*csv NULL on failure");
  o.from = NULL;
  o.weeks = 4;
  TAP_INT(th_open_data_ideas(db, "camden", &o, &csv, NULL), TH_EINVAL,
          "weeks refused too");
  th_close(db);
}

static void test_bad_input(void) {
  t_clock = T0;
  th_db *db = t_open("bad.db");
  t_site(db, "camden", 1, 0);
  char *csv = NULL;
  int rc;

  TAP_INT(th_open_data_feedback(db, "nowhere", NULL, &csv, NULL),
          TH_ENOTFOUND, "feedback.csv: an unknown site");
  TAP_STR(th_errmsg(db), "no site \"nowhere\"", "names it");
  TAP_INT(th_open_data_ideas(db, "nowhere", NULL, &csv, NULL), TH_ENOTFOUND,
          "ideas.csv: an unknown site");
  TAP_INT(th_open_data_feedback(db, NULL, NULL, &csv, NULL), TH_EINVAL,
          "NULL site");
  TAP_INT(th_open_data_feedback(db, "camden", NULL, NULL, NULL), TH_EINVAL,
          "NULL csv");
  TAP_INT(th_open_data_ideas(db, "camden", NULL, NULL, NULL), TH_EINVAL,
          "ideas: NULL csv");
  TAP_INT(th_open_data_feedback(NULL, "camden", NULL, &csv, NULL), TH_EINVAL,
          "NULL handle");

  static const char *const dates[] = {"soon", "2026-13-01", "2026-01-05x",
                                      "", "05/01/2026", "2026-01-05 "};
  for (size_t i = 0; i < TH__ARRAY_SIZE(dates); i++) {
    th_open_data_options o;
    th_open_data_options_init(&o);
    o.from = dates[i];
    csv = feedback(db, "camden", &o, &rc, NULL);
    TAP_INT(rc, TH_EINVAL, "from \"%s\" refused", dates[i]);
    TAP_STR(th_errmsg(db), "from is a date such as 2026-01-05.",
            "the message says what a date is");
  }
  static const int64_t weeks[] = {-1, 105, 1000, INT64_MAX, INT64_MIN};
  for (size_t i = 0; i < TH__ARRAY_SIZE(weeks); i++) {
    th_open_data_options o;
    th_open_data_options_init(&o);
    o.weeks = weeks[i];
    csv = feedback(db, "camden", &o, &rc, NULL);
    TAP_INT(rc, TH_ERANGE, "weeks %lld refused", (long long)weeks[i]);
    TAP_STR(th_errmsg(db), "weeks must be 1 to 104 (0: the default)",
            "the message gives the range");
  }
  th_open_data_options o;
  th_open_data_options_init(&o);
  o.weeks = 104;
  csv = feedback(db, "camden", &o, &rc, NULL);
  TAP_INT(rc, TH_OK, "weeks 104 taken");
  th_free(csv);

  /* The size rule. */
  th_open_data_options raw = {0};
  csv = feedback(db, "camden", &raw, &rc, NULL);
  TAP_INT(rc, TH_EINVAL, "options without a size refused");
  TAP_OK(strstr(th_errmsg(db), "th_open_data_options_init") != NULL,
         "says how to make them: %s", th_errmsg(db));
  struct {
    th_open_data_options known;
    int64_t later_field;
  } newer;
  memset(&newer, 0, sizeof newer);
  newer.known.size = sizeof newer;
  csv = feedback(db, "camden", &newer.known, &rc, NULL);
  TAP_INT(rc, TH_OK, "a newer caller's larger struct, its new field zero");
  th_free(csv);
  newer.later_field = 1;
  csv = feedback(db, "camden", &newer.known, &rc, NULL);
  TAP_INT(rc, TH_EINVAL, "a field this version does not know, set: refused");
  TAP_OK(strstr(th_errmsg(db), "does not know") != NULL, "says so: %s",
         th_errmsg(db));
  th_open_data_options older;
  th_open_data_options_init(&older);
  older.size = offsetof(th_open_data_options, weeks);
  older.weeks = 1000; /* beyond the caller's struct: not read */
  csv = feedback(db, "camden", &older, &rc, NULL);
  TAP_INT(rc, TH_OK, "an older caller's smaller struct: the rest default");
  th_free(csv);
  th_open_data_options_init(NULL); /* a no-op */
  th_close(db);
}

int main(void) {
  test_feedback_file();
  test_ideas_file();
  test_bad_input();
  return tap_done();
}
