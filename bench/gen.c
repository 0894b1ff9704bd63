/*
 * gen.c: builds a benchmark database through the public C API, with batch
 * writes (th_batch_begin / th_batch_commit) of --batch writes each.
 *
 *   gen DB --secret-file F [--ideas N] [--votes N] [--feedback N]
 *          [--pages N] [--votes-per-resident K] [--batch N]
 *          [--max-seconds IDEAS,VOTES,FEEDBACK] [--site SLUG]
 *          [--key-file K]
 *   gen DB --secret-file F --secret-only [--key-file K]
 *
 * Creates the site (origin https://council.example, signed-in voting only)
 * with the resident-token secret read from F, then:
 *  - N ideas on the site's ideas board, by 10,000 distinct authors;
 *  - votes by distinct residents ("res-<r>"), K votes each on K different
 *    ideas spread over every idea, 80% up;
 *  - feedback records from distinct devices (address and user agent), on
 *    --pages pages, one in ten with a rating, one in twenty with a comment.
 * With --max-seconds, a phase that runs out of time stops at a batch
 * boundary; the summary gives what was asked for, what was built, and the
 * rate of each phase's last tenth (for projecting the full size).
 * --secret-only sets an existing database's site secret and stops (a
 * database generated earlier and reused, with a new run's secret).
 * DB is a SQLite file, or a PostgreSQL connection URI (postgresql://...,
 * bench/run --engine postgresql), which has no file beside it for the
 * master key: --key-file names it (made, mode 0600, when absent; for a
 * file, the default stays DB.key).
 * Idea ids are 1..N in a fresh file or database. Everything is durable (synchronous=FULL,
 * the library's default). Prints progress on stderr and a JSON summary on
 * stdout: how long each phase took and its rate.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "townhall.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x) { /* splitmix64 */
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static void die(th_db *db, int rc, const char *what) {
  fprintf(stderr, "gen: %s: %s (%s)\n", what, db ? th_errmsg(db) : "",
          th_err_name(rc));
  exit(1);
}

static const char *const categories[] = {
    "environment", "transport", "libraries", "housing",
    "parks",       "community", "waste",     "safety"};
static const char *const wards[] = {
    "Belsize",         "Bloomsbury",     "Camden Town",   "Fortune Green",
    "Frognal",         "Gospel Oak",     "Hampstead",     "Haverstock",
    "Highgate",        "Holborn",        "Kentish Town",  "Kilburn",
    "King's Cross",    "Primrose Hill",  "Regent's Park", "St Pancras",
    "South Hampstead", "West Hampstead", "Swiss Cottage", "Camden Square"};
static const char *const comments[] = {
    "The bus times on this page were out of date.",
    "Could not find how to book a bulky waste collection.",
    "Clear and helpful, thank you.",
    "The form at the bottom did not work on my phone.",
    "Please add opening hours for the weekend."};

/* Runs `n` writes through fn in batches; returns the seconds taken. */
typedef int (*write_fn)(th_db *db, uint64_t i, void *ctx);

/* The rate of the last tenth of a phase: what the projection to a larger
 * size starts from (rates fall as the database grows). */
static double run_batches(th_db *db, const char *what, uint64_t *pn,
                          unsigned batch, double max_s, write_fn fn, void *ctx,
                          uint64_t *recorded, double *tail_rate) {
  uint64_t n = *pn;
  double t0 = now_s(), last = t0, tail_t = 0;
  uint64_t done = 0, last_done = 0, tail_from = n - n / 10;
  *recorded = 0;
  *tail_rate = 0;
  while (done < n) {
    int rc = th_batch_begin(db);
    if (rc < 0)
      die(db, rc, "beginning a batch");
    uint64_t end = done + batch < n ? done + batch : n;
    for (uint64_t i = done; i < end; i++) {
      rc = fn(db, i, ctx);
      if (rc < 0) {
        fprintf(stderr, "gen: %s %" PRIu64 ": %s (%s)\n", what, i,
                th_errmsg(db), th_err_name(rc));
        exit(1);
      }
      if (rc == TH_RECORDED)
        (*recorded)++;
    }
    rc = th_batch_commit(db);
    if (rc < 0)
      die(db, rc, "committing a batch");
    uint64_t before = done;
    done = end;
    double t = now_s();
    if (tail_t == 0 && before <= tail_from && done > tail_from)
      tail_t = t, tail_from = done; /* the last tenth starts here, once */
    if (max_s > 0 && t - t0 >= max_s && done < n) {
      /* Out of time: this phase stops here, at a batch boundary. */
      fprintf(stderr,
              "gen: %s stopped at %" PRIu64 " of %" PRIu64
              " after %.0f s (the time budget)\n",
              what, done, n, t - t0);
      if (tail_t == 0 || done <= tail_from) {
        tail_t = last;
        tail_from = last_done;
      }
      n = *pn = done;
    }
    if (t - last >= 10 || done == n) {
      fprintf(stderr,
              "gen: %s %" PRIu64 "/%" PRIu64
              " (%.0f/s overall, %.0f/s lately)\n",
              what, done, n, done / (t - t0), (done - last_done) / (t - last));
      last = t;
      last_done = done;
    }
  }
  double t = now_s();
  *tail_rate = tail_t > 0 && done > tail_from
                   ? (done - tail_from) / (t - tail_t)
                   : n / (t - t0);
  return t - t0;
}

