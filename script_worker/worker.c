/* worker.c - shmix-worker: one Python script host per scripted track, or
 * the zygote that makes them.
 *
 * DESIGN. Started only by the engine, either cold, as
 *     shmix-worker --fd N --parent PID [--memory-mb MB] [PYTHON...]
 * with the track's channel inherited as descriptor N, or as the zygote,
 *     shmix-worker --zygote 1 --parent PID [PYTHON...]
 * which starts Python and imports numpy once, then clones itself into a
 * worker per request, each request bringing its channel (see
 * ipc/zygote_proto.h): a new worker costs a fork,
 * not an interpreter start. PYTHON is the session's python: settings,
 * applied before any script (pyhost_prepare): --path DIR, --site DIR and
 * --preload MODULE, each as often as needed; the zygote imports the
 * preload modules once, so its clones start with them. Either way a
 * worker contains itself (own process group, address-space limit, no core
 * dumps, dies with the engine) and serves requests in a loop: wait ->
 * LOAD/PROCESS/QUIT -> reply. The wait is timed so the parent is
 * re-checked every second even if PR_SET_PDEATHSIG was somehow missed.
 * Single-threaded.
 *
 * In play the engine makes a worker SCHED_FIFO with a soft RLIMIT_RTTIME
 * (see docs/realtime.md): when a script runs that long without its worker
 * blocking, the kernel sends SIGXCPU and the handler below steps the
 * process down to time-sharing, so that a script stuck in a loop cannot
 * keep the other workers off a CPU while the engine waits out
 * hang_timeout. It steps back up once the request is answered. LOAD
 * always runs time-shared (load_time_shared). */
#include "arenas.h"
#include "pyhost.h"
#include "../ipc/channel.h"
#include "../ipc/errors.h"
#include "../ipc/platform.h"
#include "../ipc/units.h"
#include "../ipc/zygote_proto.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The real-time priority the process had when SIGXCPU stepped it down, 0
 * while it has not. Written by the handler, read by the serve loop. */
static volatile sig_atomic_t stepped_down_from;

/* The soft RLIMIT_RTTIME the engine gave the worker, in us (0: not known
 * yet). The kernel raises the soft limit by a second each time it sends
 * SIGXCPU; the worker puts it back when it steps up again, or the next
 * runaway would meet the hard limit (SIGKILL) before any SIGXCPU. */
static volatile sig_atomic_t rttime_soft_us;

/* SCHED_FIFO, with or without SCHED_RESET_ON_FORK (which the engine sets,
 * and sched_getscheduler reports ORed in). Async-signal-safe. */
static int running_fifo(void)
{
    return (sched_getscheduler(0) & ~SCHED_RESET_ON_FORK) == SCHED_FIFO;
}

/* Steps down to time-sharing. SCHED_RESET_ON_FORK stays set: clearing it
 * takes CAP_SYS_NICE, which a worker usually has given up. */
static void on_xcpu(int sig)
{
    (void)sig;
    int saved = errno;
    struct rlimit rl;
    if (!rttime_soft_us && getrlimit(RLIMIT_RTTIME, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
        && rl.rlim_cur > 1000000)
        rttime_soft_us = (sig_atomic_t)(rl.rlim_cur - 1000000);   /* before the kernel's raise */
    struct sched_param sp;
    if (running_fifo() && sched_getparam(0, &sp) == 0) {
        struct sched_param other = {.sched_priority = 0};
        if (sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &other) == 0)
            stepped_down_from = sp.sched_priority;
    }
    errno = saved;
}

/* After an answer: real-time again if SIGXCPU had stepped the process down
 * (RLIMIT_RTTIME counts afresh once the process has blocked). */
static void step_back_up(void)
{
    int prio = stepped_down_from;
    if (prio > 0) {
        stepped_down_from = 0;
        struct rlimit rl;
        if (rttime_soft_us && getrlimit(RLIMIT_RTTIME, &rl) == 0) {
            rl.rlim_cur = (rlim_t)rttime_soft_us;
            setrlimit(RLIMIT_RTTIME, &rl);
        }
        struct sched_param sp = {.sched_priority = prio};
        sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp);
    }
}

/* LOAD (importing the script, its modules, running setup) is not
 * real-time work and may take a while: it runs time-shared, so that a
 * worker starting or reloading beside others on its CPU never holds them
 * off, and the process is real-time again for the blocks that follow. */
static uint32_t load_time_shared(struct pyhost *py, const char *ctl)
{
    struct sched_param sp;
    int rt = running_fifo() && sched_getparam(0, &sp) == 0;
    if (rt) {
        struct sched_param other = {.sched_priority = 0};
        sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &other);
    }
    uint32_t st = pyhost_load(py, ctl);
    if (rt)
        sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp);
    return st;
}

