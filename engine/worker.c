/* worker.c - one worker process and the ownership of its channel; see
 * worker.h. */
#include "worker.h"
#include "channel.h"
#include "errors.h"
#include "platform.h"
#include "proc.h"
#include "tuning.h"
#include "zygote.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* IDLE: free. BUSY: the track thread is using it right now. INFLIGHT: the
 * track thread is not using it but has a request outstanding (a late
 * block). SUPERVISOR: restarting or reloading. */
enum { OWN_IDLE = 0, OWN_BUSY = 1, OWN_SUPERVISOR = 2, OWN_INFLIGHT = 3 };

_Static_assert(PRIO_WORKER <= CHAN_WORKER_PRIO_MAX,
               "a worker must be allowed to step back up to its own priority");

struct worker {
    struct worker_config cfg;
    char *load_request;
    char name[64];
    struct chan *chan;
    _Atomic pid_t pid;            /* 0 when there is no process */
    uint32_t owner;               /* OWN_*; a futex word for worker_wait_back */
    _Atomic int64_t gen;          /* bumped by every hand-back */
    const char *_Atomic kill_reason;
    int ending;                   /* END_*: set by worker_ask_end (main, the
                                     supervisor gone), cleared by a spawn */
    int realtime;                 /* made real-time since its spawn (main or
                                     supervisor, whoever holds the channel) */
};

enum { END_NONE = 0, END_QUIT, END_KILLED };

int worker_create(const struct worker_config *c, struct worker **out)
{
    struct worker *w = calloc(1, sizeof *w);
    if (!w)
        return SHX_ENOMEM;
    w->cfg = *c;
    w->load_request = strdup(c->load_request);
    snprintf(w->name, sizeof w->name, "%s", c->name ? c->name : "");
    int rc = w->load_request ? chan_create(c->frames, c->channels, c->batch ? c->batch : 1, &w->chan) : SHX_ENOMEM;
    if (rc < 0) {
        free(w->load_request);
        free(w);
        return rc;
    }
    w->cfg.load_request = w->load_request;
    w->cfg.name = w->name;
    *out = w;
    return SHX_OK;
}

void worker_destroy(struct worker *w)
{
    if (!w)
        return;
    worker_end(w);
    chan_destroy(w->chan);
    free(w->load_request);
    free(w);
}

struct chan *worker_chan(struct worker *w) { return w->chan; }
pid_t worker_pid(const struct worker *w) { return atomic_load(&w->pid); }
void worker_set_kill_reason(struct worker *w, const char *reason)
{
    atomic_store(&w->kill_reason, reason);
}

const char *worker_kill_reason(const struct worker *w)
{
    return atomic_load(&((struct worker *)w)->kill_reason);
}

int worker_spawn(struct worker *w, struct zygote *z, char *err, size_t cap)
{
    chan_reset(w->chan);
    atomic_store(&w->kill_reason, NULL);
    w->ending = END_NONE;
    w->realtime = 0;
    pid_t pid = 0;
    int rc = z ? zygote_spawn(z, w->cfg.zygote_index, chan_fd(w->chan), w->cfg.memory_mb,
                              w->cfg.name, &pid, err, cap)
               : -1;
    if (rc < 0)   /* no zygote, or it failed: start one from scratch */
        rc = proc_spawn(chan_fd(w->chan), w->cfg.memory_mb, w->cfg.name, w->cfg.py_args, &pid,
                        err, cap);
    if (rc < 0)
        return rc;
    atomic_store(&w->pid, pid);
    if (w->cfg.cpu >= 0)
        plat_pin_process(pid, w->cfg.cpu);
    if (w->cfg.nice)
        plat_nice_process(pid, w->cfg.nice);
    /* Time-shared until its script has loaded (worker_poll_load): what a
     * new process does before it serves LOAD - closing the zygote's
     * descriptors, confining itself, attaching the channel, the
     * copy-on-write faults of all that - is not real-time work, and at the
     * workers' priority it would hold off, for as long as it takes, the
     * healthy workers that share its CPU (SCHED_FIFO does not preempt at
     * equal priority) - the suspected cause of an untouched track's late
     * block during a restart storm under AddressSanitizer. But guarded from
     * the start, in play and in render: a worker may make itself real-time
     * (up to its RLIMIT_RTPRIO, which it keeps to step back up after
     * SIGXCPU), and a script's import or setup that does so and loops must
     * meet the hard RLIMIT_RTTIME as its process() would, not hold a CPU
     * at the workers' priority until the load times out. The guard is set
     * before LOAD is posted, so before any of the script's code runs. */
    plat_guard_realtime(pid, WORKER_RTTIME_US, WORKER_RTTIME_HARD_US);
    chan_request(w->chan, CHAN_CMD_LOAD, w->load_request, strlen(w->load_request));
    return SHX_OK;
}

void worker_ask(struct worker *w, struct zygote *z)
{
    zygote_ask(z, w->cfg.zygote_index, chan_fd(w->chan), w->cfg.memory_mb, w->cfg.name);
}

