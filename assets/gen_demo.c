/* gen_demo.c - writes the demo session's four stems (shmix-gen-demo DIR).
 *
 * Eight bars at 120 BPM in 4/4 (16 s) over Am F C G, synthesised from
 * scratch so the repository carries no audio:
 *   drums.flac  stereo, 48 kHz, 24-bit: kick, snare on 2 and 4, 8th hats
 *   bass.flac   mono,   48 kHz, 24-bit: saw/square bass, one-pole lowpass
 *   pad.flac    stereo, 48 kHz, 24-bit: detuned saw triads, slow attack
 *   lead.wav    mono, 44.1 kHz, 16-bit: melody with vibrato (44.1 kHz on
 *               purpose, so the engine has to resample it)
 * Each stem peaks at -6 dBFS and every note starts and ends on a ramp.
 * The output is the same on every run: the noise comes from a xorshift
 * generator with a fixed seed. Each file is written to NAME.tmp and renamed
 * into place once closed. Exit 0, or 1 after one line on stderr. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RATE      48000
#define LEAD_RATE 44100
#define BARS      8
#define BEAT      0.5                      /* seconds per beat at 120 BPM */
#define BAR       (4 * BEAT)
#define LENGTH    (BARS * BAR)             /* 16 s */
#define PEAK      0.50118723362727224      /* -6 dBFS */

static const double TAU = 6.283185307179586;

/* Interleaved float audio. */
struct buf {
    float *x;
    long frames;
    int ch, rate;
};

/* xorshift32 with a fixed seed: white noise in [-1, 1). */
static uint32_t rng = 0x2545F491u;

static double noise(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng / 2147483648.0 - 1.0;
}

static double mtof(int midi)
{
    return 440.0 * pow(2.0, (midi - 69) / 12.0);
}

/* One-pole lowpass coefficient for cutoff fc at rate sr. */
static double lp_coef(double fc, int sr)
{
    return 1.0 - exp(-TAU * fc / sr);
}

/* Linear attack over att, linear release over the last rel of dur. */
static double env(double t, double dur, double att, double rel)
{
    if (t < 0.0 || t >= dur)
        return 0.0;
    double a = t < att ? t / att : 1.0;
    double r = dur - t < rel ? (dur - t) / rel : 1.0;
    return a * r;
}

/* Percussive: 1 ms attack, exponential decay tau, 10 ms fade to dur. */
static double perc(double t, double dur, double tau)
{
    return env(t, dur, 0.001, 0.01) * exp(-t / tau);
}

/* Band-limited sawtooth (PolyBLEP); *ph in [0, 1), advanced by dt. */
static double saw(double *ph, double dt)
{
    double t = *ph, v = 2.0 * t - 1.0;
    if (t < dt) {
        t /= dt;
        v -= t + t - t * t - 1.0;
    } else if (t > 1.0 - dt) {
        t = (t - 1.0) / dt;
        v -= t * t + t + t + 1.0;
    }
    *ph += dt;
    if (*ph >= 1.0)
        *ph -= 1.0;
    return v;
}

static void add(struct buf *b, long frame, int c, double v)
{
    if (frame >= 0 && frame < b->frames)
        b->x[frame * b->ch + c] += (float)v;
}

static void lowpass(struct buf *b, double fc)
{
    double a = lp_coef(fc, b->rate);
    for (int c = 0; c < b->ch; c++) {
        double y = 0.0;
        for (long i = 0; i < b->frames; i++) {
            y += a * (b->x[i * b->ch + c] - y);
            b->x[i * b->ch + c] = (float)y;
        }
    }
}

/* ---- drums ------------------------------------------------------------ */

static void kick(struct buf *b, double t0)
{
    const double dur = 0.4;
    long n0 = lround(t0 * b->rate), n = lround(dur * b->rate);
    double ph = 0.0;
    for (long i = 0; i < n; i++) {
        double t = (double)i / b->rate;
        double f = 48.0 + 120.0 * exp(-t / 0.035);   /* pitch sweeps down */
        double v = sin(ph) * perc(t, dur, 0.14);
        ph += TAU * f / b->rate;
        add(b, n0 + i, 0, v);
        add(b, n0 + i, 1, v);
    }
}

