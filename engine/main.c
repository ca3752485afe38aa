/* main.c - the shmix command line: parses arguments and runs a command.
 *
 * Exit status: 0 success; 2 bad usage or bad session (nothing played);
 * 1 a failure at run time. Every error is one line starting "shmix: ". */
#include "engine.h"
#include "audio.h"
#include "errors.h"
#include "platform.h"
#include "play.h"
#include "render.h"
#include "session.h"
#include "top.h"
#include "tuning.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SHMIX_VERSION
#define SHMIX_VERSION "0.0.0"
#endif

static const char usage[] =
    "usage: shmix COMMAND [OPTIONS]\n"
    "\n"
    "  shmix play SESSION [--device N|NAME] [--null] [--block FRAMES] [--start SEC]\n"
    "             [--duration SEC] [--loop] [--ahead BLOCKS] [--stats FILE|-]\n"
    "             [--stats-interval SEC] [--gui] [--meter]\n"
    "      play in real time through PortAudio (JACK's output when a JACK server\n"
    "      runs), or --null: a real-time clock with no device; ^C stops.\n"
    "      --gui: the CPU meter overlay window; --meter: the same in the terminal\n"
    "  shmix render SESSION -o OUT.(wav|flac|ogg) [--duration SEC] [--block FRAMES]\n"
    "               [--stats FILE|-] [--strict]\n"
    "      bounce the session to a file through the same workers as playback; exit 1\n"
    "      when a script never ran (--strict: when any block was faulted)\n"
    "  shmix check SESSION\n"
    "      validate the session and start every script in a worker; exit 0 or 2\n"
    "  shmix top [PID]\n"
    "      live meters of a running engine (default: the only one), read-only\n"
    "  shmix devices\n"
    "      list PortAudio's output devices (index, host API, name, channels, rate)\n"
    "  shmix --help | --version\n"
    "\n"
    "Errors are one line, \"shmix: FILE:LINE:COL: key: message\". Exit status:\n"
    "0 success, 2 bad usage or session, 1 failure at run time.\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("shmix: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}

struct args {
    const char *session;
    const char *out;
    const char *stats;
    const char *device;
    double duration, start, stats_interval;
    long block, ahead;
    int null, loop, gui, meter, strict;
};

/* Seconds > 0, or >= 0 when zero_ok. Returns 0, or 2 after the message. */
static int parse_seconds(const char *cmd, const char *o, const char *v, int zero_ok,
                         double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (*end || !*v || errno || !isfinite(d) || d < 0 || (d == 0 && !zero_ok))
        return fail(2, "%s: %s: expected seconds %s 0, got \"%s\"", cmd, o,
                    zero_ok ? ">=" : ">", v);
    *out = d;
    return 0;
}

/* Parses "--name VALUE" style options shared by the commands. Returns 0, or
 * 2 after printing the error. allowed lists the options this command takes. */
static int parse(int argc, char **argv, const char *cmd, const char *const *allowed,
                 struct args *a)
{
    a->duration = -1;
    a->stats_interval = 0.5;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        if (o[0] != '-' || !strcmp(o, "-")) {
            if (a->session)
                return fail(2, "%s: unexpected argument \"%s\"", cmd, o);
            a->session = o;
            continue;
        }
        int known = 0;
        for (int k = 0; allowed[k]; k++)
            known |= !strcmp(allowed[k], o);
        if (!known)
            return fail(2, "%s: unknown option %s (see shmix --help)", cmd, o);
        int *flag = !strcmp(o, "--null") ? &a->null : !strcmp(o, "--loop") ? &a->loop
                  : !strcmp(o, "--gui") ? &a->gui : !strcmp(o, "--meter") ? &a->meter
                  : !strcmp(o, "--strict") ? &a->strict : NULL;
        if (flag) {
            *flag = 1;
            continue;
        }
        if (i + 1 >= argc)
            return fail(2, "%s: %s needs a value", cmd, o);
        const char *v = argv[++i];
        char *end;
        errno = 0;
        if (!strcmp(o, "-o")) {
            a->out = v;
        } else if (!strcmp(o, "--stats")) {
            a->stats = v;
        } else if (!strcmp(o, "--device")) {
            a->device = v;
        } else if (!strcmp(o, "--duration") || !strcmp(o, "--stats-interval")) {
            double *d = !strcmp(o, "--duration") ? &a->duration : &a->stats_interval;
            if (parse_seconds(cmd, o, v, 0, d))
                return 2;
        } else if (!strcmp(o, "--start")) {
            if (parse_seconds(cmd, o, v, 1, &a->start))
                return 2;
        } else if (!strcmp(o, "--ahead")) {
            a->ahead = strtol(v, &end, 10);
            if (*end || errno || a->ahead < AHEAD_MIN_BLOCKS || a->ahead > AHEAD_MAX_BLOCKS)
                return fail(2, "%s: --ahead: expected %u..%u blocks, got \"%s\"", cmd,
                            AHEAD_MIN_BLOCKS, AHEAD_MAX_BLOCKS, v);
        } else if (!strcmp(o, "--block")) {
            a->block = strtol(v, &end, 10);
            if (*end || errno || a->block < 16 || a->block > 8192)
                return fail(2, "%s: --block: expected 16..8192 frames, got \"%s\"", cmd, v);
        }
    }
    if (!a->session)
        return fail(2, "%s: missing SESSION (see shmix --help)", cmd);
    return 0;
}

