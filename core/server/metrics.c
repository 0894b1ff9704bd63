/*
 * metrics.c: counters for /metrics in Prometheus' text format (0.0.4).
 * Lock-free: every loop thread and the writer add with relaxed atomics; a
 * scrape reads them as they are. They are process-wide, like the registry
 * of a Prometheus client library.
 */
#include "http.h"

#include <stdio.h>
#include <string.h>

static const int th__statuses[] = {200, 201, 204, 301, 303, 304, 400, 401,
                                   403, 404, 405, 406, 408, 409, 410, 413,
                                   415, 422, 429, 431, 500, 503, 0};
#define TH__NSTATUS (sizeof th__statuses / sizeof th__statuses[0])

/* Latency buckets, in seconds. */
static const double th__buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                     0.025,  0.05,  0.1,    0.25,  0.5,
                                     1,      2.5,   5};
#define TH__NBUCKETS (sizeof th__buckets / sizeof th__buckets[0])
static const unsigned th__batch_buckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
#define TH__NBATCH (sizeof th__batch_buckets / sizeof th__batch_buckets[0])

static const char *const th__spam_reasons[] = {"honeypot", "too_fast",
                                               "bad_form_token", "gibberish",
                                               "identical_fields", NULL};
static const char *const th__limit_kinds[] = {"anonymous_write", "staff_auth",
                                              "page_answers", NULL};

static struct {
  atomic_uint_fast64_t requests[TH__ROUTE_COUNT][TH__NSTATUS];
  atomic_uint_fast64_t latency[TH__ROUTE_COUNT][TH__NBUCKETS + 1];
  atomic_uint_fast64_t latency_ns[TH__ROUTE_COUNT];
  atomic_uint_fast64_t batches[TH__NBATCH + 1];
  atomic_uint_fast64_t batch_sum, batch_count;
  atomic_int_fast64_t connections;
  atomic_uint_fast64_t connections_total;
  atomic_uint_fast64_t rejected;
  atomic_uint_fast64_t spam[6];
  atomic_uint_fast64_t limited[4];
  atomic_uint_fast64_t writes[3]; /* recorded, duplicate, failed */
  atomic_uint_fast64_t cache[2];  /* miss, hit */
  atomic_uint_fast64_t site_cache[2]; /* miss, hit */
} th__m;

#define TH__ADD(x, n) atomic_fetch_add_explicit(&(x), (n), memory_order_relaxed)
#define TH__GET(x) atomic_load_explicit(&(x), memory_order_relaxed)

void th__metrics_request(th__route route, int status, uint64_t ns) {
  if ((unsigned)route >= TH__ROUTE_COUNT)
    route = TH__ROUTE_NONE;
  size_t s = 0;
  while (th__statuses[s] && th__statuses[s] != status)
    s++;
  TH__ADD(th__m.requests[route][s], 1);
  double secs = (double)ns / 1e9;
  size_t b = 0;
  while (b < TH__NBUCKETS && secs > th__buckets[b])
    b++;
  TH__ADD(th__m.latency[route][b], 1);
  TH__ADD(th__m.latency_ns[route], ns);
}

void th__metrics_batch(unsigned size) {
  size_t b = 0;
  while (b < TH__NBATCH && size > th__batch_buckets[b])
    b++;
  TH__ADD(th__m.batches[b], 1);
  TH__ADD(th__m.batch_sum, size);
  TH__ADD(th__m.batch_count, 1);
}

void th__metrics_connection(int delta) {
  TH__ADD(th__m.connections, delta);
  if (delta > 0)
    TH__ADD(th__m.connections_total, 1);
}

void th__metrics_rejected(const char *why) {
  (void)why;
  TH__ADD(th__m.rejected, 1);
}

static size_t th__index(const char *const *names, const char *name) {
  size_t i = 0;
  while (names[i] && strcmp(names[i], name) != 0)
    i++;
  return i;
}

void th__metrics_spam(const char *reason) {
  TH__ADD(th__m.spam[th__index(th__spam_reasons, reason)], 1);
}

void th__metrics_limited(const char *kind) {
  TH__ADD(th__m.limited[th__index(th__limit_kinds, kind)], 1);
}

