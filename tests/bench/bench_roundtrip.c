/* bench_roundtrip.c - how long one block takes to go engine -> worker ->
 * engine, next to the raw cost of waking another process.
 *
 * Not a test: built by the `bench` target, never run by `make test`.
 *
 * In one run, with every peer process alive at once and the methods
 * interleaved round by round (so a change in the machine's state hits all
 * of them alike), it measures N round trips of each of:
 *
 *   sem      two process-shared POSIX semaphores in a MAP_SHARED page; a
 *            forked child echoes (post ping -> child waits ping, posts pong
 *            -> parent waits pong)
 *   pipe     two pipes, 1-byte messages, a forked child echoes
 *   futex    two sequence words in a MAP_SHARED page, the channel's own
 *            protocol (store-release, FUTEX_WAKE, FUTEX_WAIT_BITSET through
 *            plat_wait/plat_wake) without timeouts; a forked child echoes
 *   chan-c   the real shmix channel (chan_request/chan_wait_reply) with a
 *            forked C child running shmix-worker's serve() loop (1 s timed
 *            chan_wait_request, thread-CPU timing, chan_reply) but no Python
 *   shmix    the real shmix channel and the real shmix-worker (proc_spawn),
 *            a script whose process(block) is `pass`, including the copy of
 *            the 256x2 float32 block into the channel and out of it, as the
 *            engine's track thread does (and chan-c does too)
 *
 * and, from the worker's replies, the CPU time of the Python call
 * (chan_reply.cpu_ns: the worker thread's CPU time around pyhost_process),
 * its wake-up latency and its busy time. Times are CLOCK_MONOTONIC.
 *
 * Placement matters more than anything else here: on a small VM a wake-up
 * of a process on the other CPU (an IPI to a halted vCPU) costs several
 * times a switch on the same CPU, and the scheduler settles each pair on one
 * or the other from run to run. So every method also reports how often its
 * peer was found on this program's CPU (sampled after each round), and
 * --pin lets the comparison be made like for like.
 *
 * Target (the "Done means"): shmix p50 <= 1.5 x (sem p50 + Python
 * call p50).
 *
 * usage: bench_roundtrip [-n N] [-w WARMUP] [-r ROUNDS] [--pin none|same|split|all]
 *                        [--worker PATH]
 *   -n  measured round trips per method (default 100000)
 *   -w  warm-up round trips per method before measuring (default 5000)
 *   -r  rounds the N are split into, methods interleaved (default 20)
 *   --pin  none (default): pins nothing, like the engine; same: this program
 *          and every peer on the first allowed CPU; split: this program on
 *          the first and every peer on the second; all: none, same and split
 *          one after the other, with a summary
 *   --worker  path of shmix-worker (else $SHMIX_WORKER, else beside this
 *             program, else the build tree it was configured with) */
#include "channel.h"
#include "errors.h"
#include "platform.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FRAMES 256u
#define CHANNELS 2u
#define SAMPLE_RATE 48000
#define REPLY_DEADLINE_NS 5000000000ull   /* a block taking 5 s is a broken run */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, const char *a)
{
    fprintf(stderr, "bench_roundtrip: ");
    fprintf(stderr, fmt, a);
    fputc('\n', stderr);
    exit(1);
}

static void *shared_page(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    memset(p, 0, bytes);
    return p;
}

/* ---- placement ---- */

static cpu_set_t g_allowed;                  /* this program's CPUs at start */
static int g_cpu_self = -1, g_cpu_peer = -1; /* -1: not pinned */

static void set_affinity(pid_t pid, const cpu_set_t *set)
{
    if (sched_setaffinity(pid, sizeof *set, set) != 0)
        die("sched_setaffinity: %s", strerror(errno));
}

static void pin(pid_t pid, int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    set_affinity(pid, &set);
}

