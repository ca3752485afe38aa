/* main.c - the shmix program: runs the command the command line names
 * (cli.c parses it).
 *
 * Exit status: 0 success; 2 bad usage or bad session (nothing played);
 * 1 a failure at run time. Every error is one line starting "shmix: ". */
#include "cli.h"
#include "ctl.h"
#include "engine.h"
#include "events_file.h"
#include "track.h"
#include "audio.h"
#include "errors.h"
#include "fx.h"
#include "platform.h"
#include "play.h"
#include "render.h"
#include "session.h"
#include "top.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SHMIX_VERSION
#define SHMIX_VERSION "0.0.0"
#endif

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* The engine for session s (render's options; check's too), and with
 * start its workers, each through setup(). Returns 0 or the exit status
 * after the message: a script that fails to load is a bad session (2). */
static int build(const struct cli *a, const struct session *s, struct engine **e, int start)
{
    char err[1024];
    struct engine_options eo = {.block_size = (uint32_t)a->block, .quiet = a->quiet,
                                .stop = &stop_requested};
    render_engine_options(&eo, a->block ? (uint32_t)a->block : (uint32_t)s->block_size);
    int rc = engine_create(s, &eo, e, err, sizeof err);
    if (rc < 0)
        return cli_fail(rc == SHX_EIO || rc == SHX_EFORMAT ? 2 : 1, "%s", err);
    if (start && (rc = engine_start_workers(*e, err, sizeof err)) == SHX_ESTOPPED)
        return cli_fail(1, "interrupted");
    if (start && rc < 0)
        return cli_fail(2, "%s", err);
    return 0;
}

static int load(const struct cli *a, struct session **s, struct engine **e, int start)
{
    char err[1024];
    if (session_load(a->session, s, err, sizeof err) < 0)
        return cli_fail(2, "%s", err);
    return build(a, *s, e, start);
}

static FILE *open_stats(const char *cmd, const char *path, int *status)
{
    if (!path)
        return NULL;
    FILE *f = strcmp(path, "-") ? fopen(path, "we") : stdout;
    if (!f)
        *status = cli_fail(2, "%s: --stats %s: %s", cmd, path, strerror(errno));
    return f;
}

static int load_events(const struct cli *a, const struct session *s, struct engine *e,
                       struct event **ev, int *n);

static int cmd_check(const struct cli *a)
{
    struct session *s = NULL;
    struct engine *e = NULL;
    int status = load(a, &s, &e, 1);
    struct event *ev = NULL;
    int nev;
    if (!status)   /* the events too: every message checked against the tracks */
        status = load_events(a, s, e, &ev, &nev);
    free(ev);
    engine_destroy(e);
    session_destroy(s);
    return status;
}

/* The run's control events: --events FILE, else the session's own
 * events: list. Returns the exit status (2 after the message). */
static int load_events(const struct cli *a, const struct session *s, struct engine *e,
                       struct event **ev, int *n)
{
    *ev = NULL;
    *n = 0;
    if (!a->events && (!s || !s->has_events))
        return 0;
    int nt = engine_ntracks(e);
    const char **names = calloc((size_t)nt + 1, sizeof *names);
    if (!names)
        return cli_fail(1, "out of memory");
    for (int i = 0; i < nt; i++)
        names[i] = track_name(engine_track(e, i));
    struct ctl_names cn = {names, nt};
    struct event_clock clock = {engine_sample_rate(e), engine_block_size(e)};
    char err[1024];
    int rc = a->events ? events_load(a->events, 1, &cn, &clock, ev, n, err, sizeof err)
                       : events_load(s->path, 0, &cn, &clock, ev, n, err, sizeof err);
    free(names);
    return rc < 0 ? cli_fail(rc == SHX_ENOMEM ? 1 : 2, "%s", err) : 0;
}

/* Renders engine e (its workers started) to a->out. Returns the exit
 * status. */
static int bounce(const struct cli *a, const struct session *s, struct engine *e, FILE *stats)
{
    char err[1024];
    struct event *ev;
    int nev;
    int status = load_events(a, s, e, &ev, &nev);
    if (status)
        return status;
    if (engine_supervise(e, err, sizeof err) < 0)
        fprintf(stderr, "shmix: %s\n", err);
    struct render_options ro = {a->out, a->duration, stats, &stop_requested, a->strict,
                                a->start, a->loop, ev, nev};
    int rc = render_run(e, &ro, err, sizeof err);
    free(ev);
    if (rc == SHX_ESCRIPT)
        return 1;   /* written; render_run said which tracks and why */
    if (rc < 0)
        return cli_fail(rc == SHX_EUSAGE ? 2 : 1, "%s", err);
    return 0;
}

