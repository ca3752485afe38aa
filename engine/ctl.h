/* ctl.h - the ctl command: one control message sent to a running engine
 * over its Unix socket (ctldir.h), and the engine's reply printed. Part of
 * the program, not of the engine library.
 *
 * Main thread. */
#ifndef SHX_CTL_H
#define SHX_CTL_H

#include <signal.h>

struct ctl_command {
    int pid;                      /* --pid; 0: the only engine running */
    const char *address;          /* ADDRESS, as typed */
    char *const *args;            /* ARG..., typed by their spelling (see ctl.c) */
    int nargs;
    volatile sig_atomic_t *stop;  /* set by SIGINT/SIGTERM: stop waiting */
};

/* Main. Sends the message and waits up to CONTROL_REPLY_NS for the reply:
 * /shmix/ok prints nothing, /shmix/pong prints "pong", /shmix/stats its
 * line (stdout); /shmix/error prints "shmix: REASON" (stderr). Returns the
 * exit status: 0 accepted; 2 rejected by the engine, no such engine,
 * several engines and no pid, bad arguments; 1 no reply in time, or
 * another failure. Every error is printed as one line. */
int ctl_command_run(const struct ctl_command *c);

#endif
