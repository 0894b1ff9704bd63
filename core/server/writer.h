/*
 * writer.h: the one writer thread (writer.c) as the loops see it: the
 * command a loop queues, and the calls that start, feed and stop the
 * writer. Included by http.h.
 *
 * A command is made on a loop's thread, runs on the writer thread inside a
 * batch (`run`), and comes back to its loop's thread after the commit
 * (`done`, from th__loop_drain): a response is only sent after the commit
 * that holds its write.
 */
#ifndef TH_SERVER_WRITER_H
#define TH_SERVER_WRITER_H

#include "internal.h"

#include <stdbool.h>

typedef struct th__loop th__loop;
typedef struct th__req th__req;
typedef struct th__cmd th__cmd;
typedef struct th__writer th__writer;

struct th__cmd {
  th__cmd *next;
  th__loop *lp;
  th__req *req;
  bool solo; /* runs outside a batch (the purge) */
  /* Runs on the writer thread, inside the batch; sets rc (and msg). */
  void (*run)(th__cmd *cmd, th_db *w);
  /* Runs on the loop thread after the commit (or failure): answers req if
   * it is still there, and frees the command. */
  void (*done)(th__cmd *cmd);
  int rc;
  char msg[256];
};
/* Starts the writer thread on `w` (taken, closed on failure). Host's loop
 * thread (th_server_new). */
int th__writer_start(th_server *srv, th_db *w, th__writer **out);
/* Queues a command and wakes the writer. `filling`: the caller (a loop) may
 * queue more in its current iteration, and says when it is over with
 * th__writer_filled; until then (or a short bound) the writer keeps its
 * batch open for them. TH_OK, or TH_ESHUTDOWN once it is stopping (then
 * `filling` counts nothing). A loop's thread (th__loop_submit; the purge
 * timer, on the host's). */
int th__writer_submit(th__writer *wr, th__cmd *cmd, bool filling);
/* Says that a loop's iteration which queued writes with `filling` is over.
 * That loop's thread. */
void th__writer_filled(th__writer *wr);
/* Queues a write read by the loop (th__writer_submit), as part of the
 * loop's current iteration. Loop thread. Defined in server.c, beside the
 * loop's idle handle that ends the iteration. */
int th__loop_submit(th__loop *lp, th__cmd *cmd);
/* Asks the writer to finish what is queued and exit; joins it. Host's loop
 * thread, at the close. */
void th__writer_stop(th__writer *wr);
/* Commands queued and not yet taken into a batch. Any thread (/metrics). */
unsigned th__writer_depth(th__writer *wr);
/* PRAGMA synchronous as the writer's own connection reports it (2 = FULL),
 * or -1 before the writer has started. Any thread (/readyz). */
int th__writer_synchronous(th__writer *wr);
/* Called on the loop thread by the loop's async: runs done() of finished
 * commands. */
void th__loop_drain(th__loop *lp);

#endif
