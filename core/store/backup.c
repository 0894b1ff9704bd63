/*
 * backup.c: consistent online copies of a database (SQLite's backup API).
 */
#include "sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int th__fsync_file(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

int th__sqlite_backup(th_db *db, const char *dest) {
  th__clear_err(db);
  if (dest == NULL || dest[0] == '\0')
    return th__err(db, TH_EINVAL, "no backup destination given");
  struct stat sb;
  if (stat(dest, &sb) == 0)
    return th__err(db, TH_EEXIST, "%s already exists; not overwriting it",
                   dest);
  size_t n = strlen(dest) + 5;
  char *tmp = malloc(n);
  if (tmp == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");
  snprintf(tmp, n, "%s.tmp", dest);
  unlink(tmp);
  /* A backup holds what the database holds: readable by its owner alone
   * (SQLite would create it 0644), and so is its journal while it is
   * written. */
  if (th__create_private(tmp) != 0) {
    int e = errno;
    free(tmp);
    return th__err(db, e == ENOSPC ? TH_EFULL : TH_EIO, "creating %s: %s",
                   dest, strerror(e));
  }
  sqlite3 *out = NULL;
  int rc = sqlite3_open_v2(tmp, &out,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  int code = TH_OK;
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(out, 5000);
    sqlite3_backup *b = sqlite3_backup_init(out, "main", th__sql(db), "main");
    if (b == NULL) {
      rc = sqlite3_errcode(out);
    } else {
      /* All pages in one step: one read transaction, one snapshot. Busy
       * for as long as the handle's busy timeout at most, never for ever. */
      int waits =
          (db->opt.busy_timeout_ms > 0 ? db->opt.busy_timeout_ms : 5000) / 50;
      for (;;) {
        rc = sqlite3_backup_step(b, -1);
        if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || waits-- <= 0)
          break;
        sqlite3_sleep(50);
      }
      int frc = sqlite3_backup_finish(b);
      if (rc == SQLITE_DONE)
        rc = frc;
    }
    /* A self-contained file: no -wal beside it to forget. */
    if (rc == SQLITE_OK)
      rc = sqlite3_exec(out, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
  }
  if (rc != SQLITE_OK) {
    code = (rc & 0xff) == SQLITE_FULL ? TH_EFULL
           : (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED
               ? TH_EBUSY
               : TH_EIO;
    th__err(db, code, "backing up to %s: %s", dest,
            out ? sqlite3_errmsg(out) : sqlite3_errstr(rc));
  }
  sqlite3_close(out);
  if (code == TH_OK &&
      (th__fsync_file(tmp) != 0 || rename(tmp, dest) != 0 ||
       th__fsync_dir(dest) != 0))
    code = th__err(db, TH_EIO, "finishing the backup %s: %s", dest,
                   strerror(errno));
  if (code != TH_OK)
    unlink(tmp);
  free(tmp);
  return code;
}
