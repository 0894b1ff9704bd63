/*
 * inproc.c: the C API without HTTP, on a database made by gen.
 *
 *   inproc DB rates PREFIX [--ideas N] [--single-seconds S] [--batch B]
 *                         [--batched N]
 *       votes/s and feedback/s through th_vote and th_feedback_record:
 *       "single" commits every write on its own (one fsync each, durable
 *       when the call returns) for S seconds; "batched" runs N writes in
 *       th_batch_begin/commit batches of B. Every vote is by a new resident
 *       ("<PREFIX>-<n>"), every feedback from a new device, so each is a
 *       real insert. Ideas voted on: 1..N (--ideas, default 1000) spread
 *       evenly over all the database's ideas (--spread TOTAL).
 *   inproc DB top20 [--iterations N]
 *       th_idea_list(sort top, limit 20) N times on the site's ideas:
 *       latency percentiles (the first, cold call reported apart).
 *
 * Prints one JSON object on stdout. Wall-clock and CPU time (user + system
 * of this process) are both reported: the CPU time per write is the figure
 * least disturbed by a shared machine.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "townhall.h"

static const char *site = "bench";

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

/* Bytes this process handed to write(2)/pwrite(2) so far (/proc/self/io
 * "wchar"): WAL frames, checkpoints. Deterministic where time is not: the
 * bytes a write costs do not depend on what else the machine is doing. */
static double wchar(void) {
  FILE *f = fopen("/proc/self/io", "r");
  char line[128];
  double v = 0;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "wchar:", 6) == 0)
      v = strtod(line + 6, NULL);
  if (f)
    fclose(f);
  return v;
}

static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static void die(th_db *db, int rc, const char *what) {
  fprintf(stderr, "inproc: %s: %s (%s)\n", what, db ? th_errmsg(db) : "",
          th_err_name(rc));
  exit(1);
}

typedef struct ctx {
  const char *prefix;
  uint64_t ideas, spread;
  uint64_t n; /* writes so far, across phases: names stay distinct */
} ctx;

static int one_vote(th_db *db, ctx *c) {
  uint64_t k = c->n++;
  char res[96];
  snprintf(res, sizeof res, "%s-v-%" PRIu64, c->prefix, k);
  th_who who = {.resident = res};
  uint64_t step = c->spread / c->ideas ? c->spread / c->ideas : 1;
  int64_t idea = (int64_t)(1 + (mix(k) % c->ideas) * step);
  return th_vote(db, site, &who, idea, k % 5 == 0 ? -1 : 1, NULL);
}

static int one_feedback(th_db *db, ctx *c) {
  uint64_t k = c->n++;
  char page[96], ua[160];
  snprintf(page, sizeof page, "https://council.example/services/page-%" PRIu64,
           mix(k) % 500);
  snprintf(ua, sizeof ua,
           "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0 inproc/%s-%" PRIu64,
           c->prefix, k);
  th_who who = {.ip = "192.0.2.10", .user_agent = ua};
  th_feedback fb = {.size = sizeof(fb), .page = page,
                    .useful = k % 10 < 7,
                    .rating = k % 3 == 0 ? (int)(1 + k % 5) : 0,
                    .comment =
                        k % 20 == 0 ? "Clear and helpful, thank you." : NULL};
  return th_feedback_record(db, site, &who, &fb);
}

typedef int (*one_fn)(th_db *, ctx *);

/* Writes, each committed alone, for `seconds`. */
static void single(th_db *db, ctx *c, one_fn fn, double seconds,
                   const char *name, int comma) {
  double t0 = now_s(), c0 = cpu_s(), w0 = wchar();
  uint64_t n = 0, recorded = 0;
  while (now_s() - t0 < seconds) {
    int rc = fn(db, c);
    if (rc < 0)
      die(db, rc, name);
    recorded += rc == TH_RECORDED;
    n++;
  }
  double wall = now_s() - t0, cpu = cpu_s() - c0, w = wchar() - w0;
  if (n == 0)
    n = 1; /* not a rate, but valid JSON */
  printf("\"%s_single\":{\"n\":%" PRIu64 ",\"recorded\":%" PRIu64
         ",\"wall_s\":%.3f,\"per_s\":%.1f,\"cpu_us_per_write\":%.2f,"
         "\"bytes_per_write\":%.0f}%s",
         name, n, recorded, wall, n / wall, cpu * 1e6 / n, w / n,
         comma ? "," : "");
}

