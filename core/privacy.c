/*
 * privacy.c: the key file, subkeys, sealing of stored secrets, pseudonyms,
 * and the daily salts behind anonymous feedback (DESIGN.md section 5).
 *
 * Nothing that names a person reaches the database: residents and devices
 * become keyed BLAKE2b hashes under a random per-consultation key, which is
 * itself stored only sealed under the master key; a retried anonymous
 * rating is recognised under a random daily salt that lives in memory (and
 * optionally a 0600 file beside the key file) and is destroyed after 48
 * hours, after which no one can link a rating to a device.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TH__MAX_SALTS 3

typedef struct th__salt {
  int64_t day;
  int used;
  unsigned char key[TH__SALT_BYTES];
} th__salt;

/* Secret material lives in one sodium_malloc block: guarded pages, locked
 * out of swap where the system allows, wiped when freed. */
typedef struct th__secrets {
  unsigned char master[TH__KEY_BYTES];
  unsigned char seal[TH__KEY_BYTES];  /* seals consultation keys, site secrets */
  unsigned char token[TH__KEY_BYTES]; /* hashes staff tokens */
  unsigned char answer[crypto_shorthash_KEYBYTES]; /* answer handles' verifiers */
  th__salt salts[TH__MAX_SALTS];
} th__secrets;

struct th__keyring {
  th__keyring *next;
  int refs;
  dev_t dev;
  ino_t ino;
  pthread_mutex_t lock; /* guards the salts */
  char *salt_path;      /* NULL: salts in memory only */
  th__secrets *s;
};

static pthread_mutex_t th__keyrings_lock = PTHREAD_MUTEX_INITIALIZER;
static th__keyring *th__keyrings;

/* ---- files ---------------------------------------------------------------- */

static int th__read_exact(int fd, void *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, (char *)buf + got, len - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    got += (size_t)n;
  }
  return 0;
}

static int th__write_all(int fd, const void *buf, size_t len) {
  size_t put = 0;
  while (put < len) {
    ssize_t n = write(fd, (const char *)buf + put, len - put);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    put += (size_t)n;
  }
  return 0;
}

/* Refuses a secret file anyone but its owner could read or change. */
int th__check_private(th_db *db, const char *what, const char *path,
                             const struct stat *sb) {
  if (!S_ISREG(sb->st_mode))
    return th__err(db, TH_EKEY, "%s %s is not a regular file", what, path);
  if (sb->st_mode & (S_IRWXG | S_IRWXO))
    return th__err(db, TH_EKEY,
                   "%s %s may be read or written by others (mode %04o); "
                   "run `chmod 600 %s`",
                   what, path, (unsigned)(sb->st_mode & 07777), path);
  if (sb->st_uid != geteuid() && geteuid() != 0)
    return th__err(db, TH_EKEY, "%s %s belongs to another user", what, path);
  return TH_OK;
}

int th__key_file_create(th_db *db, const char *path) {
  unsigned char key[TH__KEY_BYTES];
  randombytes_buf(key, sizeof key);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                0600);
  if (fd < 0) {
    sodium_memzero(key, sizeof key);
    if (errno == EEXIST)
      return TH_EEXIST; /* another process won the race: read theirs */
    return th__err(db, TH_EKEY, "cannot create key file %s: %s", path,
                   strerror(errno));
  }
  int bad = th__write_all(fd, key, sizeof key) || fsync(fd);
  sodium_memzero(key, sizeof key);
  close(fd);
  if (bad || th__fsync_dir(path)) {
    unlink(path);
    return th__err(db, TH_EKEY, "cannot write key file %s: %s", path,
                   strerror(errno));
  }
  return TH_OK;
}

/* ---- salts file ----------------------------------------------------------- */

/* Format: records of an 8-byte little-endian day and a 16-byte salt. */
#define TH__SALT_RECORD (8 + TH__SALT_BYTES)