static void snare(struct buf *b, double t0)
{
    const double dur = 0.25;
    long n0 = lround(t0 * b->rate), n = lround(dur * b->rate);
    double a = lp_coef(1200.0, b->rate), lp = 0.0;
    for (long i = 0; i < n; i++) {
        double t = (double)i / b->rate, x = noise();
        lp += a * (x - lp);
        double v = 0.45 * sin(TAU * 185.0 * t) * perc(t, dur, 0.045)
                 + 0.55 * (x - lp) * perc(t, dur, 0.07);
        add(b, n0 + i, 0, v);
        add(b, n0 + i, 1, v);
    }
}

static void hat(struct buf *b, double t0, double gain)
{
    const double dur = 0.07;
    long n0 = lround(t0 * b->rate), n = lround(dur * b->rate);
    double a = lp_coef(7000.0, b->rate), lp1 = 0.0, lp2 = 0.0;
    for (long i = 0; i < n; i++) {
        double t = (double)i / b->rate, x = noise();
        lp1 += a * (x - lp1);            /* two highpass stages: x - lowpass */
        x -= lp1;
        lp2 += a * (x - lp2);
        x -= lp2;
        double v = gain * x * perc(t, dur, 0.018);
        add(b, n0 + i, 0, 0.8 * v);      /* a little to the right */
        add(b, n0 + i, 1, v);
    }
}

static void drums(struct buf *b)
{
    for (int beat = 0; beat < BARS * 4; beat++) {
        kick(b, beat * BEAT);
        if (beat % 2 == 1)
            snare(b, beat * BEAT);
    }
    for (int e = 0; e < BARS * 8; e++)
        hat(b, e * BEAT / 2, e % 2 ? 0.6 : 1.0);
}

/* ---- bass, pad and lead ----------------------------------------------- */

/* Am F C G, one chord a bar: bass roots and pad voicings (MIDI notes). */
static const int bass_root[4] = {33, 29, 36, 31};
static const int pad_chord[4][3] = {{57, 60, 64}, {57, 60, 65}, {55, 60, 64}, {55, 59, 62}};

static void bass(struct buf *b)
{
    static const int step[8] = {0, 0, 12, 0, 7, 0, 12, 7};
    const double dur = 0.23;                         /* of a 0.25 s 8th */
    for (int bar = 0; bar < BARS; bar++)
        for (int e = 0; e < 8; e++) {
            double f = mtof(bass_root[bar % 4] + step[e]), dt = f / b->rate;
            long n0 = lround((bar * BAR + e * BEAT / 2) * b->rate);
            long n = lround(dur * b->rate);
            double p1 = 0.0, p2 = 0.5;
            for (long i = 0; i < n; i++) {
                double t = (double)i / b->rate;
                double s1 = saw(&p1, dt), s2 = saw(&p2, dt);
                double v = 0.6 * s1 + 0.4 * (s1 - s2);  /* saw + square */
                add(b, n0 + i, 0, v * env(t, dur, 0.004, 0.03) * (0.6 + 0.4 * exp(-t / 0.08)));
            }
        }
    lowpass(b, 1500.0);
}

static void pad(struct buf *b)
{
    static const double cents[2] = {6.0, 9.0};       /* detune, left and right */
    for (int bar = 0; bar < BARS; bar++) {
        double dur = bar == BARS - 1 ? BAR : BAR + 0.4;   /* overlap the next */
        long n0 = lround(bar * BAR * b->rate), n = lround(dur * b->rate);
        for (int k = 0; k < 3; k++)
            for (int c = 0; c < 2; c++)
                for (int d = -1; d <= 1; d += 2) {
                    double f = mtof(pad_chord[bar % 4][k]) * pow(2.0, d * cents[c] / 1200.0);
                    double ph = (noise() + 1.0) / 2.0;   /* free-running start */
                    for (long i = 0; i < n; i++) {
                        double t = (double)i / b->rate;
                        add(b, n0 + i, c, saw(&ph, f / b->rate) * env(t, dur, 0.6, 0.5) / 6.0);
                    }
                }
    }
    lowpass(b, 2500.0);
}

