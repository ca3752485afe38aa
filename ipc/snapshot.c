/* snapshot.c - the meters' snapshot in shared memory; see snapshot.h. */
#include "snapshot.h"
#include "errors.h"
#include "platform.h"
#include "units.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SNAPSHOT_MAGIC 0x4d58484du   /* "MHXM" */
#define SNAPSHOT_VERSION 5u   /* 2: published_ns; 3: control; 4: ahead_ms, disk_late; 5: 2048 tracks */
#define READ_TRIES 1000               /* a writer that keeps writing: give up */
#define READ_PAUSE_NS US_NS(50)       /* between tries: at most 50 ms in all */
#define MAX_FOUND 16                  /* engines `shmix top` lists */

struct snapshot_writer {
    struct snapshot *pub;         /* shared (or private when not published) */
    int published;
    int owner;                    /* held open (and locked) while published */
    char name[64];
};

/* Removes a name whose engine no longer exists (killed with SIGKILL, so it
 * could not remove its own), so /dev/shm does not fill up over months of
 * crashes. Only when the pid is gone: a live pid may be a starting engine
 * that has not taken its lock yet. A stale name whose pid was reused stays
 * until that process ends; readers skip it (its lock is free). */
static void sweep_stale(void *ctx, const char *name)
{
    (void)ctx;
    int pid = atoi(name + strlen(SNAPSHOT_PREFIX));
    if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH)
        plat_shm_unpublish(name, -1);
}

int snapshot_writer_create(int publish, struct snapshot_writer **out)
{
    struct snapshot_writer *w = calloc(1, sizeof *w);
    if (!w)
        return SHX_ENOMEM;
    snprintf(w->name, sizeof w->name, SNAPSHOT_PREFIX "%d", (int)getpid());
    void *addr = NULL;
    w->owner = -1;
    if (publish) {
        plat_shm_list(SNAPSHOT_PREFIX, sweep_stale, NULL);
        if (plat_shm_publish(w->name, sizeof *w->pub, &addr, &w->owner) == SHX_OK)
            w->published = 1;
    }
    if (!w->published)   /* not asked for, or /dev/shm refused: private */
        addr = calloc(1, sizeof *w->pub);
    if (!addr) {
        free(w);
        return SHX_ENOMEM;
    }
    w->pub = addr;
    w->pub->version = SNAPSHOT_VERSION;
    w->pub->pid = (int32_t)getpid();
    __atomic_store_n(&w->pub->magic, SNAPSHOT_MAGIC, __ATOMIC_RELEASE);
    *out = w;
    return SHX_OK;
}

void snapshot_writer_destroy(struct snapshot_writer *w)
{
    if (!w)
        return;
    if (w->published) {
        plat_shm_unpublish(w->name, w->owner);
        plat_shm_unmap(w->pub, sizeof *w->pub);
    } else {
        free(w->pub);
    }
    free(w);
}

/* GCC warns that ThreadSanitizer does not model standalone fences. The
 * seqlock's readers are the overlay and stats (the main thread, which is
 * also the writer) and `shmix top` in another process, which TSan cannot
 * see either way; the fences are what make the cross-process read
 * correct, so they stay. */
#if defined(__SANITIZE_THREAD__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wtsan"
#endif

/* The bytes of a snapshot of n tracks: the tracks beyond are not copied
 * (with room for 2048 tracks, a whole snapshot is about 900 KB). */
static size_t used(uint32_t n)
{
    n = n > SNAPSHOT_MAX_TRACKS ? SNAPSHOT_MAX_TRACKS : n;
    return offsetof(struct snapshot, tracks) + n * sizeof(struct snapshot_track);
}

/* Seqlock writer: seq odd while the body changes; the fences order the
 * body's stores between the two increments for a reader on any CPU. */