static void th__salts_load(th__keyring *kr) {
  int fd = open(kr->salt_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return;
  struct stat sb;
  unsigned char rec[TH__SALT_RECORD];
  if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
      !(sb.st_mode & (S_IRWXG | S_IRWXO))) {
    for (int i = 0; i < TH__MAX_SALTS && th__read_exact(fd, rec, sizeof rec) == 0;
         i++) {
      uint64_t day = 0;
      for (int b = 7; b >= 0; b--)
        day = (day << 8) | rec[b];
      kr->s->salts[i].day = (int64_t)day;
      kr->s->salts[i].used = 1;
      memcpy(kr->s->salts[i].key, rec + 8, TH__SALT_BYTES);
    }
  }
  sodium_memzero(rec, sizeof rec);
  close(fd);
}

/* Rewrites the salts file with the salts held now: the old file's bytes are
 * overwritten with zeros and synced before it is replaced, so a destroyed
 * salt does not linger in the file. */
static int th__salts_save(th__keyring *kr) {
  if (kr->salt_path == NULL)
    return TH_OK;
  unsigned char buf[TH__MAX_SALTS * TH__SALT_RECORD];
  size_t len = 0;
  for (int i = 0; i < TH__MAX_SALTS; i++) {
    const th__salt *s = &kr->s->salts[i];
    if (!s->used)
      continue;
    uint64_t day = (uint64_t)s->day;
    for (int b = 0; b < 8; b++)
      buf[len + (size_t)b] = (unsigned char)(day >> (8 * b));
    memcpy(buf + len + 8, s->key, TH__SALT_BYTES);
    len += TH__SALT_RECORD;
  }
  int old = open(kr->salt_path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (old >= 0) {
    struct stat sb;
    if (fstat(old, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
      unsigned char zeros[256] = {0};
      off_t left = sb.st_size;
      while (left > 0) {
        size_t n = left > (off_t)sizeof zeros ? sizeof zeros : (size_t)left;
        if (th__write_all(old, zeros, n))
          break;
        left -= (off_t)n;
      }
      (void)fsync(old);
    }
    close(old);
  }
  int rc = TH_OK;
  if (len == 0) {
    if (unlink(kr->salt_path) != 0 && errno != ENOENT)
      rc = TH_EIO;
  } else {
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", kr->salt_path);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                  0600);
    if (fd < 0 || th__write_all(fd, buf, len) || fsync(fd) ||
        rename(tmp, kr->salt_path))
      rc = TH_EIO;
    if (fd >= 0)
      close(fd);
    if (rc < 0)
      unlink(tmp);
  }
  th__fsync_dir(kr->salt_path);
  sodium_memzero(buf, sizeof buf);
  return rc;
}

static int th__salts_expire_locked(th__keyring *kr, int64_t now_ms) {
  /* A salt serves day d and is destroyed once day d+2 begins: at most 48 h
   * after the start of its day. */
  int64_t today = th__day(now_ms);
  int destroyed = 0;
  for (int i = 0; i < TH__MAX_SALTS; i++) {
    th__salt *s = &kr->s->salts[i];
    if (s->used && s->day + 2 <= today) {
      sodium_memzero(s, sizeof *s);
      destroyed++;
    }
  }
  if (destroyed)
    th__salts_save(kr);
  return destroyed;
}

int th__salts_expire(th__keyring *kr, int64_t now_ms) {
  pthread_mutex_lock(&kr->lock);
  int n = th__salts_expire_locked(kr, now_ms);
  pthread_mutex_unlock(&kr->lock);
  return n;
}

int th__salts_held(th__keyring *kr, int64_t day) {
  pthread_mutex_lock(&kr->lock);
  int n = 0;
  for (int i = 0; i < TH__MAX_SALTS; i++)
    if (kr->s->salts[i].used && (day < 0 || kr->s->salts[i].day == day))
      n++;
  pthread_mutex_unlock(&kr->lock);
  return n;
}

int th__salt_for_day(th__keyring *kr, int64_t day, int64_t now_ms,
                     unsigned char salt[TH__SALT_BYTES]) {
  pthread_mutex_lock(&kr->lock);
  th__salts_expire_locked(kr, now_ms);
  th__salt *slot = NULL;
  for (int i = 0; i < TH__MAX_SALTS; i++) {
    th__salt *s = &kr->s->salts[i];
    if (s->used && s->day == day) {
      memcpy(salt, s->key, TH__SALT_BYTES);
      pthread_mutex_unlock(&kr->lock);
      return TH_OK;
    }
    if (!s->used && slot == NULL)
      slot = s;
  }
  if (slot == NULL || day + 2 <= th__day(now_ms)) {
    pthread_mutex_unlock(&kr->lock);
    return TH_EINVAL;
  }
  /* Random, not derived: a derived salt could be derived again. */
  slot->day = day;
  slot->used = 1;
  randombytes_buf(slot->key, TH__SALT_BYTES);
  memcpy(salt, slot->key, TH__SALT_BYTES);
  int rc = th__salts_save(kr);
  pthread_mutex_unlock(&kr->lock);
  return rc;
}

/* ---- keyring -------------------------------------------------------------- */

int th__keyring_acquire(th_db *db, const char *path, bool create,
                        bool persist_salts, th__keyring **out) {
  *out = NULL;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 2; attempt++) {
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0)
      break;
    if (errno != ENOENT || !create)
      return th__err(db, TH_EKEY,
                     "cannot open key file %s: %s (townhall needs the key "
                     "file the database was created with)",
                     path, strerror(errno));
    int rc = th__key_file_create(db, path);
    if (rc < 0 && rc != TH_EEXIST)
      return rc;
  }
  if (fd < 0)
    return th__err(db, TH_EKEY, "cannot open key file %s", path);
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    close(fd);
    return th__err(db, TH_EKEY, "cannot stat key file %s: %s", path,
                   strerror(errno));
  }
  int rc = th__check_private(db, "key file", path, &sb);
  if (rc == TH_OK && sb.st_size != TH__KEY_BYTES)
    rc = th__err(db, TH_EKEY,
                 "key file %s holds %lld bytes; a townhall key file holds "
                 "exactly %d",
                 path, (long long)sb.st_size, TH__KEY_BYTES);
  if (rc < 0) {
    close(fd);
    return rc;
  }

  pthread_mutex_lock(&th__keyrings_lock);
  for (th__keyring *kr = th__keyrings; kr; kr = kr->next) {
    if (kr->dev == sb.st_dev && kr->ino == sb.st_ino) {
      kr->refs++;
      pthread_mutex_unlock(&th__keyrings_lock);
      close(fd);
      *out = kr;
      return TH_OK;
    }
  }
  th__keyring *kr = calloc(1, sizeof *kr);
  th__secrets *s = sodium_malloc(sizeof *s);
  if (kr == NULL || s == NULL) {
    pthread_mutex_unlock(&th__keyrings_lock);
    close(fd);
    free(kr);
    if (s)
      sodium_free(s);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  sodium_memzero(s, sizeof *s);
  kr->s = s;
  if (th__read_exact(fd, s->master, TH__KEY_BYTES) != 0) {
    pthread_mutex_unlock(&th__keyrings_lock);
    close(fd);
    sodium_free(s);
    free(kr);
    return th__err(db, TH_EKEY, "cannot read key file %s", path);
  }
  close(fd);
  crypto_kdf_derive_from_key(s->seal, sizeof s->seal, 1, "thsealer", s->master);
  crypto_kdf_derive_from_key(s->token, sizeof s->token, 2, "thtokens",
                             s->master);
  crypto_kdf_derive_from_key(s->answer, sizeof s->answer, 3, "thanswer",
                             s->master);
  kr->refs = 1;
  kr->dev = sb.st_dev;
  kr->ino = sb.st_ino;
  pthread_mutex_init(&kr->lock, NULL);
  if (persist_salts) {
    size_t n = strlen(path) + 7;
    kr->salt_path = malloc(n);
    if (kr->salt_path) {
      snprintf(kr->salt_path, n, "%s.salts", path);
      th__salts_load(kr);
    }
  }
  kr->next = th__keyrings;
  th__keyrings = kr;
  pthread_mutex_unlock(&th__keyrings_lock);
  *out = kr;
  return TH_OK;
}

