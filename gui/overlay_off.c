/* overlay_off.c - the overlay of a build without SDL2 (-DSHMIX_GUI=OFF);
 * see overlay.h. overlay_create always fails with one line saying why, so
 * `play --gui` shows the terminal table instead, exactly as it does when
 * there is no display; the other functions are never reached without an
 * overlay but must link. */
#include "overlay.h"
#include "errors.h"

#include <stdio.h>

int overlay_create(const char *title, int ntracks, struct overlay **out, char *err, size_t cap)
{
    (void)title;
    (void)ntracks;
    *out = NULL;
    snprintf(err, cap, "this shmix was built without the overlay (SHMIX_GUI=OFF)");
    return SHX_EIO;
}

void overlay_destroy(struct overlay *o)
{
    (void)o;
}

int overlay_frame(struct overlay *o, const struct snapshot *s, struct overlay_input *in,
                  int max)
{
    (void)o;
    (void)s;
    (void)in;
    (void)max;
    return 0;
}

uint64_t overlay_cpu_ns(const struct overlay *o)
{
    (void)o;
    return 0;
}

int overlay_save(struct overlay *o, const char *path)
{
    (void)o;
    (void)path;
    return SHX_EIO;
}
