/* overlay.c - the SDL2 meter window; see overlay.h. */
#include "overlay.h"
#include "errors.h"
#include "snapshot.h"
#include "platform.h"

#include <SDL2/SDL.h>
#include <SDL2/SDL_ttf.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W 760              /* window width, pixels */
#define ROW 34             /* one track's row */
#define HEAD 56            /* header height */
#define PAD 8
#define FONT_PX 13
#define HOLD_DECAY 0.985f  /* per frame: peak-hold marks sink ~35 %/s at 30 fps */

struct overlay {
    SDL_Window *win;
    SDL_Renderer *ren;
    TTF_Font *font;
    int ntracks, selected, hover;
    float *hold;           /* CPU peak-hold per track, % */
    SDL_Texture *glyph[96];  /* printable ASCII, white: tinted per draw */
    int gw, gh;            /* glyph cell, pixels (the font is monospaced) */
    uint64_t cpu_ns;
};

/* The file of the font the system's fontconfig picks for "monospace"
 * (DejaVu Sans Mono on a Debian desktop; whatever the user or the
 * distribution prefers elsewhere), rather than a list of paths that holds
 * on one distribution only. A private configuration, destroyed here,
 * leaves no fontconfig state behind for the rest of the run. Returns 0, or
 * -1 with err set when fontconfig knows no font. */
static int monospace_file(char *path, size_t pcap, char *err, size_t cap)
{
    FcConfig *cfg = FcInitLoadConfigAndFonts();
    FcPattern *pat = cfg ? FcNameParse((const FcChar8 *)"monospace") : NULL;
    FcPattern *match = NULL;
    FcChar8 *file = NULL;
    int rc = -1;
    if (pat) {
        /* Outlines rather than a bitmap font of one fixed size, where there
         * is a choice (a preference, not a requirement). */
        FcPatternAddBool(pat, FC_SCALABLE, FcTrue);
        FcConfigSubstitute(cfg, pat, FcMatchPattern);
        FcDefaultSubstitute(pat);
        FcResult res;
        match = FcFontMatch(cfg, pat, &res);
    }
    if (match && FcPatternGetString(match, FC_FILE, 0, &file) == FcResultMatch && file[0]) {
        snprintf(path, pcap, "%s", (const char *)file);
        rc = 0;
    } else {
        snprintf(err, cap, "no monospace font for the overlay (fontconfig found none)");
    }
    if (match)
        FcPatternDestroy(match);
    if (pat)
        FcPatternDestroy(pat);
    if (cfg)
        FcConfigDestroy(cfg);
    return rc;
}

/* True when SDL's video driver shows nothing on any screen. SDL 2.26 falls
 * back to its offscreen driver when no display answers, so without this
 * check --gui on a machine without a display opened a window nobody could
 * see instead of the terminal table. */
static int screenless_driver(void)
{
    const char *d = SDL_GetCurrentVideoDriver();
    return d && (!strcmp(d, "offscreen") || !strcmp(d, "dummy"));
}

