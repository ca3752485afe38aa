/* pan.h - the gain and pan laws (docs/session-format.md). The mixer ramps
 * each track to the factors worked out here (mixer.c).
 *
 * Mono source at pan p: left = cos((p+1)pi/4), right = sin((p+1)pi/4)
 * (-3 dB each at centre). Stereo source: a balance, left x= min(1,
 * sqrt2 cos(...)), right x= min(1, sqrt2 sin(...)), so the centre leaves
 * stereo untouched. One output channel: pan is ignored. */
#ifndef SHX_PAN_H
#define SHX_PAN_H

struct pan_gains {
    float left, right;     /* linear factors; right unused for mono output */
};

/* Any thread. 10^(db/20). */
double pan_db_to_linear(double db);

/* Any thread. The per-channel factors for a track: gain_db and pan for a
 * source of source_channels (1 or 2) in an output of out_channels. */
struct pan_gains pan_law(double gain_db, double pan, int source_channels, int out_channels);

#endif
