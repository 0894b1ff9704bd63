/*
 * powerloss.c: acknowledged means durable, even when the power goes.
 *
 * SIGKILL cannot show this: a killed process leaves everything it wrote in
 * the operating system's page cache, which reaches the disk anyway. A power
 * cut loses whatever was written but not yet synced. So this program
 * registers, as SQLite's default VFS, a "crash" VFS (after SQLite's own
 * crash tests, src/test6.c) that forwards to the unix VFS but keeps every
 * write in a memory image of its file until xSync: only then do the synced
 * bytes reach the real file (our "disk"). A simulated power cut keeps a
 * random half of the sectors written since the last sync (a disk may have
 * written some of them on its own) and forgets the rest, and the process
 * ends there and then.
 *
 * Each round forks a child that opens the database through the crash VFS
 * and writes - through the C API (th_vote, th_feedback_answer,
 * th_idea_submit, alone or in batches), or through the real HTTP server
 * (th_server_* on a uv loop, with client threads) - and reports each write
 * on a pipe only once the API returned success or the server answered 2xx:
 * what the library calls acknowledged. The power is cut after a random
 * number of file operations (possibly in the middle of a sync). In every
 * other round of the server mode the cut waits, once the count has run
 * out, for the next sync of a WAL file and comes in the middle of it, the
 * disk having been slow for 50 ms: a commit's own sync, during which a
 * server that answered before its commit was durable has had ample time
 * to be believed by its clients (a cut at a random operation finds that
 * window only now and then). The parent
 * then opens the database with the ordinary VFS, checks PRAGMA
 * integrity_check, and replays every acknowledged write, which must come
 * back as TH_DUPLICATE (it is there) and never TH_RECORDED (it was lost).
 *
 *   powerloss DIR api ROUNDS       writes through the C API
 *   powerloss DIR server ROUNDS    writes through the HTTP server
 *   powerloss DIR nosync ROUNDS    a broken disk that ignores xSync: must LOSE
 *   powerloss DIR normal ROUNDS    synchronous=NORMAL: must LOSE
 *
 * Exit status 0 when nothing acknowledged was lost, 1 when something was
 * (which the last two modes require), 2 on a set-up error. Prints TAP
 * comments ("# ...") about what it did.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "townhall.h"

#define SECTOR 512

/* ---- the crash VFS ---------------------------------------------------------- */

/* What the process sees of one file (the "page cache"): shared by every
 * handle open on the same path, as the kernel's would be. */
typedef struct image {
  struct image *next;
  char *path;
  unsigned char *data;
  sqlite3_int64 size, cap;
  sqlite3_int64 disk_size; /* size of the real file */
  unsigned char *dirty;    /* one flag per sector written since the last sync */
  sqlite3_int64 dirty_cap;
  int truncated;           /* a truncation not yet synced */
  sqlite3_file *real;      /* a real handle to write through at sync */
} image;

typedef struct cfile {
  sqlite3_file base;
  image *img; /* NULL: a nameless temporary file, passed straight through */
  sqlite3_file *real;
} cfile;

static sqlite3_vfs *unix_vfs;
static pthread_mutex_t vfs_lock = PTHREAD_MUTEX_INITIALIZER;
static image *images;
static long countdown = -1; /* operations until the power cut; -1: never */
static int honour_sync = 1; /* 0: the broken disk of the "nosync" mode */
static int cut_in_wal_sync; /* 1: the count running out arms the cut below */
static int cut_armed;       /* the power goes in the next WAL sync */
static unsigned rng_state = 1;

static unsigned rnd(void) {
  rng_state = rng_state * 1103515245u + 12345u;
  return (rng_state >> 8) & 0xffffff;
}

