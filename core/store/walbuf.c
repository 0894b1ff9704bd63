/*
 * walbuf.c: a VFS shim that gathers the WAL's writes into a few large
 * system calls per commit.
 *
 * SQLite writes each WAL frame as two pwrite() calls (its 24-byte header,
 * then the page), so a commit of a batch that dirtied a hundred pages makes
 * two hundred system calls before its one fsync: on a virtual machine,
 * where a system call costs tens of microseconds, that was the largest
 * single cost of every write (bench/PROFILE.md). This shim sits over the
 * VFS that is the default when a database is opened and, for a WAL file
 * only, keeps consecutive writes in a buffer that goes to the file in
 * writes of up to 124 KiB (the 120 calls of a commit of sixty pages become
 * two):
 *
 *   - before the WAL is synced (xSync): so the commit's fsync covers
 *     exactly what it covered before, at the same point, and the answer to
 *     a client still waits for it;
 *   - before anything else reads, sizes, truncates, locks or closes it,
 *     before a write that does not follow on, and when the buffer is full;
 *   - when the database file's shared memory barrier is crossed
 *     (xShmBarrier): SQLite publishes a commit to readers by writing the
 *     wal-index header around that barrier, so no reader can see a frame
 *     that is not in the file yet.
 *
 * Gathering is switched on per connection, by TH__FCNTL_WAL_BUFFER, only
 * where every commit syncs the WAL (synchronous=FULL or EXTRA): there a
 * write error surfaces at xSync, inside the commit, and the commit fails
 * as it would have without the shim. With synchronous=NORMAL a commit is
 * published without a sync, at a barrier that cannot report an error, so
 * such connections write through unchanged.
 *
 * A failed flush drops what was gathered, and the error sticks: every later
 * write, sync or read of the WAL fails with it, so the transaction whose
 * frames were lost cannot commit (SQLite believes frames it spilled earlier
 * in the transaction are in the file). It is cleared, with anything still
 * gathered, when the connection releases the WAL's write lock: a commit
 * empties the buffer at its sync, so what is left then belongs to a
 * transaction that did not commit, and must never reach the file after
 * another connection may have written there.
 *
 * A crash loses nothing that was acknowledged: what is gathered was never
 * synced, and the WAL's frame checksums make SQLite ignore a torn tail at
 * recovery, as they do for the writes it makes itself. The power-loss test
 * (tests/faults/powerloss.c) runs through this shim over its own crash VFS.
 */
#include "sqlite.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Enough for a commit of 250 pages of 4 KiB; a larger one is written in
 * pieces of this size. Allocated on a WAL's first gathered write: readers
 * never write the WAL and never allocate it. */
#define TH__WALBUF_BYTES ((size_t)1024 * 1024)
/* The most one write to the wrapped VFS may carry: SQLite's unix VFS masks
 * a write's length to 17 bits (seekAndWriteFd: nBuf &= 0x1ffff), since its
 * own writes are at most a 64 KiB page and its header. 31 pages of 4 KiB. */
#define TH__WALBUF_PIECE 126976 /* 31 * 4096 */

typedef struct th__wfile th__wfile;
struct th__wfile {
  sqlite3_file base;
  sqlite3_file *real; /* the wrapped VFS's file, right after this struct */
  bool is_wal;
  bool gather;     /* a database file: its WAL's writes may be gathered */
  th__wfile *main; /* a WAL file: its database's file (NULL once closed) */
  th__wfile *wal;  /* a database file: its open WAL, if any */
  unsigned char *buf;
  size_t len;
  sqlite3_int64 off; /* where buf[0] goes in the file */
  int err;           /* a failed flush, until the write lock is released */
};

#define TH__WFILE_SIZE ((sizeof(th__wfile) + 7) & ~(size_t)7)
#define TH__REAL(f) (((th__wfile *)(f))->real)
#define TH__RM(f) (TH__REAL(f)->pMethods)
/* The body of a method that must see the file as written: whatever is
 * gathered goes out first, then the call goes to the wrapped file. */
#define TH__FLUSHED(pf, call)                                                 \
  int rc = th__wal_flush((th__wfile *)(pf));                                  \
  return rc != SQLITE_OK ? rc : (call)

/* Writes what is gathered. On failure it is dropped and the error
 * returned: SQLite treats the frames as unwritten. */
