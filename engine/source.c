/* source.c - libsndfile decoding + libsamplerate conversion; see source.h. */
#include "source.h"
#include "errors.h"
#include "samples.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK 2048   /* file frames decoded per step */

struct source {
    SNDFILE *sf;
    int file_ch, file_rate, out_ch;
    double ratio;            /* out_rate / file_rate */
    SRC_STATE *src;          /* NULL when the rates match */
    float *in;               /* CHUNK file frames */
    int16_t *in16;           /* ... as read from a 16-bit PCM file; else NULL */
    float *conv;             /* CHUNK output frames in the file's channels */
    long in_avail, in_pos;   /* frames decoded and not yet converted */
    int eof;
    int64_t pos;             /* output frames delivered */
    int64_t length;          /* output frames in all */
};

/* What kind of file is at path, before libsndfile sees it: a missing
 * file, a folder, a FIFO or an empty file each get their own words. */
static int check_file(const char *path, char *err, size_t cap)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, cap, "cannot open: %s", strerror(errno));
        return SHX_EIO;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, cap, "is a folder, not a sound file");
        return SHX_EIO;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, cap, "is not a regular file");
        return SHX_EIO;
    }
    if (st.st_size == 0) {
        snprintf(err, cap, "is empty (0 bytes)");
        return SHX_EFORMAT;
    }
    /* Open it ourselves first: libsndfile words a permission problem as a
     * format one. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, cap, "cannot open: %s", strerror(errno));
        /* Out of descriptors is the system's limit, not a bad file. */
        return errno == EMFILE || errno == ENFILE ? SHX_ESYS : SHX_EIO;
    }
    close(fd);
    return SHX_OK;
}

static SNDFILE *open_sound(const char *path, SF_INFO *info, char *err, size_t cap)
{
    memset(info, 0, sizeof *info);
    SNDFILE *sf = sf_open(path, SFM_READ, info);
    if (!sf) {
        /* libsndfile's messages end with a full stop; the line does not. */
        char why[160];
        snprintf(why, sizeof why, "%s", sf_strerror(NULL));
        size_t n = strlen(why);
        while (n > 0 && (why[n - 1] == '.' || why[n - 1] == ' ' || why[n - 1] == '\n'))
            why[--n] = '\0';
        snprintf(err, cap, "is not a sound file shmix can read (%s)", why);
    }
    return sf;
}

/* Whether shmix can play what libsndfile found. */
static int check_format(const SF_INFO *info, int out_rate, char *err, size_t cap)
{
    /* libsamplerate converts by ratios within 1/256..256. */
    if (info->samplerate <= 0 || (double)out_rate / info->samplerate > 256.0
        || (double)info->samplerate / out_rate > 256.0) {
        snprintf(err, cap, "has a sample rate of %d Hz, which cannot be converted to %d Hz "
                 "(shmix converts rates up to 256:1 either way)", info->samplerate, out_rate);
        return SHX_EFORMAT;
    }
    if (info->channels < 1 || info->channels > 2) {
        snprintf(err, cap, "has %d channels; shmix plays mono and stereo files", info->channels);
        return SHX_EFORMAT;
    }
    if (info->frames <= 0) {
        snprintf(err, cap, "has no audio frames");
        return SHX_EFORMAT;
    }
    return SHX_OK;
}