static void usage_exit(void)
{
    fprintf(stderr, "shmix-worker: started by shmix only "
                    "(--fd N --parent PID [--memory-mb MB] | --zygote 1 --parent PID) "
                    "[--path DIR] [--site DIR] [--preload MODULE]\n");
    exit(2);
}

/* The session's python: settings from the command line, copied (the
 * process title overwrites argv): NULL-terminated lists. */
struct py_settings {
    const char **path, **site, **preload;
};

/* Applies them to a started interpreter; see pyhost_prepare. */
static int prepare(struct pyhost *py, const struct py_settings *ps, char *err, size_t cap)
{
    return pyhost_prepare(py, ps->path, ps->site, ps->preload, err, cap);
}

/* Limits every worker process has, the zygote included. */
static void contain_process(void)
{
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    /* Non-dumpable from the start: nothing reaches the zygote's channels
     * through /proc. A worker confines itself further (become_script_host). */
    plat_no_dump();
    /* Before the engine can make this process (or, in the zygote, the
     * workers cloned from it, which inherit the handler) real-time. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_xcpu;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGXCPU, &sa, NULL);
    /* numpy's BLAS would otherwise start a thread per core in every worker. */
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("MKL_NUM_THREADS", "1", 1);
    /* The engine may use stdout for stats; a stray write from C code in a
     * script's extension goes to stderr instead. Python's print() is sent
     * to the engine as log messages by pyhost. */
    dup2(STDERR_FILENO, STDOUT_FILENO);
}

static void limit_memory(long memory_mb)
{
    if (memory_mb > 0) {
        struct rlimit as = {(rlim_t)memory_mb << 20, (rlim_t)memory_mb << 20};
        setrlimit(RLIMIT_AS, &as);
    }
}

static int serve(struct chan *ch, struct pyhost *py, pid_t parent)
{
    uint32_t fails = 0;   /* failed blocks in a row, as the engine counts them */
    for (;;) {
        struct chan_request req;
        int rc = chan_wait_request(ch, plat_now_ns() + S_NS(1), &req);
        if (rc == SHX_ETIMEOUT) {
            if (!plat_parent_alive(parent))
                return 1;
            continue;
        }
        uint64_t woke = plat_now_ns();
        uint64_t cpu0 = plat_thread_cpu_ns();
        uint32_t st;
        uint64_t mask = 0;
        switch (req.cmd) {
        case CHAN_CMD_LOAD:
            st = load_time_shared(py, req.ctl);
            mask = st == CHAN_ST_OK;
            fails = 0;
            break;
        case CHAN_CMD_PROCESS:
            /* The blocks of a batch in order; a block that fails leaves its
             * bit clear and the next block is still processed (the engine
             * plays each failed block per on_fault) - until the failure
             * that puts the track in `error`: the script is not called
             * after that one. */
            st = CHAN_ST_OK;
            if (req.ctl_len > 0)
                pyhost_params(py, req.ctl);
            for (uint32_t i = 0; i < req.count && fails < CHAN_FAILS_TO_ERROR; i++) {
                int64_t frame;
                uint32_t flags;
                chan_info(ch, i, &frame, &flags);
                uint32_t s = pyhost_process(py, i, frame, flags);
                if (s == CHAN_ST_OK) {
                    mask |= (uint64_t)1 << i;
                    fails = 0;
                } else {
                    fails++;
                    if (st == CHAN_ST_OK)
                        st = s;
                }
                chan_note_progress(ch, req.seq, i + 1, mask);
            }
            /* Blocks left unprocessed failed too (the channel takes OK
             * only with every bit set). */
            if (st == CHAN_ST_OK && req.count && mask != chan_mask_of(req.count))
                st = CHAN_ST_RAISED;
            break;
        case CHAN_CMD_QUIT:
            chan_reply(ch, req.seq, CHAN_ST_OK, 0, woke);
            return 0;
        default:
            st = CHAN_ST_NOSCRIPT;
            break;
        }
        chan_reply_blocks(ch, req.seq, st, mask, plat_thread_cpu_ns() - cpu0, woke);
        /* Real-time again only if it is about to sleep: RLIMIT_RTTIME's
         * count starts afresh when a real-time process wakes, not when it
         * answers. On an overloaded machine the next request is often
         * there already; stepping up to run it would go on counting from
         * where SIGXCPU came, and a few such requests in a row reached the
         * hard limit - a healthy worker killed. */
        if (!chan_request_pending(ch))
            step_back_up();
        pyhost_idle(py);
    }
}

/* Attaches to the channel on fd and serves it until told to quit. py is
 * the interpreter (already started and prepared), or NULL to start one
 * here with the settings ps. A preload module that does not import ends
 * the worker with SHX_EXIT_PRELOAD: the engine reports the session, and
 * does not restart a worker that would fail the same way. */
