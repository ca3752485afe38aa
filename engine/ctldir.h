/* ctldir.h - where engines listen for control messages: one private
 * folder per user, $XDG_RUNTIME_DIR/shmix (or /tmp/shmix-UID when
 * XDG_RUNTIME_DIR is unset), holding each playing engine's Unix datagram
 * socket PID.osc and the sockets `shmix ctl` binds for its replies
 * (ctl-PID-RANDOM.sock).
 *
 * The folder is the access control: mode 0700 and owned by this user, so
 * only this user (and root) can reach the sockets in it. An existing
 * folder that is not exactly that - a symlink, another owner, other
 * permission bits - is refused, never repaired: in /tmp somebody else may
 * have made it.
 *
 * Main thread or the control thread (no shared state). */
#ifndef SHX_CTLDIR_H
#define SHX_CTLDIR_H

#include <stddef.h>

/* A socket address holds at most 107 bytes of path (sun_path). */
#define CTLDIR_PATH_MAX 108
#define CTLDIR_ENGINE_SUFFIX ".osc"
#define CTLDIR_CLIENT_PREFIX "ctl-"

/* The folder's path into dir (cap >= CTLDIR_PATH_MAX). create: makes it,
 * mode 0700, when it is missing. Then checks it (see above). Returns 0, or
 * with a one-line message in err: SHX_EEMPTY (missing and !create),
 * SHX_ESYS (cannot make or open it), SHX_EUSAGE (not a private folder of
 * ours: the message says what is wrong and where). */
int ctldir_open(int create, char *dir, size_t cap, char *err, size_t ecap);

/* Engine pid's socket path, DIR/PID.osc, into buf. Returns 0, or SHX_EFULL
 * when it does not fit cap or a socket address. */
int ctldir_engine_path(const char *dir, int pid, char *buf, size_t cap);

/* Whether a process listens on the datagram socket at path (a connect is
 * accepted; nothing is sent). A socket file left by a killed process is
 * refused. */
int ctldir_listening(const char *path);

/* Removes the sockets in dir nobody listens on any more: those left by
 * engines and clients that were killed (SIGKILL) and could not remove
 * their own. */
void ctldir_sweep(const char *dir);

/* The pids of the engines listening in dir, ascending, at most max of them
 * into pids. Returns how many there are (which may exceed max). */
int ctldir_engines(const char *dir, int *pids, int max);

#endif