static int cmd_render(const struct cli *a)
{
    struct session *s = NULL;
    struct engine *e = NULL;
    int status = 0;
    if (!a->out)
        status = cli_fail(2, "render: missing -o OUT.wav|flac|ogg");
    FILE *stats = status ? NULL : open_stats("render", a->stats, &status);
    /* A script that fails setup() does not stop a render: its track plays
     * per on_fault, as the contract's fault table says. A preload module
     * that does not import is a bad session: nothing is rendered. */
    char err[1024];
    if (!status && (status = load(a, &s, &e, 0)) == 0) {
        int rc = engine_start_workers(e, err, sizeof err);
        /* A signal while the workers start ends the render there: going
         * on would only have the supervisor report every interrupted
         * start as a failure before render_run saw the signal. */
        if (rc == SHX_ESTOPPED)
            status = cli_fail(1, "interrupted; %s not written", a->out);
        else if (rc == SHX_ESESSION)
            status = cli_fail(2, "%s", err);
    }
    if (!status) {
        status = bounce(a, s, e, stats);
    }
    engine_destroy(e);
    session_destroy(s);
    if (stats && stats != stdout)
        fclose(stats);
    return status;
}

/* shmix fx: the render of a one-track session built in memory. Unlike
 * render, a script that fails to load is an error (exit 2, no file), as in
 * check: there is no other track to render for. */
static int cmd_fx(const struct cli *a)
{
    if (!a->out)
        return cli_fail(2, "fx: missing -o OUT.wav|flac|ogg");
    struct session *s = NULL;
    struct engine *e = NULL;
    char err[1024];
    struct fx_options fo = {a->script, a->in, a->params, a->nparams};
    int rc = fx_session(&fo, &s, err, sizeof err);
    int status = rc == SHX_ENOMEM ? cli_fail(1, "%s", err) : rc < 0 ? cli_fail(2, "%s", err) : 0;
    if (!status && (status = build(a, s, &e, 1)) == 0)
        status = bounce(a, NULL, e, NULL);
    engine_destroy(e);
    session_destroy(s);
    return status;
}

static int cmd_play(const struct cli *a)
{
    struct session *s = NULL;
    char err[1024];
    int status = 0;
    FILE *stats = open_stats("play", a->stats, &status);
    if (!status && session_load(a->session, &s, err, sizeof err) < 0)
        status = cli_fail(2, "%s", err);
    if (!status) {
        struct play_options po = {
            .device = a->device, .null = a->null, .block = (unsigned)a->block,
            .start = a->start, .duration = a->duration, .loop = a->loop,
            .ahead = (unsigned)a->ahead, .ahead_max_ns = (uint64_t)a->ahead_max_ms * 1000000u,
            .stats = stats, .stats_interval = a->stats_interval,
            .stop = &stop_requested, .gui = a->gui, .meter = a->meter, .quiet = a->quiet,
            .session_name = a->session, .record = a->record, .osc_port = (int)a->osc_port,
            .osc_bind = a->osc_bind, .capture = a->capture,
        };
        status = play_run(s, &po, err, sizeof err);
        if (status)
            cli_fail(status, "%s", err);
    }
    session_destroy(s);
    if (stats && stats != stdout)
        fclose(stats);
    return status;
}

/* shmix top: the meters of a running engine, read-only, until ^C or the
 * engine ends (or one table or line with --once). */
static int cmd_top(const struct cli *a)
{
    char err[256];
    /* SHMIX_TOP_ONCE=1 is --once's older spelling, kept for scripts. */
    const char *env = getenv("SHMIX_TOP_ONCE");
    struct top_options o = {a->pid, a->once || (env && *env == '1'), a->json, &stop_requested};
    int rc = top_run(&o, err, sizeof err);
    if (rc < 0)
        return cli_fail(rc == SHX_EUSAGE ? 2 : 1, "top: %s", err);
    return 0;
}

/* shmix ctl: one control message to a running engine, its reply printed. */
static int cmd_ctl(const struct cli *a)
{
    struct ctl_command c = {a->pid, a->address, a->args, a->nargs, &stop_requested};
    return ctl_command_run(&c);
}

static int cmd_devices(const struct cli *a)
{
    (void)a;
    if (audio_list_devices(stdout) < 0)
        return cli_fail(1, "devices: cannot start PortAudio");
    return 0;
}

/* --help, --version and `help [COMMAND]`; -1 when argv is none of them. */
static int program_option(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    if (!strcmp(w, "--help") || !strcmp(w, "-h") || !strcmp(w, "help")) {
        cli_usage(stdout, !strcmp(w, "help") && argc > 2 ? argv[2] : NULL);
        return 0;
    }
    if (!strcmp(w, "--version")) {
        printf("shmix %s\n", SHMIX_VERSION);
        return 0;
    }
    return -1;
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

    int status = program_option(argc, argv);
    if (status >= 0)
        return status;
    struct cli a;
    if ((status = cli_parse(argc, argv, &a)) != 0)
        return status;
    if (a.help) {
        cli_usage(stdout, a.cmd);
        return 0;
    }
    static const struct {
        const char *name;
        int (*run)(const struct cli *a);
    } run[] = {{"play", cmd_play}, {"render", cmd_render}, {"fx", cmd_fx},
               {"check", cmd_check}, {"devices", cmd_devices}, {"top", cmd_top},
               {"ctl", cmd_ctl}};
    for (size_t i = 0; i < sizeof run / sizeof run[0]; i++)
        if (!strcmp(run[i].name, a.cmd))
            return run[i].run(&a);
    return 2;   /* cli_parse knows no other command */
}
