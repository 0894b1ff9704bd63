/*
 * fixture.c: hand-made data for the open-data tests, written through the
 * library with a clock set to each day, so that every answer and vote
 * falls in a known ISO week. test_opendata.py serves the result and
 * compares the two CSV files with the files in expected/, written by hand.
 *
 *   fixture DB
 *
 * Sites and their settings:
 *   camden    open_min 8 (default), open_round 5 (default)
 *   small     open_min 3, open_round 2 (the ratings rule, a running total
 *             that moves without its published figure moving)
 *   tens      open_min 10, open_round 10 (ties round up)
 *   recovery  the defaults: pages the recovery test attacks
 *             (test_recovery.py)
 * Besides the dated data, a few answers and votes are made "now" (the real
 * clock): they fall in the week in progress, which must not be published.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "townhall.h"

static th_time clock_ms;
static th_time now_fn(void *unused) {
  (void)unused;
  return clock_ms;
}

static th_time day(const char *ymd) {
  struct tm tm = {0};
  sscanf(ymd, "%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_hour = 10;
  return (th_time)timegm(&tm) * 1000;
}

static th_time real_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (th_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static th_db *db;
static int failures;

static void check(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "fixture: %s: %s (%s)\n", what, th_errmsg(db),
            th_err_name(rc));
    failures++;
  }
}

static int device_no;

/* `yes` + `no` answers from as many devices on `page` on that day; the
 * first r[0] carry rating 1, the next r[1] rating 2, ... the rest none. */
static void answers(const char *site, const char *page, th_time when, int yes,
                    int no, const int r[5]) {
  clock_ms = when;
  int ratings[256] = {0}, n = 0;
  for (int v = 1; r && v <= 5; v++)
    for (int k = 0; k < r[v - 1] && n < 256; k++)
      ratings[n++] = v;
  for (int i = 0; i < yes + no; i++) {
    char ip[32];
    device_no++;
    snprintf(ip, sizeof ip, "10.%d.%d.%d", (device_no >> 16) & 255,
             (device_no >> 8) & 255, device_no & 255);
    th_who w = {.ip = ip, .user_agent = "fixture"};
    th_feedback f = {.size = sizeof(f), .page = page,
                     .useful = i < yes,
                     .rating = i < 256 ? ratings[i] : 0};
    check(th_feedback_record(db, site, &w, &f), "feedback");
  }
}

static int resident_no;

static void votes(int64_t idea, th_time when, int up, int down) {
  clock_ms = when;
  for (int i = 0; i < up + down; i++) {
    char r[32];
    snprintf(r, sizeof r, "voter-%d", ++resident_no);
    th_who w = {.resident = r};
    check(th_vote(db, "camden", &w, idea, i < up ? 1 : -1, NULL), "vote");
  }
}