static int run_worker(int fd, pid_t parent, struct pyhost *py, const struct py_settings *ps)
{
    struct chan *ch;
    char err[1024];
    int rc = chan_attach(fd, &ch);
    if (rc < 0) {
        fprintf(stderr, "shmix-worker: descriptor %d: %s\n", fd, shx_strerror(rc));
        return 1;
    }
    if (!py && pyhost_create(&py, err, sizeof err) == SHX_OK
        && (rc = prepare(py, ps, err, sizeof err)) == SHX_ESCRIPT) {
        chan_post_msg(ch, CHAN_MSG_PRELOAD, err, strlen(err));
        return SHX_EXIT_PRELOAD;
    }
    if (!py || rc < 0 || pyhost_attach(py, ch, err, sizeof err) < 0) {
        chan_post_msg(ch, CHAN_MSG_ERROR, err, strlen(err));
        fprintf(stderr, "shmix-worker: %s\n", err);
        return 1;
    }
    return serve(ch, py, parent);
}

/* The memory of argv and environ's strings, which /proc/PID/cmdline (ps,
 * top, htop) shows: a worker writes its title there. */
static char *title_area;
static size_t title_cap;

extern char **environ;

/* Main, at start: takes the strings of argv and environ (contiguous on
 * Linux) as room for a title, after copying environ's strings elsewhere
 * (getenv must keep working). */
static void claim_title_area(int argc, char **argv)
{
    char *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
    for (char **e = environ; e && *e; e++) {
        if (*e != end)
            break;   /* not contiguous: the area stops here */
        end += strlen(*e) + 1;
        char *copy = strdup(*e);
        if (copy)
            *e = copy;
    }
    title_area = argv[0];
    title_cap = (size_t)(end - argv[0]);
}

/* Names the process after its track, so that ps and top tell workers
 * apart: "shmix-worker drums" as its command line, "shmix:drums" as its
 * name (/proc/PID/comm, 15 bytes at most, cut between characters). */
static void set_title(const char *track)
{
    char comm[64];
    snprintf(comm, sizeof comm, "shmix:%s", track);
    plat_thread_name(comm);
    if (!title_area || title_cap < 2)
        return;
    memset(title_area, 0, title_cap);
    snprintf(title_area, title_cap - 1, "shmix-worker %s", track);
}

/* abort() in the init of a PID namespace: a signal a process sends itself
 * with the default action is ignored there, and glibc's abort() would end
 * in a segfault; the worker says "abort" with an exit status instead. */
static void on_abort(int sig)
{
    (void)sig;
    _exit(SHX_EXIT_ABORTED);
}

/* Worker, just before it serves its channel: it gives up its
 * capabilities, so that a script, even one run by root, cannot open the
 * engine's or another worker's channel through /proc, nor raise the
 * limits the engine sets on it (docs/reliability.md). A worker that is
 * the init of a PID namespace of its own (cloned so by the zygote: every
 * process its script starts dies with it) reports abort() itself. */
static void become_script_host(void)
{
    if (getpid() == 1) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_abort;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGABRT, &sa, NULL);
    }
    plat_confine_worker(CHAN_WORKER_PRIO_MAX);
}

/* In the new worker, just cloned from the zygote: drop everything that was
 * the zygote's and become an ordinary worker for the channel on chan_fd. */
static int become_worker(int chan_fd, long memory_mb, const char *name, pid_t parent,
                         struct pyhost *py, const struct py_settings *ps)
{
    close(ZYG_REQ_FD);
    close(ZYG_REPLY_FD);
    setpgid(0, 0);
    /* CLONE_PARENT made the engine our parent: tie our life to it. */
    if (plat_die_with_parent(parent) != SHX_OK)
        return 1;
    limit_memory(memory_mb);
    set_title(name);
    become_script_host();
    return run_worker(chan_fd, parent, py, ps);
}

/* The zygote's first word to the engine (ipc/zygote_proto.h): ready, or
 * why not. Returns 0 when it was sent and the zygote may serve. */
static int hello(uint32_t status, const char *why)
{
    struct zyg_hello h;
    memset(&h, 0, sizeof h);
    h.magic = ZYG_MAGIC;
    h.status = status;
    snprintf(h.text, sizeof h.text, "%s", why);
    _Static_assert(sizeof h <= PIPE_BUF, "one write, never torn");
    ssize_t n = write(ZYG_REPLY_FD, &h, sizeof h);
    return n == (ssize_t)sizeof h && status == ZYG_READY ? 0 : -1;
}

