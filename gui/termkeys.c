/* termkeys.c - the overlay's keys from a terminal; see termkeys.h. */
#include "termkeys.h"
#include "errors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

struct termkeys {
    struct termios saved;
    int saved_flags;
    int ntracks, selected;
    unsigned char esc[3];         /* an escape sequence read so far */
    int nesc;
};

int termkeys_create(int ntracks, struct termkeys **out)
{
    *out = NULL;
    if (!isatty(STDIN_FILENO))
        return SHX_OK;
    struct termkeys *k = calloc(1, sizeof *k);
    if (!k)
        return SHX_ENOMEM;
    k->ntracks = ntracks;
    if (tcgetattr(STDIN_FILENO, &k->saved) < 0) {
        free(k);
        return SHX_OK;   /* not a terminal after all: no keys */
    }
    struct termios raw = k->saved;
    raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);   /* ISIG kept: ^C is still SIGINT */
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    k->saved_flags = fcntl(STDIN_FILENO, F_GETFL);
    fcntl(STDIN_FILENO, F_SETFL, k->saved_flags | O_NONBLOCK);
    *out = k;
    return SHX_OK;
}

/* An arrow key's final byte (ESC [ A..D). */
static enum overlay_action arrow(struct termkeys *k, unsigned char c)
{
    switch (c) {
    case 'A': k->selected = k->selected > 0 ? k->selected - 1 : 0; return OVERLAY_NONE;
    case 'B':
        k->selected = k->selected + 1 < k->ntracks ? k->selected + 1 : k->selected;
        return OVERLAY_NONE;
    case 'C': return OVERLAY_GAIN_UP;
    case 'D': return OVERLAY_GAIN_DOWN;
    default: return OVERLAY_NONE;
    }
}

static enum overlay_action key(unsigned char c)
{
    switch (c) {
    case 'q': return OVERLAY_QUIT;
    case ' ': return OVERLAY_PAUSE;
    case 'm': return OVERLAY_MUTE;
    case 's': return OVERLAY_SOLO;
    case 'r': return OVERLAY_RESTART;
    case ',': return OVERLAY_PAN_LEFT;
    case '.': return OVERLAY_PAN_RIGHT;
    case '[': return OVERLAY_SEEK_BACK;
    case ']': return OVERLAY_SEEK_FORWARD;
    default: return OVERLAY_NONE;
    }
}

int termkeys_read(struct termkeys *k, struct overlay_input *in, int max)
{
    int n = 0;
    unsigned char buf[64];
    ssize_t got;
    while (k && n < max && (got = read(STDIN_FILENO, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < got && n < max; i++) {
            unsigned char c = buf[i];
            enum overlay_action a = OVERLAY_NONE;
            if (k->nesc == 0 && c == 0x1b) {
                k->esc[k->nesc++] = c;
                continue;
            }
            if (k->nesc == 1) {
                k->nesc = c == '[' ? 2 : 0;
                if (c != '[')
                    a = key(c);   /* a lone ESC, then a key */
            } else if (k->nesc == 2) {
                k->nesc = 0;
                a = arrow(k, c);
            } else {
                a = key(c);
            }
            if (a != OVERLAY_NONE)
                in[n++] = (struct overlay_input){a, k->selected};
        }
    }
    return n;
}

int termkeys_selected(const struct termkeys *k)
{
    return k ? k->selected : 0;
}

void termkeys_destroy(struct termkeys *k)
{
    if (!k)
        return;
    tcsetattr(STDIN_FILENO, TCSANOW, &k->saved);
    fcntl(STDIN_FILENO, F_SETFL, k->saved_flags);
    free(k);
}
