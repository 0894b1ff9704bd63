/*
 * writer.c: the one writer thread, with group commit.
 *
 * Loops queue commands; the writer takes everything queued (up to
 * batch_max), runs BEGIN IMMEDIATE, each command in its own savepoint (one
 * bad command rolls back alone), and COMMIT: one fsync for the whole batch.
 * Only then are results handed back to each command's loop, so that an
 * answer saying "recorded" is only ever sent for a write already on disk.
 * If the commit fails (disk full, I/O error) every write of the batch is
 * answered with that error: none of them happened.
 *
 * What the loops see of it, and which thread calls what: writer.h.
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct th__writer {
  th_server *srv;
  th_db *db;
  uv_thread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  th__cmd *head, *tail;
  unsigned depth;
  bool stop;
  bool running;
  /* Loops in the middle of an iteration that has queued writes and may
   * queue more (th__writer_submit's `filling`, th__writer_filled). */
  unsigned filling;
  atomic_int synchronous; /* PRAGMA synchronous of the writer's connection */
  /* The checkpointer (checkpoint.c): a thread with its own connection
   * that copies the WAL back into the database while the writer goes on
   * committing. NULL: SQLite's automatic checkpoints. */
  th__ckpt *ckpt;
};

/* Hands a finished batch back to the loops that sent it: each loop's
 * commands in their order, appended under one lock and announced with one
 * uv_async_send per loop, not per command (the loop drains the whole list
 * each time it wakes). */
static void th__post_batch(th__cmd *batch) {
  while (batch) {
    th__loop *lp = batch->lp;
    th__cmd *mine = NULL, **mine_tail = &mine, *last = NULL;
    th__cmd *rest = NULL, **rest_tail = &rest;
    for (th__cmd *c = batch, *next; c; c = next) {
      next = c->next;
      c->next = NULL;
      if (c->lp == lp) {
        *mine_tail = last = c;
        mine_tail = &c->next;
      } else {
        *rest_tail = c;
        rest_tail = &c->next;
      }
    }
    pthread_mutex_lock(&lp->done_lock);
    if (lp->done_tail)
      lp->done_tail->next = mine;
    else
      lp->done_head = mine;
    lp->done_tail = last;
    /* Sent under the lock: an extra loop that drains these (woken by an
     * earlier send) and finishes closes its async only after this. */
    if (!lp->async_closed)
      uv_async_send(&lp->async);
    pthread_mutex_unlock(&lp->done_lock);
    batch = rest;
  }
}

void th__loop_drain(th__loop *lp) {
  pthread_mutex_lock(&lp->done_lock);
  th__cmd *cmd = lp->done_head;
  lp->done_head = lp->done_tail = NULL;
  pthread_mutex_unlock(&lp->done_lock);
  while (cmd) {
    th__cmd *next = cmd->next;
    lp->pending_cmds--;
    th__metrics_write(cmd->rc);
    cmd->done(cmd);
    cmd = next;
  }
}

static void th__run_one(th__writer *wr, th__cmd *cmd) {
  cmd->rc = TH_OK;
  cmd->msg[0] = '\0';
  cmd->run(cmd, wr->db);
  if (cmd->rc < 0 && cmd->msg[0] == '\0')
    snprintf(cmd->msg, sizeof cmd->msg, "%s", th_errmsg(wr->db));
}

static void th__fail_all(th__cmd *batch, int rc, const char *msg) {
  for (th__cmd *c = batch; c; c = c->next) {
    if (c->rc >= 0) {
      c->rc = rc;
      snprintf(c->msg, sizeof c->msg, "%s", msg);
    }
  }
}

int th__writer_synchronous(th__writer *wr) {
  return atomic_load(&wr->synchronous);
}

/* With wr->lock held and the queue not empty: detaches its first command
 * and, unless that one must run alone, those after it that may share its
 * transaction, up to `room` in all. A NULL-terminated list; *got counts
 * it. */
static th__cmd *th__queue_cut(th__writer *wr, unsigned room, unsigned *got) {
  th__cmd *first = wr->head, *last = first;
  unsigned n = 1;
  if (!first->solo)
    while (last->next && !last->next->solo && n < room) {
      last = last->next;
      n++;
    }
  wr->head = last->next;
  if (wr->head == NULL)
    wr->tail = NULL;
  wr->depth -= n;
  last->next = NULL;
  *got = n;
  return first;
}

/* The longest a batch waits, in all, for loops still reading writes that
 * may join it. A loop ends its iteration within microseconds; this bounds
 * the wait should one be slow, and lets a steady stream of writes from
 * several loops still commit. */
#define TH__GATHER_NS 5000000L /* 5 ms */

/* Takes up to `room` queued commands that may join an open batch (none if
 * the first queued one must run alone): a NULL-terminated list, or NULL.
 * While a loop is still queueing the writes of its current iteration, it
 * waits for them, until `deadline` (CLOCK_MONOTONIC). */
static th__cmd *th__writer_take(th__writer *wr, unsigned room, unsigned *got,
                                const struct timespec *deadline) {
  *got = 0;
  pthread_mutex_lock(&wr->lock);
  while (wr->head == NULL && wr->filling > 0 && !wr->stop &&
         pthread_cond_timedwait(&wr->cond, &wr->lock, deadline) == 0) {
  }
  th__cmd *first = NULL;
  if (wr->head && !wr->head->solo && room > 0)
    first = th__queue_cut(wr, room, got);
  pthread_mutex_unlock(&wr->lock);
  return first;
}

