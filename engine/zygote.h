/* zygote.h - fast worker starts: a pre-initialised shmix-worker that clones
 * itself into a worker for a channel on request.
 *
 * Starting Python and importing numpy costs ~100 ms of CPU per worker; the
 * zygote pays it once, so starting 16 workers, or restarting a crashed one,
 * costs a fork each. The clone uses CLONE_PARENT: every worker is the
 * engine's child exactly as if proc_spawn had started it. Main thread only
 * (the spawning thread must outlive the workers: PR_SET_PDEATHSIG). */
#ifndef SHX_ZYGOTE_H
#define SHX_ZYGOTE_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

struct zygote;

/* Main. Starts the zygote for up to count channels (numbered 0..count-1
 * in zygote_ask and zygote_spawn) with py_args (proc_python_args, or NULL;
 * they must outlive the zygote's start) and returns at once: it starts
 * Python, imports numpy and applies the session's python: settings while
 * the engine builds the tracks. Errors: SHX_ESYS (err says why: workers
 * can still start cold). */
int zygote_start(int count, char *const *py_args, struct zygote **out, char *err, size_t cap);
/* Main. Waits until the zygote has Python up and the session's python:
 * settings applied (preload modules imported), or until *stop (may be
 * NULL) is set; at once when it said so before. After an error only
 * zygote_destroy may follow. Errors: SHX_ESCRIPT (a python.preload module
 * failed to import: err is the zygote's "cannot import NAME: ..."),
 * SHX_ESTOPPED, SHX_ESYS and SHX_ETIMEOUT (err says why: workers can
 * still start cold). */
int zygote_await(struct zygote *z, volatile sig_atomic_t *stop, char *err, size_t cap);
/* Main. Ends the zygote (not the workers it made), at once if it is still
 * starting; NULL is a no-op. */
void zygote_destroy(struct zygote *z);
/* Main. Asks the zygote to end (no more spawns) without waiting for it;
 * zygote_destroy reaps it. NULL is a no-op. */
void zygote_ask_end(struct zygote *z);
/* Main. Asks for the worker of channel index (descriptor chan_fd) ahead
 * of its zygote_spawn, which then only collects it: the zygote clones the
 * next worker while the engine still sets up the one before. The engine
 * keeps a few asks outstanding (ZYGOTE_AHEAD), so neither side's buffer
 * fills. Errors: SHX_EDEAD (the zygote is gone), SHX_ESYS (the request
 * could not be sent: errno). */
int zygote_ask(struct zygote *z, int index, int chan_fd, int memory_mb, const char *name);
/* Main. Clones a worker for channel index (descriptor chan_fd) with an
 * address-space limit of memory_mb (asked for now, unless zygote_ask did).
 * Replies to other requests read on the way (a clone that came after its
 * spawn timed out, one asked ahead and not collected) are killed: the
 * request numbers say which is which. Errors: SHX_ESYS, SHX_EDEAD (the
 * zygote is gone), SHX_ETIMEOUT. */
int zygote_spawn(struct zygote *z, int index, int chan_fd, int memory_mb, const char *name,
                 pid_t *pid, char *err, size_t cap);

/* Supervisor. Reaps the zygote if it has died (killed, crashed): no zombie
 * is left, and later spawns start workers cold. Returns 1 when it did. */
int zygote_reap(struct zygote *z);

#endif