/* Sets up a pass: "none", "same" or "split". */
static void set_pinning(const char *how)
{
    int first = -1, second = -1;
    for (int c = 0; c < CPU_SETSIZE && second < 0; c++)
        if (CPU_ISSET(c, &g_allowed)) {
            if (first < 0)
                first = c;
            else
                second = c;
        }
    if (!strcmp(how, "none")) {
        g_cpu_self = g_cpu_peer = -1;
        set_affinity(0, &g_allowed);
        return;
    }
    if (!strcmp(how, "same")) {
        g_cpu_self = g_cpu_peer = first;
    } else if (!strcmp(how, "split")) {
        if (second < 0)
            die("%s", "--pin split needs two CPUs");
        g_cpu_self = first;
        g_cpu_peer = second;
    } else {
        die("--pin: expected none, same, split or all, got \"%s\"", how);
    }
    pin(0, g_cpu_self);
}

/* The CPU process pid last ran on (/proc/PID/stat field 39), or -1. */
static int last_cpu(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');   /* the name may contain spaces */
    if (!p)
        return -1;
    int field = 2;
    for (p++; *p && field < 39; p++)
        if (*p == ' ')
            field++;
    return field == 39 ? atoi(p) : -1;
}

/* ---- peers ---- */

/* In a forked child: die with the benchmark, whatever happens to it. */
static void child_init(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        _exit(0);
    pin(0, g_cpu_peer);
}

static pid_t fork_peer(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0)
        child_init();
    return pid;
}

static void reap(pid_t pid, const char *what)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fprintf(stderr, "bench_roundtrip: %s peer did not exit cleanly (status 0x%x)\n",
                what, st);
}

