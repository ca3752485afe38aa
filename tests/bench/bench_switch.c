/* bench_switch.c - what a switch between address spaces costs on this
 * machine, and how that cost grows with the number of address spaces the
 * CPU cycles through: the machine's side of shmix's track count.
 *
 * Not a test: built by the `bench` target, never run by `make test`.
 *
 * A played track costs its worker a wake-up per request, and at
 * script_block 2048 a thousand tracks means a thousand worker processes
 * woken in turn, each once every ~340 ms. On a VM whose hypervisor keeps a
 * bounded cache of the guests' address spaces (shadow page tables), the
 * cost of a switch can depend on how many distinct address spaces take
 * turns, not only on the switch itself. This measures that with no engine
 * and no Python:
 *
 *   proc    N forked processes pass a token around a ring: each waits on
 *           its process-shared POSIX semaphore and posts the next one's
 *           (the same kind of hand-off as a worker's futex), so every hop
 *           is a wake-up and a switch to another address space
 *   thread  the same ring of N threads of one process: every hop is a
 *           wake-up and a switch, but never to another address space
 *
 * all pinned to one CPU (so no hop is an inter-processor wake-up), for each
 * N given, the two kinds taking turns repeat by repeat. It prints the median
 * microseconds per hop of each, their ratio, and the process hop against
 * the first (smallest) N's.
 *
 * A second mode keeps a ring turning slowly in the background of something
 * else (a shmix session, say), so that N more address spaces - or, for
 * comparison, N more threads - take turns on the machine at about the rate
 * a worker at script_block 2048 does:
 *
 *   bench_switch --hold proc|thread N PACE_MS SECONDS
 *            one lap of the ring every PACE_MS for SECONDS, not pinned;
 *            prints the laps made and the µs per hop they took
 *
 * usage: bench_switch [-r REPEAT] [-l LAPS] [N ...]
 *   -r  repeats per N and kind, medians printed (default 3)
 *   -l  timed laps of the ring per repeat, after one untimed lap (default 50;
 *       the first few after it are still warming up)
 *   N   ring sizes (default 2 100 500 800 900 950 1000 1050 1100 1200 1400) */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_REPEAT 15
#define MAX_SIZES 32

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* One ring: n members and the token's way back to the timer (sem[n]). */
struct ring {
    sem_t *sem;
    int n, laps;
    long pace_ns;   /* --hold: the driver sleeps this long between laps */
};

/* A member's whole life: laps + 1 passes of the token. */
static void member(const struct ring *r, int i)
{
    for (int lap = 0; lap <= r->laps; lap++) {
        while (sem_wait(&r->sem[i]) < 0 && errno == EINTR) {
        }
        sem_post(&r->sem[i + 1]);
    }
}

struct member_arg {
    const struct ring *r;
    int i;
};

static void *member_thread(void *arg)
{
    const struct member_arg *a = arg;
    member(a->r, a->i);
    return NULL;
}

/* Sends the token round laps + 1 times; returns seconds per hop of the
 * last laps (the first lap wakes every member once: not timed). */
static double drive(const struct ring *r)
{
    double t0 = 0;
    double paced = 0;   /* --hold: time spent in laps, not between them */
    for (int lap = 0; lap <= r->laps; lap++) {
        if (lap == 1)
            t0 = now_s();
        double l0 = now_s();
        sem_post(&r->sem[0]);
        while (sem_wait(&r->sem[r->n]) < 0 && errno == EINTR) {
        }
        if (r->pace_ns) {
            if (lap >= 1)
                paced += now_s() - l0;
            struct timespec d = {r->pace_ns / 1000000000L, r->pace_ns % 1000000000L};
            while (nanosleep(&d, &d) < 0 && errno == EINTR) {
            }
        }
    }
    double spent = r->pace_ns ? paced : now_s() - t0;
    return spent / ((double)r->laps * (r->n + 1));
}

static sem_t *sems(int n, int pshared)
{
    size_t len = sizeof(sem_t) * (size_t)(n + 1);
    sem_t *s = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED)
        return NULL;
    for (int i = 0; i <= n; i++)
        sem_init(&s[i], pshared, 0);
    return s;
}

/* µs per hop of a ring of n processes, or < 0 on failure. */
static double proc_ring(int n, int laps, long pace_ns)
{
    struct ring r = {.sem = sems(n, 1), .n = n, .laps = laps, .pace_ns = pace_ns};
    if (!r.sem)
        return -1;
    int forked = 0;
    for (; forked < n; forked++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* Killed with the driver, rather than left waiting for a token
             * that never comes (--hold is stopped by a signal). */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() == 1)
                _exit(0);
            member(&r, forked);
            _exit(0);
        }
        if (pid < 0)
            break;
    }
    double hop = -1;
    if (forked == n) {
        hop = drive(&r) * 1e6;
    } else {
        fprintf(stderr, "bench_switch: fork %d of %d: %s\n", forked + 1, n, strerror(errno));
        for (int i = 0; i <= laps; i++)   /* let the ones that exist finish */
            for (int k = 0; k < forked; k++)
                sem_post(&r.sem[k]);
    }
    while (wait(NULL) > 0) {
    }
    munmap(r.sem, sizeof(sem_t) * (size_t)(n + 1));
    return hop;
}

