/* bench_gil.c - the design shmix replaces: one process, one CPython, one GIL,
 * one C thread per track calling the track's script through
 * PyGILState_Ensure, paced in real time. How many tracks keep up?
 *
 * Not a test: built by the `bench` target, never run by `make test`. It is
 * the only bench binary that links libpython (pkg-config python3-embed, the
 * system CPython 3.11 that Debian's numpy belongs to); shmix itself never
 * does.
 *
 * Setup. The script file is loaded N times as N separate module objects
 * (each its own globals, like N tracks), each gets setup(ctx) with
 * ctx.sample_rate, ctx.block_size, ctx.channels = 2, ctx.track = "tNNN",
 * ctx.params = {} and its own C-contiguous float32 (frames, 2) numpy array.
 * As shmix's worker does after setup(), the collector runs once, everything
 * is frozen (gc.freeze) and automatic collection is turned off.
 *
 * Threads. One C thread per track, SCHED_FIFO at priority 5 like shmix's
 * track threads (--rt 0: SCHED_OTHER at nice -10, like shmix's workers). Each
 * creates its thread state once (PyGILState_Ensure, then releases the GIL)
 * and then, per block: copies the track's input (a sine pair, a different
 * phase per track, standing in for the file) into its array, takes the GIL
 * with PyGILState_Ensure, calls process(block) (a returned array is checked
 * and copied back, like shmix's worker), and releases it with
 * PyGILState_Release. Every thread follows the same absolute
 * CLOCK_MONOTONIC schedule: period P = frames / rate (2.667 ms at 128 frames,
 * 48 kHz), block k of every track due at t0 + k*P.
 *
 * The timing model (render-ahead, the same slack shmix has). shmix's track
 * threads render up to `ahead` blocks in front of the output, from a file
 * that is already there: by default 80 ms, i.e. 30 blocks at 128 frames /
 * 48 kHz (`shmix play --ahead` sets it; bench_tracks.sh passes the same
 * number to both). Modelled here as a ring of S blocks of slack per track
 * (-s S, default 30): block k may start at t0 + k*P (no earlier: that is
 * when the output has freed its slot in the ring) and is late when it
 * finishes after t0 + (k+S)*P, the moment the output plays it. A thread that
 * has fallen so far behind that a block's deadline has already passed when
 * it could start skips that block (shmix's track threads do the same: blocks
 * the output has moved past are not rendered) and counts it late. From the
 * same run it also counts blocks that finished more than one period after
 * their start time, t0 + (k+1)*P: the strict variant without render-ahead
 * (what a JACK client has: finish within the period). That strict count
 * comes from a run paced with S blocks of slack (the skip rule uses S); run
 * with -s 1 for a run paced entirely by the strict rule.
 *
 * Counts are per track and block (N tracks x one late period = N late
 * blocks), like the sum of shmix's tracks[].late_blocks; "late periods"
 * counts periods in which at least one track was late.
 *
 * usage: bench_gil [-n TRACKS] [-d SECONDS] [-b FRAMES] [-r RATE] [-s SLACK]
 *                  [--rt PRIO] [--json] SCRIPT
 *   -n  tracks (default 8)        -d  seconds of audio (default 30)
 *   -b  frames per block (128)    -r  sample rate (48000)
 *   -s  blocks of slack (30)      --rt  SCHED_FIFO priority of the track
 *                                       threads, 0 = SCHED_OTHER (default 5)
 *   --json  one JSON line on stdout instead of the human-readable summary
 *
 * Output (human-readable, or one JSON object with --json): blocks, late
 * blocks and late/s with S blocks of slack and with 1 period, late periods,
 * skipped blocks, script errors, the process's CPU use in cores, and the
 * mean time a thread waited in PyGILState_Ensure and spent in process(). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define CHANNELS 2
#define SIG_FRAMES 48000   /* one second of input, looped */