static void th__writer_main(void *arg) {
  th__writer *wr = arg;
  unsigned max = wr->srv->cfg.batch_max;
  /* Ask the connection itself (not the configuration) how durable its
   * commits are, so /healthz and the tests report what really happens. */
  atomic_store(&wr->synchronous, th__synchronous(wr->db));
  for (;;) {
    pthread_mutex_lock(&wr->lock);
    while (wr->head == NULL && !wr->stop)
      pthread_cond_wait(&wr->cond, &wr->lock);
    if (wr->head == NULL && wr->stop) {
      pthread_mutex_unlock(&wr->lock);
      break;
    }
    /* Take what is queued, up to max; a solo command runs by itself. */
    unsigned n = 0;
    th__cmd *batch = th__queue_cut(wr, max, &n), *last = batch;
    pthread_mutex_unlock(&wr->lock);
    while (last->next)
      last = last->next;

    if (batch->solo) {
      th__run_one(wr, batch);
    } else {
      int rc = th_batch_begin(wr->db);
      if (rc < 0) {
        th__fail_all(batch, rc, th_errmsg(wr->db));
        for (th__cmd *c = batch; c; c = c->next)
          c->rc = rc;
      } else {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_nsec += TH__GATHER_NS;
        if (deadline.tv_nsec >= 1000000000L) {
          deadline.tv_sec++;
          deadline.tv_nsec -= 1000000000L;
        }
        for (th__cmd *c = batch; c; c = c->next)
          th__run_one(wr, c);
        /* Late joiners: a loop wakes the writer at the first write it
         * reads and goes on reading the others of the same iteration
         * (every client answered by the last commit sends its next write
         * at about the same time). Their SQL runs here as they arrive,
         * beside the loop's work, and the COMMIT waits until the loop has
         * queued them all: one fsync for all of them, where committing at
         * once would leave most for the next fsync, and waiting for the
         * iteration to end before starting would run the loop and the
         * writer in turn. Bounded by batch_max like the first take. */
        while (n < max) {
          unsigned got = 0;
          th__cmd *more = th__writer_take(wr, max - n, &got, &deadline);
          if (more == NULL)
            break;
          last->next = more;
          for (th__cmd *c = more; c; c = c->next) {
            th__run_one(wr, c);
            last = c;
          }
          n += got;
        }
        rc = th_batch_commit(wr->db);
        if (rc < 0)
          th__fail_all(batch, rc, th_errmsg(wr->db));
      }
      th__metrics_batch(n);
    }
    th__post_batch(batch);
  }
  th_close(wr->db);
  wr->db = NULL;
}

int th__writer_start(th_server *srv, th_db *w, th__writer **out) {
  th__writer *wr = calloc(1, sizeof *wr);
  if (wr == NULL) {
    th_close(w);
    return TH_ENOMEM;
  }
  wr->srv = srv;
  wr->db = w;
  atomic_init(&wr->synchronous, -1);
  pthread_mutex_init(&wr->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the gather deadline */
  pthread_cond_init(&wr->cond, &ca);
  pthread_condattr_destroy(&ca);
  wr->ckpt = th__ckpt_start(w);
  if (uv_thread_create(&wr->thread, th__writer_main, wr) != 0) {
    th__ckpt_unhook(w);
    th__ckpt_stop(wr->ckpt);
    pthread_mutex_destroy(&wr->lock);
    pthread_cond_destroy(&wr->cond);
    th_close(w);
    free(wr);
    return TH_ENOMEM;
  }
  wr->running = true;
  *out = wr;
  return TH_OK;
}

int th__writer_submit(th__writer *wr, th__cmd *cmd, bool filling) {
  cmd->next = NULL;
  pthread_mutex_lock(&wr->lock);
  if (wr->stop) {
    pthread_mutex_unlock(&wr->lock);
    return TH_ESHUTDOWN;
  }
  if (wr->tail)
    wr->tail->next = cmd;
  else
    wr->head = cmd;
  wr->tail = cmd;
  wr->depth++;
  if (filling)
    wr->filling++;
  pthread_cond_signal(&wr->cond);
  pthread_mutex_unlock(&wr->lock);
  return TH_OK;
}

void th__writer_filled(th__writer *wr) {
  pthread_mutex_lock(&wr->lock);
  if (wr->filling > 0)
    wr->filling--;
  pthread_cond_signal(&wr->cond);
  pthread_mutex_unlock(&wr->lock);
}

unsigned th__writer_depth(th__writer *wr) {
  pthread_mutex_lock(&wr->lock);
  unsigned d = wr->depth;
  pthread_mutex_unlock(&wr->lock);
  return d;
}

void th__writer_stop(th__writer *wr) {
  if (wr == NULL)
    return;
  pthread_mutex_lock(&wr->lock);
  wr->stop = true;
  pthread_cond_signal(&wr->cond);
  pthread_mutex_unlock(&wr->lock);
  if (wr->running)
    uv_thread_join(&wr->thread);
  /* After the writer (which closed its connection): the checkpointer's
   * connection, closed last, checkpoints what is left. */
  th__ckpt_stop(wr->ckpt);
  pthread_mutex_destroy(&wr->lock);
  pthread_cond_destroy(&wr->cond);
  free(wr);
}