static int th__wal_flush(th__wfile *f) {
  if (f->err != SQLITE_OK)
    return f->err;
  int rc = SQLITE_OK;
  for (size_t done = 0; done < f->len && rc == SQLITE_OK;) {
    size_t n = f->len - done < TH__WALBUF_PIECE ? f->len - done
                                                : TH__WALBUF_PIECE;
    rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n,
                                   f->off + (sqlite3_int64)done);
    done += n;
  }
  f->len = 0;
  f->err = rc;
  return rc;
}

static int th__wclose(sqlite3_file *pf) {
  th__wfile *f = (th__wfile *)pf;
  int rc = th__wal_flush(f);
  if (f->is_wal && f->main)
    f->main->wal = NULL;
  if (!f->is_wal && f->wal)
    f->wal->main = NULL;
  sqlite3_free(f->buf);
  f->buf = NULL;
  int rc2 = f->real->pMethods->xClose(f->real);
  return rc != SQLITE_OK ? rc : rc2;
}

static int th__wread(sqlite3_file *pf, void *out, int amt,
                     sqlite3_int64 off) {
  TH__FLUSHED(pf, TH__RM(pf)->xRead(TH__REAL(pf), out, amt, off));
}

static int th__wwrite(sqlite3_file *pf, const void *data, int amt,
                      sqlite3_int64 off) {
  th__wfile *f = (th__wfile *)pf;
  if (f->err != SQLITE_OK)
    return f->err;
  if (!f->is_wal || f->main == NULL || !f->main->gather || amt <= 0 ||
      amt > TH__WALBUF_PIECE) {
    TH__FLUSHED(pf, TH__RM(pf)->xWrite(f->real, data, amt, off));
  }
  if (f->len > 0 && (off != f->off + (sqlite3_int64)f->len ||
                     f->len + (size_t)amt > TH__WALBUF_BYTES)) {
    int rc = th__wal_flush(f);
    if (rc != SQLITE_OK)
      return rc;
  }
  if (f->buf == NULL && (f->buf = sqlite3_malloc64(TH__WALBUF_BYTES)) == NULL)
    return TH__RM(pf)->xWrite(f->real, data, amt, off);
  if (f->len == 0)
    f->off = off;
  memcpy(f->buf + f->len, data, (size_t)amt);
  f->len += (size_t)amt;
  return SQLITE_OK;
}

static int th__wtruncate(sqlite3_file *pf, sqlite3_int64 size) {
  TH__FLUSHED(pf, TH__RM(pf)->xTruncate(TH__REAL(pf), size));
}

static int th__wsync(sqlite3_file *pf, int flags) {
  TH__FLUSHED(pf, TH__RM(pf)->xSync(TH__REAL(pf), flags));
}

static int th__wsize(sqlite3_file *pf, sqlite3_int64 *size) {
  TH__FLUSHED(pf, TH__RM(pf)->xFileSize(TH__REAL(pf), size));
}

static int th__wlock(sqlite3_file *pf, int level) {
  TH__FLUSHED(pf, TH__RM(pf)->xLock(TH__REAL(pf), level));
}

static int th__wunlock(sqlite3_file *pf, int level) {
  TH__FLUSHED(pf, TH__RM(pf)->xUnlock(TH__REAL(pf), level));
}

static int th__wreserved(sqlite3_file *pf, int *out) {
  return TH__RM(pf)->xCheckReservedLock(TH__REAL(pf), out);
}

static int th__wcontrol(sqlite3_file *pf, int op, void *arg) {
  th__wfile *f = (th__wfile *)pf;
  if (op == TH__FCNTL_WAL_BUFFER) {
    if (f->is_wal)
      return SQLITE_NOTFOUND;
    f->gather = *(int *)arg != 0;
    return f->wal ? th__wal_flush(f->wal) : SQLITE_OK;
  }
  int rc = th__wal_flush(f);
  return rc != SQLITE_OK ? rc : TH__RM(pf)->xFileControl(f->real, op, arg);
}

static int th__wsector(sqlite3_file *pf) {
  return TH__RM(pf)->xSectorSize(TH__REAL(pf));
}

static int th__wdevice(sqlite3_file *pf) {
  return TH__RM(pf)->xDeviceCharacteristics(TH__REAL(pf));
}

static int th__wshm_map(sqlite3_file *pf, int page, int size, int extend,
                        void volatile **out) {
  return TH__RM(pf)->xShmMap(TH__REAL(pf), page, size, extend, out);
}