int overlay_create(const char *title, int ntracks, struct overlay **out, char *err, size_t cap)
{
    /* Asked first, before SDL probes its drivers: the Wayland probe alone
     * prints a line of its own on stderr when there is no session. A
     * driver named in SDL_VIDEODRIVER is the user's choice and is tried. */
    const char *want = getenv("SDL_VIDEODRIVER");
    const char *x11 = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY");
    if (!(want && *want) && !(x11 && *x11) && !(wl && *wl)) {
        snprintf(err, cap, "no display for the overlay (DISPLAY and WAYLAND_DISPLAY are unset)");
        return SHX_EIO;
    }
    /* With only an X display named, only X is tried: probing Wayland too
     * would print libwayland's complaint when that display does not answer. */
    if (!(want && *want) && !(wl && *wl))
        SDL_SetHint(SDL_HINT_VIDEODRIVER, "x11");
    if (SDL_Init(SDL_INIT_VIDEO) != 0) {
        snprintf(err, cap, "no display for the overlay (%s)", SDL_GetError());
        return SHX_EIO;
    }
    if (!(want && *want) && screenless_driver()) {
        snprintf(err, cap, "no display for the overlay (none of SDL's drivers reached %s)", wl);
        SDL_Quit();
        return SHX_EIO;
    }
    if (TTF_Init() != 0) {
        snprintf(err, cap, "cannot start SDL_ttf: %s", TTF_GetError());
        SDL_Quit();
        return SHX_EIO;
    }
    char font[4096];
    if (monospace_file(font, sizeof font, err, cap) < 0) {
        TTF_Quit();
        SDL_Quit();
        return SHX_EIO;
    }
    struct overlay *o = calloc(1, sizeof *o);
    if (o)
        o->hold = calloc((size_t)ntracks + 1, sizeof *o->hold);
    if (o && o->hold)
        o->font = TTF_OpenFont(font, FONT_PX);
    if (!o || !o->hold || !o->font) {
        if (!o || !o->hold)
            snprintf(err, cap, "out of memory for the overlay");
        else
            snprintf(err, cap, "cannot open the font %s: %s", font, TTF_GetError());
        overlay_destroy(o);
        return SHX_EIO;
    }
    o->ntracks = ntracks;
    o->hover = -1;
    int h = HEAD + ROW * ntracks + PAD + 18;
    o->win = SDL_CreateWindow(title, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, W, h,
                              SDL_WINDOW_ALWAYS_ON_TOP | SDL_WINDOW_SHOWN);
    /* The software renderer: on a machine without a GPU, OpenGL would be
     * emulated (llvmpipe) at several times the cost. */
    o->ren = o->win ? SDL_CreateRenderer(o->win, -1, SDL_RENDERER_SOFTWARE) : NULL;
    if (!o->ren) {
        snprintf(err, cap, "cannot open the overlay window: %s", SDL_GetError());
        overlay_destroy(o);
        return SHX_EIO;
    }
    /* Every glyph rasterised once: a frame is then only texture copies,
     * which keeps the overlay's own CPU cost small. */
    SDL_Color white = {255, 255, 255, 255};
    for (int c = 32; c < 127; c++) {
        char s[2] = {(char)c, 0};
        SDL_Surface *surf = TTF_RenderUTF8_Blended(o->font, s, white);
        if (surf) {
            o->glyph[c - 32] = SDL_CreateTextureFromSurface(o->ren, surf);
            o->gw = surf->w > o->gw ? surf->w : o->gw;
            o->gh = surf->h > o->gh ? surf->h : o->gh;
            SDL_FreeSurface(surf);
        }
    }
    *out = o;
    return SHX_OK;
}

void overlay_destroy(struct overlay *o)
{
    if (o) {
        for (int i = 0; i < 96; i++)
            if (o->glyph[i])
                SDL_DestroyTexture(o->glyph[i]);
        if (o->font)
            TTF_CloseFont(o->font);
        if (o->ren)
            SDL_DestroyRenderer(o->ren);
        if (o->win)
            SDL_DestroyWindow(o->win);
        free(o->hold);
        free(o);
    }
    TTF_Quit();
    SDL_Quit();
}

uint64_t overlay_cpu_ns(const struct overlay *o) { return o->cpu_ns; }

/* Draws an ASCII string at (x, y) from the glyph textures. */
static void text(struct overlay *o, int x, int y, uint32_t rgb, const char *s)
{
    SDL_Rect r = {x, y, o->gw, o->gh};
    for (; *s; s++, r.x += o->gw) {
        unsigned c = (unsigned char)*s;
        SDL_Texture *g = c >= 32 && c < 127 ? o->glyph[c - 32] : o->glyph['?' - 32];
        if (!g || c == ' ')
            continue;
        SDL_SetTextureColorMod(g, (Uint8)(rgb >> 16), (Uint8)(rgb >> 8), (Uint8)rgb);
        SDL_RenderCopy(o->ren, g, NULL, &r);
    }
}