static int grow(image *im, sqlite3_int64 size) {
  if (size > im->cap) {
    sqlite3_int64 cap = im->cap ? im->cap : 65536;
    while (cap < size)
      cap *= 2;
    unsigned char *d = realloc(im->data, (size_t)cap);
    if (d == NULL)
      return SQLITE_NOMEM;
    memset(d + im->cap, 0, (size_t)(cap - im->cap));
    im->data = d;
    im->cap = cap;
  }
  sqlite3_int64 sectors = (size + SECTOR - 1) / SECTOR;
  if (sectors > im->dirty_cap) {
    sqlite3_int64 cap = im->dirty_cap ? im->dirty_cap : 128;
    while (cap < sectors)
      cap *= 2;
    unsigned char *d = realloc(im->dirty, (size_t)cap);
    if (d == NULL)
      return SQLITE_NOMEM;
    memset(d + im->dirty_cap, 0, (size_t)(cap - im->dirty_cap));
    im->dirty = d;
    im->dirty_cap = cap;
  }
  return SQLITE_OK;
}

/* Writes the dirty sectors of an image to its real file: all of them (a
 * sync), or each with probability 1/2 (what a disk got round to before the
 * power went). */
static void flush(image *im, int all) {
  if (im->real == NULL)
    return;
  sqlite3_int64 sectors = (im->size + SECTOR - 1) / SECTOR;
  for (sqlite3_int64 s = 0; s < sectors && s < im->dirty_cap; s++) {
    if (!im->dirty[s])
      continue;
    if (all || (rnd() & 1)) {
      sqlite3_int64 off = s * SECTOR;
      int n = (int)(im->size - off < SECTOR ? im->size - off : SECTOR);
      im->real->pMethods->xWrite(im->real, im->data + off, n, off);
      if (off + n > im->disk_size)
        im->disk_size = off + n;
    }
    if (all)
      im->dirty[s] = 0;
  }
  if (im->truncated && (all || (rnd() & 1))) {
    im->real->pMethods->xTruncate(im->real, im->size);
    im->disk_size = im->size;
  }
  if (all)
    im->truncated = 0;
}

static void power_cut(void) {
  for (image *im = images; im; im = im->next)
    flush(im, 0);
  _exit(0);
}

/* Counts one file operation; the power goes when the count runs out.
 * Called with vfs_lock held. */
static void tick(void) {
  if (countdown > 0 && --countdown == 0) {
    if (cut_in_wal_sync)
      cut_armed = 1;
    else
      power_cut();
  }
}

static int is_wal(const image *im) {
  size_t n = strlen(im->path);
  return n > 4 && strcmp(im->path + n - 4, "-wal") == 0;
}

static int c_close(sqlite3_file *f) {
  /* The image stays: writes not yet synced survive a close in the page
   * cache too, and the image has a real handle of its own. */
  cfile *c = (cfile *)f;
  int rc = c->real->pMethods->xClose(c->real);
  sqlite3_free(c->real);
  return rc;
}

static int c_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off) {
  cfile *c = (cfile *)f;
  if (c->img == NULL)
    return c->real->pMethods->xRead(c->real, buf, amt, off);
  pthread_mutex_lock(&vfs_lock);
  image *im = c->img;
  int rc = SQLITE_OK;
  sqlite3_int64 have = im->size - off;
  if (have >= amt) {
    memcpy(buf, im->data + off, (size_t)amt);
  } else {
    if (have > 0)
      memcpy(buf, im->data + off, (size_t)have);
    else
      have = 0;
    memset((char *)buf + have, 0, (size_t)(amt - have));
    rc = SQLITE_IOERR_SHORT_READ;
  }
  pthread_mutex_unlock(&vfs_lock);
  return rc;
}

static int c_write(sqlite3_file *f, const void *buf, int amt,
                   sqlite3_int64 off) {
  cfile *c = (cfile *)f;
  if (c->img == NULL)
    return c->real->pMethods->xWrite(c->real, buf, amt, off);
  pthread_mutex_lock(&vfs_lock);
  tick();
  image *im = c->img;
  int rc = grow(im, off + amt);
  if (rc == SQLITE_OK) {
    memcpy(im->data + off, buf, (size_t)amt);
    if (off + amt > im->size)
      im->size = off + amt;
    for (sqlite3_int64 s = off / SECTOR; s <= (off + amt - 1) / SECTOR; s++)
      im->dirty[s] = 1;
  }
  pthread_mutex_unlock(&vfs_lock);
  return rc;
}