/* Python half: load a script as its own module, check a returned block. */
static const char bootstrap[] =
    "import gc, os, sys, types\n"
    "import numpy as np\n"
    "class Context:\n"
    "    def __init__(self, rate, block, channels, track):\n"
    "        self.sample_rate = rate\n"
    "        self.block_size = block\n"
    "        self.channels = channels\n"
    "        self.track = track\n"
    "        self.params = {}\n"
    "def load(path, name, rate, block, channels):\n"
    "    with open(path, 'rb') as f:\n"
    "        code = compile(f.read(), path, 'exec')\n"
    "    mod = types.ModuleType(name)\n"
    "    mod.__file__ = path\n"
    "    folder = os.path.dirname(os.path.abspath(path))\n"
    "    if folder not in sys.path:\n"
    "        sys.path.insert(0, folder)\n"
    "    exec(code, mod.__dict__)\n"
    "    proc = getattr(mod, 'process', None)\n"
    "    if not callable(proc):\n"
    "        raise TypeError(path + ' defines no process(block) function')\n"
    "    setup = getattr(mod, 'setup', None)\n"
    "    if setup is not None:\n"
    "        setup(Context(rate, block, channels, name))\n"
    "    return (mod, proc, np.zeros((block, channels), dtype=np.float32))\n"
    "def fix(block, r):\n"
    "    if not isinstance(r, np.ndarray) or r.shape != block.shape:\n"
    "        raise TypeError('process() returned %r, expected None or an array of shape %s'\n"
    "                        % (type(r), block.shape))\n"
    "    np.copyto(block, r, casting='unsafe')\n"
    "def settle():\n"
    "    gc.collect()\n"
    "    gc.freeze()\n"
    "    gc.disable()\n";

struct track {
    int index;
    PyObject *module, *process, *block;
    Py_buffer view;            /* the block's memory, held for the whole run */
    float *data;
    const float *sig;          /* input: SIG_FRAMES x CHANNELS, looped */
    uint32_t sig_pos;
    pthread_t thread;
    uint64_t blocks, late, late1, skipped, errors;
    uint64_t wait_ns, busy_ns, max_over_ns, max_wait_ns, max_busy_ns;
};

static struct {
    uint32_t frames, rate, slack;
    int rt;
    uint64_t period_ns, t0, count;
    PyObject *fix_fn;
    _Atomic uint8_t *late_period, *late1_period;   /* per block index */
    atomic_int ready;
} g;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_gil: %s\n", what);
    exit(1);
}

static void py_die(const char *what)
{
    fprintf(stderr, "bench_gil: %s:\n", what);
    if (PyErr_Occurred())
        PyErr_Print();
    exit(1);
}

/* One block: input in, process(block) under the GIL, result checked. */
static void run_block(struct track *t)
{
    for (uint32_t i = 0; i < g.frames; i++) {
        memcpy(t->data + (size_t)i * CHANNELS, t->sig + (size_t)t->sig_pos * CHANNELS,
               CHANNELS * sizeof(float));
        if (++t->sig_pos == SIG_FRAMES)
            t->sig_pos = 0;
    }
    uint64_t a = now_ns();
    PyGILState_STATE st = PyGILState_Ensure();
    uint64_t b = now_ns();
    PyObject *r = PyObject_CallOneArg(t->process, t->block);
    if (r && r != Py_None && r != t->block) {
        PyObject *f = PyObject_CallFunctionObjArgs(g.fix_fn, t->block, r, NULL);
        Py_DECREF(r);
        r = f;
    }
    if (!r) {
        if (t->errors++ == 0) {
            fprintf(stderr, "bench_gil: track %d: process() failed:\n", t->index);
            PyErr_Print();
        }
        PyErr_Clear();
    }
    Py_XDECREF(r);
    PyGILState_Release(st);
    uint64_t c = now_ns();
    t->wait_ns += b - a;
    t->busy_ns += c - b;
    if (b - a > t->max_wait_ns)
        t->max_wait_ns = b - a;
    if (c - b > t->max_busy_ns)
        t->max_busy_ns = c - b;
}

static void *track_main(void *arg)
{
    struct track *t = arg;
    char name[16];
    snprintf(name, sizeof name, "gil-t%03d", t->index);
    pthread_setname_np(pthread_self(), name);
    if (g.rt > 0) {
        struct sched_param sp = {.sched_priority = g.rt};
        if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0)
            fprintf(stderr, "bench_gil: SCHED_FIFO refused; track %d runs SCHED_OTHER\n",
                    t->index);
    } else {
        setpriority(PRIO_PROCESS, (id_t)gettid(), -10);
    }
    /* The thread state is created once; per block PyGILState_Ensure only
     * takes the GIL (a host would not create and destroy one per block). */
    PyGILState_STATE outer = PyGILState_Ensure();
    PyThreadState *ts = PyEval_SaveThread();
    atomic_fetch_add(&g.ready, 1);
    while (atomic_load(&g.ready) >= 0)   /* main sets g.t0, then ready = -1 */
        usleep(1000);
    for (uint64_t k = 0; k < g.count; k++) {
        uint64_t start = g.t0 + k * g.period_ns;
        uint64_t deadline = start + (uint64_t)g.slack * g.period_ns;
        uint64_t deadline1 = start + g.period_ns;
        uint64_t now = now_ns();
        if (now < start) {
            sleep_until(start);
        } else if (now > deadline) {
            /* Its slot in the ring has already been played: skip it. */
            t->skipped++;
            t->late++;
            t->late1++;
            atomic_store_explicit(&g.late_period[k], 1, memory_order_relaxed);
            atomic_store_explicit(&g.late1_period[k], 1, memory_order_relaxed);
            continue;
        }
        run_block(t);
        uint64_t done = now_ns();
        t->blocks++;
        if (done > deadline) {
            t->late++;
            atomic_store_explicit(&g.late_period[k], 1, memory_order_relaxed);
            if (done - deadline > t->max_over_ns)
                t->max_over_ns = done - deadline;
        }
        if (done > deadline1) {
            t->late1++;
            atomic_store_explicit(&g.late1_period[k], 1, memory_order_relaxed);
        }
    }
    PyEval_RestoreThread(ts);
    PyGILState_Release(outer);
    return NULL;
}

