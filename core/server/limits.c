/*
 * limits.c: who the client is (the peer, or what a trusted proxy says), and
 * rate limits per address prefix.
 *
 * Buckets live only in memory, keyed by SipHash of the address prefix
 * (/32 for IPv4, /64 for IPv6) under a random key that is replaced every
 * hour, when the whole table is wiped: nothing here outlives an hour, and
 * nothing is ever written anywhere.
 */
#include "http.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- trusted proxies ---------------------------------------------------------- */

static int th__parse_ip(const char *s, size_t n, int *family,
                        unsigned char out[16]) {
  char buf[64];
  if (n == 0 || n >= sizeof buf)
    return -1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  if (inet_pton(AF_INET, buf, out) == 1) {
    *family = AF_INET;
    return 0;
  }
  if (inet_pton(AF_INET6, buf, out) == 1) {
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(out, mapped, 12) == 0) {
      memmove(out, out + 12, 4);
      *family = AF_INET;
    } else {
      *family = AF_INET6;
    }
    return 0;
  }
  return -1;
}

int th__proxies_parse(th_server *srv, const char *list) {
  srv->nproxies = 0;
  if (list == NULL)
    return TH_OK;
  const char *p = list;
  while (*p) {
    while (*p == ' ' || *p == ',')
      p++;
    if (*p == '\0')
      break;
    const char *e = p;
    while (*e && *e != ' ' && *e != ',')
      e++;
    const char *slash = memchr(p, '/', (size_t)(e - p));
    th__cidr c;
    if (srv->nproxies >= TH__ARRAY_SIZE(srv->proxies) ||
        th__parse_ip(p, (size_t)((slash ? slash : e) - p), &c.family,
                     c.addr) != 0)
      return TH_EINVAL;
    int max = c.family == AF_INET ? 32 : 128;
    c.bits = max;
    if (slash) {
      c.bits = 0;
      if (slash + 1 == e)
        return TH_EINVAL;
      for (const char *d = slash + 1; d < e; d++) {
        if (*d < '0' || *d > '9')
          return TH_EINVAL;
        c.bits = c.bits * 10 + (*d - '0');
        if (c.bits > max)
          return TH_EINVAL;
      }
    }
    srv->proxies[srv->nproxies++] = c;
    p = e;
  }
  return TH_OK;
}

static bool th__in_cidr(const th__cidr *c, int family,
                        const unsigned char *addr) {
  if (c->family != family)
    return false;
  int full = c->bits / 8, rest = c->bits % 8;
  if (memcmp(c->addr, addr, (size_t)full) != 0)
    return false;
  if (rest == 0)
    return true;
  unsigned char mask = (unsigned char)(0xff << (8 - rest));
  return (c->addr[full] & mask) == (addr[full] & mask);
}

static bool th__trusted(const th_server *srv, const char *ip, size_t n) {
  int family;
  unsigned char a[16];
  if (th__parse_ip(ip, n, &family, a) != 0)
    return false;
  for (unsigned i = 0; i < srv->nproxies; i++)
    if (th__in_cidr(&srv->proxies[i], family, a))
      return true;
  return false;
}

void th__client_addr(const th__req *req, char *out, size_t cap) {
  const th__conn *c = req->conn;
  const th_server *srv = req->lp->srv;
  snprintf(out, cap, "%s", c ? c->peer : "");
  if (c == NULL || srv->nproxies == 0 ||
      !th__trusted(srv, c->peer, strlen(c->peer)))
    return;
  size_t len = 0;
  const char *xff = th__req_header(req, "x-forwarded-for", &len);
  if (xff == NULL)
    return;
  /* From the right: each trusted proxy appended the address it saw. The
   * first entry that is not one of ours is the client; anything left of it
   * was written by the client and is not believed. */
  size_t end = len;
  while (end > 0) {
    size_t start = end;
    while (start > 0 && xff[start - 1] != ',')
      start--;
    size_t b = start, e = end;
    while (b < e && (xff[b] == ' ' || xff[b] == '\t'))
      b++;
    while (e > b && (xff[e - 1] == ' ' || xff[e - 1] == '\t'))
      e--;
    int family;
    unsigned char a[16];
    if (th__parse_ip(xff + b, e - b, &family, a) != 0)
      return; /* garbage: keep the proxy's own address */
    if (!th__trusted(srv, xff + b, e - b) || start == 0) {
      char ip[64];
      memcpy(ip, xff + b, e - b);
      ip[e - b] = '\0';
      snprintf(out, cap, "%s", ip);
      return;
    }
    end = start - 1;
  }
}

/* ---- rate limits ------------------------------------------------------------------ */

#define TH__RL_SLOTS 16384
#define TH__RL_PROBE 8

typedef struct th__bucket {
  uint64_t key;
  double tokens;
  int64_t at_ms;
} th__bucket;

struct th__ratelimit {
  pthread_mutex_t lock;
  int64_t hour;
  unsigned char key[crypto_shorthash_KEYBYTES];
  th__bucket slots[TH__RL_SLOTS];
};

