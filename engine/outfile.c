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

struct outfile {
    SNDFILE *sf;
    int fd;
    char *path, *tmp;
    int committed;
};

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

int outfile_create(const char *path, int rate, int channels, struct outfile **out,
                   char *err, size_t cap)
{
    int format = format_for(path);
    if (!format) {
        snprintf(err, cap, "%s: unsupported output format (use .wav, .flac or .ogg)", path);
        return SHX_EUSAGE;
    }
    struct outfile *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    f->fd = -1;
    f->path = strdup(path);
    size_t n = strlen(path) + 16;
    f->tmp = malloc(n);
    if (!f->path || !f->tmp) {
        outfile_destroy(f);
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    /* Beside the target so the final rename stays on one file system. */
    snprintf(f->tmp, n, "%s.tmpXXXXXX", path);
    f->fd = mkostemp(f->tmp, O_CLOEXEC);
    if (f->fd < 0) {
        snprintf(err, cap, "%s: %s", path, strerror(errno));
        free(f->tmp);
        f->tmp = NULL;
        outfile_destroy(f);
        return SHX_EIO;
    }
    mode_t mask = umask(0);   /* mkostemp made it 0600; give it a normal file's mode */
    umask(mask);
    fchmod(f->fd, 0666 & ~mask);
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
    return sf_writef_float(f->sf, buf, frames) == frames ? SHX_OK : SHX_EIO;
}

int outfile_commit(struct outfile *f, char *err, size_t cap)
{
    int rc = sf_close(f->sf);
    f->sf = NULL;
    if (rc == 0 && fsync(f->fd) != 0)
        rc = -1;
    close(f->fd);
    f->fd = -1;
    if (rc != 0 || rename(f->tmp, f->path) != 0) {
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
    free(f);
}