static void batched(th_db *db, ctx *c, one_fn fn, uint64_t total,
                    unsigned batch, const char *name, int comma) {
  double t0 = now_s(), c0 = cpu_s(), w0 = wchar();
  uint64_t recorded = 0;
  for (uint64_t done = 0; done < total;) {
    int rc = th_batch_begin(db);
    if (rc < 0)
      die(db, rc, "th_batch_begin");
    for (unsigned i = 0; i < batch && done < total; i++, done++) {
      rc = fn(db, c);
      if (rc < 0)
        die(db, rc, name);
      recorded += rc == TH_RECORDED;
    }
    if ((rc = th_batch_commit(db)) < 0)
      die(db, rc, "th_batch_commit");
  }
  double wall = now_s() - t0, cpu = cpu_s() - c0, w = wchar() - w0;
  printf("\"%s_batched\":{\"n\":%" PRIu64 ",\"batch\":%u,\"recorded\":%" PRIu64
         ",\"wall_s\":%.3f,\"per_s\":%.1f,\"cpu_us_per_write\":%.2f,"
         "\"bytes_per_write\":%.0f}%s",
         name, total, batch, recorded, wall, total / wall, cpu * 1e6 / total,
         w / total, comma ? "," : "");
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p) {
  size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
  return v[i < n ? i : n - 1];
}

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wall-clock latency is what a caller sees; on a shared machine its tail
 * also holds the time the kernel gave this thread's CPU to someone else,
 * so the thread's own CPU time per call is reported beside it. */
static void top20(th_db *db, unsigned iterations) {
  double *lat = malloc(sizeof *lat * iterations);
  double *cpu = malloc(sizeof *cpu * iterations);
  th_idea_query q = {.size = sizeof(q), .sort = TH_SORT_TOP, .limit = 20};
  double cold = 0;
  size_t items = 0;
  for (unsigned i = 0; i <= iterations; i++) {
    th_idea_page *p = NULL;
    double c0 = thread_cpu_s(), t0 = now_s();
    int rc = th_idea_list(db, site, &q, &p);
    double t = now_s() - t0, c = thread_cpu_s() - c0;
    if (rc < 0)
      die(db, rc, "th_idea_list");
    items = p->count;
    th_idea_page_free(p);
    if (i == 0) {
      cold = t;
    } else {
      lat[i - 1] = t;
      cpu[i - 1] = c;
    }
  }
  double sum = 0;
  for (unsigned i = 0; i < iterations; i++)
    sum += lat[i];
  qsort(lat, iterations, sizeof *lat, cmp_double);
  qsort(cpu, iterations, sizeof *cpu, cmp_double);
  printf("\"top20\":{\"iterations\":%u,\"items\":%zu,\"cold_us\":%.1f,"
         "\"mean_us\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
         "\"max_us\":%.1f,\"cpu_p50_us\":%.1f,\"cpu_p99_us\":%.1f,"
         "\"cpu_p999_us\":%.1f}",
         iterations, items, cold * 1e6, sum / iterations * 1e6,
         pct(lat, iterations, 50) * 1e6, pct(lat, iterations, 99) * 1e6,
         pct(lat, iterations, 99.9) * 1e6, lat[iterations - 1] * 1e6,
         pct(cpu, iterations, 50) * 1e6, pct(cpu, iterations, 99) * 1e6,
         pct(cpu, iterations, 99.9) * 1e6);
  free(lat);
  free(cpu);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: inproc DB rates PREFIX [options] | inproc DB top20 "
                    "[--iterations N]\n");
    return 2;
  }
  const char *path = argv[1], *mode = argv[2];
  ctx c = {.prefix = "inproc", .ideas = 1000, .spread = 0};
  double single_s = 5;
  unsigned batch = 1000, iterations = 2000;
  uint64_t nbatched = 50000;
  int first = 3;
  if (strcmp(mode, "rates") == 0 && argc > 3)
    c.prefix = argv[first++];
  for (int i = first; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "0";
    if (strcmp(a, "--ideas") == 0)
      c.ideas = strtoull(v, NULL, 10), i++;
    else if (strcmp(a, "--spread") == 0)
      c.spread = strtoull(v, NULL, 10), i++;
    else if (strcmp(a, "--single-seconds") == 0)
      single_s = atof(v), i++;
    else if (strcmp(a, "--batch") == 0)
      batch = (unsigned)strtoul(v, NULL, 10), i++;
    else if (strcmp(a, "--batched") == 0)
      nbatched = strtoull(v, NULL, 10), i++;
    else if (strcmp(a, "--iterations") == 0)
      iterations = (unsigned)strtoul(v, NULL, 10), i++;
    else if (strcmp(a, "--site") == 0)
      site = v, i++;
    else {
      fprintf(stderr, "inproc: unknown option %s\n", a);
      return 2;
    }
  }
  if (c.spread < c.ideas)
    c.spread = c.ideas;
  if (c.ideas == 0 || batch == 0 || iterations == 0)
    return 2;
  th_db *db = NULL;
  int rc = th_open(&db, path, NULL);
  if (rc != TH_OK)
    die(db, rc, "opening the database");
  printf("{");
  if (strcmp(mode, "rates") == 0) {
    single(db, &c, one_vote, single_s, "votes", 1);
    batched(db, &c, one_vote, nbatched, batch, "votes", 1);
    single(db, &c, one_feedback, single_s, "feedback", 1);
    batched(db, &c, one_feedback, nbatched, batch, "feedback", 0);
  } else if (strcmp(mode, "top20") == 0) {
    top20(db, iterations);
  } else {
    fprintf(stderr, "inproc: mode is rates or top20\n");
    return 2;
  }
  printf("}\n");
  th_close(db);
  return 0;
}