static void box(struct overlay *o, int x, int y, int w, int h, uint32_t rgb)
{
    SDL_SetRenderDrawColor(o->ren, (Uint8)(rgb >> 16), (Uint8)(rgb >> 8), (Uint8)rgb, 255);
    SDL_Rect r = {x, y, w, h};
    SDL_RenderFillRect(o->ren, &r);
}

static uint32_t state_colour(const char *state)
{
    if (!strcmp(state, "running") || !strcmp(state, "direct"))
        return 0x6fcf6f;
    if (!strcmp(state, "restarting") || !strcmp(state, "starting"))
        return 0xe0c050;
    return 0xe05a4f;   /* error, failed */
}

static uint32_t load_colour(double pct)
{
    return pct < 50 ? 0x4fa3e0 : pct < 80 ? 0xe0c050 : 0xe05a4f;
}

static void row(struct overlay *o, int i, const struct snapshot_track *t, int y)
{
    char buf[128];
    if (i == o->selected)
        box(o, 0, y - 3, W, ROW - 2, 0x2c3440);
    text(o, PAD, y, 0xe8e8e8, t->name);
    snprintf(buf, sizeof buf, "%s%s%s", t->state, t->mute ? "  M" : "", t->solo ? "  S" : "");
    text(o, PAD, y + 14, state_colour(t->state), buf);
    /* CPU bar, 0..100 % of real time, with a peak-hold mark. */
    int bx = 170, bw = 200;
    o->hold[i] = fmaxf(o->hold[i] * HOLD_DECAY, t->cpu_peak);
    box(o, bx, y + 2, bw, 12, 0x30363f);
    box(o, bx, y + 2, (int)(bw * fmin(t->cpu, 100.0) / 100.0), 12, load_colour(t->cpu));
    int hx = bx + (int)(bw * fmin(o->hold[i], 100.0f) / 100.0f);
    box(o, hx - 1, y, 2, 16, 0xf0f0f0);
    snprintf(buf, sizeof buf, "%5.1f%% cpu  peak %5.1f%%", t->cpu, o->hold[i]);
    text(o, bx, y + 15, 0xb8c0c8, buf);
    /* Level, -60..0 dBFS. */
    int lx = 390, lw = 150;
    double db = snapshot_db(t->peak);
    box(o, lx, y + 2, lw, 12, 0x30363f);
    if (isfinite(db) && db > -60)
        box(o, lx, y + 2, (int)(lw * (db + 60) / 60), 12, db > -1 ? 0xe05a4f : 0x6fcf6f);
    snprintf(buf, sizeof buf, isfinite(db) ? "%6.1f dBFS" : "   -inf dBFS", db);
    text(o, lx, y + 15, 0xb8c0c8, buf);
    snprintf(buf, sizeof buf, "restarts %llu", (unsigned long long)t->restarts);
    text(o, 560, y, 0xb8c0c8, buf);
    snprintf(buf, sizeof buf, "late %llu  err %llu", (unsigned long long)t->late_blocks,
             (unsigned long long)t->errors);
    text(o, 560, y + 15, t->late_blocks || t->errors ? 0xe0c050 : 0xb8c0c8, buf);
}