th__ratelimit *th__ratelimit_new(void) {
  th__ratelimit *rl = calloc(1, sizeof *rl);
  if (rl == NULL)
    return NULL;
  pthread_mutex_init(&rl->lock, NULL);
  rl->hour = -1;
  return rl;
}

void th__ratelimit_free(th__ratelimit *rl) {
  if (rl == NULL)
    return;
  pthread_mutex_destroy(&rl->lock);
  sodium_memzero(rl, sizeof *rl);
  free(rl);
}

/* The bucket of an address prefix for one purpose (`kind`) and, when
 * `scope` is not NULL, one thing (a page): `capacity` tokens that refill
 * over `window_ms`. */
static th__bucket *th__bucket_for(th__ratelimit *rl, int kind, const char *ip,
                                  const char *scope, double capacity,
                                  int64_t now_ms) {
  int64_t hour = now_ms / 3600000;
  if (hour != rl->hour) {
    sodium_memzero(rl->slots, sizeof rl->slots);
    randombytes_buf(rl->key, sizeof rl->key);
    rl->hour = hour;
  }
  unsigned char in[1 + 16];
  size_t n = 1;
  in[0] = (unsigned char)kind;
  int family;
  unsigned char a[16];
  if (th__parse_ip(ip, strlen(ip), &family, a) == 0) {
    size_t keep = family == AF_INET ? 4 : 8; /* /32 or /64 */
    memcpy(in + 1, a, keep);
    n += keep;
  }
  unsigned char h[crypto_shorthash_BYTES];
  crypto_shorthash(h, in, n, rl->key);
  uint64_t key;
  memcpy(&key, h, sizeof key);
  if (scope) {
    /* The scope's hash under the same key, mixed in: no text is kept. */
    crypto_shorthash(h, (const unsigned char *)scope, strlen(scope), rl->key);
    uint64_t k2;
    memcpy(&k2, h, sizeof k2);
    key ^= k2 * UINT64_C(0x9E3779B97F4A7C15);
  }
  key |= 1; /* 0 marks an empty slot */
  size_t base = (size_t)(key % TH__RL_SLOTS);
  th__bucket *victim = NULL;
  for (size_t i = 0; i < TH__RL_PROBE; i++) {
    th__bucket *b = &rl->slots[(base + i) % TH__RL_SLOTS];
    if (b->key == key)
      return b;
    /* Take the first empty slot, else the least recently used one. */
    if (b->key == 0) {
      if (victim == NULL || victim->key != 0)
        victim = b;
    } else if (victim == NULL ||
               (victim->key != 0 && b->at_ms < victim->at_ms)) {
      victim = b;
    }
  }
  /* A new bucket starts full (a burst of its capacity). */
  victim->key = key;
  victim->tokens = capacity;
  victim->at_ms = now_ms;
  return victim;
}

static void th__refill(th__bucket *b, double capacity, int64_t window_ms,
                       int64_t now_ms) {
  if (now_ms > b->at_ms) {
    b->tokens += (double)(now_ms - b->at_ms) * capacity / (double)window_ms;
    if (b->tokens > capacity)
      b->tokens = capacity;
    b->at_ms = now_ms;
  }
}

static int th__retry(const th__bucket *b, double capacity, int64_t window_ms) {
  double need = 1.0 - b->tokens;
  int s = (int)(need * (double)window_ms / 1000.0 / capacity) + 1;
  return s < 1 ? 1 : s;
}

/* Takes a token (take) or only looks (!take); true when one was there. */
static bool th__ratelimit_use(th__ratelimit *rl, int kind, const char *ip,
                              const char *scope, unsigned capacity,
                          int64_t window_ms, int64_t now_ms, bool take,
                          int *retry_s) {
  pthread_mutex_lock(&rl->lock);
  th__bucket *b = th__bucket_for(rl, kind, ip, scope, capacity, now_ms);
  th__refill(b, capacity, window_ms, now_ms);
  bool ok = b->tokens >= 1.0;
  if (ok && take)
    b->tokens -= 1.0;
  else if (!ok && retry_s)
    *retry_s = th__retry(b, capacity, window_ms);
  pthread_mutex_unlock(&rl->lock);
  return ok;
}

bool th__ratelimit_take(th__ratelimit *rl, int kind, const char *ip,
                        unsigned per_minute, int64_t now_ms, int *retry_s) {
  return th__ratelimit_use(rl, kind, ip, NULL, per_minute, 60000, now_ms, true,
                       retry_s);
}

bool th__ratelimit_take_scoped(th__ratelimit *rl, int kind, const char *ip,
                               const char *scope, unsigned per_hour,
                               int64_t now_ms, int *retry_s) {
  return th__ratelimit_use(rl, kind, ip, scope, per_hour, 3600000, now_ms, true,
                       retry_s);
}

bool th__ratelimit_blocked(th__ratelimit *rl, int kind, const char *ip,
                           unsigned per_minute, int64_t now_ms, int *retry_s) {
  return !th__ratelimit_use(rl, kind, ip, NULL, per_minute, 60000, now_ms, false,
                        retry_s);
}