static int c_truncate(sqlite3_file *f, sqlite3_int64 size) {
  cfile *c = (cfile *)f;
  if (c->img == NULL)
    return c->real->pMethods->xTruncate(c->real, size);
  pthread_mutex_lock(&vfs_lock);
  tick();
  image *im = c->img;
  int rc = SQLITE_OK;
  if (size < im->size) {
    memset(im->data + size, 0, (size_t)(im->size - size));
    im->size = size;
    im->truncated = 1;
  } else if (size > im->size) {
    rc = grow(im, size);
    if (rc == SQLITE_OK)
      im->size = size;
  }
  pthread_mutex_unlock(&vfs_lock);
  return rc;
}

static int c_sync(sqlite3_file *f, int flags) {
  (void)flags;
  cfile *c = (cfile *)f;
  if (c->img == NULL)
    return SQLITE_OK;
  pthread_mutex_lock(&vfs_lock);
  tick();
  if (cut_armed && is_wal(c->img)) {
    /* A slow disk: whatever the process does while this sync is under way
     * (answering clients, above all) happens, then the power goes. */
    pthread_mutex_unlock(&vfs_lock);
    usleep(50 * 1000);
    pthread_mutex_lock(&vfs_lock);
    power_cut();
  }
  if (honour_sync)
    flush(c->img, 1);
  pthread_mutex_unlock(&vfs_lock);
  /* No real fsync: the real file is the disk here, and this process
   * ending (never the machine) is all that ever happens to it. */
  return SQLITE_OK;
}

static int c_size(sqlite3_file *f, sqlite3_int64 *size) {
  cfile *c = (cfile *)f;
  if (c->img == NULL)
    return c->real->pMethods->xFileSize(c->real, size);
  pthread_mutex_lock(&vfs_lock);
  *size = c->img->size;
  pthread_mutex_unlock(&vfs_lock);
  return SQLITE_OK;
}

static int c_lock(sqlite3_file *f, int l) {
  return ((cfile *)f)->real->pMethods->xLock(((cfile *)f)->real, l);
}
static int c_unlock(sqlite3_file *f, int l) {
  return ((cfile *)f)->real->pMethods->xUnlock(((cfile *)f)->real, l);
}
static int c_reserved(sqlite3_file *f, int *out) {
  return ((cfile *)f)->real->pMethods->xCheckReservedLock(((cfile *)f)->real,
                                                          out);
}
static int c_fcntl(sqlite3_file *f, int op, void *arg) {
  /* Size hints would grow the real file behind the image's back; memory
   * mapping would read the real file instead of the image. */
  if (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_MMAP_SIZE ||
      op == SQLITE_FCNTL_CHUNK_SIZE)
    return op == SQLITE_FCNTL_MMAP_SIZE ? SQLITE_NOTFOUND : SQLITE_OK;
  return ((cfile *)f)->real->pMethods->xFileControl(((cfile *)f)->real, op,
                                                    arg);
}
static int c_sector(sqlite3_file *f) {
  return ((cfile *)f)->real->pMethods->xSectorSize(((cfile *)f)->real);
}
static int c_devchar(sqlite3_file *f) {
  return ((cfile *)f)->real->pMethods->xDeviceCharacteristics(
      ((cfile *)f)->real);
}
static int c_shmmap(sqlite3_file *f, int pg, int sz, int ext,
                    void volatile **pp) {
  return ((cfile *)f)->real->pMethods->xShmMap(((cfile *)f)->real, pg, sz, ext,
                                               pp);
}
static int c_shmlock(sqlite3_file *f, int off, int n, int flags) {
  return ((cfile *)f)->real->pMethods->xShmLock(((cfile *)f)->real, off, n,
                                                flags);
}
static void c_shmbarrier(sqlite3_file *f) {
  ((cfile *)f)->real->pMethods->xShmBarrier(((cfile *)f)->real);
}
static int c_shmunmap(sqlite3_file *f, int del) {
  return ((cfile *)f)->real->pMethods->xShmUnmap(((cfile *)f)->real, del);
}