typedef struct gen {
  const char *site;
  uint64_t ideas, votes, feedback, pages, per_resident;
} gen;

static int write_idea(th_db *db, uint64_t i, void *ctx) {
  gen *g = ctx;
  char author[32], title[96], body[256];
  /* Each author's ideas come together (a bulk import sorted by author):
   * the author and duplicate-title indexes then grow at a few places per
   * batch instead of at one random place per idea. */
  snprintf(author, sizeof author, "author-%" PRIu64,
           g->ideas >= 10000 ? i / (g->ideas / 10000) % 10000 : i % 10000);
  snprintf(title, sizeof title, "Idea %" PRIu64 ": more %s for %s", i + 1,
           categories[i % 8], wards[(i / 8) % 20]);
  snprintf(body, sizeof body,
           "Residents near %s have asked for this for years. It would make "
           "the area safer and greener, and it need not cost much.",
           wards[(i / 8) % 20]);
  th_who who = {.resident = author};
  th_idea_new n = {.size = sizeof(n), .title = title,
                   .body = body,
                   .category = categories[i % 8],
                   .ward = wards[(i / 8) % 20]};
  int64_t id = 0;
  return th_idea_submit(db, g->site, &who, &n, &id);
}

/* Votes come idea by idea (a bulk import sorted by idea, as a loader would
 * write them): vote i is on idea i / V, where V = votes per idea, by the
 * residents (j + k * P) mod R, k = 0 .. V-1, with R residents and P = R / V,
 * so every resident votes on per_resident different ideas and no pair
 * repeats. A batch then touches a run of neighbouring ideas, index entries
 * and participants; the random-order rates at scale are what inproc and the
 * HTTP rounds measure. */
static int write_vote(th_db *db, uint64_t i, void *ctx) {
  gen *g = ctx;
  uint64_t residents = g->votes / g->per_resident;
  if (residents == 0)
    residents = 1;
  uint64_t vpi = (g->votes + g->ideas - 1) / g->ideas; /* votes per idea */
  if (vpi > residents)
    vpi = residents;
  uint64_t j = i / vpi, k = i % vpi;
  uint64_t stride = residents / vpi;
  uint64_t r = (j + k * stride) % residents;
  uint64_t idea = 1 + j % g->ideas;
  char res[32];
  snprintf(res, sizeof res, "res-%" PRIu64, r);
  th_who who = {.resident = res};
  int value = mix(i ^ 0x5555) % 10 < 8 ? 1 : -1;
  return th_vote(db, g->site, &who, (int64_t)idea, value, NULL);
}

static int write_feedback(th_db *db, uint64_t i, void *ctx) {
  gen *g = ctx;
  uint64_t h = mix(i);
  char page[96], ip[32], ua[96];
  /* Page by page (sorted by page, like the votes): --feedback / --pages
   * records each, from distinct devices. */
  uint64_t per_page = g->feedback / g->pages ? g->feedback / g->pages : 1;
  snprintf(page, sizeof page, "https://council.example/services/page-%" PRIu64,
           (i / per_page) % g->pages);
  /* A distinct device (address) for every record, from 11.0.0.0 up. */
  snprintf(ip, sizeof ip, "%u.%u.%u.%u", (unsigned)(11 + (i >> 24)),
           (unsigned)((i >> 16) & 0xff), (unsigned)((i >> 8) & 0xff),
           (unsigned)(i & 0xff));
  snprintf(ua, sizeof ua,
           "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/%u.0",
           (unsigned)(60 + (i >> 28)));
  th_who who = {.ip = ip, .user_agent = ua};
  th_feedback fb = {.size = sizeof(fb), .page = page,
                    .useful = (h >> 20) % 10 < 7,
                    .rating = i % 10 == 0 ? (int)(1 + (h >> 24) % 5) : 0,
                    .comment = i % 20 == 0 ? comments[(h >> 28) % 5] : NULL};
  return th_feedback_record(db, g->site, &who, &fb);
}

