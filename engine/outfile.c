/* outfile.c - render output through libsndfile; see outfile.h. */
#include "outfile.h"
#include "errors.h"

#include <errno.h>
#include <fcntl.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Frames held before they go to libsndfile. It writes a float WAV with
 * one write(2) per call, and render hands it one block at a time: 11 250
 * system calls for a minute at 256 frames, ~40 ms of the render thread's
 * time on a VM whose system calls are slow. 16 384 frames is 128 KiB of
 * stereo (docs/performance.md). */
#define OUTFILE_HOLD_FRAMES 16384

struct outfile {
    SNDFILE *sf;
    int fd;
    char *path;
    char *tmp;            /* the named temporary file, or NULL: anonymous (O_TMPFILE) */
    int committed;
    int channels;
    float *held;          /* OUTFILE_HOLD_FRAMES frames, interleaved */
    int64_t nheld;        /* frames in it */
};

/* Hands the held frames to libsndfile. */
static int flush_held(struct outfile *f)
{
    int64_t n = f->nheld;
    f->nheld = 0;
    return n == 0 || sf_writef_float(f->sf, f->held, n) == n ? SHX_OK : SHX_EIO;
}

static int format_for(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot)
        return 0;
    if (!strcasecmp(dot, ".wav"))
        return SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    if (!strcasecmp(dot, ".flac"))
        return SF_FORMAT_FLAC | SF_FORMAT_PCM_24;
    if (!strcasecmp(dot, ".ogg"))
        return SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    return 0;
}

/* The folder of path ("." when none), in a malloc'ed string. */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* A file to write the render into, beside the target (so it ends on the
 * same file system): an anonymous one (O_TMPFILE) that has no name until
 * outfile_commit links it in, so that no way of ending the process - not
 * even SIGKILL - leaves a temporary file behind; or, where the file system
 * cannot do that, a named one that outfile_destroy removes. */
static int open_temporary(struct outfile *f)
{
    char *dir = folder_of(f->path);
    if (!dir)
        return SHX_ENOMEM;
    f->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);   /* the umask applies */
    free(dir);
    if (f->fd >= 0)
        return SHX_OK;
    size_t n = strlen(f->path) + 16;
    if (!(f->tmp = malloc(n)))
        return SHX_ENOMEM;
    snprintf(f->tmp, n, "%s.tmpXXXXXX", f->path);
    f->fd = mkostemp(f->tmp, O_CLOEXEC);
    if (f->fd < 0) {
        free(f->tmp);
        f->tmp = NULL;
        return SHX_EIO;
    }
    mode_t mask = umask(0);   /* mkostemp made it 0600; give it a normal file's mode */
    umask(mask);
    fchmod(f->fd, 0666 & ~mask);
    return SHX_OK;
}

/* Gives the anonymous file a name: the target's when it does not exist
 * yet (nothing is ever half-named), else a temporary one that the rename
 * then moves over the old file. */
static int link_anonymous(struct outfile *f)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", f->fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, f->path, AT_SYMLINK_FOLLOW) == 0)
        return 0;
    if (errno != EEXIST)
        return -1;
    size_t n = strlen(f->path) + 32;
    if (!(f->tmp = malloc(n)))
        return -1;
    for (unsigned i = 0; i < 100; i++) {
        snprintf(f->tmp, n, "%s.tmp%d-%u", f->path, (int)getpid(), i);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, f->tmp, AT_SYMLINK_FOLLOW) == 0)
            return rename(f->tmp, f->path);
        if (errno != EEXIST)
            break;
    }
    free(f->tmp);   /* the last name tried is somebody else's: never unlink it */
    f->tmp = NULL;
    return -1;
}

int outfile_create(const char *path, int rate, int channels, struct outfile **out,
                   char *err, size_t cap)
{
    int format = format_for(path);
    if (!format) {
        snprintf(err, cap, "%s: unsupported output format (use .wav, .flac or .ogg)", path);
        return SHX_EUSAGE;
    }
    /* A folder by that name would refuse the rename only at the end, after
     * the whole render or recording. */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, cap, "%s: is a folder", path);
        return SHX_EIO;
    }
    struct outfile *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    f->fd = -1;
    f->channels = channels;
    f->path = strdup(path);
    f->held = malloc((size_t)OUTFILE_HOLD_FRAMES * (size_t)channels * sizeof(float));
    int rc = f->path && f->held ? open_temporary(f) : SHX_ENOMEM;
    if (rc < 0) {
        snprintf(err, cap, "%s: %s", path, rc == SHX_ENOMEM ? "out of memory" : strerror(errno));
        outfile_destroy(f);
        return rc;
    }
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    f->sf = sf_open_fd(f->fd, SFM_WRITE, &info, SF_FALSE);
    if (!f->sf) {
        snprintf(err, cap, "%s: %s", path, sf_strerror(NULL));
        outfile_destroy(f);
        return SHX_EIO;
    }
    /* Integer formats clip instead of wrapping around at full scale. */
    sf_command(f->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    /* The PEAK chunk carries a timestamp: without it a render is
     * byte-for-byte reproducible. */
    sf_command(f->sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
    *out = f;
    return SHX_OK;
}

int outfile_write(struct outfile *f, const float *buf, int64_t frames)
{
    while (frames > 0) {
        int64_t n = OUTFILE_HOLD_FRAMES - f->nheld;
        n = n < frames ? n : frames;
        memcpy(f->held + f->nheld * f->channels, buf, (size_t)(n * f->channels) * sizeof(float));
        f->nheld += n;
        buf += n * f->channels;
        frames -= n;
        if (f->nheld == OUTFILE_HOLD_FRAMES && flush_held(f) < 0)
            return SHX_EIO;
    }
    return SHX_OK;
}

int outfile_commit(struct outfile *f, char *err, size_t cap)
{
    int rc = flush_held(f) < 0 ? -1 : 0;
    if (sf_close(f->sf) != 0)
        rc = -1;
    f->sf = NULL;
    if (rc == 0 && fsync(f->fd) != 0)
        rc = -1;
    if (rc == 0)
        rc = f->tmp ? rename(f->tmp, f->path) : link_anonymous(f);
    close(f->fd);
    f->fd = -1;
    if (rc != 0) {
        snprintf(err, cap, "%s: cannot write: %s", f->path, strerror(errno));
        return SHX_EIO;
    }
    f->committed = 1;
    return SHX_OK;
}

void outfile_destroy(struct outfile *f)
{
    if (!f)
        return;
    if (f->sf)
        sf_close(f->sf);
    if (f->fd >= 0)
        close(f->fd);
    if (f->tmp && !f->committed)
        unlink(f->tmp);
    free(f->tmp);
    free(f->path);
    free(f->held);
    free(f);
}