static const sqlite3_io_methods c_methods = {
    2, /* no xFetch: every read goes through the image */
    c_close,   c_read,    c_write,    c_truncate,   c_sync,
    c_size,    c_lock,    c_unlock,   c_reserved,   c_fcntl,
    c_sector,  c_devchar, c_shmmap,   c_shmlock,    c_shmbarrier,
    c_shmunmap, NULL,     NULL};

static int c_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f,
                  int flags, int *out_flags) {
  (void)vfs;
  cfile *c = (cfile *)f;
  memset(c, 0, sizeof *c);
  c->real = sqlite3_malloc(unix_vfs->szOsFile);
  if (c->real == NULL)
    return SQLITE_NOMEM;
  memset(c->real, 0, (size_t)unix_vfs->szOsFile);
  int rc = unix_vfs->xOpen(unix_vfs, name, c->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    sqlite3_free(c->real);
    c->real = NULL;
    return rc;
  }
  c->base.pMethods = &c_methods;
  if (name == NULL)
    return SQLITE_OK;
  pthread_mutex_lock(&vfs_lock);
  image *im = images;
  while (im && strcmp(im->path, name) != 0)
    im = im->next;
  if (im == NULL) {
    im = calloc(1, sizeof *im);
    im->path = strdup(name);
    sqlite3_int64 size = 0;
    c->real->pMethods->xFileSize(c->real, &size);
    grow(im, size);
    if (size > 0)
      c->real->pMethods->xRead(c->real, im->data, (int)size, 0);
    im->size = im->disk_size = size;
    im->next = images;
    images = im;
  }
  if (im->real == NULL) {
    /* The image's own way to the disk, for power cuts: a handle opened
     * for it alone and never closed. */
    im->real = sqlite3_malloc(unix_vfs->szOsFile);
    memset(im->real, 0, (size_t)unix_vfs->szOsFile);
    int of = 0;
    if (unix_vfs->xOpen(unix_vfs, name, im->real,
                        (flags & ~(SQLITE_OPEN_CREATE | SQLITE_OPEN_EXCLUSIVE |
                                   SQLITE_OPEN_DELETEONCLOSE |
                                   SQLITE_OPEN_READONLY)) |
                            SQLITE_OPEN_READWRITE,
                        &of) != SQLITE_OK) {
      sqlite3_free(im->real);
      im->real = NULL;
    }
  }
  c->img = im;
  pthread_mutex_unlock(&vfs_lock);
  return SQLITE_OK;
}

static int c_delete(sqlite3_vfs *vfs, const char *name, int syncdir) {
  (void)vfs;
  pthread_mutex_lock(&vfs_lock);
  tick();
  for (image *im = images; im; im = im->next) {
    if (strcmp(im->path, name) == 0) {
      /* Deleting is immediate; forget what was cached of the file. */
      im->size = 0;
      im->disk_size = 0;
      im->truncated = 0;
      if (im->dirty)
        memset(im->dirty, 0, (size_t)im->dirty_cap);
      /* A file made again under this name is another file. */
      if (im->real) {
        im->real->pMethods->xClose(im->real);
        sqlite3_free(im->real);
        im->real = NULL;
      }
    }
  }
  pthread_mutex_unlock(&vfs_lock);
  return unix_vfs->xDelete(unix_vfs, name, syncdir);
}

static int c_access(sqlite3_vfs *v, const char *n, int fl, int *out) {
  (void)v;
  return unix_vfs->xAccess(unix_vfs, n, fl, out);
}
static int c_fullpath(sqlite3_vfs *v, const char *n, int no, char *out) {
  (void)v;
  return unix_vfs->xFullPathname(unix_vfs, n, no, out);
}
static int c_random(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  return unix_vfs->xRandomness(unix_vfs, n, out);
}
static int c_sleep(sqlite3_vfs *v, int us) {
  (void)v;
  return unix_vfs->xSleep(unix_vfs, us);
}
static int c_time(sqlite3_vfs *v, double *t) {
  (void)v;
  return unix_vfs->xCurrentTime(unix_vfs, t);
}
static int c_lasterr(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  return unix_vfs->xGetLastError(unix_vfs, n, out);
}
static int c_time64(sqlite3_vfs *v, sqlite3_int64 *t) {
  (void)v;
  return unix_vfs->xCurrentTimeInt64(unix_vfs, t);
}