static uint32_t load_acq(uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void store_rel(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

struct method {
    const char *name;
    const char *label;
    void (*setup)(struct method *m);
    int (*trip)(struct method *m);     /* one round trip; 0 or -1 */
    void (*teardown)(struct method *m);
    void *ctx;
    pid_t peer;
    uint64_t *rt;                      /* measured round trips, ns */
    size_t n;
    unsigned same_cpu, cpu_samples;    /* placement samples */
};

/* sem: two pshared semaphores */
struct sem_pp {
    sem_t ping, pong;
    int stop;
};

static void sem_setup(struct method *m)
{
    struct sem_pp *p = shared_page(4096);
    if (sem_init(&p->ping, 1, 0) != 0 || sem_init(&p->pong, 1, 0) != 0)
        die("sem_init: %s", strerror(errno));
    pid_t pid = fork_peer();
    if (pid == 0) {
        for (;;) {
            while (sem_wait(&p->ping) != 0 && errno == EINTR)
                ;
            if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
                _exit(0);
            sem_post(&p->pong);
        }
    }
    m->peer = pid;
    m->ctx = p;
}

static int sem_trip(struct method *m)
{
    struct sem_pp *p = m->ctx;
    sem_post(&p->ping);
    while (sem_wait(&p->pong) != 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

static void sem_teardown(struct method *m)
{
    struct sem_pp *p = m->ctx;
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    sem_post(&p->ping);
    reap(m->peer, m->name);
    sem_destroy(&p->ping);
    sem_destroy(&p->pong);
    munmap(p, 4096);
}

/* pipe: two pipes, one byte each way; 'q' ends the child */
struct pipe_pp {
    int to_child[2], to_parent[2];
};

static struct pipe_pp g_pipe;

static void pipe_setup(struct method *m)
{
    struct pipe_pp *p = &g_pipe;
    if (pipe(p->to_child) != 0 || pipe(p->to_parent) != 0)
        die("pipe: %s", strerror(errno));
    pid_t pid = fork_peer();
    if (pid == 0) {
        close(p->to_child[1]);
        close(p->to_parent[0]);
        for (;;) {
            char c;
            ssize_t r = read(p->to_child[0], &c, 1);
            if (r < 0 && errno == EINTR)
                continue;
            if (r != 1 || c == 'q')
                _exit(0);
            if (write(p->to_parent[1], &c, 1) != 1)
                _exit(1);
        }
    }
    close(p->to_child[0]);
    close(p->to_parent[1]);
    m->peer = pid;
    m->ctx = p;
}

static int pipe_trip(struct method *m)
{
    struct pipe_pp *p = m->ctx;
    char c = 'x';
    if (write(p->to_child[1], &c, 1) != 1)
        return -1;
    for (;;) {
        ssize_t r = read(p->to_parent[0], &c, 1);
        if (r == 1)
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

static void pipe_teardown(struct method *m)
{
    struct pipe_pp *p = m->ctx;
    char c = 'q';
    if (write(p->to_child[1], &c, 1) != 1)
        kill(m->peer, SIGKILL);
    reap(m->peer, m->name);
    close(p->to_child[1]);
    close(p->to_parent[0]);
}

/* futex: the channel's protocol on two bare words */
struct futex_pp {
    alignas(64) uint32_t req;
    alignas(64) uint32_t ack;
    uint32_t stop;
    uint32_t seq;     /* parent only */
};

static void futex_setup(struct method *m)
{
    struct futex_pp *p = shared_page(4096);
    pid_t pid = fork_peer();
    if (pid == 0) {
        uint32_t seen = 0;
        for (;;) {
            uint32_t r = load_acq(&p->req);
            if (r != seen) {
                seen = r;
                if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
                    _exit(0);
                store_rel(&p->ack, r);
                plat_wake(&p->ack);
                continue;
            }
            plat_wait(&p->req, r, 0);
        }
    }
    m->peer = pid;
    m->ctx = p;
}

static int futex_trip(struct method *m)
{
    struct futex_pp *p = m->ctx;
    uint32_t s = ++p->seq;
    store_rel(&p->req, s);
    plat_wake(&p->req);
    uint32_t a;
    while ((a = load_acq(&p->ack)) != s)
        plat_wait(&p->ack, a, 0);
    return 0;
}

static void futex_teardown(struct method *m)
{
    struct futex_pp *p = m->ctx;
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    store_rel(&p->req, ++p->seq);
    plat_wake(&p->req);
    reap(m->peer, m->name);
    munmap(p, 4096);
}

/* chan-c and shmix: the real channel, the engine's side of a block */
struct chan_pp {
    struct chan *ch;
    int python;              /* the real shmix-worker */
    float in[FRAMES * CHANNELS], out[FRAMES * CHANNELS];
    uint64_t *cpu, *wake, *busy;   /* per measured trip, from the reply */
    size_t nrec, cap;
    int recording;
    char script[64];
};

static struct chan_pp g_chan_c, g_chan_py;
static size_t g_n;   /* measured trips per method, for the reply records */

static int chan_trip(struct method *m)
{
    struct chan_pp *p = m->ctx;
    memcpy(chan_audio(p->ch), p->in, sizeof p->in);
    if (chan_request(p->ch, CHAN_CMD_PROCESS, NULL, 0) < 0)
        return -1;
    struct chan_reply r;
    int rc = chan_wait_reply(p->ch, plat_now_ns() + REPLY_DEADLINE_NS, &r);
    if (rc < 0 || r.status != CHAN_ST_OK)
        return -1;
    memcpy(p->out, chan_audio(p->ch), sizeof p->out);
    if (p->recording && p->nrec < p->cap) {
        p->cpu[p->nrec] = r.cpu_ns;
        p->wake[p->nrec] = r.wake_ns;
        p->busy[p->nrec] = r.busy_ns;
        p->nrec++;
    }
    return 0;
}

static void chan_common(struct method *m, struct chan_pp *p)
{
    memset(p, 0, sizeof *p);
    int rc = chan_create(FRAMES, CHANNELS, 1, &p->ch);
    if (rc < 0)
        die("chan_create: %s", shx_strerror(rc));
    for (size_t i = 0; i < FRAMES * CHANNELS; i++)   /* a quiet ramp; content is irrelevant */
        p->in[i] = (float)(i % 97) / 1000.0f;
    p->cap = g_n;
    p->cpu = calloc(g_n, sizeof *p->cpu);
    p->wake = calloc(g_n, sizeof *p->wake);
    p->busy = calloc(g_n, sizeof *p->busy);
    if (!p->cpu || !p->wake || !p->busy)
        die("%s", "out of memory");
    m->ctx = p;
}

/* The worker side of chan-c: shmix-worker's serve() loop without Python. */
static void chan_c_setup(struct method *m)
{
    struct chan_pp *p = &g_chan_c;
    chan_common(m, p);
    int fd = chan_fd(p->ch);
    pid_t pid = fork_peer();
    if (pid == 0) {
        struct chan *wc;
        if (chan_attach(fd, &wc) < 0)
            _exit(1);
        for (;;) {
            struct chan_request req;
            if (chan_wait_request(wc, plat_now_ns() + 1000000000u, &req) < 0)
                continue;
            uint64_t woke = plat_now_ns();
            uint64_t cpu0 = plat_thread_cpu_ns();
            if (req.cmd == CHAN_CMD_QUIT) {
                chan_reply(wc, req.seq, CHAN_ST_OK, 0, woke);
                _exit(0);
            }
            chan_reply(wc, req.seq, CHAN_ST_OK, plat_thread_cpu_ns() - cpu0, woke);
        }
    }
    m->peer = pid;
}

static void print_worker_messages(struct chan_pp *p)
{
    char text[CHAN_MSG_TEXT + 1];
    uint32_t type;
    int rc;
    while ((rc = chan_read_msg(p->ch, &type, text, sizeof text)) != SHX_EEMPTY)
        if (rc == SHX_OK)
            fprintf(stderr, "  worker: %s\n", text);
}

/* atexit: no script left behind in /tmp, also when the run dies. */
static void remove_script(void)
{
    if (g_chan_py.script[0])
        unlink(g_chan_py.script);
}

static void shmix_setup(struct method *m)
{
    struct chan_pp *p = &g_chan_py;
    chan_common(m, p);
    p->python = 1;

    char err[512];
    uint64_t t0 = now_ns();
    int rc = proc_spawn(chan_fd(p->ch), 1024, "bench", NULL, &m->peer, err, sizeof err);
    if (rc < 0)
        die("%s", err);
    pin(m->peer, g_cpu_peer);

    snprintf(p->script, sizeof p->script, "/tmp/shmix-bench-XXXXXX.py");
    int sfd = mkstemps(p->script, 3);
    static const char src[] = "def process(block):\n    pass\n";
    if (sfd < 0 || write(sfd, src, sizeof src - 1) != (ssize_t)(sizeof src - 1))
        die("cannot write a script into /tmp: %s", strerror(errno));
    close(sfd);
    static int registered;
    if (!registered++)
        atexit(remove_script);
    char load[1024];
    int len = snprintf(load, sizeof load,
                       "{\"script\": \"%s\", \"track\": \"bench\", \"sample_rate\": %d, "
                       "\"block_size\": %u, \"channels\": %u, \"params\": {}}",
                       p->script, SAMPLE_RATE, FRAMES, CHANNELS);
    chan_request(p->ch, CHAN_CMD_LOAD, load, (size_t)len);
    struct chan_reply r;
    rc = chan_wait_reply(p->ch, plat_now_ns() + 60000000000ull, &r);
    if (rc < 0 || r.status != CHAN_ST_OK) {
        print_worker_messages(p);
        char why[128];
        proc_kill(m->peer);
        proc_describe(proc_reap(m->peer, 1000), why, sizeof why);
        unlink(p->script);
        fprintf(stderr, "bench_roundtrip: shmix-worker (%s) did not load the script: %s, "
                "status %u, worker %s\n", proc_worker_path(), shx_strerror(rc),
                rc < 0 ? 0u : r.status, why);
        exit(1);
    }
    printf("shmix-worker: %s (pid %ld), started and loaded in %.0f ms, channel %s\n",
           proc_worker_path(), (long)m->peer, (double)(now_ns() - t0) / 1e6,
           chan_locked(p->ch) ? "mlocked" : "not mlocked");
}

static void chan_teardown(struct method *m)
{
    struct chan_pp *p = m->ctx;
    print_worker_messages(p);
    if (chan_idle(p->ch) && chan_request(p->ch, CHAN_CMD_QUIT, NULL, 0) > 0)
        chan_wait_reply(p->ch, plat_now_ns() + 1000000000u, NULL);
    if (p->python) {
        proc_reap(m->peer, 1000);
        unlink(p->script);
        p->script[0] = '\0';
    } else {
        reap(m->peer, m->name);
    }
    chan_destroy(p->ch);
    p->ch = NULL;
}

static void chan_free(struct chan_pp *p)
{
    free(p->cpu);
    free(p->wake);
    free(p->busy);
    p->cpu = p->wake = p->busy = NULL;
}

/* ---- statistics ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct pct {
    double p50, p99, p999, max, mean;
};

/* Nearest-rank percentile q of the sorted v[0..n), n > 0. */
static uint64_t rank(const uint64_t *v, size_t n, double q)
{
    size_t k = (size_t)(q * (double)n);
    if ((double)k < q * (double)n)
        k++;                         /* ceil(q * n) */
    return v[k > 0 ? k - 1 : 0];
}

/* Percentiles in µs. Sorts v. */
static struct pct percentiles(uint64_t *v, size_t n)
{
    struct pct r = {0};
    if (!n)
        return r;
    qsort(v, n, sizeof *v, cmp_u64);
    r.p50 = (double)rank(v, n, 0.50) / 1e3;
    r.p99 = (double)rank(v, n, 0.99) / 1e3;
    r.p999 = (double)rank(v, n, 0.999) / 1e3;
    r.max = (double)v[n - 1] / 1e3;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)v[i];
    r.mean = sum / (double)n / 1e3;
    return r;
}

static void row(const char *label, struct pct p, const char *extra)
{
    printf("%-42s %9.2f %9.2f %9.2f %9.2f %9.2f  %s\n", label, p.p50, p.p99, p.p999, p.max,
           p.mean, extra);
}

/* ---- one pass ---- */

struct result {
    double sem, shmix, call, ratio;
};

static struct result run_pass(const char *pinning, size_t n, size_t warm, size_t rounds)
{
    struct method methods[] = {
        {"sem", "sem_t ping-pong (pshared, fork)", sem_setup, sem_trip, sem_teardown,
         NULL, 0, NULL, 0, 0, 0},
        {"pipe", "pipe ping-pong (1 byte, fork)", pipe_setup, pipe_trip, pipe_teardown,
         NULL, 0, NULL, 0, 0, 0},
        {"futex", "futex ping-pong (raw, fork)", futex_setup, futex_trip, futex_teardown,
         NULL, 0, NULL, 0, 0, 0},
        {"chan-c", "shmix channel + C serve() loop, no Python", chan_c_setup, chan_trip,
         chan_teardown, NULL, 0, NULL, 0, 0, 0},
        {"shmix", "shmix channel + shmix-worker, pass", shmix_setup, chan_trip,
         chan_teardown, NULL, 0, NULL, 0, 0, 0},
    };
    enum { NM = sizeof methods / sizeof methods[0], SHMIX = NM - 1, CHAN_C = NM - 2 };

    set_pinning(pinning);
    char where[80] = "pinned: nothing";
    if (g_cpu_self >= 0)
        snprintf(where, sizeof where, "pinned: this program on CPU %d, peers on CPU %d",
                 g_cpu_self, g_cpu_peer);
    printf("== pass --pin %s (%s)\n", pinning, where);

    for (int k = 0; k < NM; k++) {
        methods[k].setup(&methods[k]);
        methods[k].rt = calloc(n, sizeof(uint64_t));
        if (!methods[k].rt)
            die("%s", "out of memory");
        for (size_t i = 0; i < warm; i++)
            if (methods[k].trip(&methods[k]) < 0)
                die("%s: round trip failed during warm-up", methods[k].name);
    }
    g_chan_c.recording = g_chan_py.recording = 1;

    uint64_t t_start = now_ns();
    for (size_t r = 0; r < rounds; r++) {
        size_t per = n / rounds + (r < n % rounds);
        for (int j = 0; j < NM; j++) {
            struct method *m = &methods[(j + r) % NM];   /* rotate who goes first */
            for (size_t i = 0; i < per; i++) {
                uint64_t t0 = now_ns();
                int rc = m->trip(m);
                uint64_t t1 = now_ns();
                if (rc < 0) {
                    if (m->ctx == &g_chan_py)
                        print_worker_messages(&g_chan_py);
                    die("%s: round trip failed", m->name);
                }
                m->rt[m->n++] = t1 - t0;
            }
            /* Where the pair ran just now (outside the timed region). */
            int self = sched_getcpu(), peer = last_cpu(m->peer);
            if (self >= 0 && peer >= 0) {
                m->cpu_samples++;
                m->same_cpu += self == peer;
            }
        }
    }
    double secs = (double)(now_ns() - t_start) / 1e9;

    for (int k = 0; k < NM; k++)
        methods[k].teardown(&methods[k]);

    struct pct res[NM];
    for (int k = 0; k < NM; k++)
        res[k] = percentiles(methods[k].rt, methods[k].n);
    struct pct py_cpu = percentiles(g_chan_py.cpu, g_chan_py.nrec);
    struct pct py_wake = percentiles(g_chan_py.wake, g_chan_py.nrec);
    struct pct py_busy = percentiles(g_chan_py.busy, g_chan_py.nrec);
    struct pct c_cpu = percentiles(g_chan_c.cpu, g_chan_c.nrec);
    struct pct c_wake = percentiles(g_chan_c.wake, g_chan_c.nrec);
    struct pct c_busy = percentiles(g_chan_c.busy, g_chan_c.nrec);

    printf("measured in %.1f s\n\n", secs);
    printf("%-42s %9s %9s %9s %9s %9s  %s\n", "round trip (µs)", "p50", "p99", "p99.9",
           "max", "mean", "peer on same CPU");
    for (int k = 0; k < NM; k++) {
        char same[32];
        snprintf(same, sizeof same, "%u/%u", methods[k].same_cpu, methods[k].cpu_samples);
        row(methods[k].label, res[k], same);
    }
    printf("\n%-42s %9s %9s %9s %9s %9s\n", "reported by the peer (µs)", "p50", "p99",
           "p99.9", "max", "mean");
    row("shmix-worker: process() CPU (cpu_ns)", py_cpu, "");
    row("shmix-worker: wake-up (wake_ns)", py_wake, "");
    row("shmix-worker: busy (busy_ns)", py_busy, "");
    row("C serve() loop: CPU (cpu_ns)", c_cpu, "");
    row("C serve() loop: wake-up (wake_ns)", c_wake, "");
    row("C serve() loop: busy (busy_ns)", c_busy, "");

    struct result out;
    out.sem = res[0].p50;
    out.shmix = res[SHMIX].p50;
    out.call = py_cpu.p50;
    out.ratio = out.shmix / (out.sem + out.call);
    printf("\nPython call p50 (median worker cpu_ns)      %8.2f µs\n", out.call);
    printf("shmix p50 - chan-c p50 (Python + pyhost)    %8.2f µs\n",
           out.shmix - res[CHAN_C].p50);
    printf("chan-c p50 - futex p50 (channel overhead)   %8.2f µs\n",
           res[CHAN_C].p50 - res[2].p50);
    printf("ratio shmix_p50 / (sem_p50 + python_call_p50) = %.2f / (%.2f + %.2f) = %.3f  "
           "target <= 1.5: %s\n\n",
           out.shmix, out.sem, out.call, out.ratio, out.ratio <= 1.5 ? "MET" : "MISSED");
    fflush(stdout);

    for (int k = 0; k < NM; k++)
        free(methods[k].rt);
    chan_free(&g_chan_c);
    chan_free(&g_chan_py);
    return out;
}

/* ---- main ---- */

static size_t arg_size(const char *opt, const char *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (*end || errno || x == 0 || x > 100000000ull)
        die("bad value for %s", opt);
    return (size_t)x;
}

/* Finds shmix-worker: --worker, $SHMIX_WORKER, beside this program, else
 * the build tree this program was configured in. */
static void find_worker(const char *opt)
{
    if (opt)
        setenv("SHMIX_WORKER", opt, 1);
    if (proc_worker_path())
        return;
#ifdef SHMIX_BENCH_WORKER
    if (access(SHMIX_BENCH_WORKER, X_OK) == 0) {
        setenv("SHMIX_WORKER", SHMIX_BENCH_WORKER, 1);
        if (proc_worker_path())
            return;
    }
#endif
    die("%s", "cannot find shmix-worker (use --worker PATH or set SHMIX_WORKER)");
}

int main(int argc, char **argv)
{
    size_t n = 100000, warm = 5000, rounds = 20;
    const char *worker = NULL, *pinning = "none";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: %s [-n N] [-w WARMUP] [-r ROUNDS] [--pin none|same|split|all] "
                   "[--worker PATH]\n", argv[0]);
            return 0;
        }
        if (i + 1 >= argc)
            die("%s needs a value (see --help)", argv[i]);
        if (!strcmp(argv[i], "-n"))
            n = arg_size("-n", argv[++i]);
        else if (!strcmp(argv[i], "-w"))
            warm = arg_size("-w", argv[++i]);
        else if (!strcmp(argv[i], "-r"))
            rounds = arg_size("-r", argv[++i]);
        else if (!strcmp(argv[i], "--pin"))
            pinning = argv[++i];
        else if (!strcmp(argv[i], "--worker"))
            worker = argv[++i];
        else
            die("unknown option %s (see --help)", argv[i]);
    }
    if (strcmp(pinning, "none") && strcmp(pinning, "same") && strcmp(pinning, "split")
        && strcmp(pinning, "all"))
        die("--pin: expected none, same, split or all, got \"%s\"", pinning);
    if (rounds > n)
        rounds = n;
    g_n = n;
    find_worker(worker);
    signal(SIGPIPE, SIG_IGN);
    if (sched_getaffinity(0, sizeof g_allowed, &g_allowed) != 0)
        die("sched_getaffinity: %s", strerror(errno));

    struct utsname u;
    uname(&u);
    printf("bench_roundtrip: %zu measured round trips per method in %zu interleaved rounds, "
           "%zu warm-up; %d CPUs allowed (%ld online); Linux %s; block %ux%u float32\n",
           n, rounds, warm, CPU_COUNT(&g_allowed), sysconf(_SC_NPROCESSORS_ONLN), u.release,
           FRAMES, CHANNELS);

    if (strcmp(pinning, "all") != 0) {
        run_pass(pinning, n, warm, rounds);
        return 0;
    }
    static const char *const passes[] = {"none", "same", "split"};
    struct result res[3];
    for (int k = 0; k < 3; k++)
        res[k] = run_pass(passes[k], n, warm, rounds);
    printf("== summary: shmix_p50 / (sem_p50 + python_call_p50), target <= 1.5\n");
    for (int k = 0; k < 3; k++)
        printf("--pin %-6s %8.2f / (%6.2f + %5.2f) = %.3f  %s\n", passes[k], res[k].shmix,
               res[k].sem, res[k].call, res[k].ratio, res[k].ratio <= 1.5 ? "MET" : "MISSED");
    return 0;
}
