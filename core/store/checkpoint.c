/*
 * checkpoint.c: a writer connection's WAL checkpoints, on a thread of
 * their own (internal.h, "checkpointer").
 *
 * SQLite's automatic checkpoint runs inside COMMIT, after the fsync but
 * before the writer can answer anyone: at 1,000 WAL pages it copies them
 * into the database and fsyncs it, twice per ~7 commits here, on the path
 * of every write's answer (a fifth to a third of the writer's time in the
 * bench profiles). A WAL hook, which replaces it on the writer's
 * connection, hands the work to a checkpointer thread with its own
 * connection instead, which copies the WAL back into the database while
 * the writer goes on committing.
 */
#include "sqlite.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <uv.h>

/* WAL size (frames) past which every commit wakes the checkpointer:
 * SQLite's own automatic checkpoint threshold. A checkpoint that could not
 * finish is tried again at the next commit, so the WAL starts over as soon
 * as one does (waking it only per 1,000 new frames instead let the WAL fill
 * a small disk: tests/faults DiskFull). Past TH__CKPT_FRAMES * 8 (the
 * checkpointer falling behind) the writer checkpoints itself, as SQLite
 * would, so that the WAL stays bounded. */
#define TH__CKPT_FRAMES 1000

struct th__ckpt {
  sqlite3 *ck; /* the checkpointer's own connection */
  uv_thread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool want, stop;
};

/* The writer's thread, after each commit. */
static int th__wal_hook(void *arg, sqlite3 *db, const char *name, int frames) {
  th__ckpt *c = arg;
  if (frames >= TH__CKPT_FRAMES * 8) {
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  } else if (frames >= TH__CKPT_FRAMES) {
    pthread_mutex_lock(&c->lock);
    c->want = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
  }
  return SQLITE_OK;
}

/* The checkpointer's thread. */
static void th__ckpt_main(void *arg) {
  th__ckpt *c = arg;
  for (;;) {
    pthread_mutex_lock(&c->lock);
    while (!c->want && !c->stop)
      pthread_cond_wait(&c->cond, &c->lock);
    bool stop = c->stop;
    c->want = false;
    pthread_mutex_unlock(&c->lock);
    if (stop)
      break;
    /* PASSIVE: copies what no reader still needs, never blocks the writer
     * or a reader, and is simply tried again at the next wake-up if it
     * could not finish. */
    sqlite3_wal_checkpoint_v2(c->ck, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
                              NULL);
  }
}

th__ckpt *th__ckpt_start(th_db *w) {
  th__ckpt *c = calloc(1, sizeof *c);
  if (c == NULL)
    return NULL;
  if (sqlite3_open_v2(w->path, &c->ck,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK ||
      /* The checkpoint's fsyncs follow the connection that runs it: the
       * same durability as the writer's own. */
      sqlite3_exec(c->ck,
                   w->opt.synchronous == 1 ? "PRAGMA synchronous=1"
                                           : "PRAGMA synchronous=2",
                   NULL, NULL, NULL) != SQLITE_OK) {
    sqlite3_close(c->ck);
    free(c);
    return NULL;
  }
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->cond, NULL);
  if (uv_thread_create(&c->thread, th__ckpt_main, c) != 0) {
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    sqlite3_close(c->ck);
    free(c);
    return NULL;
  }
  sqlite3_wal_hook(th__sql(w), th__wal_hook, c);
  return c;
}

void th__ckpt_unhook(th_db *w) { sqlite3_wal_hook(th__sql(w), NULL, NULL); }

void th__ckpt_stop(th__ckpt *c) {
  if (c == NULL)
    return;
  pthread_mutex_lock(&c->lock);
  c->stop = true;
  pthread_cond_signal(&c->cond);
  pthread_mutex_unlock(&c->lock);
  uv_thread_join(&c->thread);
  sqlite3_close(c->ck);
  pthread_mutex_destroy(&c->lock);
  pthread_cond_destroy(&c->cond);
  free(c);
}

int th__sqlite_synchronous(th_db *db) {
  return th__pragma_int(db, "PRAGMA synchronous");
}