static void lead(struct buf *b)
{
    /* MIDI note (0 = rest) and length in beats; 32 beats in all. */
    static const struct { int midi; double beats; } mel[] = {
        {0, 4},                                   /* Am: enters in bar 2 */
        {0, 2}, {69, 1}, {72, 1},                 /* F */
        {76, 1.5}, {74, 0.5}, {72, 1}, {67, 1},   /* C */
        {74, 2}, {71, 1}, {67, 1},                /* G */
        {69, 1}, {72, 1}, {76, 1}, {81, 1},       /* Am */
        {79, 1.5}, {77, 0.5}, {76, 1}, {72, 1},   /* F */
        {76, 2}, {74, 1}, {72, 1},                /* C */
        {74, 1}, {71, 1}, {69, 2},                /* G */
    };
    const double vib = pow(2.0, 0.25 / 12.0) - 1.0;  /* +-25 cents */
    double start = 0.0, ph = 0.0;
    for (size_t j = 0; j < sizeof mel / sizeof mel[0]; j++) {
        double dur = 0.9 * mel[j].beats * BEAT;
        long n0 = lround(start * b->rate), n = lround(dur * b->rate);
        start += mel[j].beats * BEAT;
        if (!mel[j].midi)
            continue;
        double f = mtof(mel[j].midi);
        for (long i = 0; i < n; i++) {
            double t = (double)i / b->rate;
            double depth = t < 0.15 ? 0.0 : fmin(1.0, (t - 0.15) / 0.2);  /* delayed */
            double fi = f * (1.0 + vib * depth * sin(TAU * 5.5 * t));
            double a = env(t, dur, 0.01, 0.06) * (0.75 + 0.25 * exp(-t / 0.1));
            add(b, n0 + i, 0, saw(&ph, fi / b->rate) * a);
        }
    }
    lowpass(b, 3500.0);
}

/* ---- output ----------------------------------------------------------- */

static void normalise(struct buf *b)
{
    float peak = 0.0f;
    for (long i = 0; i < b->frames * b->ch; i++)
        peak = fmaxf(peak, fabsf(b->x[i]));
    if (peak > 0.0f)
        for (long i = 0; i < b->frames * b->ch; i++)
            b->x[i] = (float)(b->x[i] * (PEAK / peak));
}

static int write_stem(const char *dir, const char *name, int format,
                      const struct buf *b, char *err, size_t cap)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = b->rate;
    info.channels = b->ch;
    info.format = format;
    SNDFILE *f = sf_open(tmp, SFM_WRITE, &info);
    if (!f) {
        snprintf(err, cap, "%s: %s", name, sf_strerror(NULL));
        return -1;
    }
    if (sf_writef_float(f, b->x, b->frames) != b->frames) {
        snprintf(err, cap, "%s: %s", name, sf_strerror(f));
        sf_close(f);
        remove(tmp);
        return -1;
    }
    if (sf_close(f) != 0) {
        snprintf(err, cap, "%s: cannot finish the file", name);
        remove(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, cap, "%s: %s", name, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

/* mkdir -p */
static int make_dir(const char *dir, char *err, size_t cap)
{
    char p[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof p) {
        snprintf(err, cap, "bad directory name");
        return -1;
    }
    memcpy(p, dir, len + 1);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char was = *s;
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                snprintf(err, cap, "%s", strerror(errno));
                return -1;
            }
            *s = was;
            if (!was)
                break;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, cap, "not a directory");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: shmix-gen-demo DIR\n");
        return 1;
    }
    static const struct {
        const char *name;
        int ch, rate, format;
        void (*make)(struct buf *);
    } stems[] = {
        {"drums.flac", 2, RATE, SF_FORMAT_FLAC | SF_FORMAT_PCM_24, drums},
        {"bass.flac", 1, RATE, SF_FORMAT_FLAC | SF_FORMAT_PCM_24, bass},
        {"pad.flac", 2, RATE, SF_FORMAT_FLAC | SF_FORMAT_PCM_24, pad},
        {"lead.wav", 1, LEAD_RATE, SF_FORMAT_WAV | SF_FORMAT_PCM_16, lead},
    };
    char err[512];
    if (make_dir(argv[1], err, sizeof err) != 0)
        goto fail;
    for (size_t i = 0; i < sizeof stems / sizeof stems[0]; i++) {
        struct buf b = {NULL, lround(LENGTH * stems[i].rate), stems[i].ch, stems[i].rate};
        b.x = calloc((size_t)b.frames * b.ch, sizeof *b.x);
        if (!b.x) {
            snprintf(err, sizeof err, "out of memory");
            goto fail;
        }
        stems[i].make(&b);
        normalise(&b);
        int r = write_stem(argv[1], stems[i].name, stems[i].format, &b, err, sizeof err);
        free(b.x);
        if (r != 0)
            goto fail;
    }
    return 0;
fail:
    fprintf(stderr, "gen_demo: %s: %s\n", argv[1], err);
    return 1;
}
