/* recorder.c - play --record; see recorder.h. */
#include "recorder.h"
#include "errors.h"
#include "outfile.h"
#include "platform.h"
#include "ring.h"
#include "tuning.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One ring slot: up to `block` frames of one callback. The header is 16
 * bytes so that the samples stay 16-byte aligned in the 64-byte aligned
 * slot (memcpy and libsndfile's conversions like that). */
struct slot {
    uint32_t frames;
    uint32_t pad[3];
    float data[];
};

struct recorder {
    char *path;
    struct outfile *out;
    struct ring *ring;
    int channels;
    uint32_t block;              /* frames per slot */
    uint32_t slots;              /* in the ring */
    pthread_t thread;
    int started;
    atomic_int stop;             /* main -> writer: write what is left, then end */
    _Atomic uint64_t dropped;    /* callback: frames that found no room */
    int failed;                  /* writer: a write failed (read after the join) */
};

/* Writer. Everything the ring holds, into the file. After a failed write
 * the ring is still emptied, so the callback never finds it full. */
static void drain(struct recorder *r)
{
    struct slot *s;
    while ((s = ring_read_slot(r->ring)) != NULL) {
        if (!r->failed && outfile_write(r->out, s->data, s->frames) < 0)
            r->failed = 1;
        ring_release(r->ring);
    }
}

/* The writer thread: drains the ring every RECORD_POLL_NS until told to
 * stop. The stop flag is read before the last drain, so everything pushed
 * before recorder_finish set it is written. */
static void *writer_main(void *arg)
{
    struct recorder *r = arg;
    plat_thread_name("shmix-record");
    for (;;) {
        int stopping = atomic_load(&r->stop);
        drain(r);
        if (stopping)
            return NULL;
        plat_sleep_ns(RECORD_POLL_NS);
    }
}

/* Ring slots: a power of two, RECORD_RING_NS of audio or more. */
static uint32_t ring_slots(int rate, uint32_t block)
{
    uint64_t want = ((uint64_t)rate * RECORD_RING_NS / NS_PER_S + block - 1) / block;
    uint32_t n = 4;
    while (n < want)
        n *= 2;
    return n;
}

int recorder_create(const char *path, int rate, int channels, uint32_t block,
                    struct recorder **out, char *err, size_t cap)
{
    struct recorder *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    r->channels = channels;
    r->block = block;
    int rc = (r->path = strdup(path)) ? outfile_create(path, rate, channels, &r->out, err, cap)
                                      : SHX_ENOMEM;
    if (rc == SHX_ENOMEM)
        snprintf(err, cap, "out of memory");
    r->slots = ring_slots(rate, block);
    if (rc == SHX_OK
        && (rc = ring_create(r->slots,
                             sizeof(struct slot) + sizeof(float) * block * (size_t)channels,
                             &r->ring)) < 0)
        snprintf(err, cap, "%s: %s", path, shx_strerror(rc));
    if (rc == SHX_OK && plat_thread_start(&r->thread, writer_main, r) < 0) {
        snprintf(err, cap, "%s: cannot start the writer thread", path);
        rc = SHX_ESYS;
    }
    if (rc < 0) {
        recorder_destroy(r);
        return rc;
    }
    r->started = 1;
    *out = r;
    return SHX_OK;
}

void recorder_push(struct recorder *r, const float *buf, uint32_t frames)
{
    /* All of a callback's frames or none: a gap in the file then falls
     * between two device periods, never inside one. */
    uint32_t need = (frames + r->block - 1) / r->block;
    if (r->slots - ring_fill(r->ring) < need) {
        atomic_fetch_add_explicit(&r->dropped, frames, memory_order_relaxed);
        return;
    }
    while (frames > 0) {
        struct slot *s = ring_write_slot(r->ring);   /* there is room: see above */
        uint32_t n = frames < r->block ? frames : r->block;
        s->frames = n;
        memcpy(s->data, buf, sizeof(float) * n * (size_t)r->channels);
        ring_commit(r->ring);   /* no wake-up: the writer never waits on the ring */
        buf += (size_t)n * (size_t)r->channels;
        frames -= n;
    }
}

/* Main. Lets the writer write what is left and end. */
static void stop_writer(struct recorder *r)
{
    if (!r->started)
        return;
    atomic_store(&r->stop, 1);
    pthread_join(r->thread, NULL);
    r->started = 0;
}

int recorder_finish(struct recorder *r, uint64_t *dropped, char *err, size_t cap)
{
    stop_writer(r);
    *dropped = atomic_load(&r->dropped);
    if (r->failed) {
        snprintf(err, cap, "%s: write failed (disk full?); not written", r->path);
        return SHX_EIO;
    }
    return outfile_commit(r->out, err, cap);
}

void recorder_destroy(struct recorder *r)
{
    if (!r)
        return;
    stop_writer(r);
    outfile_destroy(r->out);
    ring_destroy(r->ring);
    free(r->path);
    free(r);
}