void th__keyring_release(th__keyring *kr) {
  pthread_mutex_lock(&th__keyrings_lock);
  if (--kr->refs > 0) {
    pthread_mutex_unlock(&th__keyrings_lock);
    return;
  }
  for (th__keyring **p = &th__keyrings; *p; p = &(*p)->next) {
    if (*p == kr) {
      *p = kr->next;
      break;
    }
  }
  pthread_mutex_unlock(&th__keyrings_lock);
  pthread_mutex_destroy(&kr->lock);
  sodium_free(kr->s); /* wipes */
  free(kr->salt_path);
  free(kr);
}

void th__seal(th__keyring *kr, const char *ad, const void *in, size_t len,
              unsigned char *out) {
  unsigned char *nonce = out;
  randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, in, len,
      (const unsigned char *)ad, strlen(ad), NULL, nonce, kr->s->seal);
}

int th__unseal(th__keyring *kr, const char *ad, const unsigned char *in,
               size_t len, unsigned char *out) {
  if (len < TH__SEALED_OVERHEAD)
    return TH_EKEY;
  const size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out, NULL, NULL, in + nb, len - nb, (const unsigned char *)ad,
          strlen(ad), in, kr->s->seal) != 0)
    return TH_EKEY;
  return TH_OK;
}

void th__token_hash(th__keyring *kr, const char *token, size_t len,
                    unsigned char out[32]) {
  crypto_generichash(out, 32, (const unsigned char *)token, len, kr->s->token,
                     sizeof kr->s->token);
}