static sqlite3_vfs crash_vfs = {
    2,    sizeof(cfile), 512,       NULL,       "crash",  NULL,
    c_open, c_delete,   c_access,  c_fullpath, NULL,     NULL,
    NULL, NULL,         c_random,  c_sleep,    c_time,   c_lasterr,
    c_time64, NULL,     NULL,      NULL};

static void crash_vfs_install(long ops, int sync_ok, int in_wal_sync,
                              unsigned seed) {
  unix_vfs = sqlite3_vfs_find("unix");
  crash_vfs.mxPathname = unix_vfs->mxPathname;
  countdown = ops;
  honour_sync = sync_ok;
  cut_in_wal_sync = in_wal_sync;
  rng_state = seed;
  sqlite3_vfs_register(&crash_vfs, 1);
}

/* ---- the workload ----------------------------------------------------------- */

#define SITE "pl"
#define IDEAS 12
#define PAGES 8

static const char *dir;
static char db_path[4096];
static int ack_fd = -1;

/* A clock that stays on one day, so that a feedback answer's retry (its
 * idempotency key, from the same device, the same day) can be replayed
 * after every cut. */
static th_time real_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (th_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
static th_time started_ms;
static th_time fixed_now(void *unused) {
  (void)unused;
  /* 2026-03-02T10:00Z plus the time this program has been running. */
  return INT64_C(1772445600000) + (real_ms() - started_ms);
}

static int open_db(th_db **db, int synchronous) {
  th_open_options o = {.size = sizeof(o), .now = fixed_now, .synchronous = synchronous};
  int rc = th_open(db, db_path, &o);
  if (rc != TH_OK) {
    fprintf(stderr, "# th_open: %s\n", *db ? th_errmsg(*db) : th_strerror(rc));
    th_close(*db);
    *db = NULL;
  }
  return rc;
}

/* One acknowledged write, as a line on the pipe:
 *   V <resident> <idea> <value>     a resident's vote
 *   D <user agent> <idea> <value>   a device's vote (127.0.0.1)
 *   F <user agent> <page> <useful> <rating>   an answer (its key: the agent)
 *   I <idea id>                      an idea submitted */
static void ack(const char *line) {
  size_t n = strlen(line);
  while (n > 0) {
    ssize_t w = write(ack_fd, line, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      _exit(3);
    line += w;
    n -= (size_t)w;
  }
}

static void page_url(int p, char *out, size_t cap) {
  snprintf(out, cap, "https://www.example.gov.uk/page-%d", p);
}

/* Through the C API: single writes and batches, until the power goes. */
static void child_api(int round, int synchronous) {
  th_db *db = NULL;
  if (open_db(&db, synchronous) != TH_OK)
    _exit(2);
  char lines[16][200];
  for (int i = 0;; i++) {
    int batch = (rnd() % 4 == 0) ? 1 + (int)(rnd() % 8) : 0;
    int n = batch ? batch : 1, k = 0;
    if (batch && th_batch_begin(db) != TH_OK)
      continue;
    for (int j = 0; j < n; j++) {
      unsigned what = rnd() % 8;
      char who[64];
      int rc;
      if (what < 4) {
        snprintf(who, sizeof who, "resident-%d-%d-%d", round, i, j);
        int64_t idea = 1 + (int64_t)(rnd() % IDEAS);
        int value = (rnd() % 3 == 0) ? -1 : 1;
        th_who w = {.resident = who};
        rc = th_vote(db, SITE, &w, idea, value, NULL);
        snprintf(lines[k], sizeof lines[k], "V %s %lld %d\n", who,
                 (long long)idea, value);
      } else if (what < 7) {
        snprintf(who, sizeof who, "agent-%d-%d-%d", round, i, j);
        char page[128];
        int p = (int)(rnd() % PAGES);
        page_url(p, page, sizeof page);
        int useful = (int)(rnd() % 2), rating = (int)(rnd() % 6);
        th_who w = {.ip = "192.0.2.1", .user_agent = who};
        th_feedback fb = {.size = sizeof(fb), .page = page, .useful = useful, .rating = rating};
        rc = th_feedback_answer(db, SITE, &w, &fb, who, NULL);
        snprintf(lines[k], sizeof lines[k], "F %s %d %d %d\n", who, p, useful,
                 rating);
      } else {
        snprintf(who, sizeof who, "author-%d-%d-%d", round, i, j);
        char title[96];
        snprintf(title, sizeof title, "Idea from round %d write %d.%d", round,
                 i, j);
        th_who w = {.resident = who};
        th_idea_new idea = {.size = sizeof(idea), .title = title};
        int64_t id = 0;
        rc = th_idea_submit(db, SITE, &w, &idea, &id);
        snprintf(lines[k], sizeof lines[k], "I %lld\n", (long long)id);
      }
      if (rc == TH_RECORDED) {
        if (batch)
          k++; /* acknowledged only once the batch commits */
        else
          ack(lines[0]);
      }
    }
    if (batch && th_batch_commit(db) == TH_OK)
      for (int j = 0; j < k; j++)
        ack(lines[j]);
  }
}

/* Through the HTTP server: the server on this thread's uv loop, clients on
 * threads of their own, each request on a fresh connection. */
static atomic_int server_port;

static int http(const char *method, const char *path, const char *ua,
                const char *body) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)atomic_load(&server_port))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
    close(s);
    return -1;
  }
  /* The user agent doubles as the idempotency key: unique per write, so
   * that verify() can replay a feedback answer as its retry. */
  char req[1024];
  int n = snprintf(req, sizeof req,
                   "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: %s\r\n"
                   "Idempotency-Key: %s\r\n"
                   "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n%s",
                   method, path, ua, ua, strlen(body), body);
  if (write(s, req, (size_t)n) != n) {
    close(s);
    return -1;
  }
  char resp[4096];
  size_t got = 0;
  ssize_t r;
  while (got < sizeof resp - 1 &&
         (r = read(s, resp + got, sizeof resp - 1 - got)) > 0)
    got += (size_t)r;
  resp[got] = '\0';
  close(s);
  int status = 0;
  if (sscanf(resp, "HTTP/1.1 %d", &status) != 1)
    return -1;
  return status;
}