int main(int argc, char **argv) {
  gen g = {.site = "bench", .ideas = 1000, .pages = 500, .per_resident = 10};
  const char *path = NULL, *secret_file = NULL, *key_file = NULL;
  int secret_only = 0; /* only set the site's secret (a reused database) */
  unsigned batch = 10000;
  double max_s[3] = {0, 0, 0}; /* time budget per phase, seconds; 0: none */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--ideas") == 0 && v)
      g.ideas = strtoull(v, NULL, 10), i++;
    else if (strcmp(a, "--votes") == 0 && v)
      g.votes = strtoull(v, NULL, 10), i++;
    else if (strcmp(a, "--feedback") == 0 && v)
      g.feedback = strtoull(v, NULL, 10), i++;
    else if (strcmp(a, "--pages") == 0 && v)
      g.pages = strtoull(v, NULL, 10), i++;
    else if (strcmp(a, "--votes-per-resident") == 0 && v)
      g.per_resident = strtoull(v, NULL, 10), i++;
    else if (strcmp(a, "--batch") == 0 && v)
      batch = (unsigned)strtoul(v, NULL, 10), i++;
    else if (strcmp(a, "--max-seconds") == 0 && v) {
      /* IDEAS,VOTES,FEEDBACK: each phase stops (at a batch boundary) once
       * it has run this long, and the summary says how far it got. */
      if (sscanf(v, "%lf,%lf,%lf", &max_s[0], &max_s[1], &max_s[2]) != 3) {
        fprintf(stderr, "gen: --max-seconds IDEAS,VOTES,FEEDBACK\n");
        return 2;
      }
      i++;
    } else if (strcmp(a, "--secret-only") == 0)
      secret_only = 1;
    else if (strcmp(a, "--site") == 0 && v)
      g.site = v, i++;
    else if (strcmp(a, "--secret-file") == 0 && v)
      secret_file = v, i++;
    else if (strcmp(a, "--key-file") == 0 && v)
      key_file = v, i++;
    else if (a[0] != '-' && path == NULL)
      path = a;
    else {
      fprintf(stderr, "usage: gen DB --secret-file F [--ideas N] [--votes N] "
                      "[--feedback N] [--pages N] [--votes-per-resident K] "
                      "[--batch N] [--max-seconds I,V,F] [--site SLUG] "
                      "[--key-file K]\n");
      return 2;
    }
  }
  if (path == NULL || secret_file == NULL || g.ideas == 0 || g.pages == 0 ||
      g.per_resident == 0 || batch == 0 || g.per_resident > g.ideas) {
    fprintf(stderr, "gen: DB, --secret-file, and non-zero sizes are needed\n");
    return 2;
  }
  unsigned char secret[256];
  FILE *f = fopen(secret_file, "rb");
  size_t slen = f ? fread(secret, 1, sizeof secret, f) : 0;
  if (f)
    fclose(f);
  while (slen && (secret[slen - 1] == '\n' || secret[slen - 1] == '\r'))
    slen--;

  th_db *db = NULL;
  th_open_options oo = TH_OPEN_OPTIONS_INIT;
  oo.key_file = key_file; /* NULL: DB.key, as before */
  int rc = th_open(&db, path, &oo);
  if (rc != TH_OK)
    die(db, rc, "opening the database");
  if (secret_only) {
    /* A database made earlier, reused by a new bench run: its residents'
     * tokens are signed with this run's secret. */
    rc = th_site_set_secret(db, g.site, secret, slen);
    if (rc < 0)
      die(db, rc, "setting the secret");
    th_close(db);
    return 0;
  }
  double t0 = now_s();
  th_site s = {.size = sizeof(th_site),
               .slug = g.site,
               .name = "Bench Borough Council",
               .origins = "https://council.example"};
  rc = th_site_create(db, "bench", &s, NULL);
  if (rc < 0)
    die(db, rc, "creating the site");
  rc = th_site_set_secret(db, g.site, secret, slen);
  if (rc < 0)
    die(db, rc, "setting the secret");

  uint64_t n_ideas = 0, n_votes = 0, n_fb = 0;
  double r_ideas = 0, r_votes = 0, r_fb = 0;
  uint64_t want_ideas = g.ideas, want_votes = g.votes, want_fb = g.feedback;
  double t_ideas = run_batches(db, "ideas", &g.ideas, batch, max_s[0],
                               write_idea, &g, &n_ideas, &r_ideas);
  if (g.per_resident > g.ideas)
    g.per_resident = g.ideas;
  double t_votes = g.votes ? run_batches(db, "votes", &g.votes, batch, max_s[1],
                                         write_vote, &g, &n_votes, &r_votes)
                           : 0;
  double t_fb = g.feedback
                    ? run_batches(db, "feedback", &g.feedback, batch, max_s[2],
                                  write_feedback, &g, &n_fb, &r_fb)
                    : 0;
  double total = now_s() - t0;
  printf("{\"want_ideas\":%" PRIu64 ",\"want_votes\":%" PRIu64
         ",\"want_feedback\":%" PRIu64 ",",
         want_ideas, want_votes, want_fb);
  printf("\"ideas\":%" PRIu64 ",\"ideas_s\":%.2f,\"ideas_tail_rate\":%.1f,"
         "\"votes\":%" PRIu64 ",\"votes_s\":%.2f,\"votes_tail_rate\":%.1f,"
         "\"feedback\":%" PRIu64 ",\"feedback_s\":%.2f,"
         "\"feedback_tail_rate\":%.1f,\"pages\":%" PRIu64
         ",\"votes_per_resident\":%" PRIu64 ",\"batch\":%u,\"total_s\":%.2f}\n",
         n_ideas, t_ideas, r_ideas, n_votes, t_votes, r_votes, n_fb, t_fb, r_fb,
         g.pages, g.per_resident, batch, total);
  th_close(db);
  return 0;
}
