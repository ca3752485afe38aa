/* test_source.c - reading files at the session's rate and channel count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "source.h"

static char dir[128];

static void write_wav(const char *name, int rate, int ch, int64_t frames, double hz, double amp)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    SF_INFO info = {.samplerate = rate, .channels = ch,
                    .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *sf = sf_open(p, SFM_WRITE, &info);
    assert_non_null(sf);
    float *buf = malloc(sizeof(float) * (size_t)(frames * ch + 1));
    for (int64_t i = 0; i < frames; i++)
        for (int c = 0; c < ch; c++)
            buf[i * ch + c] = (float)(amp * (c + 1) * sin(2 * M_PI * hz * (double)i / rate));
    assert_int_equal(sf_writef_float(sf, buf, frames), frames);
    sf_close(sf);
    free(buf);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/shmix-test-source-XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_wav("sine441.wav", 44100, 1, 44100, 1000, 0.5);
    write_wav("stereo.wav", 48000, 2, 4800, 100, 0.25);
    write_wav("empty.wav", 48000, 1, 0, 0, 0);
    write_wav("six.wav", 48000, 6, 100, 100, 0.1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static struct source *open_ok(const char *name, int rate, int ch)
{
    char p[256], err[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct source *s = NULL;
    if (source_open(p, rate, ch, &s, err, sizeof err) != SHX_OK)
        fail_msg("%s: %s", name, err);
    return s;
}

/* Power of x at frequency hz (Goertzel). */
static double power_at(const float *x, int64_t n, double hz, int rate)
{
    double w = 2 * M_PI * hz / rate, c = 2 * cos(w), s1 = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) {
        double s0 = x[i] + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    return s1 * s1 + s2 * s2 - c * s1 * s2;
}

static void test_resampled_sine_peaks_at_1k(void **state)
{
    (void)state;
    struct source *s = open_ok("sine441.wav", 48000, 1);
    assert_int_equal(source_file_rate(s), 44100);
    assert_int_equal(source_frames(s), 48000);   /* 1 s at the new rate */
    float *buf = malloc(sizeof(float) * 48000);
    /* Read in odd-sized pieces, as a track does block by block. */
    int64_t got = 0;
    while (got < 48000) {
        int64_t n = source_read(s, buf + got, 48000 - got < 333 ? 48000 - got : 333);
        assert_true(n > 0);
        got += n;
    }
    assert_int_equal(source_read(s, buf, 10), 0);
    /* Scan 500..1500 Hz in 5 Hz steps on the steady middle part. */
    double best = 0, best_hz = 0;
    for (double hz = 500; hz <= 1500; hz += 5) {
        double p = power_at(buf + 4800, 38400, hz, 48000);
        if (p > best) {
            best = p;
            best_hz = hz;
        }
    }
    assert_float_equal(best_hz, 1000.0, 0.1);
    /* amplitude preserved: RMS of a 0.5 sine is 0.3536 */
    double sq = 0;
    for (int i = 4800; i < 43200; i++)
        sq += (double)buf[i] * buf[i];
    assert_float_equal(sqrt(sq / 38400), 0.5 * M_SQRT1_2, 0.005);
    free(buf);
    source_destroy(s);
}

static void test_channel_fitting(void **state)
{
    (void)state;
    float mono[64], st[128];
    struct source *s = open_ok("sine441.wav", 44100, 2);   /* mono into stereo */
    assert_int_equal(source_read(s, st, 64), 64);
    source_destroy(s);
    s = open_ok("sine441.wav", 44100, 1);
    assert_int_equal(source_read(s, mono, 64), 64);
    source_destroy(s);
    for (int i = 0; i < 64; i++) {
        assert_float_equal(st[2 * i], mono[i], 0);
        assert_float_equal(st[2 * i + 1], mono[i], 0);
    }
    float both[128], sum[64];
    s = open_ok("stereo.wav", 48000, 2);
    assert_int_equal(source_file_channels(s), 2);
    assert_int_equal(source_read(s, both, 64), 64);
    source_destroy(s);
    s = open_ok("stereo.wav", 48000, 1);                    /* stereo into mono, -6 dB */
    assert_int_equal(source_read(s, sum, 64), 64);
    for (int i = 0; i < 64; i++)
        assert_float_equal(sum[i], 0.5f * (both[2 * i] + both[2 * i + 1]), 1e-7);
    /* seeking lands on the same samples */
    assert_int_equal(source_seek(s, 10), SHX_OK);
    float again[4];
    assert_int_equal(source_read(s, again, 4), 4);
    for (int i = 0; i < 4; i++)
        assert_float_equal(again[i], sum[10 + i], 0);
    source_destroy(s);
}