/* Slot 0 of the shared-memory locks is the WAL's write lock. */
static int th__wshm_lock(sqlite3_file *pf, int offset, int n, int flags) {
  th__wfile *f = (th__wfile *)pf;
  if (f->wal && (flags & SQLITE_SHM_UNLOCK) && offset == 0 && n > 0) {
    f->wal->len = 0; /* a transaction that did not commit */
    f->wal->err = SQLITE_OK;
  }
  return TH__RM(pf)->xShmLock(f->real, offset, n, flags);
}

/* SQLite writes the wal-index header around this barrier to publish a
 * commit: the WAL must hold every frame before then. */
static void th__wshm_barrier(sqlite3_file *pf) {
  th__wfile *f = (th__wfile *)pf;
  if (f->wal)
    (void)th__wal_flush(f->wal);
  TH__RM(pf)->xShmBarrier(f->real);
}

static int th__wshm_unmap(sqlite3_file *pf, int delete_flag) {
  return TH__RM(pf)->xShmUnmap(TH__REAL(pf), delete_flag);
}

static int th__wfetch(sqlite3_file *pf, sqlite3_int64 off, int amt,
                      void **out) {
  TH__FLUSHED(pf, TH__RM(pf)->xFetch(TH__REAL(pf), off, amt, out));
}

static int th__wunfetch(sqlite3_file *pf, sqlite3_int64 off, void *p) {
  return TH__RM(pf)->xUnfetch(TH__REAL(pf), off, p);
}

/* One table per iVersion of the wrapped file's methods, so that SQLite
 * never calls through to a method the wrapped VFS does not have. */
#define TH__WMETHODS(v)                                                      \
  {v,                th__wclose,       th__wread,      th__wwrite,           \
   th__wtruncate,    th__wsync,        th__wsize,      th__wlock,            \
   th__wunlock,      th__wreserved,    th__wcontrol,   th__wsector,          \
   th__wdevice,      th__wshm_map,     th__wshm_lock,  th__wshm_barrier,     \
   th__wshm_unmap,   th__wfetch,       th__wunfetch}
static const sqlite3_io_methods th__wmethods[3] = {
    TH__WMETHODS(1), TH__WMETHODS(2), TH__WMETHODS(3)};

static int th__wopen(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf,
                     int flags, int *out_flags) {
  sqlite3_vfs *base = vfs->pAppData;
  th__wfile *f = (th__wfile *)pf;
  memset(f, 0, sizeof *f);
  f->real = (sqlite3_file *)((char *)pf + TH__WFILE_SIZE);
  int rc = base->xOpen(base, name, f->real, flags, out_flags);
  const sqlite3_io_methods *m = f->real->pMethods;
  if (m == NULL) /* nothing to close */
    return rc;
  int v = m->iVersion < 1 ? 1 : m->iVersion > 3 ? 3 : m->iVersion;
  pf->pMethods = &th__wmethods[v - 1];
  if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) && name) {
    sqlite3_file *db = sqlite3_database_file_object(name);
    if (db && db->pMethods >= &th__wmethods[0] &&
        db->pMethods <= &th__wmethods[2]) {
      f->is_wal = true;
      f->main = (th__wfile *)db;
      f->main->wal = f;
    }
  }
  return rc;
}

