/* main.c - the shmix program: runs the command the command line names
 * (cli.c parses it).
 *
 * Exit status: 0 success; 2 bad usage or bad session (nothing played);
 * 1 a failure at run time. Every error is one line starting "shmix: ". */
#include "cli.h"
#include "engine.h"
#include "audio.h"
#include "errors.h"
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

static int load(const struct cli *a, struct session **s, struct engine **e, int start)
{
    char err[1024];
    int rc = session_load(a->session, s, err, sizeof err);
    if (rc < 0)
        return cli_fail(2, "%s", err);
    struct engine_options eo = {.block_size = (uint32_t)a->block, .quiet = a->quiet,
                                .stop = &stop_requested};
    render_engine_options(&eo);
    rc = engine_create(*s, &eo, e, err, sizeof err);
    if (rc < 0)
        return cli_fail(rc == SHX_EIO || rc == SHX_EFORMAT ? 2 : 1, "%s", err);
    if (start && (rc = engine_start_workers(*e, err, sizeof err)) == SHX_ESTOPPED)
        return cli_fail(1, "interrupted");
    if (start && rc < 0)
        return cli_fail(2, "%s", err);
    return 0;
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

static int cmd_check(const struct cli *a)
{
    struct session *s = NULL;
    struct engine *e = NULL;
    int status = load(a, &s, &e, 1);
    engine_destroy(e);
    session_destroy(s);
    return status;
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
    if (!status && (status = load(a, &s, &e, 0)) == 0
        && engine_start_workers(e, err, sizeof err) == SHX_ESESSION)
        status = cli_fail(2, "%s", err);
    if (!status) {
        if (engine_supervise(e, err, sizeof err) < 0)
            fprintf(stderr, "shmix: %s\n", err);
        struct render_options ro = {a->out, a->duration, stats, &stop_requested, a->strict};
        int rc = render_run(e, &ro, err, sizeof err);
        if (rc == SHX_ESCRIPT)
            status = 1;   /* written; render_run said which tracks and why */
        else if (rc < 0)
            status = cli_fail(rc == SHX_EUSAGE ? 2 : 1, "%s", err);
    }
    engine_destroy(e);
    session_destroy(s);
    if (stats && stats != stdout)
        fclose(stats);
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
            .ahead = (unsigned)a->ahead, .stats = stats, .stats_interval = a->stats_interval,
            .stop = &stop_requested, .gui = a->gui, .meter = a->meter, .quiet = a->quiet,
            .session_name = a->session,
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
    } run[] = {{"play", cmd_play}, {"render", cmd_render}, {"check", cmd_check},
               {"devices", cmd_devices}, {"top", cmd_top}};
    for (size_t i = 0; i < sizeof run / sizeof run[0]; i++)
        if (!strcmp(run[i].name, a.cmd))
            return run[i].run(&a);
    return 2;   /* cli_parse knows no other command */
}