/* µs per hop of a ring of n threads of this process, or < 0 on failure. */
static double thread_ring(int n, int laps, long pace_ns)
{
    struct ring r = {.sem = sems(n, 0), .n = n, .laps = laps, .pace_ns = pace_ns};
    pthread_t *th = calloc((size_t)n, sizeof *th);
    struct member_arg *args = calloc((size_t)n, sizeof *args);
    if (!r.sem || !th || !args) {
        if (r.sem)
            munmap(r.sem, sizeof(sem_t) * (size_t)(n + 1));
        free(th);
        free(args);
        return -1;
    }
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 64 * 1024);
    int made = 0;
    for (; made < n; made++) {
        args[made] = (struct member_arg){.r = &r, .i = made};
        if (pthread_create(&th[made], &at, member_thread, &args[made]) != 0)
            break;
    }
    double hop = -1;
    if (made == n) {
        hop = drive(&r) * 1e6;
    } else {
        fprintf(stderr, "bench_switch: thread %d of %d failed\n", made + 1, n);
        for (int i = 0; i <= laps; i++)
            for (int k = 0; k < made; k++)
                sem_post(&r.sem[k]);
    }
    for (int k = 0; k < made; k++)
        pthread_join(th[k], NULL);
    pthread_attr_destroy(&at);
    munmap(r.sem, sizeof(sem_t) * (size_t)(n + 1));
    free(th);
    free(args);
    return hop;
}

/* Runs one ring in a process of its own, forked from this one before it
 * made any ring: each measurement starts from the same small address space
 * (a process that has created and joined a thousand threads keeps their
 * stacks mapped, and a ring forked from it would copy them), as shmix's
 * workers start from the zygote's. Returns µs per hop, or < 0. */
static double isolated(double (*ring)(int, int, long), int n, int laps)
{
    double *out = mmap(NULL, sizeof *out, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                       -1, 0);
    if (out == MAP_FAILED)
        return -1;
    *out = -1;
    pid_t pid = fork();
    if (pid == 0) {
        *out = ring(n, laps, 0);
        _exit(0);
    }
    double hop = -1;
    if (pid > 0 && waitpid(pid, NULL, 0) == pid)
        hop = *out;
    munmap(out, sizeof *out);
    return hop;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Pins this thread (and so everything it forks or creates) to the last CPU
 * it may run on; returns that CPU. */
static int pin_last_cpu(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) < 0)
        return -1;
    int last = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            last = c;
    CPU_ZERO(&set);
    CPU_SET(last, &set);
    return sched_setaffinity(0, sizeof set, &set) < 0 ? -1 : last;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_switch [-r REPEAT] [-l LAPS] [N ...]\n"
                    "       bench_switch --hold proc|thread N PACE_MS SECONDS\n");
    return 2;
}

/* --hold: a slow ring for SECONDS, beside whatever else runs. */
static int hold(char **argv)
{
    int proc = !strcmp(argv[0], "proc"), n = atoi(argv[1]), pace_ms = atoi(argv[2]);
    int secs = atoi(argv[3]);
    if ((!proc && strcmp(argv[0], "thread")) || n < 1 || pace_ms < 1 || secs < 1)
        return usage();
    int laps = (int)((long)secs * 1000 / pace_ms);
    long pace_ns = (long)pace_ms * 1000000L;
    double t0 = now_s();
    double hop = proc ? proc_ring(n, laps, pace_ns) : thread_ring(n, laps, pace_ns);
    if (hop < 0)
        return 1;
    printf("held %d %s for %.1f s: %d laps, %.1f us per hop\n", n,
           proc ? "processes" : "threads", now_s() - t0, laps, hop);
    return 0;
}

int main(int argc, char **argv)
{
    int repeat = 3, laps = 50, sizes[MAX_SIZES], nsizes = 0;
    static const int defaults[] = {2, 100, 500, 800, 900, 950, 1000, 1050, 1100, 1200, 1400};
    if (argc == 6 && !strcmp(argv[1], "--hold"))
        return hold(argv + 2);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc) {
            repeat = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "-l") && i + 1 < argc) {
            laps = atoi(argv[++i]);
        } else if (argv[i][0] != '-' && nsizes < MAX_SIZES && atoi(argv[i]) >= 1) {
            sizes[nsizes++] = atoi(argv[i]);
        } else {
            return usage();
        }
    }
    if (repeat < 1 || repeat > MAX_REPEAT || laps < 1)
        return usage();
    if (nsizes == 0)
        for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
            sizes[nsizes++] = defaults[i];
    int cpu = pin_last_cpu();
    if (cpu < 0) {
        perror("bench_switch: sched_setaffinity");
        return 1;
    }
    printf("token ring pinned to CPU %d; %d timed laps a repeat, median of %d repeats\n", cpu,
           laps, repeat);
    printf("%8s  %14s  %14s  %10s  %14s\n", "members", "process us/hop", "thread us/hop",
           "proc/thr", "proc vs first");
    double first = 0;
    for (int s = 0; s < nsizes; s++) {
        double p[MAX_REPEAT], t[MAX_REPEAT];
        for (int k = 0; k < repeat; k++) {   /* the kinds take turns */
            p[k] = isolated(proc_ring, sizes[s], laps);
            t[k] = isolated(thread_ring, sizes[s], laps);
            if (p[k] < 0 || t[k] < 0)
                return 1;
        }
        double pm = median(p, repeat), tm = median(t, repeat);
        if (s == 0)
            first = pm;
        printf("%8d  %14.1f  %14.1f  %9.2fx  %13.2fx\n", sizes[s], pm, tm, pm / tm, pm / first);
        fflush(stdout);
    }
    return 0;
}
