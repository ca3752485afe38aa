/* pan.c - gain and equal-power pan; see pan.h. */
#include "pan.h"

#include <math.h>
#include <stddef.h>

double pan_db_to_linear(double db)
{
    return pow(10.0, db / 20.0);
}

struct pan_gains pan_law(double gain_db, double pan, int source_channels, int out_channels)
{
    double g = pan_db_to_linear(gain_db);
    struct pan_gains r = {(float)g, (float)g};
    if (out_channels < 2)
        return r;
    double a = (pan + 1.0) * M_PI / 4.0;
    double l = cos(a), rr = sin(a);
    if (source_channels >= 2) {
        l = fmin(1.0, M_SQRT2 * l);
        rr = fmin(1.0, M_SQRT2 * rr);
    }
    r.left = (float)(g * l);
    r.right = (float)(g * rr);
    return r;
}
