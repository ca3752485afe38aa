/* disk.c - the disk thread; see disk.h. */
#include "disk.h"
#include "errors.h"
#include "platform.h"
#include "track.h"
#include "tuning.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>


struct disk {
    struct track *const *tracks;
    int n;
    uint32_t kick;           /* bumped by track threads; the thread sleeps on it */
    atomic_int stop;
    int rt_priority;         /* SCHED_FIFO priority, 0: none */
    pthread_t thread;
    int started;
};

int disk_create(struct track *const *tracks, int n, struct disk **out)
{
    struct disk *d = calloc(1, sizeof *d);
    if (!d)
        return SHX_ENOMEM;
    d->tracks = tracks;
    d->n = n;
    *out = d;
    return SHX_OK;
}

uint32_t *disk_kick(struct disk *d) { return &d->kick; }

static int fill_all(struct disk *d)
{
    int n = 0;
    for (int i = 0; i < d->n; i++)
        n += track_prefetch(d->tracks[i]);
    return n;
}

static void *disk_main(void *arg)
{
    struct disk *d = arg;
    plat_thread_name("shmix-disk");
    if (d->rt_priority > 0)
        plat_realtime_thread(d->rt_priority);   /* refused: as the track threads say */
    while (!atomic_load(&d->stop)) {
        uint32_t seen = __atomic_load_n(&d->kick, __ATOMIC_ACQUIRE);
        if (fill_all(d) == 0)
            plat_wait(&d->kick, seen, plat_now_ns() + DISK_LOOK_NS);
    }
    return NULL;
}

int disk_start(struct disk *d, int rt_priority)
{
    d->rt_priority = rt_priority;
    fill_all(d);
    if (plat_thread_start(&d->thread, disk_main, d) < 0)
        return SHX_ESYS;
    d->started = 1;
    return SHX_OK;
}

void disk_destroy(struct disk *d)
{
    if (!d)
        return;
    if (d->started) {
        atomic_store(&d->stop, 1);
        __atomic_fetch_add(&d->kick, 1, __ATOMIC_RELEASE);
        plat_wake(&d->kick);
        pthread_join(d->thread, NULL);
    }
    free(d);
}
