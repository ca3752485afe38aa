/* cli.h - the shmix command line: the commands, their options (parsed
 * with getopt_long: `--opt VALUE`, `--opt=VALUE`, `--` ends the options)
 * and their usage texts. Part of the program, not of the engine library.
 *
 * Main thread. Every error is printed as one line "shmix: CMD: ..." and
 * means exit status 2 (bad usage). */
#ifndef SHX_CLI_H
#define SHX_CLI_H

#include <stdio.h>

/* The most --param options fx takes (params are at most 8 KiB as JSON). */
#define CLI_MAX_PARAMS 64

/* A command line, parsed. Zero and the defaults where not given. */
struct cli {
    const char *cmd;              /* play, render, fx, check, devices, top, ctl */
    const char *session;          /* SESSION (play, render, check) */
    const char *script, *in;      /* fx SCRIPT IN */
    const char *out;              /* render -o, fx -o */
    const char *record;           /* play --record OUT */
    long osc_port;                /* play --osc PORT, -1: none */
    const char *osc_bind;         /* play --osc-bind ADDR */
    const char *capture;          /* play --capture-events FILE */
    const char *events;           /* render --events FILE */
    const char *params[CLI_MAX_PARAMS];   /* fx --param KEY=VALUE, in order */
    int nparams;
    const char *stats, *device;
    double duration, start, stats_interval;   /* duration < 0: to the end */
    long block, ahead;            /* 0: the session's, the default */
    long ahead_max_ms;            /* play --ahead-max, 0: the default */
    int null, loop, gui, meter, quiet;
    int strict;                   /* render --strict: any faulted block exits 1 */
    int pid, once, json;          /* top (pid also ctl --pid) */
    const char *address;          /* ctl ADDRESS */
    char **args;                  /* ctl ARG... (into argv) */
    int nargs;
    int help;                     /* COMMAND --help: show the usage, exit 0 */
};

/* Main. Parses argv for the command argv[1] into a. Returns 0, or 2 after
 * printing the error (an unknown command included). */
int cli_parse(int argc, char **argv, struct cli *a);
/* Main. Prints command cmd's usage with its options to f; cmd NULL (or
 * unknown): the overview of every command. */
void cli_usage(FILE *f, const char *cmd);
/* Main. Prints "shmix: " and the message as one line on stderr. Returns
 * status, for `return cli_fail(2, ...)`. */
int cli_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