void th__metrics_write(int rc) {
  TH__ADD(th__m.writes[rc == TH_RECORDED ? 0 : rc >= 0 ? 1 : 2], 1);
}

void th__metrics_cache(bool hit) { TH__ADD(th__m.cache[hit], 1); }

void th__metrics_site_cache(bool hit) { TH__ADD(th__m.site_cache[hit], 1); }

void th__metrics_render(th__sbuf *b, th_server *srv) {
  th__sbuf_puts(b, "# HELP townhall_http_requests_total HTTP requests answered, "
                   "by route template and status.\n"
                   "# TYPE townhall_http_requests_total counter\n");
  for (size_t r = 0; r < TH__ROUTE_COUNT; r++)
    for (size_t s = 0; s < TH__NSTATUS; s++) {
      uint64_t v = TH__GET(th__m.requests[r][s]);
      if (v == 0)
        continue;
      char st[8];
      if (th__statuses[s])
        snprintf(st, sizeof st, "%d", th__statuses[s]);
      else
        snprintf(st, sizeof st, "other");
      th__sbuf_printf(b,
                      "townhall_http_requests_total{route=\"%s\",status=\"%s\"}"
                      " %llu\n",
                      th__route_label(r), st, (unsigned long long)v);
    }
  th__sbuf_puts(b, "# HELP townhall_http_request_duration_seconds Time from a "
                   "request's first byte to its answer being ready.\n"
                   "# TYPE townhall_http_request_duration_seconds histogram\n");
  for (size_t r = 0; r < TH__ROUTE_COUNT; r++) {
    uint64_t cum = 0, total = 0;
    for (size_t k = 0; k <= TH__NBUCKETS; k++)
      total += TH__GET(th__m.latency[r][k]);
    if (total == 0)
      continue;
    for (size_t k = 0; k < TH__NBUCKETS; k++) {
      cum += TH__GET(th__m.latency[r][k]);
      th__sbuf_printf(b,
                      "townhall_http_request_duration_seconds_bucket{route=\"%s\","
                      "le=\"%g\"} %llu\n",
                      th__route_label(r), th__buckets[k],
                      (unsigned long long)cum);
    }
    cum += TH__GET(th__m.latency[r][TH__NBUCKETS]);
    th__sbuf_printf(b,
                    "townhall_http_request_duration_seconds_bucket{route=\"%s\","
                    "le=\"+Inf\"} %llu\n"
                    "townhall_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                    "townhall_http_request_duration_seconds_count{route=\"%s\"} "
                    "%llu\n",
                    th__route_label(r), (unsigned long long)cum,
                    th__route_label(r),
                    (double)TH__GET(th__m.latency_ns[r]) / 1e9,
                    th__route_label(r), (unsigned long long)cum);
  }
  th__sbuf_printf(b,
                  "# HELP townhall_write_queue_depth Writes waiting for the "
                  "writer thread.\n"
                  "# TYPE townhall_write_queue_depth gauge\n"
                  "townhall_write_queue_depth %u\n",
                  srv->writer ? th__writer_depth(srv->writer) : 0);
  th__sbuf_puts(b, "# HELP townhall_write_batch_size Writes committed together "
                   "in one transaction.\n"
                   "# TYPE townhall_write_batch_size histogram\n");
  uint64_t cum = 0;
  for (size_t k = 0; k < TH__NBATCH; k++) {
    cum += TH__GET(th__m.batches[k]);
    th__sbuf_printf(b, "townhall_write_batch_size_bucket{le=\"%u\"} %llu\n",
                    th__batch_buckets[k], (unsigned long long)cum);
  }
  cum += TH__GET(th__m.batches[TH__NBATCH]);
  th__sbuf_printf(b,
                  "townhall_write_batch_size_bucket{le=\"+Inf\"} %llu\n"
                  "townhall_write_batch_size_sum %llu\n"
                  "townhall_write_batch_size_count %llu\n",
                  (unsigned long long)cum,
                  (unsigned long long)TH__GET(th__m.batch_sum),
                  (unsigned long long)TH__GET(th__m.batch_count));
  th__sbuf_printf(
      b,
      "# HELP townhall_writes_total Writes by outcome.\n"
      "# TYPE townhall_writes_total counter\n"
      "townhall_writes_total{outcome=\"recorded\"} %llu\n"
      "townhall_writes_total{outcome=\"duplicate\"} %llu\n"
      "townhall_writes_total{outcome=\"failed\"} %llu\n",
      (unsigned long long)TH__GET(th__m.writes[0]),
      (unsigned long long)TH__GET(th__m.writes[1]),
      (unsigned long long)TH__GET(th__m.writes[2]));
  th__sbuf_printf(
      b,
      "# HELP townhall_list_cache_total Public ideas lists answered from a "
      "loop's cache (hit) or built (miss).\n"
      "# TYPE townhall_list_cache_total counter\n"
      "townhall_list_cache_total{result=\"hit\"} %llu\n"
      "townhall_list_cache_total{result=\"miss\"} %llu\n",
      (unsigned long long)TH__GET(th__m.cache[1]),
      (unsigned long long)TH__GET(th__m.cache[0]));
  th__sbuf_printf(
      b,
      "# HELP townhall_site_cache_total Sites' rows read from a loop's cache "
      "(hit) or from the database (miss), one per request naming a site.\n"
      "# TYPE townhall_site_cache_total counter\n"
      "townhall_site_cache_total{result=\"hit\"} %llu\n"
      "townhall_site_cache_total{result=\"miss\"} %llu\n",
      (unsigned long long)TH__GET(th__m.site_cache[1]),
      (unsigned long long)TH__GET(th__m.site_cache[0]));
  th__sbuf_printf(
      b,
      "# HELP townhall_connections Open client connections.\n"
      "# TYPE townhall_connections gauge\n"
      "townhall_connections %lld\n"
      "# HELP townhall_connections_accepted_total Connections accepted.\n"
      "# TYPE townhall_connections_accepted_total counter\n"
      "townhall_connections_accepted_total %llu\n"
      "# HELP townhall_connections_rejected_total Connections refused with 503 "
      "at the connection limit.\n"
      "# TYPE townhall_connections_rejected_total counter\n"
      "townhall_connections_rejected_total %llu\n",
      (long long)TH__GET(th__m.connections),
      (unsigned long long)TH__GET(th__m.connections_total),
      (unsigned long long)TH__GET(th__m.rejected));
  th__sbuf_puts(b, "# HELP townhall_spam_discarded_total Anonymous writes "
                   "answered as if accepted but discarded, by reason.\n"
                   "# TYPE townhall_spam_discarded_total counter\n");
  for (size_t i = 0; th__spam_reasons[i]; i++)
    th__sbuf_printf(b, "townhall_spam_discarded_total{reason=\"%s\"} %llu\n",
                    th__spam_reasons[i],
                    (unsigned long long)TH__GET(th__m.spam[i]));
  th__sbuf_printf(b,
                  "# HELP townhall_rate_limited_total Requests refused with "
                  "429, by limit.\n"
                  "# TYPE townhall_rate_limited_total counter\n");
  for (size_t i = 0; th__limit_kinds[i]; i++)
    th__sbuf_printf(b, "townhall_rate_limited_total{limit=\"%s\"} %llu\n",
                    th__limit_kinds[i],
                    (unsigned long long)TH__GET(th__m.limited[i]));
  th__sbuf_printf(b,
                  "# HELP townhall_rate_limit_per_minute Configured limits per "
                  "client address prefix per minute.\n"
                  "# TYPE townhall_rate_limit_per_minute gauge\n"
                  "townhall_rate_limit_per_minute{limit=\"anonymous_write\"} %u\n"
                  "townhall_rate_limit_per_minute{limit=\"staff_auth\"} %u\n"
                  "# HELP townhall_rate_limit_per_page_hour Configured new "
                  "page-feedback answers per client address prefix per page "
                  "per hour.\n"
                  "# TYPE townhall_rate_limit_per_page_hour gauge\n"
                  "townhall_rate_limit_per_page_hour %u\n",
                  srv->cfg.rate_per_minute, srv->cfg.auth_failures_per_minute,
                  srv->cfg.rate_per_page_hour);
}