/* Every 16-bit value, left rising and right falling, as 16-bit PCM (WAV
 * and FLAC) and as floats x / 32768. */
static void write_all_s16(const char *name, int format)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    SF_INFO info = {.samplerate = 48000, .channels = 2, .format = format};
    SNDFILE *sf = sf_open(p, SFM_WRITE, &info);
    assert_non_null(sf);
    static int16_t s[2 * 65536];
    static float f[2 * 65536];
    for (int i = 0; i < 65536; i++) {
        s[2 * i] = (int16_t)(i - 32768);
        s[2 * i + 1] = (int16_t)(32767 - i);
        f[2 * i] = (float)s[2 * i] / 32768.0f;
        f[2 * i + 1] = (float)s[2 * i + 1] / 32768.0f;
    }
    if ((format & SF_FORMAT_SUBMASK) == SF_FORMAT_FLOAT)
        assert_int_equal(sf_writef_float(sf, f, 65536), 65536);
    else
        assert_int_equal(sf_writef_short(sf, s, 65536), 65536);
    sf_close(sf);
}

static float *read_all(const char *name, int rate, int64_t *frames)
{
    struct source *s = open_ok(name, rate, 2);
    *frames = source_frames(s);
    float *buf = malloc(sizeof(float) * 2 * (size_t)*frames);
    int64_t got = 0, n;
    while ((n = source_read(s, buf + 2 * got, 1000)) > 0)   /* CHUNK is not a divisor */
        got += n;
    assert_int_equal(got, *frames);
    source_destroy(s);
    return buf;
}

/* shmix converts 16-bit PCM itself (libsndfile's conversion was a third of
 * the disk thread's time): the floats must be libsndfile's to the bit,
 * x / 32768, at the file's rate and through the rate converter. */
static void test_16_bit_pcm_reads_exactly(void **state)
{
    (void)state;
    write_all_s16("s16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    write_all_s16("s16.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
    write_all_s16("f32.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT);
    int64_t n, m;
    float *want = read_all("f32.wav", 48000, &n);
    assert_int_equal(n, 65536);
    assert_float_equal(want[0], -1.0f, 0);
    assert_float_equal(want[2 * 65535], 32767.0f / 32768.0f, 0);
    for (int k = 0; k < 2; k++) {
        float *got = read_all(k ? "s16.flac" : "s16.wav", 48000, &m);
        assert_int_equal(m, n);
        assert_memory_equal(got, want, sizeof(float) * 2 * (size_t)n);
        free(got);
    }
    free(want);
    want = read_all("f32.wav", 44100, &n);
    float *got = read_all("s16.wav", 44100, &m);
    assert_int_equal(m, n);
    assert_memory_equal(got, want, sizeof(float) * 2 * (size_t)n);
    free(got);
    free(want);
}

static void test_errors(void **state)
{
    (void)state;
    char p[256], err[256];
    struct source *s = NULL;
    snprintf(p, sizeof p, "%s/six.wav", dir);
    assert_int_equal(source_open(p, 48000, 2, &s, err, sizeof err), SHX_EFORMAT);
    assert_string_equal(err, "has 6 channels; shmix plays mono and stereo files");
    snprintf(p, sizeof p, "%s/empty.wav", dir);
    assert_int_equal(source_open(p, 48000, 2, &s, err, sizeof err), SHX_EFORMAT);
    assert_string_equal(err, "has no audio frames");
    snprintf(p, sizeof p, "%s/missing.wav", dir);
    assert_int_equal(source_open(p, 48000, 2, &s, err, sizeof err), SHX_EIO);
    assert_string_equal(err, "cannot open: No such file or directory");
    snprintf(p, sizeof p, "%s", dir);   /* a folder is not audio */
    assert_int_equal(source_open(p, 48000, 2, &s, err, sizeof err), SHX_EIO);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resampled_sine_peaks_at_1k),
        cmocka_unit_test(test_channel_fitting),
        cmocka_unit_test(test_16_bit_pcm_reads_exactly),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