typedef struct client {
  pthread_t thread;
  int round, id;
  unsigned seed;
} client;

static void *client_main(void *arg) {
  client *c = arg;
  unsigned st = c->seed;
  for (int i = 0;; i++) {
    st = st * 1103515245u + 12345u;
    char ua[64], body[256], path[128], line[200];
    snprintf(ua, sizeof ua, "srv-agent-%d-%d-%d", c->round, c->id, i);
    int status;
    if ((st >> 8) % 2) {
      int p = (int)((st >> 12) % PAGES), useful = (int)((st >> 16) % 2),
          rating = (int)((st >> 18) % 6);
      char page[128];
      page_url(p, page, sizeof page);
      if (rating)
        snprintf(body, sizeof body,
                 "{\"page\":\"%s\",\"useful\":%s,\"rating\":%d}", page,
                 useful ? "true" : "false", rating);
      else
        snprintf(body, sizeof body, "{\"page\":\"%s\",\"useful\":%s}", page,
                 useful ? "true" : "false");
      status = http("POST", "/v1/sites/" SITE "/feedback", ua, body);
      snprintf(line, sizeof line, "F %s %d %d %d\n", ua, p, useful, rating);
    } else {
      int idea = 1 + (int)((st >> 12) % IDEAS);
      snprintf(path, sizeof path, "/v1/sites/" SITE "/ideas/%d/vote", idea);
      status = http("PUT", path, ua, "{\"value\":1}");
      snprintf(line, sizeof line, "D %s %d 1\n", ua, idea);
    }
    if (status == 200 || status == 201)
      ack(line);
    else if (status < 0)
      usleep(2000);
  }
  return NULL;
}

