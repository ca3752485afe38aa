/* track_report.c - what a track tells people: its worker's messages
 * (tracebacks, prints) on stderr, its last_error, and consistent copies of
 * its counters for the meters. Main and supervisor threads, under the one
 * reporting lock (track_priv.h); never a real-time thread. See track.h. */
#include "track_priv.h"
#include "errors.h"
#include "peak.h"
#include "utf8.h"
#include "worker.h"
#include "zygote.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_error_locked(struct track *t, const char *line)
{
    utf8_copy(t->rep.last_error, sizeof t->rep.last_error, line);
}

void track_set_error(struct track *t, const char *line)
{
    pthread_mutex_lock(&t->rep.lock);
    set_error_locked(t, line);
    pthread_mutex_unlock(&t->rep.lock);
}

/* Prints an error message once; identical repeats are only counted, so a
 * script that raises on every block does not flood the terminal. */
static void report_locked(struct track *t, const char *text)
{
    char first[256];
    size_t n = strcspn(text, "\n"), cut = utf8_cut(text, n, sizeof first - 1);
    memcpy(first, text, cut);
    first[cut] = '\0';
    set_error_locked(t, first);
    if (!strcmp(first, t->rep.last_printed)) {
        t->rep.repeats++;
        return;
    }
    if (t->rep.repeats)
        fprintf(stderr, "shmix: %s: (previous error repeated %u more times)\n", t->name,
                t->rep.repeats);
    t->rep.repeats = 0;
    snprintf(t->rep.last_printed, sizeof t->rep.last_printed, "%s", first);
    fprintf(stderr, "shmix: %s: %s\n", t->name, first);
    const char *rest = text + n;
    if (*rest == '\n' && rest[1])
        fprintf(stderr, "%s%s", rest + 1, rest[strlen(rest) - 1] == '\n' ? "" : "\n");
}

void track_drain(struct track *t)
{
    unsigned ev = atomic_exchange(&t->c.events, 0);
    if (!t->w)
        return;
    char text[CHAN_MSG_TEXT + 1];
    uint32_t type;
    int rc;
    pthread_mutex_lock(&t->rep.lock);   /* the supervisor resets channels under it */
    while ((rc = chan_read_msg(worker_chan(t->w), &type, text, sizeof text)) != SHX_EEMPTY) {
        if (rc == SHX_ECORRUPT)
            report_locked(t, "worker wrote garbage into its message area");
        else if (type == CHAN_MSG_ERROR) {
            report_locked(t, text);
            utf8_copy(t->rep.worker_error, sizeof t->rep.worker_error, t->rep.last_error);
        } else if (type == CHAN_MSG_PRELOAD) {
            /* Kept, not printed: engine_start_workers says it once, at its
             * place in the session, however many workers tried. */
            set_error_locked(t, text);
            utf8_copy(t->rep.worker_error, sizeof t->rep.worker_error, t->rep.last_error);
        }
        else
            fprintf(stderr, "[%s] %s\n", t->name, text);
    }
    pthread_mutex_unlock(&t->rep.lock);
    if (ev & EV_ERROR_STATE)
        fprintf(stderr, "shmix: %s: %d errors in a row; the track plays per on_fault "
                "until its script changes\n", t->name, RAISES_TO_ERROR);
}

void track_say(struct track *t, const char *text)
{
    pthread_mutex_lock(&t->rep.lock);
    report_locked(t, text);
    pthread_mutex_unlock(&t->rep.lock);
}

void track_worker_error(struct track *t, char *out, size_t cap)
{
    track_drain(t);
    pthread_mutex_lock(&t->rep.lock);
    utf8_copy(out, cap, t->rep.worker_error);
    pthread_mutex_unlock(&t->rep.lock);
}

int track_respawn(struct track *t, struct zygote *z, char *err, size_t cap)
{
    track_drain(t);                     /* the old worker's last words first */
    pthread_mutex_lock(&t->rep.lock);   /* no drain reads the channel while it is reset */
    t->rep.worker_error[0] = '\0';      /* what the new worker says is its own */
    int rc = worker_spawn(t->w, z, err, cap);
    pthread_mutex_unlock(&t->rep.lock);
    return rc;
}

/* The k-th smallest of v[0..n-1] (k < n), partly reordering v: Hoare's
 * selection, expected O(n). The meters take two medians of HIST values per
 * track at ~30 Hz; with qsort that was 6 % of both CPUs at 600 tracks. */
static uint32_t select_kth(uint32_t *v, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        uint32_t pivot = v[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                uint32_t x = v[i];
                v[i++] = v[j];
                v[j--] = x;
            }
        }
        /* now v[lo..j] <= pivot <= v[i..hi], and v[j+1..i-1] == pivot */
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

/* The medians of the last HIST of the n hand-offs' wake and busy times
 * (the upper one of an even count). */
static void medians(struct track_counters *c, uint32_t n, uint64_t *wake_ns, uint64_t *busy_ns)
{
    uint32_t w[HIST], b[HIST], m = n < HIST ? n : HIST;
    for (uint32_t i = 0; i < m; i++) {
        w[i] = atomic_load_explicit(&c->wake_hist[i], memory_order_relaxed);
        b[i] = atomic_load_explicit(&c->busy_hist[i], memory_order_relaxed);
    }
    *wake_ns = m ? select_kth(w, (int)m, (int)m / 2) : 0;
    *busy_ns = m ? select_kth(b, (int)m, (int)m / 2) : 0;
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

void track_snapshot(struct track *t, struct track_snapshot *o)
{
    struct track_counters *c = &t->c;
    o->state = (enum track_state)atomic_load(&t->state);
    o->pid = track_pid(t);
    tally_take(&c->tally, &o->blocks, &o->cpu_ns, &o->block_cpu_peak_ns);
    o->late_blocks = LOAD(t->late);
    o->disk_late = LOAD(c->disk_late);
    o->script_blocks = LOAD(c->wet);
    o->faulted_blocks = LOAD(c->faulted);
    o->bad_samples = LOAD(c->bad);
    o->restarts = LOAD(t->restarts);
    o->errors = LOAD(c->errors);
    o->peak = peak_take(&c->peak_bits);
    o->audible = atomic_load(&t->audible);
    uint64_t died = atomic_load(&t->died_ns), resumed = atomic_load(&c->resume_ns);
    o->restart_ns = died && resumed > died ? resumed - died : 0;
    pthread_mutex_lock(&t->rep.lock);
    uint32_t n = atomic_load_explicit(&c->hist_n, memory_order_acquire);
    if (n != t->rep.med_n) {
        medians(c, n, &t->rep.med_wake_ns, &t->rep.med_busy_ns);
        t->rep.med_n = n;
    }
    o->wake_ns = t->rep.med_wake_ns;
    o->busy_ns = t->rep.med_busy_ns;
    snprintf(o->last_error, sizeof o->last_error, "%s", t->rep.last_error);
    pthread_mutex_unlock(&t->rep.lock);
}
