/*
 * embed.c: townhall inside your own C program, no server.
 *
 * Records page feedback from a few devices, takes ideas and votes from a
 * few residents, then prints each page's summary and the ideas ranked.
 *
 *   cc embed.c $(pkg-config --cflags --libs townhall) -o embed
 *   ./embed /tmp/embed.db
 *
 * The database and its key file (<db>.key) are created on first use; run it
 * twice and the second run finds the same answers already recorded.
 */
#include <stdio.h>
#include <stdlib.h>

#include <townhall.h>

#define SITE "riverside"

/* Prints the library's message for a failed call and exits. */
static void check(th_db *db, int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "embed: %s: %s (%s)\n", what, th_errmsg(db),
            th_err_name(rc));
    th_close(db);
    exit(1);
  }
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "embed.db";
  th_db *db = NULL;
  int rc = th_open(&db, path, NULL);
  if (rc != TH_OK) {
    fprintf(stderr, "embed: cannot open %s: %s\n", path,
            db ? th_errmsg(db) : th_strerror(rc));
    th_close(db);
    return 1;
  }
  printf("townhall %s, database %s (schema %d)\n", th_version_string(), path,
         th_schema_version(db));

  th_site site = {.size = sizeof(th_site),
                  .slug = SITE,
                  .name = "Riverside Borough Council",
                  .origins = "https://www.riverside.example"};
  rc = th_site_create(db, "embed.c", &site, NULL);
  if (rc != TH_EEXIST)
    check(db, rc, "creating the site");

  /* Page feedback: every answer is a record of its own. The key an
   * answer is sent with (an importer's row number, a widget's random key)
   * makes sending it again harmless: the same key from the same device
   * with the same answer, the same day, is a retry (TH_DUPLICATE). Devices
   * are known only by a hash of address and user agent under a salt that
   * is destroyed after two days. */
  static const struct {
    const char *ip, *page;
    int useful, rating;
    const char *comment;
  } answers[] = {
      {"192.0.2.10", "https://www.riverside.example/bins", 0, 2,
       "Which day is my collection? Call me on 07700 900123"},
      {"192.0.2.11", "https://www.riverside.example/bins", 0, 1, NULL},
      {"192.0.2.12", "https://www.riverside.example/bins", 1, 4, NULL},
      {"192.0.2.10", "https://www.riverside.example/parking?utm_source=x", 1, 5,
       "Clear and quick."},
      {"192.0.2.13", "https://www.riverside.example/parking", 1, 4, NULL},
  };
  int recorded = 0, duplicates = 0;
  for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
    th_who device = {.ip = answers[i].ip, .user_agent = "Mozilla/5.0 (demo)"};
    th_feedback fb = {.size = sizeof(fb), .page = answers[i].page,
                      .useful = answers[i].useful,
                      .rating = answers[i].rating,
                      .comment = answers[i].comment};
    char key[32];
    snprintf(key, sizeof key, "embed-answer-%zu", i);
    rc = th_feedback_answer(db, SITE, &device, &fb, key, NULL);
    check(db, rc, "recording feedback");
    rc == TH_RECORDED ? recorded++ : duplicates++;
  }
  printf("feedback: %d recorded, %d already there\n", recorded, duplicates);

  /* Pages, worst first. */
  th_page_list *pages = NULL;
  check(db, th_feedback_pages(db, SITE, 10, NULL, &pages), "listing pages");
  for (size_t i = 0; i < pages->count; i++) {
    const th_page_summary *p = &pages->items[i];
    printf("page %s: %lld yes, %lld no, mean rating %.2f of %lld, "
           "%lld comment%s\n",
           p->page, (long long)p->yes, (long long)p->no, p->rating_mean,
           (long long)p->rating_count, (long long)p->comments,
           p->comments == 1 ? "" : "s");
  }
  th_page_list_free(pages);

  th_comment_list *comments = NULL;
  check(db,
        th_feedback_comments(db, SITE, "https://www.riverside.example/bins", 5,
                             &comments),
        "reading comments");
  for (size_t i = 0; i < comments->count; i++)
    printf("comment on /bins: %s\n", comments->items[i].text);
  th_comment_list_free(comments);

  /* Ideas from signed-in residents (named by the council's own ids, which
   * townhall never stores), and votes. */
  static const char *const titles[] = {
      "A safer crossing outside the primary school",
      "More bins along the river path",
      "Longer library opening hours on Saturdays"};
  int64_t ids[3];
  for (int i = 0; i < 3; i++) {
    char author[32];
    snprintf(author, sizeof author, "resident-%d", i);
    th_who who = {.resident = author};
    th_idea_new idea = {.size = sizeof(idea), .title = titles[i],
                        .category = "streets",
                        .ward = i == 2 ? "North" : "Riverside"};
    check(db, th_idea_submit(db, SITE, &who, &idea, &ids[i]),
          "submitting an idea");
  }
  /* Idea 0 gets 4 up and 1 down, idea 1 gets 2 up, idea 2 gets 1 up and
   * 2 down. */
  static const int plan[3][5] = {
      {1, 1, 1, 1, -1}, {1, 1, 0, 0, 0}, {1, -1, -1, 0, 0}};
  for (int i = 0; i < 3; i++)
    for (int r = 0; r < 5; r++) {
      if (plan[i][r] == 0)
        continue;
      char voter[32];
      snprintf(voter, sizeof voter, "voter-%d", r);
      th_who who = {.resident = voter};
      check(db, th_vote(db, SITE, &who, ids[i], plan[i][r], NULL), "voting");
    }

  th_idea_query q = {.size = sizeof(q), .sort = TH_SORT_TOP, .limit = 10};
  th_idea_page *page = NULL;
  check(db, th_idea_list(db, SITE, &q, &page), "listing ideas");
  printf("top ideas:\n");
  for (size_t i = 0; i < page->count; i++) {
    const th_idea *it = &page->items[i];
    printf("  %zu. %s [%s] +%lld -%lld (score %.3f)\n", i + 1, it->title,
           it->ward, (long long)it->up, (long long)it->down, it->top);
  }
  th_idea_page_free(page);
  th_close(db);
  return 0;
}