#define TH__VFS(f) ((sqlite3_vfs *)(f)->pAppData)
static int th__vdelete(sqlite3_vfs *v, const char *name, int sync_dir) {
  return TH__VFS(v)->xDelete(TH__VFS(v), name, sync_dir);
}
static int th__vaccess(sqlite3_vfs *v, const char *name, int flags,
                       int *out) {
  return TH__VFS(v)->xAccess(TH__VFS(v), name, flags, out);
}
static int th__vfull(sqlite3_vfs *v, const char *name, int n, char *out) {
  return TH__VFS(v)->xFullPathname(TH__VFS(v), name, n, out);
}
static void *th__vdlopen(sqlite3_vfs *v, const char *name) {
  return TH__VFS(v)->xDlOpen(TH__VFS(v), name);
}
static void th__vdlerror(sqlite3_vfs *v, int n, char *out) {
  TH__VFS(v)->xDlError(TH__VFS(v), n, out);
}
static void (*th__vdlsym(sqlite3_vfs *v, void *h, const char *sym))(void) {
  return TH__VFS(v)->xDlSym(TH__VFS(v), h, sym);
}
static void th__vdlclose(sqlite3_vfs *v, void *h) {
  TH__VFS(v)->xDlClose(TH__VFS(v), h);
}
static int th__vrandom(sqlite3_vfs *v, int n, char *out) {
  return TH__VFS(v)->xRandomness(TH__VFS(v), n, out);
}
static int th__vsleep(sqlite3_vfs *v, int us) {
  return TH__VFS(v)->xSleep(TH__VFS(v), us);
}
static int th__vtime(sqlite3_vfs *v, double *out) {
  return TH__VFS(v)->xCurrentTime(TH__VFS(v), out);
}
static int th__verror(sqlite3_vfs *v, int n, char *out) {
  return TH__VFS(v)->xGetLastError ? TH__VFS(v)->xGetLastError(TH__VFS(v), n, out)
                                   : 0;
}
static int th__vtime64(sqlite3_vfs *v, sqlite3_int64 *out) {
  return TH__VFS(v)->xCurrentTimeInt64(TH__VFS(v), out);
}
static int th__vset(sqlite3_vfs *v, const char *name,
                    sqlite3_syscall_ptr p) {
  return TH__VFS(v)->xSetSystemCall(TH__VFS(v), name, p);
}
static sqlite3_syscall_ptr th__vget(sqlite3_vfs *v, const char *name) {
  return TH__VFS(v)->xGetSystemCall(TH__VFS(v), name);
}
static const char *th__vnext(sqlite3_vfs *v, const char *name) {
  return TH__VFS(v)->xNextSystemCall(TH__VFS(v), name);
}

/* One shim per wrapped VFS, made on first use and kept (registered with
 * SQLite) for the life of the process. */
static struct {
  sqlite3_vfs vfs;
  char name[64];
} th__shims[8];
static unsigned th__nshims;
static pthread_mutex_t th__shims_lock = PTHREAD_MUTEX_INITIALIZER;

const char *th__walbuf_vfs(void) {
  sqlite3_vfs *base = sqlite3_vfs_find(NULL);
  if (base == NULL || base->iVersion < 1)
    return NULL;
  const char *name = NULL;
  pthread_mutex_lock(&th__shims_lock);
  for (unsigned i = 0; i < th__nshims && name == NULL; i++)
    if (th__shims[i].vfs.pAppData == base || &th__shims[i].vfs == base)
      name = th__shims[i].name;
  if (name == NULL && th__nshims < TH__ARRAY_SIZE(th__shims)) {
    unsigned i = th__nshims;
    sqlite3_vfs *v = &th__shims[i].vfs;
    snprintf(th__shims[i].name, sizeof th__shims[i].name, "townhall-%u:%.40s",
             i, base->zName ? base->zName : "");
    /* The methods of a version are there only from that version on. */
    bool v2 = base->iVersion >= 2, v3 = base->iVersion >= 3;
    *v = (sqlite3_vfs){
        .iVersion = v3 ? 3 : v2 ? 2 : 1,
        .szOsFile = (int)TH__WFILE_SIZE + base->szOsFile,
        .mxPathname = base->mxPathname,
        .zName = th__shims[i].name,
        .pAppData = base,
        .xOpen = th__wopen,
        .xDelete = th__vdelete,
        .xAccess = th__vaccess,
        .xFullPathname = th__vfull,
        .xDlOpen = base->xDlOpen ? th__vdlopen : NULL,
        .xDlError = base->xDlError ? th__vdlerror : NULL,
        .xDlSym = base->xDlSym ? th__vdlsym : NULL,
        .xDlClose = base->xDlClose ? th__vdlclose : NULL,
        .xRandomness = th__vrandom,
        .xSleep = th__vsleep,
        .xCurrentTime = th__vtime,
        .xGetLastError = th__verror,
        .xCurrentTimeInt64 = v2 && base->xCurrentTimeInt64 ? th__vtime64 : NULL,
        .xSetSystemCall = v3 && base->xSetSystemCall ? th__vset : NULL,
        .xGetSystemCall = v3 && base->xGetSystemCall ? th__vget : NULL,
        .xNextSystemCall = v3 && base->xNextSystemCall ? th__vnext : NULL,
    };
    if (sqlite3_vfs_register(v, 0) == SQLITE_OK) {
      th__nshims++;
      name = th__shims[i].name;
    }
  }
  pthread_mutex_unlock(&th__shims_lock);
  return name;
}