void th__subkey(th__keyring *kr, uint64_t id, const char ctx[8],
                unsigned char out[32]) {
  crypto_kdf_derive_from_key(out, 32, id, ctx, kr->s->master);
}

/* ---- pseudonyms ----------------------------------------------------------- */

/* The part of an address that names a device for deduplication: the whole
 * IPv4 address, or the /64 of an IPv6 one (privacy addresses rotate within
 * it). Unparseable text is used as given. */
static size_t th__ip_bytes(const char *ip, unsigned char out[16]) {
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, ip, &a4) == 1) {
    memcpy(out, &a4, 4);
    return 4;
  }
  if (inet_pton(AF_INET6, ip, &a6) == 1) {
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a6.s6_addr, mapped, 12) == 0) {
      memcpy(out, a6.s6_addr + 12, 4);
      return 4;
    }
    memcpy(out, a6.s6_addr, 8);
    return 8;
  }
  return 0;
}

int th__pseudonym(const unsigned char key[TH__KEY_BYTES], const th_who *who,
                  unsigned char out[TH__PSEUDONYM_BYTES], int *kind_out) {
  crypto_generichash_state h;
  crypto_generichash_init(&h, key, TH__KEY_BYTES, TH__PSEUDONYM_BYTES);
  if (who && who->resident && who->resident[0]) {
    /* Taken exactly as given: trimming made " alice" another spelling of
     * "alice", so one who could choose their id became someone else. */
    const char *r = who->resident;
    size_t len = strlen(r);
    if (th__resident_id_problem(r, len) != NULL)
      return TH_EINVAL;
    crypto_generichash_update(&h, (const unsigned char *)"r", 2);
    crypto_generichash_update(&h, (const unsigned char *)r, len);
    *kind_out = 0;
  } else if (who && who->ip && who->ip[0]) {
    unsigned char ipb[16];
    size_t n = th__ip_bytes(who->ip, ipb);
    const char *ua = who->user_agent ? who->user_agent : "";
    crypto_generichash_update(&h, (const unsigned char *)"d", 2);
    if (n)
      crypto_generichash_update(&h, ipb, n);
    else
      crypto_generichash_update(&h, (const unsigned char *)who->ip,
                                strlen(who->ip));
    crypto_generichash_update(&h, (const unsigned char *)"", 1);
    crypto_generichash_update(&h, (const unsigned char *)ua, strlen(ua));
    *kind_out = 1;
  } else {
    return TH_EINVAL;
  }
  crypto_generichash_final(&h, out, TH__PSEUDONYM_BYTES);
  sodium_memzero(&h, sizeof h);
  return TH_OK;
}