static void child_server(int round) {
  th_db *db = NULL;
  if (open_db(&db, 2) != TH_OK)
    _exit(2);
  uv_loop_t loop;
  uv_loop_init(&loop);
  th_server_config cfg = {.size = sizeof(cfg), .port = -1,
                          .rate_per_minute = 1000000,
                          .log_level = 1,
                          .purge_interval_s = -1};
  th_server *srv = NULL;
  if (th_server_new(&srv, db, &loop, &cfg) != TH_OK ||
      th_server_listen(srv) != TH_OK)
    _exit(2);
  atomic_store(&server_port, th_server_port(srv));
  client clients[3];
  for (int i = 0; i < 3; i++) {
    clients[i] = (client){.round = round, .id = i, .seed = rnd() + (unsigned)i};
    pthread_create(&clients[i].thread, NULL, client_main, &clients[i]);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  _exit(4); /* the power cut ends this process, never the loop */
}

/* ---- the parent: set-up, cuts, checks --------------------------------------- */

typedef struct acks {
  char **lines;
  size_t n, cap;
} acks;

static void acks_add(acks *a, const char *line) {
  if (a->n == a->cap) {
    a->cap = a->cap ? a->cap * 2 : 1024;
    a->lines = realloc(a->lines, a->cap * sizeof *a->lines);
  }
  a->lines[a->n++] = strdup(line);
}

static int setup(void) {
  th_db *db = NULL;
  if (open_db(&db, 2) != TH_OK)
    return -1;
  th_site s = {.size = sizeof(th_site),
               .slug = SITE,
               .name = "Power loss",
               .allow_anonymous = 1};
  int rc = th_site_create(db, "powerloss", &s, NULL);
  for (int i = 0; rc >= 0 && i < IDEAS; i++) {
    char title[64];
    snprintf(title, sizeof title, "Seed idea number %d", i + 1);
    th_who w = {.resident = "seed-author"};
    th_idea_new n = {.size = sizeof(n), .title = title};
    int64_t id;
    rc = th_idea_submit(db, SITE, &w, &n, &id);
  }
  if (rc < 0)
    fprintf(stderr, "# set-up: %s\n", th_errmsg(db));
  th_close(db);
  return rc < 0 ? -1 : 0;
}

static int integrity_ok(void) {
  sqlite3 *s = NULL;
  int ok = 0;
  if (sqlite3_open_v2(db_path, &s, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s, "PRAGMA integrity_check", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      const char *r = (const char *)sqlite3_column_text(st, 0);
      ok = r && strcmp(r, "ok") == 0;
      if (!ok)
        printf("# integrity_check: %s\n", r ? r : "(null)");
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(s);
  return ok;
}

/* Replays acknowledged writes [from, a->n): each must be a duplicate (a
 * feedback answer replayed as its retry: the same key, device and answer).
 * Returns how many were lost. */
static size_t verify(th_db *db, const acks *a, size_t from, int quiet) {
  size_t lost = 0;
  for (size_t i = from; i < a->n; i++) {
    const char *l = a->lines[i];
    char who[128];
    long long x;
    int v, u, r, p;
    int rc = TH_DUPLICATE;
    if (sscanf(l, "V %127s %lld %d", who, &x, &v) == 3) {
      th_who w = {.resident = who};
      rc = th_vote(db, SITE, &w, x, v, NULL);
    } else if (sscanf(l, "D %127s %lld %d", who, &x, &v) == 3) {
      th_who w = {.ip = "127.0.0.1", .user_agent = who};
      rc = th_vote(db, SITE, &w, x, v, NULL);
    } else if (sscanf(l, "F %127s %d %d %d", who, &p, &u, &r) == 4) {
      char page[128];
      page_url(p, page, sizeof page);
      th_who w = {.ip = strncmp(who, "srv-", 4) == 0 ? "127.0.0.1"
                                                      : "192.0.2.1",
                  .user_agent = who};
      th_feedback fb = {.size = sizeof(fb), .page = page, .useful = u, .rating = r};
      rc = th_feedback_answer(db, SITE, &w, &fb, who, NULL);
    } else if (sscanf(l, "I %lld", &x) == 1) {
      th_idea *idea = NULL;
      rc = th_idea_get(db, SITE, x, &idea) == TH_OK ? TH_DUPLICATE
                                                          : TH_ENOTFOUND;
      th_idea_free(idea);
    }
    if (rc != TH_DUPLICATE) {
      lost++;
      if (!quiet && lost <= 5)
        printf("# LOST an acknowledged write: %.*s (replay: %s)\n",
               (int)strcspn(l, "\n"), l, th_err_name(rc));
    }
  }
  return lost;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: powerloss DIR api|server|nosync|normal ROUNDS\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  started_ms = real_ms();
  signal(SIGPIPE, SIG_IGN);
  dir = argv[1];
  const char *mode = argv[2];
  int rounds = atoi(argv[3]);
  int server = strcmp(mode, "server") == 0;
  int nosync = strcmp(mode, "nosync") == 0;
  int normal = strcmp(mode, "normal") == 0;
  if (!server && !nosync && !normal && strcmp(mode, "api") != 0)
    return 2;
  snprintf(db_path, sizeof db_path, "%s/powerloss-%s.db", dir, mode);
  unlink(db_path);
  char side[4200];
  snprintf(side, sizeof side, "%s-wal", db_path);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", db_path);
  unlink(side);
  snprintf(side, sizeof side, "%s.key", db_path);
  unlink(side);
  snprintf(side, sizeof side, "%s.key.salts", db_path);
  unlink(side);
  if (setup() != 0)
    return 2;

  acks all = {0};
  size_t lost = 0, corrupt = 0;
  unsigned seed = 0x5eed0000u + (unsigned)(server * 7 + nosync * 13 + normal * 29);
  for (int round = 0; round < rounds; round++) {
    int fds[2];
    if (pipe(fds) != 0)
      return 2;
    rng_state = seed + (unsigned)round * 7919u;
    long ops = 20 + (long)(rnd() % (server ? 1500 : 3000));
    unsigned child_seed = rnd();
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      ack_fd = fds[1];
      crash_vfs_install(ops, !nosync, server && (round & 1), child_seed);
      if (server)
        child_server(round);
      else
        child_api(round, normal ? 1 : 2);
      _exit(5);
    }
    close(fds[1]);
    /* Read the acknowledgements as they come; the child's end closes when
     * the power goes. A round that takes too long is a hang. */
    size_t first = all.n;
    FILE *in = fdopen(fds[0], "r");
    char line[256];
    alarm(60);
    while (fgets(line, sizeof line, in))
      acks_add(&all, line);
    fclose(in);
    int status = 0;
    waitpid(pid, &status, 0);
    alarm(0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      printf("# round %d: the writer ended with status %d before the cut\n",
             round, status);
      return 2;
    }
    /* After the power comes back: the ordinary VFS, as on a reboot. */
    if (!integrity_ok()) {
      corrupt++;
      printf("# round %d: integrity_check failed after the cut\n", round);
      if (nosync || normal)
        break;
      continue;
    }
    th_db *db = NULL;
    if (open_db(&db, 2) != TH_OK) {
      corrupt++;
      printf("# round %d: the database does not open after the cut\n", round);
      break;
    }
    size_t l = verify(db, &all, first, nosync || normal);
    th_close(db);
    if (l)
      printf("# round %d: %zu of %zu acknowledged writes lost (cut after %ld "
             "file operations)\n",
             round, l, all.n - first, ops);
    lost += l;
    if ((nosync || normal) && lost)
      break;
  }
  /* At the end, everything acknowledged in any round is still there. */
  if (!nosync && !normal && corrupt == 0) {
    th_db *db = NULL;
    if (open_db(&db, 2) == TH_OK) {
      size_t l = verify(db, &all, 0, 0);
      th_close(db);
      if (l)
        printf("# at the end: %zu acknowledged writes missing\n", l);
      lost += l;
    }
  }
  printf("# %s: %d power cuts, %zu acknowledged writes, %zu lost, %zu "
         "corrupt\n",
         mode, rounds, all.n, lost, corrupt);
  for (size_t i = 0; i < all.n; i++)
    free(all.lines[i]);
  free(all.lines);
  return lost || corrupt ? 1 : 0;
}