int overlay_frame(struct overlay *o, const struct snapshot *s, struct overlay_input *in,
                  int max)
{
    uint64_t c0 = plat_thread_cpu_ns();
    int n = 0;
    SDL_Event ev;
    while (SDL_PollEvent(&ev)) {
        enum overlay_action a = OVERLAY_NONE;
        if (ev.type == SDL_QUIT) {
            a = OVERLAY_QUIT;
        } else if (ev.type == SDL_MOUSEMOTION) {
            int r = (ev.motion.y - HEAD + 3) / ROW;
            o->hover = ev.motion.y >= HEAD - 3 && r < o->ntracks ? r : -1;
        } else if (ev.type == SDL_KEYDOWN) {
            switch (ev.key.keysym.sym) {
            case SDLK_q: case SDLK_ESCAPE: a = OVERLAY_QUIT; break;
            case SDLK_SPACE: a = OVERLAY_PAUSE; break;
            case SDLK_m: a = OVERLAY_MUTE; break;
            case SDLK_s: a = OVERLAY_SOLO; break;
            case SDLK_r: a = OVERLAY_RESTART; break;
            case SDLK_LEFT: a = OVERLAY_GAIN_DOWN; break;
            case SDLK_RIGHT: a = OVERLAY_GAIN_UP; break;
            case SDLK_COMMA: a = OVERLAY_PAN_LEFT; break;
            case SDLK_PERIOD: a = OVERLAY_PAN_RIGHT; break;
            case SDLK_LEFTBRACKET: a = OVERLAY_SEEK_BACK; break;
            case SDLK_RIGHTBRACKET: a = OVERLAY_SEEK_FORWARD; break;
            case SDLK_UP: o->selected = o->selected > 0 ? o->selected - 1 : 0; break;
            case SDLK_DOWN:
                o->selected = o->selected + 1 < o->ntracks ? o->selected + 1 : o->selected;
                break;
            default: break;
            }
        }
        if (a != OVERLAY_NONE && n < max)
            in[n++] = (struct overlay_input){a, o->selected};
    }
    box(o, 0, 0, W, HEAD + ROW * o->ntracks + PAD + 18, 0x1b1f24);
    char buf[256];
    snprintf(buf, sizeof buf, "%s   %s   %02d:%06.3f", s->session, s->state,
             (int)(s->position / 60), fmod(s->position, 60.0));
    text(o, PAD, PAD, 0xe8e8e8, buf);
    snprintf(buf, sizeof buf, "DSP %5.1f%%   xruns %llu   master %5.1f dBFS   overlay %4.1f%% cpu",
             s->dsp_load, (unsigned long long)s->xruns,
             isfinite(snapshot_db(s->master_peak)) ? snapshot_db(s->master_peak) : -99.0, s->gui_cpu);
    text(o, PAD, PAD + 18, s->xruns ? 0xe0c050 : 0xb8c0c8, buf);
    uint32_t nt = s->ntracks < (uint32_t)o->ntracks ? s->ntracks : (uint32_t)o->ntracks;
    for (uint32_t i = 0; i < nt; i++)
        row(o, (int)i, &s->tracks[i], HEAD + ROW * (int)i);
    /* The last error of the hovered (else the selected) track, at the bottom. */
    int e = o->hover >= 0 && o->hover < (int)nt ? o->hover : o->selected;
    if (e < (int)nt && s->tracks[e].last_error[0]) {
        snprintf(buf, sizeof buf, "%s: %.*s", s->tracks[e].name,
                 (int)strcspn(s->tracks[e].last_error, "\n"), s->tracks[e].last_error);
        text(o, PAD, HEAD + ROW * o->ntracks, 0xe05a4f, buf);
    } else {
        text(o, PAD, HEAD + ROW * o->ntracks, 0x707880,
             "space play/pause   up/down select   m mute   s solo   r restart   q quit");
    }
    SDL_RenderPresent(o->ren);
    o->cpu_ns += plat_thread_cpu_ns() - c0;
    return n;
}

int overlay_save(struct overlay *o, const char *path)
{
    int w, h;
    SDL_GetRendererOutputSize(o->ren, &w, &h);
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
    int rc = SHX_EIO;
    if (s && SDL_RenderReadPixels(o->ren, NULL, SDL_PIXELFORMAT_ARGB8888, s->pixels, s->pitch) == 0
        && SDL_SaveBMP(s, path) == 0)
        rc = SHX_OK;
    if (s)
        SDL_FreeSurface(s);
    return rc;
}