static int64_t idea(const char *title, const char *category, const char *ward,
                    const char *author, th_time when) {
  clock_ms = when;
  th_who w = {.resident = author};
  th_idea_new n = {.size = sizeof(n), .title = title, .category = category, .ward = ward};
  int64_t id = 0;
  check(th_idea_submit(db, "camden", &w, &n, &id), "idea");
  return id;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: fixture DB\n");
    return 2;
  }
  clock_ms = day("2025-12-01");
  th_open_options o = {.size = sizeof(o), .now = now_fn};
  if (th_open(&db, argv[1], &o) != TH_OK) {
    fprintf(stderr, "fixture: %s\n", db ? th_errmsg(db) : "cannot open");
    return 1;
  }
  th_site camden = {.size = sizeof(th_site),
                    .slug = "camden",
                    .name = "London Borough of Camden",
                    .origins = "https://www.camden.gov.uk"};
  th_site small = {.size = sizeof(th_site),
                   .slug = "small",
                   .name = "Small counts",
                   .origins = "https://www.small.example",
                   .open_min = 3,
                   .open_round = 2};
  th_site recovery = {.size = sizeof(th_site),
                      .slug = "recovery",
                      .name = "Recovery",
                      .origins = "https://www.recovery.example"};
  th_site tens = {.size = sizeof(th_site),
                  .slug = "tens",
                  .name = "Tens",
                  .origins = "https://www.tens.example",
                  .open_min = 10,
                  .open_round = 10};
  check(th_site_create(db, "fixture", &camden, NULL), "site camden");
  check(th_site_create(db, "fixture", &small, NULL), "site small");
  check(th_site_create(db, "fixture", &recovery, NULL), "site recovery");
  check(th_site_create(db, "fixture", &tens, NULL), "site tens");

  /* camden: page feedback. */
  const char *bins = "https://www.camden.gov.uk/bins";
  const char *parking = "https://www.camden.gov.uk/parking";
  answers("camden", bins, day("2025-12-31"), 8, 0, NULL); /* 2026-W01 */
  answers("camden", bins, day("2026-01-05"), 14, 6, (int[]){0, 2, 3, 8, 7});
  answers("camden", parking, day("2026-01-07"), 9, 9, NULL);
  answers("camden", "https://www.camden.gov.uk/council-tax?email=a@b.example",
          day("2026-01-11"), 3, 2, (int[]){0, 0, 0, 0, 5});
  answers("camden", "https://www.camden.gov.uk/libraries", day("2026-01-06"),
          4, 4, NULL);
  answers("camden", bins, day("2026-01-12"), 20, 0, (int[]){0, 0, 12, 0, 8});
  answers("camden", bins, day("2026-01-18"), 17, 0, (int[]){0, 0, 0, 0, 17});
  answers("camden", parking, day("2026-01-13"), 13, 0, NULL);
  answers("camden", bins, real_now(), 50, 0, NULL); /* the week in progress */

  /* small and tens. */
  answers("small", "https://www.small.example/a", day("2026-01-06"), 20, 3,
          (int[]){0, 0, 0, 2, 20});
  answers("small", "https://www.small.example/b", day("2026-01-06"), 2, 2,
          NULL);
  answers("small", "https://www.small.example/c", day("2026-01-06"), 6, 0,
          (int[]){0, 0, 0, 1, 5});
  for (int w = 0; w < 4; w++) /* one "yes" a week, from 2025-12-31 */
    answers("small", "https://www.small.example/d",
            day("2025-12-31") + (th_time)w * 7 * 86400000, 1, 0, NULL);
  answers("tens", "https://www.tens.example/x", day("2026-01-06"), 15, 9,
          (int[]){10, 0, 0, 0, 14});
  answers("tens", "https://www.tens.example/y", day("2026-01-06"), 25, 10,
          NULL);

  /* recovery: what test_recovery.py attacks. /help is the case that
   * broke the old summary: 23 yes and 3 no, every answer rated, 95 stars
   * in 26 ratings. /guide shows its ratings beside one withheld bucket.
   * Both grow over three weeks. */
  const char *help = "https://www.recovery.example/help";
  const char *guide = "https://www.recovery.example/guide";
  answers("recovery", help, day("2026-01-05"), 10, 1, (int[]){1, 0, 2, 3, 5});
  answers("recovery", help, day("2026-01-13"), 8, 1, (int[]){1, 1, 1, 2, 4});
  answers("recovery", help, day("2026-01-20"), 5, 1, (int[]){1, 2, 0, 3, 0});
  answers("recovery", guide, day("2026-01-06"), 20, 8, (int[]){0, 0, 0, 1, 14});
  answers("recovery", guide, day("2026-01-14"), 10, 4, (int[]){0, 0, 0, 1, 6});

  /* camden: ideas. */
  int64_t a = idea("More bins on the high street, please", "environment",
                   "Camden Town", "author-a", day("2026-01-05"));
  votes(a, day("2026-01-06"), 23, 2);
  clock_ms = day("2026-01-20");
  check(th_idea_set_status(db, "camden", "Cllr Fixture", a, TH_ACCEPTED,
                           "We will add ten bins.\nThank you."),
        "status a");
  int64_t b = idea("=HYPERLINK(\"https://evil.example\",\"click\")", NULL, NULL,
                   "author-b", day("2026-01-06"));
  votes(b, day("2026-01-08"), 8, 0);
  votes(b, real_now(), 5, 0); /* the week in progress: not yet published */
  int64_t c = idea("Hidden idea", NULL, NULL, "author-c", day("2026-01-06"));
  clock_ms = day("2026-01-07");
  check(th_idea_moderate(db, "camden", "moderator", c, TH_MOD_HIDE, 0,
                         "off topic"),
        "hide c");
  int64_t d = idea("Withdrawn idea", NULL, NULL, "author-d", day("2026-01-06"));
  clock_ms = day("2026-01-07");
  th_who author_d = {.resident = "author-d"};
  check(th_idea_withdraw(db, "camden", &author_d, d), "withdraw d");
  int64_t f = idea("Quiet idea", NULL, NULL, "author-f", day("2026-01-06"));
  clock_ms = day("2026-01-21");
  check(th_idea_set_status(db, "camden", "Cllr Fixture", f, TH_DECLINED,
                           "Not this year."),
        "status f");
  idea("A brand new idea", NULL, NULL, "author-e", real_now());
  th_close(db);
  return failures ? 1 : 0;
}