int source_open(const char *path, int out_rate, int out_channels,
                struct source **out, char *err, size_t cap)
{
    SF_INFO info;
    SNDFILE *sf = NULL;
    int rc = check_file(path, err, cap);
    if (rc == SHX_OK && !(sf = open_sound(path, &info, err, cap)))
        rc = SHX_EFORMAT;
    if (rc == SHX_OK && (rc = check_format(&info, out_rate, err, cap)) < 0)
        sf_close(sf);
    if (rc < 0)
        return rc;
    struct source *s = calloc(1, sizeof *s);
    if (!s) {
        sf_close(sf);
        snprintf(err, cap, "out of memory");
        return SHX_ENOMEM;
    }
    s->sf = sf;
    s->file_ch = info.channels;
    s->file_rate = info.samplerate;
    s->out_ch = out_channels;
    s->ratio = (double)out_rate / info.samplerate;
    /* exact integer arithmetic: ceil(frames x out_rate / file_rate) */
    s->length = (info.frames * out_rate + info.samplerate - 1) / info.samplerate;
    s->in = malloc(sizeof(float) * CHUNK * 2);
    s->conv = malloc(sizeof(float) * CHUNK * 2);
    int pcm16 = (info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_16;
    if (pcm16)
        s->in16 = malloc(sizeof(int16_t) * CHUNK * 2);
    int e = 0;
    if (out_rate != info.samplerate)
        s->src = src_new(SRC_SINC_MEDIUM_QUALITY, s->file_ch, &e);
    if (!s->in || !s->conv || (pcm16 && !s->in16) || e) {
        snprintf(err, cap, "%s", e ? src_strerror(e) : "out of memory");
        source_destroy(s);
        return SHX_ENOMEM;
    }
    *out = s;
    return SHX_OK;
}

void source_destroy(struct source *s)
{
    if (!s)
        return;
    if (s->sf)
        sf_close(s->sf);
    if (s->src)
        src_delete(s->src);
    free(s->in);
    free(s->in16);
    free(s->conv);
    free(s);
}

int source_file_channels(const struct source *s) { return s->file_ch; }
int source_file_rate(const struct source *s) { return s->file_rate; }
int64_t source_frames(const struct source *s) { return s->length; }

int source_seek(struct source *s, int64_t frame)
{
    if (frame < 0)
        frame = 0;
    if (frame > s->length)
        frame = s->length;
    sf_count_t f = (sf_count_t)floor((double)frame / s->ratio);
    if (sf_seek(s->sf, f, SEEK_SET) < 0)
        return SHX_EIO;
    if (s->src)
        src_reset(s->src);
    s->in_avail = s->in_pos = 0;
    s->eof = 0;
    s->pos = frame;
    return SHX_OK;
}

/* Decodes up to `frames` file frames into s->in. A 16-bit PCM file is read
 * as integers and converted here: libsndfile's own conversion does not
 * vectorise and was a third of the disk thread's time with 600 tracks
 * (docs/performance.md); the floats are the same to the bit. */
static sf_count_t decode(struct source *s, sf_count_t frames)
{
    if (!s->in16)
        return sf_readf_float(s->sf, s->in, frames);
    sf_count_t got = sf_readf_short(s->sf, s->in16, frames);
    if (got > 0)
        samples_from_s16(s->in, s->in16, (size_t)got * (size_t)s->file_ch);
    return got;
}

/* Fills up to n frames in the file's channel layout from s->in, which
 * it refills CHUNK frames at a time. Without rate conversion this is a
 * plain copy: libsndfile reads PCM with one read(2) per call, so reading
 * a block at a time cost a system call per track and block (60 000 a
 * second for 160 tracks at 128 frames: 12 % of a CPU in the disk thread,
 * docs/performance.md); a CHUNK at a time is one per 16 blocks. */
static long fill(struct source *s, float *dst, long n)
{
    long done = 0;
    if (!s->src) {
        while (done < n) {
            if (s->in_avail == 0) {
                if (s->eof)
                    break;
                sf_count_t got = decode(s, CHUNK);
                s->in_avail = got > 0 ? (long)got : 0;
                s->in_pos = 0;
                if (s->in_avail < CHUNK)
                    s->eof = 1;
                if (s->in_avail == 0)
                    break;
            }
            long take = n - done < s->in_avail ? n - done : s->in_avail;
            memcpy(dst + done * s->file_ch, s->in + s->in_pos * s->file_ch,
                   sizeof(float) * (size_t)take * (size_t)s->file_ch);
            s->in_pos += take;
            s->in_avail -= take;
            done += take;
        }
        return done;
    }
    while (done < n) {
        if (s->in_avail == 0 && !s->eof) {
            s->in_avail = (long)decode(s, CHUNK);
            s->in_pos = 0;
            if (s->in_avail < CHUNK)
                s->eof = 1;
        }
        SRC_DATA d = {
            .data_in = s->in + s->in_pos * s->file_ch,
            .data_out = dst + done * s->file_ch,
            .input_frames = s->in_avail,
            .output_frames = n - done,
            .end_of_input = s->eof,
            .src_ratio = s->ratio,
        };
        if (src_process(s->src, &d) != 0)
            return -1;
        s->in_pos += d.input_frames_used;
        s->in_avail -= d.input_frames_used;
        done += d.output_frames_gen;
        if (s->eof && s->in_avail == 0 && d.output_frames_gen == 0)
            break;   /* fully flushed */
    }
    return done;
}

int64_t source_read(struct source *s, float *buf, int64_t frames)
{
    int64_t want = s->length - s->pos;
    if (want > frames)
        want = frames;
    int64_t done = 0;
    while (done < want) {
        long n = want - done > CHUNK ? CHUNK : (long)(want - done);
        float *o = buf + done * s->out_ch;
        /* In the file's own layout straight into buf: one copy fewer per
         * block (the disk thread copied every sample twice, a tenth of the
         * engine's time with 400 tracks: docs/performance.md). */
        float *c = s->file_ch == s->out_ch ? o : s->conv;
        long got = fill(s, c, n);
        if (got < 0)
            return SHX_EIO;
        if (got < n)   /* decoder or converter ran short: pad to the promised length */
            memset(c + got * s->file_ch, 0, sizeof(float) * (size_t)(n - got) * s->file_ch);
        /* A float file may hold NaN or Inf (a damaged or hostile file):
         * such samples become silence here, before any track or the mix
         * can spread them. 16-bit PCM read as integers cannot. */
        if (!s->in16 || s->src)
            samples_sanitize(c, (size_t)n * (size_t)s->file_ch);
        if (c != o && s->file_ch == 1) {          /* mono into stereo: both at unity */
            for (long i = 0; i < n; i++)
                o[2 * i] = o[2 * i + 1] = c[i];
        } else if (c != o) {                      /* stereo into mono: sum at -6 dB */
            for (long i = 0; i < n; i++)
                o[i] = 0.5f * (c[2 * i] + c[2 * i + 1]);
        }
        done += n;
    }
    s->pos += done;
    return done;
}