int worker_reload(struct worker *w)
{
    int64_t rc = chan_request(w->chan, CHAN_CMD_LOAD, w->load_request, strlen(w->load_request));
    return rc < 0 ? (int)rc : SHX_OK;
}

enum worker_load worker_poll_load(struct worker *w, uint64_t deadline_ns)
{
    struct chan_reply r;
    int rc = chan_wait_reply(w->chan, deadline_ns, &r);
    if (rc == SHX_ETIMEOUT)
        return WORKER_LOAD_PENDING;
    if (rc < 0)
        return WORKER_LOAD_LOST;
    if (r.status != CHAN_ST_OK)
        return WORKER_LOAD_RAISED;
    /* Real-time from its first block on, guarded (the limits were set at
     * the spawn; plat_realtime_process sets them again before the
     * policy): SIGXCPU after WORKER_RTTIME_US of CPU without blocking
     * steps the worker down (script_worker/worker.c); a script that
     * ignores or blocks SIGXCPU is killed by the kernel at
     * WORKER_RTTIME_HARD_US, which no signal mask can stop. Refused
     * without the rights; it then stays at its nice value. A reload finds
     * it real-time already (LOAD itself runs time-shared in the worker). */
    if (!w->realtime && w->cfg.rt_prio > 0) {
        plat_realtime_process(atomic_load(&w->pid), w->cfg.rt_prio, WORKER_RTTIME_US,
                              WORKER_RTTIME_HARD_US);
        w->realtime = 1;
    }
    return WORKER_LOADED;
}

int worker_reap(struct worker *w, char *why, size_t cap, int *status)
{
    pid_t pid = atomic_load(&w->pid);
    if (pid <= 0)
        return 0;
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r != pid)
        return 0;
    atomic_store(&w->pid, 0);
    proc_describe(st, why, cap);
    if (status)
        *status = st;
    return 1;
}

void worker_kill(struct worker *w)
{
    proc_kill(atomic_load(&w->pid));
}

void worker_ask_end(struct worker *w)
{
    pid_t pid = atomic_load(&w->pid);
    if (pid <= 0 || w->ending != END_NONE)
        return;
    /* A clean QUIT when the worker is idle, a kill when it is stuck. */
    if (chan_idle(w->chan) && chan_request(w->chan, CHAN_CMD_QUIT, NULL, 0) > 0) {
        w->ending = END_QUIT;
    } else {
        proc_kill(pid);
        w->ending = END_KILLED;
    }
}

void worker_end(struct worker *w)
{
    pid_t pid = atomic_load(&w->pid);
    if (pid <= 0)
        return;
    worker_ask_end(w);
    if (w->ending == END_QUIT)
        chan_wait_reply(w->chan, plat_now_ns() + WORKER_QUIT_NS, NULL);
    proc_reap(pid, WORKER_REAP_MS);
    atomic_store(&w->pid, 0);
    w->ending = END_NONE;
}

void worker_mark_dead(struct worker *w)
{
    chan_set_dead(w->chan, 1);
}

/* The owner word: acquire on taking, release on giving, so what one side
 * did to the channel is visible to the other when it takes it next. */
int worker_claim(struct worker *w)
{
    uint32_t cur = OWN_IDLE;
    if (__atomic_compare_exchange_n(&w->owner, &cur, OWN_SUPERVISOR, 0, __ATOMIC_ACQUIRE,
                                    __ATOMIC_ACQUIRE))
        return 1;
    /* An outstanding request of a dead worker will never be answered: take
     * the channel without waiting for the track thread's next block. */
    if (cur == OWN_INFLIGHT && chan_dead(w->chan)
        && __atomic_compare_exchange_n(&w->owner, &cur, OWN_SUPERVISOR, 0, __ATOMIC_ACQUIRE,
                                       __ATOMIC_ACQUIRE))
        return 1;
    return cur == OWN_SUPERVISOR;
}

void worker_hand_back(struct worker *w)
{
    atomic_fetch_add(&w->gen, 1);
    __atomic_store_n(&w->owner, OWN_IDLE, __ATOMIC_RELEASE);
    plat_wake(&w->owner);
}

int64_t worker_take(struct worker *w)
{
    uint32_t cur = __atomic_load_n(&w->owner, __ATOMIC_RELAXED);
    if ((cur != OWN_IDLE && cur != OWN_INFLIGHT)
        || !__atomic_compare_exchange_n(&w->owner, &cur, OWN_BUSY, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
        return -1;
    return atomic_load(&w->gen);
}

void worker_put(struct worker *w, int how)
{
    static const uint32_t to[] = {OWN_IDLE, OWN_SUPERVISOR, OWN_INFLIGHT};
    __atomic_store_n(&w->owner, to[how], __ATOMIC_RELEASE);
}

void worker_wait_back(struct worker *w, uint64_t deadline_ns)
{
    while (__atomic_load_n(&w->owner, __ATOMIC_ACQUIRE) == OWN_SUPERVISOR)
        if (plat_wait(&w->owner, OWN_SUPERVISOR, deadline_ns) == SHX_ETIMEOUT)
            return;
}
