/* proc.c - worker process spawning and reaping; see proc.h. */
#include "proc.h"
#include "errors.h"
#include "platform.h"
#include "session.h"
#include "units.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SHMIX_LIBEXECDIR
#define SHMIX_LIBEXECDIR "/usr/local/libexec/shmix"
#endif

#define CHANNEL_FD 3     /* where the worker finds its channel */

extern char **environ;

static int executable(const char *p)
{
    return access(p, X_OK) == 0;
}

const char *proc_worker_path(void)
{
    static char path[PATH_MAX];
    if (path[0])
        return path;
    const char *env = getenv("SHMIX_WORKER");
    if (env && *env) {
        snprintf(path, sizeof path, "%s", env);
        return path;
    }
    char exe[PATH_MAX - 64];   /* leaves room for the suffixes below */
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(path, sizeof path, "%s/shmix-worker", exe);
            if (executable(path))
                return path;
            snprintf(path, sizeof path, "%s/../libexec/shmix/shmix-worker", exe);
            if (executable(path))
                return path;
        }
    }
    snprintf(path, sizeof path, "%s/shmix-worker", SHMIX_LIBEXECDIR);
    if (executable(path))
        return path;
    path[0] = '\0';
    return NULL;
}

void proc_spawn_attr(posix_spawnattr_t *at)
{
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGCHLD);
    posix_spawnattr_setsigmask(at, &none);
    posix_spawnattr_setsigdefault(at, &dfl);
    posix_spawnattr_setpgroup(at, 0);   /* own group: terminal ^C goes to the engine only */
    posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
                                     | POSIX_SPAWN_SETPGROUP);
}

char **proc_python_args(const struct session_python *py)
{
    size_t n = 2 * ((size_t)py->npath + (py->site != NULL) + (size_t)py->npreload) + 1, k = 0;
    char **a = calloc(n, sizeof *a);
    if (!a)
        return NULL;
    for (int i = 0; i < py->npath; i++) {
        a[k++] = (char *)"--path";
        a[k++] = py->path[i];
    }
    if (py->site) {
        a[k++] = (char *)"--site";
        a[k++] = py->site;
    }
    for (int i = 0; i < py->npreload; i++) {
        a[k++] = (char *)"--preload";
        a[k++] = py->preload[i];
    }
    return a;
}

char **proc_argv_join(char *const *base, char *const *extra)
{
    size_t nb = 0, ne = 0;
    while (base[nb])
        nb++;
    while (extra && extra[ne])
        ne++;
    char **a = calloc(nb + ne + 1, sizeof *a);
    if (a) {
        memcpy(a, base, nb * sizeof *a);
        if (ne)
            memcpy(a + nb, extra, ne * sizeof *a);
    }
    return a;
}

int proc_spawn(int chan_fd, int memory_mb, const char *name, char *const *py_args, pid_t *pid,
               char *err, size_t cap)
{
    const char *wp = proc_worker_path();
    if (!wp) {
        snprintf(err, cap, "cannot find shmix-worker (set SHMIX_WORKER)");
        return SHX_ESYS;
    }
    /* dup2(fd, fd) would keep close-on-exec set; move a channel that sits
     * on fd 3 already out of the way first. */
    int src = chan_fd, tmp = -1;
    if (chan_fd == CHANNEL_FD) {
        tmp = fcntl(chan_fd, F_DUPFD_CLOEXEC, 10);
        if (tmp < 0) {
            snprintf(err, cap, "dup: %s", strerror(errno));
            return SHX_ESYS;
        }
        src = tmp;
    }
    char fdarg[16], parg[24], marg[24];
    snprintf(fdarg, sizeof fdarg, "%d", CHANNEL_FD);
    snprintf(parg, sizeof parg, "%ld", (long)getpid());
    snprintf(marg, sizeof marg, "%d", memory_mb);
    char *base[] = {(char *)"shmix-worker", (char *)"--fd", fdarg, (char *)"--parent", parg,
                    (char *)"--memory-mb", marg, (char *)"--name", (char *)name, NULL};
    char **argv = proc_argv_join(base, py_args);
    if (!argv) {
        if (tmp >= 0)
            close(tmp);
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, src, CHANNEL_FD);
    /* Nothing else of the engine's leaks in, whatever a library opened
     * without O_CLOEXEC (sound files, the output file, PortAudio). */
    posix_spawn_file_actions_addclosefrom_np(&fa, CHANNEL_FD + 1);
    proc_spawn_attr(&at);
    int rc = posix_spawn(pid, wp, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    free(argv);
    if (tmp >= 0)
        close(tmp);
    if (rc != 0) {
        snprintf(err, cap, "cannot start %s: %s", wp, strerror(rc));
        return SHX_ESYS;
    }
    return SHX_OK;
}

void proc_kill(pid_t pid)
{
    if (pid > 0) {
        kill(-pid, SIGKILL);   /* the group: whatever the script started too */
        kill(pid, SIGKILL);
    }
}

void proc_describe(int status, char *why, size_t cap)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *name = sig == SIGSEGV ? "segfault" : sig == SIGABRT ? "abort"
                         : sig == SIGKILL ? "killed" : sig == SIGBUS ? "bus error"
                         : sig == SIGFPE ? "arithmetic fault" : NULL;
        if (name)
            snprintf(why, cap, "%s", name);
        else
            snprintf(why, cap, "signal %d (%s)", sig, strsignal(sig));
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == SHX_EXIT_ABORTED) {
        snprintf(why, cap, "abort");
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == SHX_EXIT_NO_MEMORY) {
        snprintf(why, cap, "out of memory (worker_memory_mb)");
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == SHX_EXIT_PRELOAD) {
        snprintf(why, cap, "a python.preload module failed to import");
    } else if (WIFEXITED(status)) {
        snprintf(why, cap, "exit status %d", WEXITSTATUS(status));
    } else {
        snprintf(why, cap, "status 0x%x", status);
    }
}

int proc_reap(pid_t pid, int timeout_ms)
{
    int status = 0;
    for (int waited = 0;; waited++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;   /* already reaped */
        if (waited >= timeout_ms) {
            proc_kill(pid);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return status;
        }
        plat_sleep_ns(MS_NS(1));
    }
}
