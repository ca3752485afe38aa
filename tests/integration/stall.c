/* stall.c - see stall.h. */
#include "stall.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#define WATCH_PRIO 50
#define PERIOD_NS 1000000LL
#define MAX_CPUS 64
#define MAX_STALLS 4096   /* per CPU; later ones are not noted */

struct stall { int64_t at_ns, late_ns; };

struct watch {
    int cpu;
    _Atomic int state;           /* 0 starting, 1 running, -1 refused */
    _Atomic uint32_t n;          /* stalls noted: entries 0..n-1 are complete */
    struct stall v[MAX_STALLS];
};

static struct watch watches[MAX_CPUS];
static int nwatches, started, running;

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *watch_main(void *arg)
{
    struct watch *w = arg;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(w->cpu, &one);
    struct sched_param sp = {.sched_priority = WATCH_PRIO};
    if (pthread_setaffinity_np(pthread_self(), sizeof one, &one) != 0
        || pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0) {
        atomic_store(&w->state, -1);
        return NULL;
    }
    atomic_store(&w->state, 1);
    int64_t next = now_ns() + PERIOD_NS;
    for (;;) {
        struct timespec t = {(time_t)(next / 1000000000LL), (long)(next % 1000000000LL)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
        int64_t now = now_ns(), late = now - next;
        if (late >= (int64_t)(STALL_NOTE_MS * 1e6)) {
            uint32_t i = atomic_load_explicit(&w->n, memory_order_relaxed);
            if (i < MAX_STALLS) {
                w->v[i] = (struct stall){next, late};
                atomic_store_explicit(&w->n, i + 1, memory_order_release);
            }
        }
        next += PERIOD_NS;
        if (next < now)   /* a stall: start the schedule afresh, not a burst */
            next = now + PERIOD_NS;
    }
    return NULL;
}

int stall_watch_start(void)
{
    if (started)
        return running;
    started = 1;
    cpu_set_t mine;
    if (sched_getaffinity(0, sizeof mine, &mine) != 0)
        return 0;
    for (int c = 0; c < CPU_SETSIZE && nwatches < MAX_CPUS; c++) {
        if (!CPU_ISSET(c, &mine))
            continue;
        struct watch *w = &watches[nwatches];
        w->cpu = c;
        pthread_t th;
        if (pthread_create(&th, NULL, watch_main, w) != 0)
            break;
        pthread_detach(th);
        nwatches++;
    }
    running = nwatches > 0;
    for (int i = 0; i < nwatches; i++) {
        while (atomic_load(&watches[i].state) == 0)
            usleep(1000);
        if (atomic_load(&watches[i].state) < 0)
            running = 0;   /* the others run on, harmless: nobody reads them */
    }
    return running;
}

int stall_count_since(double t0, double *longest_ms)
{
    int count = 0;
    double longest = 0;
    for (int i = 0; running && i < nwatches; i++) {
        uint32_t n = atomic_load_explicit(&watches[i].n, memory_order_acquire);
        for (uint32_t j = 0; j < n; j++) {
            const struct stall *s = &watches[i].v[j];
            if ((double)s->at_ns / 1e9 < t0)
                continue;
            count++;
            if ((double)s->late_ns / 1e6 > longest)
                longest = (double)s->late_ns / 1e6;
        }
    }
    if (longest_ms)
        *longest_ms = longest;
    return count;
}