void snapshot_write(struct snapshot_writer *w, const struct snapshot *next)
{
    struct snapshot *s = w->pub;
    uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
    __atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    size_t head = offsetof(struct snapshot, time);
    memcpy((char *)s + head, (const char *)next + head, used(next->ntracks) - head);
    s->published_ns = plat_now_ns();
    __atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

/* Another process's bytes: bounded counts, NUL-terminated strings, a
 * usable rate, whatever it wrote. */
static void terminate(struct snapshot *o)
{
    if (o->ntracks > SNAPSHOT_MAX_TRACKS)
        o->ntracks = SNAPSHOT_MAX_TRACKS;
    o->state[sizeof o->state - 1] = o->session[sizeof o->session - 1] = '\0';
    if (o->sample_rate <= 0 || o->block_size <= 0) {
        o->sample_rate = 48000;
        o->block_size = 256;
    }
    for (uint32_t i = 0; i < o->ntracks; i++) {
        struct snapshot_track *t = &o->tracks[i];
        t->name[sizeof t->name - 1] = t->state[sizeof t->state - 1] = '\0';
        t->last_error[sizeof t->last_error - 1] = '\0';
    }
}

/* A reader never blocks the writer; it waits for it instead: a write of
 * a snapshot (~440 bytes a track) takes microseconds to tens of them, longer on a
 * loaded machine or in a sanitizer build, so a reader that finds one in
 * progress sleeps a little and looks again (READ_TRIES x READ_PAUSE_NS at
 * most). Readers are never real-time threads. */
static int read_consistent(const struct snapshot *s, struct snapshot *out)
{
    for (int tries = 0; tries < READ_TRIES; tries++) {
        if (tries)
            plat_sleep_ns(READ_PAUSE_NS);
        uint32_t a = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
        if (a & 1)
            continue;
        memcpy(out, s, offsetof(struct snapshot, tracks));
        memcpy(out->tracks, s->tracks, used(out->ntracks) - offsetof(struct snapshot, tracks));
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == a) {
            terminate(out);
            return SHX_OK;
        }
    }
    return SHX_EEMPTY;
}

void snapshot_read(struct snapshot_writer *w, struct snapshot *out)
{
    read_consistent(w->pub, out);
}

struct found {
    int pids[MAX_FOUND];
    int n;
};

static void on_name(void *ctx, const char *name)
{
    struct found *f = ctx;
    int pid = atoi(name + strlen(SNAPSHOT_PREFIX));
    size_t bytes;
    const void *addr;
    if (pid <= 0 || f->n >= MAX_FOUND || plat_shm_peek(name, 1, &bytes, &addr) < 0)
        return;   /* not ours, or left by an engine that has ended */
    plat_shm_unmap((void *)addr, bytes);
    f->pids[f->n++] = pid;
}

/* The pid of the only running engine, or an error with err filled. */
static int only_engine(int *pid, char *err, size_t cap)
{
    struct found f = {{0}, 0};
    plat_shm_list(SNAPSHOT_PREFIX, on_name, &f);
    if (f.n == 0) {
        snprintf(err, cap, "no shmix engine is running");
        return SHX_EEMPTY;
    }
    if (f.n > 1) {
        int len = snprintf(err, cap, "%d engines are running; pick one:", f.n);
        for (int i = 0; i < f.n && len < (int)cap; i++)
            len += snprintf(err + len, cap - (size_t)len, " %d", f.pids[i]);
        return SHX_EUSAGE;
    }
    *pid = f.pids[0];
    return SHX_OK;
}

int snapshot_peek(int pid, struct snapshot *out, char *err, size_t cap)
{
    int rc = pid > 0 ? SHX_OK : only_engine(&pid, err, cap);
    if (rc < 0)
        return rc;
    char name[64];
    snprintf(name, sizeof name, SNAPSHOT_PREFIX "%d", pid);
    size_t bytes;
    const void *addr;
    rc = plat_shm_peek(name, sizeof *out, &bytes, &addr);
    if (rc < 0) {
        snprintf(err, cap, "no shmix engine with pid %d (or not yours)", pid);
        return rc;
    }
    const struct snapshot *s = addr;
    rc = __atomic_load_n(&s->magic, __ATOMIC_ACQUIRE) == SNAPSHOT_MAGIC
                 && s->version == SNAPSHOT_VERSION
             ? read_consistent(s, out)
             : SHX_EFORMAT;
    plat_shm_unmap((void *)addr, bytes);
    if (rc < 0)
        snprintf(err, cap, "engine %d: its meters are unreadable", pid);
    else if (plat_now_ns() - out->published_ns > SNAPSHOT_STALE_NS)
        snprintf(out->state, sizeof out->state, "stale");
    return rc;
}

double snapshot_db(float peak)
{
    return peak > 0.0f ? 20.0 * log10(peak) : -INFINITY;
}
