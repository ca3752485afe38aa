/* proc.h - starting, stopping and reaping shmix-worker processes.
 *
 * Main or supervisor thread (never a real-time thread). Workers are started
 * with posix_spawn (no fork of a multi-threaded engine), in their own
 * process group, with only their channel descriptor (as fd 3) and the
 * standard streams (stdin from /dev/null). */
#ifndef SHX_PROC_H
#define SHX_PROC_H

#include <spawn.h>
#include <stddef.h>
#include <sys/types.h>

struct session_python;

/* Main, once. Finds shmix-worker: $SHMIX_WORKER, else beside the running
 * executable (build tree), else ../libexec/shmix/ relative to it, else the
 * configured libexec folder. Returns a static path, or NULL. */
const char *proc_worker_path(void);

/* Main or supervisor. Sets the attributes every worker (and the zygote)
 * starts with: no blocked signals, default handlers, its own process group. */
void proc_spawn_attr(posix_spawnattr_t *at);

/* Main. The arguments that give every worker (and the zygote) a session's
 * python: settings: "--path DIR", "--site DIR", "--preload MODULE", each
 * repeated as needed (script_worker/worker.c reads them). One malloc'ed
 * NULL-terminated array, free() it; its strings are py's, so py must
 * outlive it. NULL when out of memory. */
char **proc_python_args(const struct session_python *py);

/* Main or supervisor. base followed by extra (may be NULL), both
 * NULL-terminated, as one malloc'ed NULL-terminated array pointing at
 * their strings; NULL when out of memory. */
char **proc_argv_join(char *const *base, char *const *extra);

/* Main or supervisor. Starts a worker on channel descriptor chan_fd with an
 * address-space limit of memory_mb, for track `name` (its process title),
 * with py_args (proc_python_args, or NULL) on its command line.
 * Errors: SHX_ESYS (err says why). */
int proc_spawn(int chan_fd, int memory_mb, const char *name, char *const *py_args, pid_t *pid,
               char *err, size_t cap);

/* Main or supervisor. SIGKILLs the worker's process group. */
void proc_kill(pid_t pid);

/* Main or supervisor. Waits for pid to exit, up to timeout_ms (then
 * SIGKILLs it and waits for good). Returns its waitpid status, or -1 when
 * it was reaped already. */
int proc_reap(pid_t pid, int timeout_ms);

/* Any thread. The one description of how a worker ended, from its waitpid
 * status, as users read it in messages and last_error: "segfault",
 * "abort", "killed", "out of memory (worker_memory_mb)", "exit status 3",
 * "signal 1 (Hangup)". */
void proc_describe(int status, char *why, size_t cap);

#endif
