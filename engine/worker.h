/* worker.h - the engine's handle on one track's worker process: its
 * channel, its pid, and who may use the channel right now.
 *
 * DESIGN. Two engine threads touch a worker: the track thread (blocks) and
 * the supervisor (deaths, restarts, reloads). They never use the channel at
 * the same time: an `owner` word says whose it is. IDLE means the track
 * thread may take it (worker_take, a CAS); the track thread gives it back
 * IDLE, or SUPERVISOR when the worker is lost (dead, hung, corrupt); the
 * supervisor claims an IDLE channel with a CAS, and hands it back IDLE with
 * a new generation number, so the track thread knows the channel was reset
 * under it. A render-mode track thread sleeps on the owner word until the
 * supervisor hands the channel back (a restarted worker, deterministically).
 * The track thread's calls are real-time safe; the others are not. */
#ifndef SHX_WORKER_H
#define SHX_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct chan;
struct zygote;
struct worker;

struct worker_config {
    uint32_t frames, channels;   /* block geometry */
    uint32_t batch;              /* blocks per request, at most (channel size) */
    const char *load_request;    /* LOAD JSON (copied) */
    int memory_mb;               /* RLIMIT_AS of the process */
    int cpu;                     /* CPU to pin it to, -1 = any */
    int nice;                    /* nice value, 0 = leave it */
    int rt_prio;                 /* SCHED_FIFO priority, 0 = time-sharing */
    int zygote_index;            /* its channel's index in the zygote */
    const char *name;            /* the track's: the process's title (copied) */
    char *const *py_args;        /* the session's python: arguments of a cold
                                    start (proc_python_args), or NULL; not
                                    copied: they outlive the worker */
};

enum worker_load {
    WORKER_LOADED = 0,           /* setup() ran */
    WORKER_LOAD_PENDING = 1,     /* not answered yet */
    WORKER_LOAD_RAISED = 2,      /* the script raised; a traceback was posted */
    WORKER_LOAD_LOST = 3,        /* the worker died or broke the channel */
};

/* Main. Errors: SHX_ENOMEM, SHX_ESYS (channel). */
int worker_create(const struct worker_config *c, struct worker **out);
/* Main. Ends the process (worker_end) and frees; NULL is a no-op. */
void worker_destroy(struct worker *w);

/* Main or supervisor (holding the channel). Resets the channel, starts a
 * process (cloned by z when not NULL, else cold), pins it, posts LOAD. The
 * process is time-shared until worker_poll_load sees its script loaded;
 * its real-time guard (RLIMIT_RTTIME) is set here, before any script code
 * runs.
 * Errors: SHX_ESYS (err says why). */
int worker_spawn(struct worker *w, struct zygote *z, char *err, size_t cap);
/* Main, before worker_spawn(w, z): asks zygote z for the process ahead
 * (zygote_ask). A failed ask is found again by worker_spawn. */
void worker_ask(struct worker *w, struct zygote *z);
/* Main or supervisor (holding the channel). Posts LOAD again to the live
 * process: a new version of the script replaces the old one only if it
 * loads. Errors: SHX_EFULL (a request is outstanding). */
int worker_reload(struct worker *w);
/* Main or supervisor. How the last LOAD went, waiting until deadline_ns.
 * The first WORKER_LOADED since the spawn makes the process real-time
 * (when the worker config asks for it). */
enum worker_load worker_poll_load(struct worker *w, uint64_t deadline_ns);
/* Main or supervisor. Reaps the process if it has exited: returns 1 and
 * fills `why` ("segfault", "abort", "killed", "exit status 3"), else 0. */
int worker_reap(struct worker *w, char *why, size_t cap, int *status);
/* Any thread. SIGKILLs the process group (one system call each). */
void worker_kill(struct worker *w);
/* Main. Tells the process to end without waiting for it: QUIT when idle,
 * else SIGKILL. Ending many workers, ask them all first and then
 * worker_end each: they exit side by side, not one after another. */
void worker_ask_end(struct worker *w);
/* Main. Ends the process: worker_ask_end unless that was done, then waits
 * for the answer to QUIT and reaps. */
void worker_end(struct worker *w);

/* Supervisor (or main, before the track thread runs). Marks the process
 * dead (it has been reaped): a track thread waiting for it returns at once. */
void worker_mark_dead(struct worker *w);
/* Supervisor (or main, for it, before the track thread runs). Takes the
 * channel when the track thread is not using it. Returns 1 when the
 * supervisor holds it. */
int worker_claim(struct worker *w);
/* Supervisor. Gives the channel back to the track thread (new generation)
 * and wakes a track thread waiting for it. */
void worker_hand_back(struct worker *w);

/* Track thread, real-time safe. Takes the channel: returns its generation,
 * or -1 when the supervisor holds it. */
int64_t worker_take(struct worker *w);
/* Track thread, real-time safe. Gives it back: WORKER_PUT_IDLE, _LOST (the
 * worker is dead, hung or corrupt: the supervisor's now), _INFLIGHT (a
 * request is still outstanding; the supervisor may take the channel only
 * once the worker is dead). */
enum { WORKER_PUT_IDLE = 0, WORKER_PUT_LOST = 1, WORKER_PUT_INFLIGHT = 2 };
void worker_put(struct worker *w, int how);
/* Track thread (render only). Sleeps while the supervisor holds the
 * channel, until deadline_ns. */
void worker_wait_back(struct worker *w, uint64_t deadline_ns);

/* Any thread. */
struct chan *worker_chan(struct worker *w);
pid_t worker_pid(const struct worker *w);
/* Any thread. Why the engine killed it ("hang", "corrupt channel"): set by
 * the killer, read by the supervisor to explain the death, cleared by
 * worker_spawn. reason must be a string constant. */
void worker_set_kill_reason(struct worker *w, const char *reason);
const char *worker_kill_reason(const struct worker *w);

#endif
