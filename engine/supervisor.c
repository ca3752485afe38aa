/* supervisor.c - worker deaths, restarts and script reloads; see
 * supervisor.h. Runs on its own non-real-time thread. */
#include "supervisor.h"
#include "errors.h"
#include "platform.h"
#include "track.h"
#include "tuning.h"
#include "worker.h"
#include "zygote.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>


enum phase {
    PH_IDLE,        /* running, or error (raising) with a live worker */
    PH_DEAD,        /* reaped; waiting to take the channel and restart */
    PH_LOADING,     /* a new worker is loading the script */
    PH_RELOADING,   /* the live worker is loading a changed script */
    PH_FAILED,      /* too many restarts; until the script changes */
};

struct slot {
    struct track *t;
    struct worker *w;            /* NULL: a track without a script */
    int pidfd;                   /* -1 when none */
    enum phase phase;
    uint64_t *times;             /* recent restarts, CLOCK_MONOTONIC ns, a ring */
    int ntimes;
    int failed_starts;           /* deaths in a row before setup() finished */
    int died_starting;           /* the last death came before setup() finished */
    uint64_t died_ns, load_deadline, reload_at;
    char why[128];
    int watch;                   /* inotify watch of the script's folder */
    const char *base;            /* the script's file name in that folder */
    atomic_int restart_requested;
    atomic_int reload_requested;   /* a user action: as if the script file changed */
};

struct supervisor {
    struct slot *slots;
    int n;
    struct zygote *z;
    struct supervisor_policy pol;
    int watch_fd, event_fd;
    pthread_t thread;
    int started;
    atomic_int stop;
};

static uint64_t now_ns(void) { return plat_now_ns(); }
static void on_loading(struct slot *sl, uint64_t until);

int supervisor_create(struct track **tracks, int n, struct zygote *z,
                      const struct supervisor_policy *p, struct supervisor **out)
{
    struct supervisor *s = calloc(1, sizeof *s);
    if (!s || !(s->slots = calloc((size_t)n, sizeof *s->slots))) {
        free(s);
        return SHX_ENOMEM;
    }
    s->n = n;
    s->z = z;
    s->pol = *p;
    s->watch_fd = plat_watch_open();
    s->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    for (int i = 0; i < n; i++) {
        struct slot *sl = &s->slots[i];
        sl->t = tracks[i];
        sl->w = track_worker(tracks[i]);
        sl->pidfd = -1;
        sl->watch = -1;
        sl->times = calloc((size_t)p->max_restarts + 1, sizeof *sl->times);
        if (!sl->times) {
            supervisor_destroy(s);
            return SHX_ENOMEM;
        }
    }
    *out = s;
    return SHX_OK;
}