static int load(const struct args *a, struct session **s, struct engine **e, int start)
{
    char err[1024];
    int rc = session_load(a->session, s, err, sizeof err);
    if (rc < 0)
        return fail(2, "%s", err);
    struct engine_options eo = {.block_size = (uint32_t)a->block, .stop = &stop_requested};
    render_engine_options(&eo);
    rc = engine_create(*s, &eo, e, err, sizeof err);
    if (rc < 0)
        return fail(rc == SHX_EIO || rc == SHX_EFORMAT ? 2 : 1, "%s", err);
    if (start && (rc = engine_start_workers(*e, err, sizeof err)) == SHX_ESTOPPED)
        return fail(1, "interrupted");
    if (start && rc < 0)
        return fail(2, "%s", err);
    return 0;
}

static FILE *open_stats(const char *cmd, const char *path, int *status)
{
    if (!path)
        return NULL;
    FILE *f = strcmp(path, "-") ? fopen(path, "we") : stdout;
    if (!f)
        *status = fail(2, "%s: --stats %s: %s", cmd, path, strerror(errno));
    return f;
}

static int cmd_check(int argc, char **argv)
{
    static const char *const allowed[] = {NULL};
    struct args a = {0};
    struct session *s = NULL;
    struct engine *e = NULL;
    int status = parse(argc, argv, "check", allowed, &a);
    if (!status)
        status = load(&a, &s, &e, 1);
    engine_destroy(e);
    session_destroy(s);
    return status;
}

static int cmd_render(int argc, char **argv)
{
    static const char *const allowed[] = {"-o", "--duration", "--block", "--stats", "--strict",
                                          NULL};
    struct args a = {0};
    struct session *s = NULL;
    struct engine *e = NULL;
    int status = parse(argc, argv, "render", allowed, &a);
    if (!status && !a.out)
        status = fail(2, "render: missing -o OUT.wav|flac|ogg");
    FILE *stats = status ? NULL : open_stats("render", a.stats, &status);
    /* A script that fails setup() does not stop a render: its track plays
     * per on_fault, as the contract's fault table says. */
    if (!status && (status = load(&a, &s, &e, 0)) == 0) {
        char err[1024];
        engine_start_workers(e, err, sizeof err);
        if (engine_supervise(e, err, sizeof err) < 0)
            fprintf(stderr, "shmix: %s\n", err);
        struct render_options ro = {a.out, a.duration, stats, &stop_requested, a.strict};
        int rc = render_run(e, &ro, err, sizeof err);
        if (rc == SHX_ESCRIPT)
            status = 1;   /* written; render_run said which tracks and why */
        else if (rc < 0)
            status = fail(rc == SHX_EUSAGE ? 2 : 1, "%s", err);
    }
    engine_destroy(e);
    session_destroy(s);
    if (stats && stats != stdout)
        fclose(stats);
    return status;
}

static int cmd_play(int argc, char **argv)
{
    static const char *const allowed[] = {"--device", "--null", "--block", "--start",
                                          "--duration", "--loop", "--ahead", "--stats",
                                          "--stats-interval", "--gui", "--meter", NULL};
    struct args a = {0};
    struct session *s = NULL;
    char err[1024];
    int status = parse(argc, argv, "play", allowed, &a);
    FILE *stats = status ? NULL : open_stats("play", a.stats, &status);
    if (!status && session_load(a.session, &s, err, sizeof err) < 0)
        status = fail(2, "%s", err);
    if (!status) {
        struct play_options po = {
            .device = a.device, .null = a.null, .block = (unsigned)a.block,
            .start = a.start, .duration = a.duration, .loop = a.loop,
            .ahead = (unsigned)a.ahead, .stats = stats, .stats_interval = a.stats_interval,
            .stop = &stop_requested, .gui = a.gui, .meter = a.meter,
            .session_name = a.session,
        };
        status = play_run(s, &po, err, sizeof err);
        if (status)
            fail(status, "%s", err);
    }
    session_destroy(s);
    if (stats && stats != stdout)
        fclose(stats);
    return status;
}

/* shmix top [PID]: the terminal meters of a running engine, read-only,
 * until ^C or the engine ends. */
static int cmd_top(int argc, char **argv)
{
    if (argc > 3)
        return fail(2, "top: takes at most one PID");
    int pid = 0;
    if (argc == 3) {
        char *end;
        long v = strtol(argv[2], &end, 10);
        if (*end || v <= 0 || v > INT32_MAX)
            return fail(2, "top: expected a process id, got \"%s\"", argv[2]);
        pid = (int)v;
    }
    char err[256];
    const char *once = getenv("SHMIX_TOP_ONCE");   /* one table and out (scripts, tests) */
    int rc = top_run(pid, once && *once == '1', &stop_requested, err, sizeof err);
    if (rc < 0)
        return fail(rc == SHX_EUSAGE ? 2 : 1, "top: %s", err);
    return 0;
}

static int cmd_devices(int argc, char **argv)
{
    (void)argv;
    if (argc > 2)
        return fail(2, "devices: takes no arguments");
    if (audio_list_devices(stdout) < 0)
        return fail(1, "devices: cannot start PortAudio");
    return 0;
}

int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);   /* the terminal went away: stop as cleanly */
    signal(SIGPIPE, SIG_IGN);
    /* Nobody but root with CAP_SYS_PTRACE reads or writes our memory or our
     * descriptors (the tracks' channels) through /proc: not the workers. */
    plat_no_dump();

    if (argc < 2)
        return fail(2, "missing command (see shmix --help)");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("shmix %s\n", SHMIX_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "render"))
        return cmd_render(argc, argv);
    if (!strcmp(cmd, "play"))
        return cmd_play(argc, argv);
    if (!strcmp(cmd, "devices"))
        return cmd_devices(argc, argv);
    if (!strcmp(cmd, "top"))
        return cmd_top(argc, argv);
    if (!strcmp(cmd, "check"))
        return cmd_check(argc, argv);
    return fail(2, "unknown command \"%s\" (see shmix --help)", cmd);
}