static int zygote(pid_t parent, const struct py_settings *ps)
{
    struct pyhost *py;
    char err[ZYG_TEXT_BYTES];
    /* Everything every worker shares is done here, once: Python, numpy,
     * the session's folders and preload modules. The engine waits for the
     * hello, so a preload that fails stops the session before it plays. */
    (void)arenas_use_huge_pages();   /* without it Python maps its arenas itself */
    int rc = pyhost_create(&py, err, sizeof err);
    if (rc == SHX_OK)
        rc = prepare(py, ps, err, sizeof err);
    if (rc == SHX_OK) {
        pyhost_before_clones(py);
        arenas_trim();
    }
    if (hello(rc == SHX_OK ? ZYG_READY : rc == SHX_ESCRIPT ? ZYG_PRELOAD_FAILED : ZYG_NO_PYTHON,
              rc == SHX_OK ? "" : err) < 0)
        return 1;
    plat_thread_name("shmix-zygote");
    /* Its clones watch the engine through a pidfd: from inside a PID
     * namespace of their own getppid() says 0. */
    plat_watch_parent(parent);
    struct zyg_request rq;
    int chan_fd;
    /* The end of the request socket means the engine is gone or done. A
     * message of another size is dropped (it has no request number to
     * answer); a request without a channel or magic is refused - also one
     * whose channel the kernel could not hand over (no descriptor free
     * here): the engine then starts that worker cold at once. */
    for (;;) {
        int got = plat_msg_recv(ZYG_REQ_FD, &rq, sizeof rq, &chan_fd);
        if (got == SHX_EBADMSG)
            continue;
        if (got < 0)
            break;
        struct zyg_reply rp = {ZYG_MAGIC, rq.index, -EINVAL, rq.seq};
        if (rq.magic == ZYG_MAGIC && chan_fd >= 0) {
            /* A raw clone: fork() cannot take CLONE_PARENT. Safe here
             * because the zygote is single-threaded (no lock can be held
             * by another thread), and Python is told around it. */
            pyhost_before_fork();
            /* Each worker is the init of a PID namespace of its own: when it
             * dies - restarted, killed, or with a SIGKILLed engine - the
             * kernel kills every process its script started, setsid() or
             * not. Without CAP_SYS_ADMIN, an uncontained clone. */
            long pid = syscall(SYS_clone, CLONE_PARENT | CLONE_NEWPID | SIGCHLD, NULL, NULL,
                               NULL, 0);
            if (pid < 0 && (errno == EPERM || errno == EINVAL))
                pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
            if (pid == 0) {
                pyhost_after_fork(1);
                arenas_after_clone();
                rq.name[sizeof rq.name - 1] = '\0';
                _exit(become_worker(chan_fd, rq.memory_mb, rq.name, parent, py, ps));
            }
            rp.pid = pid > 0 ? (int32_t)pid : -errno;
            pyhost_after_fork(0);
        }
        if (chan_fd >= 0)
            close(chan_fd);   /* the clone has its own */
        if (write(ZYG_REPLY_FD, &rp, sizeof rp) != (ssize_t)sizeof rp)
            break;
    }
    return 0;
}

/* Appends a copy of v to a NULL-terminated list with room for it. */
static void add(const char **list, const char *v)
{
    while (*list)
        list++;
    if (!(*list = strdup(v)))
        exit(1);
}

int main(int argc, char **argv)
{
    int fd = -1;
    long parent = -1, memory_mb = 0, zyg = -1;
    const char *name = "";
    /* Each list has room for every argument: no count to trust. */
    struct py_settings ps = {calloc((size_t)argc, sizeof(char *)),
                             calloc((size_t)argc, sizeof(char *)),
                             calloc((size_t)argc, sizeof(char *))};
    if (!ps.path || !ps.site || !ps.preload)
        return 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--fd"))
            fd = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--parent"))
            parent = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--memory-mb"))
            memory_mb = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--zygote"))
            zyg = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--name"))
            name = argv[i + 1];
        else if (!strcmp(argv[i], "--path"))
            add(ps.path, argv[i + 1]);
        else if (!strcmp(argv[i], "--site"))
            add(ps.site, argv[i + 1]);
        else if (!strcmp(argv[i], "--preload"))
            add(ps.preload, argv[i + 1]);
        else
            usage_exit();
    }
    if ((fd < 0) == (zyg < 0) || parent <= 0 || argc % 2 != 1 || (zyg >= 0 && zyg != 1))
        usage_exit();
    if (plat_die_with_parent((pid_t)parent) != SHX_OK)
        return 1;
    claim_title_area(argc, argv);
    contain_process();
    int status;
    if (zyg >= 0) {
        status = zygote((pid_t)parent, &ps);
    } else {
        limit_memory(memory_mb);
        char track[64];
        snprintf(track, sizeof track, "%s", name);   /* the title overwrites argv */
        set_title(track);
        become_script_host();
        status = run_worker(fd, (pid_t)parent, NULL, &ps);
    }
    /* Skip Py_Finalize on the way out: it can run arbitrary script code
     * (atexit, __del__) and the engine may already be waiting to reap us. */
    fflush(stderr);
    _exit(status);
}