/* Feedback deduplication token: SipHash-2-4 under the day's salt of the
 * site, page and device. */
int th__device_token(th_db *db, int64_t site_id, int64_t page_id,
                     const th_who *who, int64_t day, unsigned char out[8]) {
  unsigned char salt[TH__SALT_BYTES];
  int rc = th__salt_for_day(db->keys, day, th_now(db), salt);
  if (rc < 0)
    return th__err(db, TH_EIO, "cannot keep the day's salt");
  unsigned char buf[16 + 16 + 512];
  size_t n = 0;
  memcpy(buf + n, &site_id, 8);
  n += 8;
  memcpy(buf + n, &page_id, 8);
  n += 8;
  const char *ip = who && who->ip ? who->ip : "";
  const char *ua = who && who->user_agent ? who->user_agent : "";
  size_t ipn = th__ip_bytes(ip, buf + n);
  if (ipn == 0) {
    ipn = strnlen(ip, 64);
    memcpy(buf + n, ip, ipn);
  }
  n += ipn;
  buf[n++] = 0;
  size_t uan = strnlen(ua, sizeof buf - n);
  memcpy(buf + n, ua, uan);
  n += uan;
  crypto_shorthash(out, buf, n, salt);
  sodium_memzero(salt, sizeof salt);
  sodium_memzero(buf, sizeof buf);
  return TH_OK;
}

/* ---- answer handles --------------------------------------------------------- */

int th__answer_tags(th_db *db, int64_t day, const unsigned char device[8],
                    const char *key, const th_feedback *fb,
                    unsigned char sel[8], unsigned char secret[8]) {
  if (key == NULL) {
    unsigned char r[16];
    randombytes_buf(r, sizeof r);
    memcpy(sel, r, 8);
    memcpy(secret, r + 8, 8);
    sodium_memzero(r, sizeof r);
    return TH_OK;
  }
  unsigned char salt[TH__SALT_BYTES];
  if (th__salt_for_day(db->keys, day, th_now(db), salt) < 0)
    return th__err(db, TH_EIO, "cannot keep the day's salt");
  /* The selector: the key on this device (and page: the device token is
   * the page's) under the day's salt. */
  crypto_generichash_state h;
  crypto_generichash_init(&h, salt, sizeof salt, 8);
  crypto_generichash_update(&h, (const unsigned char *)"sel", 4);
  crypto_generichash_update(&h, device, 8);
  crypto_generichash_update(&h, (const unsigned char *)key, strlen(key));
  crypto_generichash_final(&h, sel, 8);
  /* The secret: the selector and the answer itself, so that the same key
   * with another answer is told apart (TH_ECONFLICT). */
  unsigned char fields[8] = {'v', 'a', 'l', 0, (unsigned char)fb->useful,
                             (unsigned char)fb->rating,
                             (unsigned char)(fb->comment != NULL), 0};
  crypto_generichash_init(&h, salt, sizeof salt, 8);
  crypto_generichash_update(&h, fields, sizeof fields);
  crypto_generichash_update(&h, sel, 8);
  crypto_generichash_update(&h, (const unsigned char *)fb->page,
                            strlen(fb->page) + 1);
  if (fb->comment)
    crypto_generichash_update(&h, (const unsigned char *)fb->comment,
                              strlen(fb->comment));
  crypto_generichash_final(&h, secret, 8);
  sodium_memzero(&h, sizeof h);
  sodium_memzero(salt, sizeof salt);
  return TH_OK;
}

void th__answer_verifier(th__keyring *kr, const unsigned char secret[8],
                         unsigned char out[8]) {
  crypto_shorthash(out, secret, 8, kr->s->answer);
}
