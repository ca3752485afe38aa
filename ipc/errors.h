/* errors.h - the one error table shared by the engine and the worker.
 *
 * SHX_ERRORS(X) generates the enum and the messages, as libuv's
 * UV_ERRNO_MAP does. Functions return 0 (SHX_OK) or a negative SHX_E*.
 * Set-up code adds context in its own message buffer; real-time code only
 * returns the code and never formats strings. */
#ifndef SHX_ERRORS_H
#define SHX_ERRORS_H

#define SHX_ERRORS(X)                                                   \
    X(OK,       "success")                                              \
    X(NOMEM,    "out of memory")                                        \
    X(IO,       "input/output error")                                   \
    X(SYS,      "system call failed")                                   \
    X(USAGE,    "bad usage")                                            \
    X(SESSION,  "bad session")                                          \
    X(FORMAT,   "unsupported audio format")                             \
    X(TIMEOUT,  "timed out")                                            \
    X(CORRUPT,  "worker wrote an invalid value into its channel")       \
    X(DEAD,     "worker is not running")                                \
    X(SCRIPT,   "script raised an exception")                           \
    X(SHAPE,    "script returned a block of the wrong shape or type")   \
    X(FULL,     "no room")                                              \
    X(EMPTY,    "nothing to read")                                      \
    X(STOPPED,  "stopped")                                              \
    X(BADMSG,   "bad control message")

enum shx_err {
#define X(name, msg) SHX_E##name##_ORD,
    SHX_ERRORS(X)
#undef X
    SHX_ERR_COUNT
};

/* Error codes are the negated ordinals so "if (rc < 0)" reads naturally. */
#define X(name, msg) enum { SHX_E##name = -SHX_E##name##_ORD };
SHX_ERRORS(X)
#undef X
#define SHX_OK 0

/* The exit status of a worker that ran out of its address-space limit. */
#define SHX_EXIT_NO_MEMORY 86
/* The exit status of a worker whose script called abort() where the
 * signal itself cannot end it (the init of a PID namespace). */
#define SHX_EXIT_ABORTED 87
/* The exit status of a worker that could not import a module of the
 * session's python.preload (it posted "cannot import NAME: ..." first):
 * a bad session, not a crash to restart. */
#define SHX_EXIT_PRELOAD 88

/* Any thread. The message for code rc (0 or negative); never NULL. */
const char *shx_strerror(int rc);

#endif
