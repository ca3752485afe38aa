/* ctldir.c - the private folder of control sockets; see ctldir.h. */
#include "ctldir.h"
#include "errors.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* The folder's path: under XDG_RUNTIME_DIR when it is set (an absolute
 * path; systemd makes it per user, 0700, and empties it at logout), else
 * in /tmp under a name with our uid. */
static int folder_path(char *dir, size_t cap)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(dir, cap, "%s/shmix", xdg);
    else
        n = snprintf(dir, cap, "/tmp/shmix-%u", (unsigned)geteuid());
    return n > 0 && (size_t)n < cap ? SHX_OK : SHX_EFULL;
}

int ctldir_open(int create, char *dir, size_t cap, char *err, size_t ecap)
{
    if (folder_path(dir, cap) < 0 || strlen(dir) + 32 >= CTLDIR_PATH_MAX) {
        snprintf(err, ecap, "the control folder's path is too long for a socket "
                            "(XDG_RUNTIME_DIR=%s)", getenv("XDG_RUNTIME_DIR"));
        return SHX_EUSAGE;
    }
    int made = 0;
    if (create) {
        if (mkdir(dir, 0700) == 0)
            made = 1;
        else if (errno != EEXIST) {
            snprintf(err, ecap, "cannot make the control folder %s: %s", dir, strerror(errno));
            return SHX_ESYS;
        }
    }
    /* O_NOFOLLOW: a symlink planted at the name is refused, not followed;
     * then every check is on the folder actually opened. */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT && !create) {
            snprintf(err, ecap, "no shmix engine is running (no control folder %s)", dir);
            return SHX_EEMPTY;
        }
        snprintf(err, ecap, "control folder %s: %s", dir,
                 e == ELOOP || e == ENOTDIR ? "not a folder (a symlink or a file)"
                                            : strerror(e));
        return e == ELOOP || e == ENOTDIR ? SHX_EUSAGE : SHX_ESYS;
    }
    if (made)
        fchmod(fd, 0700);   /* whatever the umask took away or added */
    struct stat st;
    int rc = SHX_OK;
    if (fstat(fd, &st) != 0) {
        snprintf(err, ecap, "control folder %s: %s", dir, strerror(errno));
        rc = SHX_ESYS;
    } else if (st.st_uid != geteuid()) {
        snprintf(err, ecap, "control folder %s belongs to uid %u, not to you (uid %u); "
                 "remove it", dir, (unsigned)st.st_uid, (unsigned)geteuid());
        rc = SHX_EUSAGE;
    } else if ((st.st_mode & 07777) != 0700) {
        snprintf(err, ecap, "control folder %s has mode %04o, not 0700; remove it or "
                 "chmod 700 it", dir, (unsigned)(st.st_mode & 07777));
        rc = SHX_EUSAGE;
    }
    close(fd);
    return rc;
}

int ctldir_engine_path(const char *dir, int pid, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/%d" CTLDIR_ENGINE_SUFFIX, dir, pid);
    return n > 0 && (size_t)n < cap && n < CTLDIR_PATH_MAX ? SHX_OK : SHX_EFULL;
}

int ctldir_listening(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return 0;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    /* A datagram connect only records the peer: it fails with
     * ECONNREFUSED when no socket is bound to the file any more. */
    int ok = connect(fd, (const struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/* The pid in an engine socket's name "PID.osc", or 0 when it is not one. */
static int engine_pid(const char *name)
{
    char *end;
    long pid = strtol(name, &end, 10);
    if (end == name || name[0] < '1' || name[0] > '9' || strcmp(end, CTLDIR_ENGINE_SUFFIX)
        || pid <= 0 || pid > 0x7fffffff)
        return 0;
    return (int)pid;
}

static int is_client(const char *name)
{
    size_t n = strlen(name);
    return !strncmp(name, CTLDIR_CLIENT_PREFIX, strlen(CTLDIR_CLIENT_PREFIX)) && n > 5
           && !strcmp(name + n - 5, ".sock");
}

void ctldir_sweep(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!engine_pid(e->d_name) && !is_client(e->d_name))
            continue;
        char path[CTLDIR_PATH_MAX + 64];
        int n = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (n <= 0 || n >= CTLDIR_PATH_MAX)
            continue;
        /* Refused means nobody has it bound: its process is gone. One
         * being bound right now is already accepted (bind makes it). */
        if (!ctldir_listening(path))
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

static int ascending(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int ctldir_engines(const char *dir, int *pids, int max)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        int pid = engine_pid(e->d_name);
        char path[CTLDIR_PATH_MAX];
        if (!pid || ctldir_engine_path(dir, pid, path, sizeof path) < 0
            || !ctldir_listening(path))
            continue;
        if (n < max)
            pids[n] = pid;
        n++;
    }
    closedir(d);
    qsort(pids, (size_t)(n < max ? n : max), sizeof *pids, ascending);
    return n;
}
