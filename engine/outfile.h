/* outfile.h - writing a render: all or nothing.
 *
 * Main (render) thread. Samples go to a temporary file beside the target,
 * renamed into place by outfile_commit; destroying an uncommitted file
 * deletes it, so an error never leaves a half-written
 * render under the requested name. Format by extension: .wav float32,
 * .flac 24-bit, .ogg Vorbis. */
#ifndef SHX_OUTFILE_H
#define SHX_OUTFILE_H

#include <stddef.h>
#include <stdint.h>

struct outfile;

/* Main. Errors: SHX_EUSAGE (unknown extension), SHX_EIO (err says why). */
int outfile_create(const char *path, int rate, int channels, struct outfile **out,
                   char *err, size_t cap);
/* Main. Writes frames x channels interleaved floats. They are held and
 * written in larger pieces, so an error may show only at a later call or
 * at outfile_commit. Errors: SHX_EIO. */
int outfile_write(struct outfile *f, const float *buf, int64_t frames);
/* Main. Writes what is held, closes and renames into place. Errors:
 * SHX_EIO. */
int outfile_commit(struct outfile *f, char *err, size_t cap);
/* Main. Deletes the temporary file and frees; NULL and committed are fine. */
void outfile_destroy(struct outfile *f);

#endif
