/* top.h - `shmix top`: the terminal table of a running engine's meters,
 * read from its published snapshot (ipc/snapshot.h) in another process.
 * Read-only: it never touches the engine. Main thread. */
#ifndef SHX_TOP_H
#define SHX_TOP_H

#include <signal.h>
#include <stddef.h>

/* Main. Shows engine pid's meters (pid 0: the only running engine) on
 * stdout until *stop, the engine ends, or after one table when once.
 * Returns 0, or SHX_EEMPTY / SHX_EUSAGE / SHX_ESYS / SHX_EFORMAT when
 * there is nothing to show (err says why, as snapshot_peek). */
int top_run(int pid, int once, volatile sig_atomic_t *stop, char *err, size_t cap);

#endif