/* Watches the folder of the track's script (as the session names it). */
static void watch_script(struct supervisor *s, struct slot *sl)
{
    const char *label = track_script_label(sl->t);
    const char *path = track_script_path(sl->t);
    if (s->watch_fd < 0 || !path || !*label)
        return;
    char dir[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    sl->base = slash ? slash + 1 : path;
    sl->watch = plat_watch_add(s->watch_fd, dir);
}

static void say(struct slot *sl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct slot *sl, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    track_say(sl->t, msg);
}

static void open_pidfd(struct slot *sl)
{
    if (sl->pidfd >= 0)
        close(sl->pidfd);
    pid_t pid = worker_pid(sl->w);
    sl->pidfd = pid > 0 ? plat_pidfd_open(pid) : -1;
}

/* Restarts within the window, including this one. */
static int count_restart(struct supervisor *s, struct slot *sl, uint64_t now)
{
    int cap = s->pol.max_restarts + 1;
    sl->times[sl->ntimes % cap] = now;
    sl->ntimes++;
    uint64_t window = (uint64_t)(s->pol.window * NS_PER_S);
    int in = 0;
    for (int i = 0; i < cap && i < sl->ntimes; i++)
        in += now - sl->times[i] <= window;
    return in;
}

static void start_worker(struct supervisor *s, struct slot *sl)
{
    char err[256];
    if (track_respawn(sl->t, s->z, err, sizeof err) < 0) {
        say(sl, "cannot restart the worker: %s", err);
        track_set_state(sl->t, TRACK_FAILED);
        worker_hand_back(sl->w);
        sl->phase = PH_FAILED;
        return;
    }
    open_pidfd(sl);
    sl->load_deadline = now_ns() + LOAD_TIMEOUT_NS;
    sl->phase = PH_LOADING;
    /* Most scripts load in a few ms: wait for that here rather than a tick
     * later (a slow setup() goes on being polled). */
    on_loading(sl, now_ns() + QUICK_LOAD_NS);
}

/* Why the worker died, for the message: a worker that died before its
 * script was running says why itself ("cannot import numpy: ..."), and
 * that is what the user needs, not its exit status. */
static void death_reason(struct slot *sl, char *out, size_t cap)
{
    char own[256];
    track_worker_error(sl->t, own, sizeof own);   /* its last traceback first */
    if (sl->died_starting && own[0])
        snprintf(out, cap, "%s (%s)", own, sl->why);
    else
        snprintf(out, cap, "%s", sl->why);
}

static void on_dead(struct supervisor *s, struct slot *sl)
{
    if (!worker_claim(sl->w))
        return;   /* the track thread is mid-block; it will let go at once */
    uint64_t now = now_ns();
    int n = count_restart(s, sl, now);
    char why[512];
    death_reason(sl, why, sizeof why);
    const char *label = track_script_label(sl->t);
    if (n > s->pol.max_restarts) {
        say(sl, "%s in %s (%s): %d restarts within %g s; the track is failed until its "
            "script changes", why, track_name(sl->t), label, s->pol.max_restarts,
            s->pol.window);
        track_set_state(sl->t, TRACK_FAILED);
        worker_hand_back(sl->w);
        sl->phase = PH_FAILED;
        return;
    }
    /* A worker that never finishes starting (a setup() that takes 2 s and
     * then crashes) restarts too slowly for any window to hold
     * max_restarts: its failed starts in a row count as well. */
    sl->failed_starts = sl->died_starting ? sl->failed_starts + 1 : 0;
    if (sl->failed_starts > s->pol.max_restarts) {
        say(sl, "%s in %s (%s): %d starts in a row failed; the track is failed until its "
            "script changes", why, track_name(sl->t), label, sl->failed_starts);
        track_set_state(sl->t, TRACK_FAILED);
        worker_hand_back(sl->w);
        sl->phase = PH_FAILED;
        return;
    }
    say(sl, "%s in %s (%s), restart %d/%d", why, track_name(sl->t), label, n,
        s->pol.max_restarts);
    track_set_state(sl->t, TRACK_RESTARTING);
    track_note_restart(sl->t, sl->died_ns);
    start_worker(s, sl);
}

static void on_loading(struct slot *sl, uint64_t until)
{
    enum worker_load st = worker_poll_load(sl->w, until);
    if (st == WORKER_LOAD_PENDING) {
        if (now_ns() > sl->load_deadline) {
            worker_set_kill_reason(sl->w, "setup timed out");
            worker_kill(sl->w);
            sl->load_deadline = UINT64_MAX;   /* now wait for the pidfd */
        }
        return;
    }
    if (st == WORKER_LOAD_LOST) {
        worker_kill(sl->w);   /* broke the channel: its death moves us on */
        sl->load_deadline = UINT64_MAX;
        return;
    }
    if (st == WORKER_LOADED) {
        if (sl->phase == PH_RELOADING)
            say(sl, "reloaded %s", track_script_label(sl->t));
        track_set_state(sl->t, TRACK_RUNNING);
    } else if (sl->phase == PH_LOADING) {
        track_set_state(sl->t, TRACK_ERROR);   /* setup() raised; the traceback is out */
    }
    /* A reload that raised keeps the previous script and state. */
    worker_hand_back(sl->w);
    sl->phase = PH_IDLE;
}

/* The script file changed: load it into the live worker, or start a fresh
 * worker when there is none (failed) - the restart history starts over. */
static void on_reload(struct supervisor *s, struct slot *sl)
{
    if (sl->phase == PH_LOADING || sl->phase == PH_RELOADING || sl->phase == PH_DEAD)
        return;   /* try again when that is over */
    if (!worker_claim(sl->w))
        return;
    sl->reload_at = 0;
    if (sl->phase == PH_FAILED || worker_pid(sl->w) <= 0) {
        sl->ntimes = 0;
        sl->failed_starts = 0;
        start_worker(s, sl);
        return;
    }
    if (worker_reload(sl->w) < 0) {
        worker_hand_back(sl->w);
        sl->reload_at = now_ns() + RELOAD_DEBOUNCE_NS;
        return;
    }
    sl->load_deadline = now_ns() + LOAD_TIMEOUT_NS;
    sl->phase = PH_RELOADING;
}

static void step(struct supervisor *s, struct slot *sl)
{
    if (!sl->w)
        return;
    char why[128];
    if (worker_reap(sl->w, why, sizeof why, NULL)) {
        const char *reason = worker_kill_reason(sl->w);
        snprintf(sl->why, sizeof sl->why, "%s", reason ? reason : why);
        sl->died_starting = sl->phase == PH_LOADING;
        sl->died_ns = now_ns();
        if (sl->pidfd >= 0)
            close(sl->pidfd);
        sl->pidfd = -1;
        worker_mark_dead(sl->w);
        sl->phase = PH_DEAD;
    }
    if (atomic_exchange(&sl->restart_requested, 0) && worker_pid(sl->w) > 0) {
        worker_set_kill_reason(sl->w, "restart requested");
        worker_kill(sl->w);
    }
    switch (sl->phase) {
    case PH_DEAD:
        on_dead(s, sl);
        break;
    case PH_LOADING:
    case PH_RELOADING:
        on_loading(sl, 1);   /* a past deadline: just look */
        break;
    default:
        break;
    }
    if (atomic_exchange(&sl->reload_requested, 0) && sl->w && !sl->reload_at)
        sl->reload_at = now_ns();
    if (sl->reload_at && now_ns() >= sl->reload_at)
        on_reload(s, sl);
}

static void on_file(void *ctx, int watch, const char *name)
{
    struct supervisor *s = ctx;
    for (int i = 0; i < s->n; i++) {
        struct slot *sl = &s->slots[i];
        if (sl->w && sl->watch == watch && sl->base && !strcmp(sl->base, name))
            sl->reload_at = now_ns() + RELOAD_DEBOUNCE_NS;
    }
}

static int busy(struct supervisor *s)
{
    for (int i = 0; i < s->n; i++) {
        struct slot *sl = &s->slots[i];
        if (sl->phase == PH_DEAD || sl->phase == PH_LOADING || sl->phase == PH_RELOADING
            || sl->reload_at)
            return 1;
    }
    return 0;
}

static void *supervisor_main(void *arg)
{
    struct supervisor *s = arg;
    plat_thread_name("shmix-super");
    struct pollfd *fds = calloc((size_t)s->n + 2, sizeof *fds);
    if (!fds)
        return NULL;
    while (!atomic_load(&s->stop)) {
        int nf = 0;
        fds[nf++] = (struct pollfd){s->event_fd, POLLIN, 0};
        fds[nf++] = (struct pollfd){s->watch_fd, POLLIN, 0};
        for (int i = 0; i < s->n; i++)
            if (s->slots[i].pidfd >= 0)
                fds[nf++] = (struct pollfd){s->slots[i].pidfd, POLLIN, 0};
        poll(fds, (nfds_t)nf, busy(s) ? SUPERVISOR_BUSY_MS : SUPERVISOR_IDLE_MS);
        uint64_t v;
        if (fds[0].revents && read(s->event_fd, &v, sizeof v) < 0 && errno != EAGAIN)
            break;
        if (fds[1].revents)
            plat_watch_read(s->watch_fd, on_file, s);
        if (zygote_reap(s->z))
            fprintf(stderr, "shmix: the zygote died; workers start without it from now on\n");
        for (int i = 0; i < s->n; i++)
            step(s, &s->slots[i]);
    }
    free(fds);
    return NULL;
}

int supervisor_start(struct supervisor *s)
{
    for (int i = 0; i < s->n; i++) {
        struct slot *sl = &s->slots[i];
        if (!sl->w)
            continue;
        watch_script(s, sl);
        if (worker_pid(sl->w) > 0) {
            open_pidfd(sl);
        } else {   /* died while starting: restart it like any other death */
            snprintf(sl->why, sizeof sl->why, "failed to start");
            sl->died_starting = 1;
            sl->died_ns = now_ns();
            sl->phase = PH_DEAD;
        }
    }
    if (plat_thread_start(&s->thread, supervisor_main, s) < 0)
        return SHX_ESYS;
    s->started = 1;
    return SHX_OK;
}

static void kick(struct supervisor *s)
{
    uint64_t one = 1;
    if (write(s->event_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        return;
}

void supervisor_restart(struct supervisor *s, int track)
{
    if (track < 0 || track >= s->n)
        return;
    atomic_store(&s->slots[track].restart_requested, 1);
    kick(s);
}

void supervisor_reload(struct supervisor *s, int track)
{
    if (track < 0 || track >= s->n)
        return;
    atomic_store(&s->slots[track].reload_requested, 1);
    kick(s);
}

void supervisor_destroy(struct supervisor *s)
{
    if (!s)
        return;
    if (s->started) {
        atomic_store(&s->stop, 1);
        kick(s);
        pthread_join(s->thread, NULL);
    }
    for (int i = 0; i < s->n; i++) {
        if (s->slots[i].pidfd >= 0)
            close(s->slots[i].pidfd);
        free(s->slots[i].times);
    }
    if (s->watch_fd >= 0)
        close(s->watch_fd);
    if (s->event_fd >= 0)
        close(s->event_fd);
    free(s->slots);
    free(s);
}
