/* overlay.h - the CPU meter overlay: a small always-on-top SDL2 window
 * with one row per track.
 *
 * DESIGN. Runs on the engine's main thread, which calls overlay_frame about
 * 30 times a second with the latest meter snapshot (a copy: the overlay
 * never touches anything an audio thread uses). Keys come back as actions
 * for the caller to carry out. It measures its own CPU time, which the
 * caller publishes as the snapshot's gui_cpu. */
#ifndef SHX_OVERLAY_H
#define SHX_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

struct snapshot;
struct overlay;

enum overlay_action {
    OVERLAY_NONE = 0,
    OVERLAY_QUIT,          /* q, or the window closed */
    OVERLAY_PAUSE,         /* space: play/pause */
    OVERLAY_MUTE,          /* m: toggle mute of the selected track */
    OVERLAY_SOLO,          /* s: toggle solo */
    OVERLAY_RESTART,       /* r: restart the selected track's worker */
    OVERLAY_GAIN_DOWN,     /* left: the selected track's gain down a dB */
    OVERLAY_GAIN_UP,       /* right: up a dB */
    OVERLAY_PAN_LEFT,      /* ,: its pan 0.1 to the left */
    OVERLAY_PAN_RIGHT,     /* .: to the right */
    OVERLAY_SEEK_BACK,     /* [: 5 s back */
    OVERLAY_SEEK_FORWARD,  /* ]: 5 s on */
};

struct overlay_input {
    enum overlay_action action;
    int track;             /* the selected track */
};

/* Main. Opens the window (SDL2, SDL2_ttf, the font fontconfig matches for
 * "monospace"). Errors: SHX_EIO (no display, no font, or a build without
 * the overlay, -DSHMIX_GUI=OFF: err says why in one line). */
int overlay_create(const char *title, int ntracks, struct overlay **out, char *err, size_t cap);
/* Main. Closes; NULL is a no-op. */
void overlay_destroy(struct overlay *o);
/* Main. Handles pending events, draws snapshot s, fills up to max inputs;
 * returns how many. */
int overlay_frame(struct overlay *o, const struct snapshot *s, struct overlay_input *in,
                  int max);
/* Main. CPU time spent in overlay_frame so far, ns. */
uint64_t overlay_cpu_ns(const struct overlay *o);
/* Main. Writes the last drawn frame as a BMP (for tests). Errors: SHX_EIO. */
int overlay_save(struct overlay *o, const char *path);

#endif