static uint64_t cpu_ns_self(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_gil [-n TRACKS] [-d SECONDS] [-b FRAMES] [-r RATE] "
                    "[-s SLACK] [--rt PRIO] [--json] SCRIPT\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long tracks = 8;
    double seconds = 30.0;
    int json = 0;
    g.frames = 128;
    g.rate = 48000;
    g.slack = 30;
    g.rt = 5;
    static const struct option opts[] = {{"rt", required_argument, NULL, 'R'},
                                         {"json", no_argument, NULL, 'J'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "n:d:b:r:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': tracks = strtol(optarg, NULL, 10); break;
        case 'd': seconds = strtod(optarg, NULL); break;
        case 'b': g.frames = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'r': g.rate = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 's': g.slack = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'R': g.rt = (int)strtol(optarg, NULL, 10); break;
        case 'J': json = 1; break;
        default: usage();
        }
    }
    if (optind != argc - 1 || tracks < 1 || tracks > 4096 || seconds <= 0 || g.frames < 16 ||
        g.frames > 8192 || g.rate < 8000 || g.slack < 1 || g.rt < 0 || g.rt > 99)
        usage();
    const char *script = argv[optind];
    if (access(script, R_OK) != 0)
        die("cannot read the script");

    g.period_ns = (uint64_t)g.frames * 1000000000u / g.rate;
    g.count = (uint64_t)llround(seconds * g.rate / g.frames);
    g.late_period = calloc(g.count, 1);
    g.late1_period = calloc(g.count, 1);
    struct track *tr = calloc((size_t)tracks, sizeof *tr);
    float *sig = malloc(sizeof(float) * SIG_FRAMES * CHANNELS);
    if (!g.late_period || !g.late1_period || !tr || !sig)
        die("out of memory");
    for (int i = 0; i < SIG_FRAMES; i++) {   /* 220 Hz left, 330 Hz right, -6 dBFS */
        sig[2 * i] = 0.5f * (float)sin(2 * M_PI * 220.0 * i / SIG_FRAMES);
        sig[2 * i + 1] = 0.5f * (float)sin(2 * M_PI * 330.0 * i / SIG_FRAMES);
    }

    /* The system CPython; numpy from the system site-packages. */
    Py_InitializeEx(0);
    PyObject *main_mod = PyImport_AddModule("__main__");
    PyObject *globals = PyModule_GetDict(main_mod);
    PyObject *r = PyRun_String(bootstrap, Py_file_input, globals, globals);
    if (!r)
        py_die("cannot start Python with numpy");
    Py_DECREF(r);
    PyObject *load = PyDict_GetItemString(globals, "load");
    g.fix_fn = PyDict_GetItemString(globals, "fix");
    for (long i = 0; i < tracks; i++) {
        struct track *t = &tr[i];
        char name[16];
        snprintf(name, sizeof name, "t%03ld", i);
        t->index = (int)i;
        t->sig = sig;
        t->sig_pos = (uint32_t)((i * 4801) % SIG_FRAMES);
        PyObject *m = PyObject_CallFunction(load, "ssIII", script, name, g.rate, g.frames,
                                            (unsigned)CHANNELS);
        if (!m)
            py_die("cannot load the script");
        t->module = PyTuple_GetItem(m, 0);
        t->process = PyTuple_GetItem(m, 1);
        t->block = PyTuple_GetItem(m, 2);
        Py_INCREF(t->module);
        Py_INCREF(t->process);
        Py_INCREF(t->block);
        Py_DECREF(m);
        if (PyObject_GetBuffer(t->block, &t->view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0)
            py_die("numpy array without a writable buffer");
        t->data = t->view.buf;
    }
    r = PyObject_CallNoArgs(PyDict_GetItemString(globals, "settle"));
    if (!r)
        py_die("gc settle failed");
    Py_DECREF(r);

    PyThreadState *main_ts = PyEval_SaveThread();
    for (long i = 0; i < tracks; i++)
        if (pthread_create(&tr[i].thread, NULL, track_main, &tr[i]) != 0)
            die("cannot start a thread");
    while (atomic_load(&g.ready) < tracks)
        usleep(1000);
    uint64_t cpu0 = cpu_ns_self();
    g.t0 = now_ns() + 50000000u;   /* all threads start together, 50 ms from now */
    atomic_store(&g.ready, -1);
    for (long i = 0; i < tracks; i++)
        pthread_join(tr[i].thread, NULL);
    uint64_t wall = now_ns() - g.t0;
    uint64_t cpu = cpu_ns_self() - cpu0;
    PyEval_RestoreThread(main_ts);

    uint64_t blocks = 0, late = 0, late1 = 0, skipped = 0, errors = 0, wait = 0, busy = 0,
             max_over = 0, lp = 0, lp1 = 0, max_wait = 0, max_busy = 0;
    for (long i = 0; i < tracks; i++) {
        blocks += tr[i].blocks;
        late += tr[i].late;
        late1 += tr[i].late1;
        skipped += tr[i].skipped;
        errors += tr[i].errors;
        wait += tr[i].wait_ns;
        busy += tr[i].busy_ns;
        if (tr[i].max_over_ns > max_over)
            max_over = tr[i].max_over_ns;
        if (tr[i].max_wait_ns > max_wait)
            max_wait = tr[i].max_wait_ns;
        if (tr[i].max_busy_ns > max_busy)
            max_busy = tr[i].max_busy_ns;
        PyBuffer_Release(&tr[i].view);
    }
    for (uint64_t k = 0; k < g.count; k++) {
        lp += g.late_period[k];
        lp1 += g.late1_period[k];
    }
    double secs = (double)g.count * (double)g.period_ns / 1e9;
    double n_calls = blocks ? (double)blocks : 1.0;
    if (json) {
        printf("{\"system\": \"gil\", \"tracks\": %ld, \"seconds\": %.3f, \"frames\": %u, "
               "\"rate\": %u, \"slack\": %u, \"rt\": %d, \"blocks\": %llu, "
               "\"late\": %llu, \"late_per_s\": %.4f, \"late_periods\": %llu, "
               "\"late1\": %llu, \"late1_per_s\": %.4f, \"late1_periods\": %llu, "
               "\"skipped\": %llu, \"errors\": %llu, \"max_over_ms\": %.3f, "
               "\"cpu_cores\": %.3f, \"gil_wait_us\": %.1f, \"busy_us\": %.1f, "
               "\"max_gil_wait_ms\": %.3f, \"max_busy_ms\": %.3f}\n",
               tracks, secs, g.frames, g.rate, g.slack, g.rt, (unsigned long long)blocks,
               (unsigned long long)late, late / secs, (unsigned long long)lp,
               (unsigned long long)late1, late1 / secs, (unsigned long long)lp1,
               (unsigned long long)skipped, (unsigned long long)errors, max_over / 1e6,
               (double)cpu / (double)wall, wait / n_calls / 1e3, busy / n_calls / 1e3,
               max_wait / 1e6, max_busy / 1e6);
    } else {
        printf("single GIL: %ld tracks x %s, %u frames at %u Hz (period %.3f ms), %.1f s\n",
               tracks, script, g.frames, g.rate, g.period_ns / 1e6, secs);
        printf("  blocks run            %llu (skipped %llu, script errors %llu)\n",
               (unsigned long long)blocks, (unsigned long long)skipped,
               (unsigned long long)errors);
        printf("  late, %2u blocks slack %llu  (%.3f/s; in %llu periods; worst %.3f ms past)\n",
               g.slack, (unsigned long long)late, late / secs, (unsigned long long)lp,
               max_over / 1e6);
        printf("  late, 1 period slack  %llu  (%.3f/s; in %llu periods)\n",
               (unsigned long long)late1, late1 / secs, (unsigned long long)lp1);
        printf("  CPU %.2f cores; per block: %.1f us waiting for the GIL, %.1f us in "
               "process()\n",
               (double)cpu / (double)wall, wait / n_calls / 1e3, busy / n_calls / 1e3);
        printf("  longest: %.3f ms waiting for the GIL, %.3f ms in process()\n", max_wait / 1e6,
               max_busy / 1e6);
    }
    free(sig);
    free(tr);
    /* No Py_FinalizeEx: the modules and numpy die with the process. */
    return 0;
}
