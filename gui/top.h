/* top.h - `shmix top`: a running engine's meters, read from its published
 * snapshot (ipc/snapshot.h) in another process - as the terminal table
 * (termview.h) or as the stats lines its --stats would write (stats.h).
 * Read-only: it never touches the engine. Main thread. */
#ifndef SHX_TOP_H
#define SHX_TOP_H

#include <signal.h>
#include <stddef.h>

struct top_options {
    int pid;                      /* the engine's; 0: the only one running */
    int once;                     /* one table (or one line) and out */
    int json;                     /* stats lines instead of the table */
    volatile sig_atomic_t *stop;  /* set by SIGINT/SIGTERM */
};

/* Main. Shows the engine's meters on stdout until *stop, the engine ends,
 * stdout is closed, or after one table or line with o->once. Returns 0,
 * or SHX_EEMPTY / SHX_EUSAGE / SHX_ESYS / SHX_EFORMAT when there is
 * nothing to show (err says why, as snapshot_peek), SHX_ENOMEM. */
int top_run(const struct top_options *o, char *err, size_t cap);

#endif
