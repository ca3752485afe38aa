/* cli.c - the command line's grammar; see cli.h. */
#include "cli.h"
#include "tuning.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Long options without a short form. */
enum {
    O_DEVICE = 256, O_NULL, O_BLOCK, O_START, O_DURATION, O_LOOP, O_AHEAD, O_AHEAD_MAX, O_STATS,
    O_INTERVAL, O_GUI, O_METER, O_ONCE, O_JSON, O_STRICT, O_RECORD, O_PARAM, O_PID, O_OSC, O_OSC_BIND,
    O_CAPTURE, O_EVENTS,
};

#define OPT_HELP {"help", no_argument, NULL, 'h'}
#define OPT_QUIET {"quiet", no_argument, NULL, 'q'}
#define OPT_END {NULL, 0, NULL, 0}

static const struct option play_opts[] = {
    {"device", required_argument, NULL, O_DEVICE}, {"null", no_argument, NULL, O_NULL},
    {"block", required_argument, NULL, O_BLOCK},   {"start", required_argument, NULL, O_START},
    {"duration", required_argument, NULL, O_DURATION}, {"loop", no_argument, NULL, O_LOOP},
    {"ahead", required_argument, NULL, O_AHEAD},   {"stats", required_argument, NULL, O_STATS},
    {"ahead-max", required_argument, NULL, O_AHEAD_MAX},
    {"stats-interval", required_argument, NULL, O_INTERVAL},
    {"gui", no_argument, NULL, O_GUI},             {"meter", no_argument, NULL, O_METER},
    {"record", required_argument, NULL, O_RECORD},
    {"osc", required_argument, NULL, O_OSC},       {"osc-bind", required_argument, NULL, O_OSC_BIND},
    {"capture-events", required_argument, NULL, O_CAPTURE},
    OPT_QUIET, OPT_HELP, OPT_END,
};
static const struct option render_opts[] = {
    {"output", required_argument, NULL, 'o'},      {"duration", required_argument, NULL, O_DURATION},
    {"start", required_argument, NULL, O_START},   {"loop", no_argument, NULL, O_LOOP},
    {"block", required_argument, NULL, O_BLOCK},   {"stats", required_argument, NULL, O_STATS},
    {"strict", no_argument, NULL, O_STRICT},       {"events", required_argument, NULL, O_EVENTS},
    OPT_QUIET, OPT_HELP, OPT_END,
};
static const struct option fx_opts[] = {
    {"output", required_argument, NULL, 'o'},      {"param", required_argument, NULL, O_PARAM},
    {"block", required_argument, NULL, O_BLOCK},   OPT_QUIET, OPT_HELP, OPT_END,
};
static const struct option check_opts[] = {OPT_QUIET, OPT_HELP, OPT_END};
static const struct option devices_opts[] = {OPT_HELP, OPT_END};
static const struct option top_opts[] = {
    {"once", no_argument, NULL, O_ONCE}, {"json", no_argument, NULL, O_JSON}, OPT_HELP, OPT_END,
};
static const struct option ctl_opts[] = {
    {"pid", required_argument, NULL, O_PID}, OPT_HELP, OPT_END,
};

static const char play_usage[] =
    "usage: shmix play SESSION [OPTIONS]\n"
    "\n"
    "Plays SESSION in real time through PortAudio (JACK's output when a JACK\n"
    "server runs, else PortAudio's default output), or on the null device.\n"
    "^C stops.\n"
    "\n"
    "  --device N|NAME       output device: its index or part of its name\n"
    "                        (see shmix devices)\n"
    "  --null                the null device: a real-time clock, no sound card\n"
    "  --block FRAMES        frames per block, 16..8192 (default: the session's)\n"
    "  --start SEC           start at this position on the timeline\n"
    "  --duration SEC        stop after this long (default: at the end)\n"
    "  --loop                loop the session's loop region, or the whole session\n"
    "  --ahead BLOCKS        blocks each track renders ahead, 2..64, fixed (default:\n"
    "                        sized by what it costs, 80 ms to start with)\n"
    "  --ahead-max MS        the sized render-ahead's upper end, 10..2000 (default 400;\n"
    "                        683 at 48 kHz with a script_block longer than the period)\n"
    "  --gui                 the CPU meters in an always-on-top window\n"
    "  --meter               the CPU meters as a table in the terminal (stderr)\n"
    "  --stats FILE|-        a JSON stats line every interval (-: stdout)\n"
    "  --stats-interval SEC  seconds between stats lines (default 0.5)\n"
    "  --record OUT          also write what is played to OUT: .wav, .flac or .ogg\n"
    "                        (complete when play ends, also by ^C)\n"
    "  --osc PORT            also take control messages over UDP on 127.0.0.1:PORT\n"
    "                        (0: any free port, printed); always on the private\n"
    "                        socket that shmix ctl uses\n"
    "  --osc-bind ADDR       listen for UDP on ADDR instead (anyone who can reach it\n"
    "                        controls the engine)\n"
    "  --capture-events FILE every accepted control message, at the output time it\n"
    "                        took effect, as an events: list for render --events\n"
    "  -q, --quiet           no notices (device, real-time limits); errors still\n"
    "  -h, --help            this help\n";
static const char render_usage[] =
    "usage: shmix render SESSION -o OUT.(wav|flac|ogg) [OPTIONS]\n"
    "\n"
    "Bounces SESSION to a file through the same workers as playback, as fast\n"
    "as they go; the file appears only when it is complete.\n"
    "\n"
    "  -o, --output FILE     the file to write: .wav, .flac or .ogg\n"
    "  --start SEC           start at this position on the timeline\n"
    "  --duration SEC        render this much (default: to the end)\n"
    "  --events FILE         control messages at output times (an events: list, as\n"
    "                        play --capture-events writes)\n"
    "  --loop                loop the session's loop region, or the whole session\n"
    "                        (needs --duration)\n"
    "  --block FRAMES        frames per block, 16..8192 (default: the session's)\n"
    "  --stats FILE|-        a JSON stats line at the end (-: stdout)\n"
    "  --strict              exit 1 when any block was faulted\n"
    "  -q, --quiet           no notices; errors still\n"
    "\n"
    "The file is always written. The exit status is 1, with one line per track,\n"
    "when a scripted track's script never processed a block (it failed to load,\n"
    "or every start crashed), and with --strict when any block was faulted.\n"
    "  -h, --help            this help\n";
static const char fx_usage[] =
    "usage: shmix fx SCRIPT IN -o OUT.(wav|flac|ogg) [OPTIONS]\n"
    "\n"
    "Runs the sound file IN through SCRIPT offline: the render of a one-track\n"
    "session of IN with SCRIPT, at IN's rate and channels (mono or stereo).\n"
    "The file appears only when it is complete.\n"
    "\n"
    "  -o, --output FILE     the file to write: .wav, .flac or .ogg\n"
    "  --param KEY=VALUE     ctx.params[KEY] = VALUE, read as YAML reads a value\n"
    "                        (3 an int, .5 a float, ~ None, abc a string);\n"
    "                        repeat it for more keys\n"
    "  --block FRAMES        frames per block, 16..8192 (default 256)\n"
    "  -q, --quiet           no notices; errors still\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status 2 when SCRIPT fails to load (its setup() raised, say), 1 when\n"
    "it loaded but never processed a block.\n";
static const char check_usage[] =
    "usage: shmix check SESSION [OPTIONS]\n"
    "\n"
    "Validates SESSION and starts every script in a worker (setup() included);\n"
    "exit status 0 when all is well, 2 with the first error otherwise.\n"
    "\n"
    "  -q, --quiet           no notices; errors still\n"
    "  -h, --help            this help\n";
static const char devices_usage[] =
    "usage: shmix devices\n"
    "\n"
    "Lists PortAudio's devices: index (* the default output), host API, name,\n"
    "output and input channels, default sample rate.\n"
    "\n"
    "  -h, --help            this help\n";
static const char top_usage[] =
    "usage: shmix top [PID] [OPTIONS]\n"
    "\n"
    "Live meters of a running engine (default: the only one running),\n"
    "read-only. On a terminal the table is redrawn in place to fit it;\n"
    "into a pipe, a plain table every second. ^C stops.\n"
    "\n"
    "  --once                one table (or with --json one line) and exit\n"
    "  --json                the stats lines that --stats writes, every 0.5 s\n"
    "  -h, --help            this help\n";
static const char ctl_usage[] =
    "usage: shmix ctl [--pid PID] ADDRESS [ARG...]\n"
    "\n"
    "Sends one OSC control message to a running engine (default: the only one\n"
    "running) over its control socket and prints the reply: nothing when the\n"
    "message was accepted, \"pong\" for /shmix/ping, the stats line for\n"
    "/shmix/stats; a rejected message prints the engine's reason. Options end\n"
    "at ADDRESS, so a negative number needs no \"--\".\n"
    "\n"
    "Each ARG's type follows its spelling: an integer is sent as i, another\n"
    "decimal number as f, true and false as T and F, nil and null as N,\n"
    "anything else as a string s. The addresses are in docs/control.md.\n"
    "\n"
    "  --pid PID             the engine's process id\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 accepted; 2 rejected, no such engine or bad usage; 1 no\n"
    "reply within a second.\n"
    "\n"
    "  shmix ctl /shmix/track/drums/gain_db -6\n"
    "  shmix ctl /shmix/track/0/param/cutoff_hz 800\n"
    "  shmix ctl /shmix/stats\n";

static const char overview[] =
    "usage: shmix COMMAND [OPTIONS]\n"
    "\n"
    "  shmix play SESSION [--device N|NAME] [--null] [--block FRAMES] [--start SEC]\n"
    "             [--duration SEC] [--loop] [--ahead BLOCKS] [--ahead-max MS] [--gui] [--meter]\n"
    "             [--stats FILE|-] [--stats-interval SEC] [--record OUT] [--osc PORT]\n"
    "             [--osc-bind ADDR] [--capture-events FILE] [-q]\n"
    "      play in real time through PortAudio (JACK's output when a JACK server\n"
    "      runs), or --null: a real-time clock with no device; ^C stops.\n"
    "      --gui: the CPU meter overlay window; --meter: the same in the terminal;\n"
    "      --record: what is played, also into a file\n"
    "  shmix render SESSION -o OUT.(wav|flac|ogg) [--start SEC] [--duration SEC] [--loop]\n"
    "               [--block FRAMES] [--events FILE] [--stats FILE|-] [--strict] [-q]\n"
    "      bounce the session to a file through the same workers as playback; exit 1\n"
    "      when a script never ran (--strict: when any block was faulted)\n"
    "  shmix fx SCRIPT IN -o OUT.(wav|flac|ogg) [--param KEY=VALUE]... [--block FRAMES]\n"
    "      one file through one script offline, as a one-track session renders\n"
    "  shmix check SESSION\n"
    "      validate the session and start every script in a worker; exit 0 or 2\n"
    "  shmix devices\n"
    "      list PortAudio's devices (index, host API, name, output and input\n"
    "      channels, default rate)\n"
    "  shmix top [PID] [--once] [--json]\n"
    "      live meters of a running engine (default: the only one), read-only\n"
    "  shmix ctl [--pid PID] ADDRESS [ARG...]\n"
    "      send one control message to a running engine and print its reply\n"
    "  shmix --help | --version | COMMAND --help\n"
    "\n"
    "Options take their value as --opt VALUE or --opt=VALUE; -- ends them.\n"
    "Errors are one line, \"shmix: FILE:LINE:COL: key: message\". Exit status:\n"
    "0 success, 2 bad usage or session, 1 failure at run time.\n";

enum operands { SESSION, SCRIPT_IN, PID, MESSAGE, NONE };

static const struct command {
    const char *name, *shorts;
    const struct option *longs;
    const char *usage;
    enum operands operands;
} commands[] = {
    {"play", ":qh", play_opts, play_usage, SESSION},
    {"render", ":o:qh", render_opts, render_usage, SESSION},
    {"fx", ":o:qh", fx_opts, fx_usage, SCRIPT_IN},
    {"check", ":qh", check_opts, check_usage, SESSION},
    {"devices", ":h", devices_opts, devices_usage, NONE},
    {"top", ":h", top_opts, top_usage, PID},
    /* '+': the options end at ADDRESS, so "-6" after it is an ARG. */
    {"ctl", "+:h", ctl_opts, ctl_usage, MESSAGE},
};

static const struct command *find(const char *name)
{
    for (size_t i = 0; name && i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

int cli_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    flockfile(stderr);
    fputs("shmix: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    funlockfile(stderr);
    va_end(ap);
    return status;
}

void cli_usage(FILE *f, const char *cmd)
{
    const struct command *c = find(cmd);
    fputs(c ? c->usage : overview, f);
}

/* Seconds > 0, or >= 0 when zero_ok. Returns 0, or 2 after the message. */
static int parse_seconds(const char *cmd, const char *o, const char *v, int zero_ok,
                         double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (*end || !*v || errno || !isfinite(d) || d < 0 || (d == 0 && !zero_ok))
        return cli_fail(2, "%s: %s: expected seconds %s 0, got \"%s\"", cmd, o,
                        zero_ok ? ">=" : ">", v);
    *out = d;
    return 0;
}

/* A whole number in lo..hi, or -1. */
static long parse_count(const char *v, long lo, long hi)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    return *v && !*end && !errno && n >= lo && n <= hi ? n : -1;
}

/* An option without a value. Returns 1 when c is one. */
static int take_flag(int c, struct cli *a)
{
    int *flag = c == O_NULL ? &a->null : c == O_LOOP ? &a->loop : c == O_GUI ? &a->gui
              : c == O_METER ? &a->meter : c == 'q' ? &a->quiet : c == O_ONCE ? &a->once
              : c == O_JSON ? &a->json : c == 'h' ? &a->help : c == O_STRICT ? &a->strict
              : NULL;
    if (flag)
        *flag = 1;
    return flag != NULL;
}

/* fx --param KEY=VALUE: kept as written (session.c reads VALUE as YAML);
 * here only its shape. Returns 0, or 2 after the message. */
static int take_param(const char *v, struct cli *a)
{
    const char *eq = strchr(v, '=');
    if (!eq || eq == v)
        return cli_fail(2, "fx: --param: expected KEY=VALUE, got \"%s\"", v);
    if (a->nparams == CLI_MAX_PARAMS)
        return cli_fail(2, "fx: --param: at most %d of them", CLI_MAX_PARAMS);
    a->params[a->nparams++] = v;
    return 0;
}

/* Option c with value v. Returns 0, or 2 after the message. */
static int take_value(const char *cmd, int c, const char *v, struct cli *a)
{
    switch (c) {
    case 'o': a->out = v; return 0;
    case O_STATS: a->stats = v; return 0;
    case O_RECORD: a->record = v; return 0;
    case O_OSC_BIND: a->osc_bind = v; return 0;
    case O_CAPTURE: a->capture = v; return 0;
    case O_EVENTS: a->events = v; return 0;
    case O_OSC:
        if ((a->osc_port = parse_count(v, 0, 65535)) < 0)
            return cli_fail(2, "%s: --osc: expected a port 0..65535, got \"%s\"", cmd, v);
        return 0;
    case O_PARAM: return take_param(v, a);
    case O_DEVICE: a->device = v; return 0;
    case O_DURATION: return parse_seconds(cmd, "--duration", v, 0, &a->duration);
    case O_INTERVAL: return parse_seconds(cmd, "--stats-interval", v, 0, &a->stats_interval);
    case O_START: return parse_seconds(cmd, "--start", v, 1, &a->start);
    case O_AHEAD:
        if ((a->ahead = parse_count(v, AHEAD_MIN_BLOCKS, AHEAD_MAX_BLOCKS)) < 0)
            return cli_fail(2, "%s: --ahead: expected %u..%u blocks, got \"%s\"", cmd,
                            AHEAD_MIN_BLOCKS, AHEAD_MAX_BLOCKS, v);
        return 0;
    case O_AHEAD_MAX:
        if ((a->ahead_max_ms = parse_count(v, 10, AHEAD_MAX_LIMIT_NS / MS_NS(1))) < 0)
            return cli_fail(2, "%s: --ahead-max: expected 10..%llu ms, got \"%s\"", cmd,
                            (unsigned long long)(AHEAD_MAX_LIMIT_NS / MS_NS(1)), v);
        return 0;
    case O_BLOCK:
        if ((a->block = parse_count(v, 16, 8192)) < 0)
            return cli_fail(2, "%s: --block: expected 16..8192 frames, got \"%s\"", cmd, v);
        return 0;
    case O_PID:
        if ((a->pid = (int)parse_count(v, 1, INT32_MAX)) < 0)
            return cli_fail(2, "%s: --pid: expected a process id, got \"%s\"", cmd, v);
        return 0;
    default:
        return 0;
    }
}

/* The option getopt_long stopped at: the word as typed up to any '=' for a
 * long option (av[optind - 1], which getopt_long has stepped past), else
 * the short option's letter. */
static void bad_option_name(char *const *av, char *buf, size_t cap)
{
    const char *word = optind > 0 ? av[optind - 1] : "";
    if (!strncmp(word, "--", 2))
        snprintf(buf, cap, "%.*s", (int)strcspn(word, "="), word);
    else
        snprintf(buf, cap, "-%c", optopt);
}

/* How many of the command's long options start with what follows "--"
 * in name (getopt_long takes an unambiguous prefix). */
static int prefix_matches(const struct option *longs, const char *name)
{
    int n = 0;
    for (; longs->name; longs++)
        n += !strncmp(longs->name, name + 2, strlen(name + 2));
    return n;
}

/* getopt_long's '?' and ':' as shmix's one-line errors. */
static int option_error(const struct option *longs, const char *cmd, int c, char *const *av)
{
    char name[128];
    bad_option_name(av, name, sizeof name);
    if (c == ':')
        return cli_fail(2, "%s: %s needs a value", cmd, name);
    int is_long = !strncmp(name, "--", 2);
    if (is_long && optopt)   /* a known long option given "=VALUE" */
        return cli_fail(2, "%s: %s takes no value", cmd, name);
    if (is_long && name[2] && prefix_matches(longs, name) > 1)
        return cli_fail(2, "%s: %s is ambiguous (see shmix %s --help)", cmd, name, cmd);
    return cli_fail(2, "%s: unknown option %s (see shmix --help)", cmd, name);
}

/* "-o=FILE" is taken as "-o FILE" (getopt would name the file "=FILE"):
 * the '=' written straight after a short option's letter is dropped. */
static const char *short_value(char *const *av, const char *v)
{
    const char *word = av[optind - 1];
    size_t n = strlen(word);
    if (v[0] == '=' && word[1] != '-' && (uintptr_t)v > (uintptr_t)word
        && (uintptr_t)v < (uintptr_t)(word + n))
        return v + 1;
    return v;
}

/* The options of command c in av[0..ac) (av[0] is the command's name).
 * Returns 0 with optind at the first operand, or 2 after the message. */
static int options(const struct command *c, int ac, char **av, struct cli *a)
{
    opterr = 0;   /* our own messages */
    optind = 1;
    for (int o; (o = getopt_long(ac, av, c->shorts, c->longs, NULL)) != -1;) {
        if (o == '?' || o == ':')
            return option_error(c->longs, c->name, o, av);
        if (take_flag(o, a)) {
            if (a->help)
                return 0;   /* the usage, whatever else the line says */
            continue;
        }
        const char *v = o < 256 ? short_value(av, optarg) : optarg;
        if (take_value(c->name, o, v, a))
            return 2;
    }
    return 0;
}

/* The operands after the options: SESSION, top's PID, or none. */
static int operands(const struct command *c, int ac, char **av, struct cli *a)
{
    int n = ac - optind;
    char **op = av + optind;
    switch (c->operands) {
    case SESSION:
        if (n > 1)
            return cli_fail(2, "%s: unexpected argument \"%s\"", c->name, op[1]);
        if (n < 1)
            return cli_fail(2, "%s: missing SESSION (see shmix --help)", c->name);
        a->session = op[0];
        return 0;
    case SCRIPT_IN:
        if (n > 2)
            return cli_fail(2, "%s: unexpected argument \"%s\"", c->name, op[2]);
        if (n < 2)
            return cli_fail(2, "%s: missing %s (see shmix fx --help)", c->name,
                            n ? "IN" : "SCRIPT and IN");
        a->script = op[0];
        a->in = op[1];
        return 0;
    case PID:
        if (n > 1)
            return cli_fail(2, "top: takes at most one PID");
        if (n == 1 && (a->pid = (int)parse_count(op[0], 1, INT32_MAX)) < 0)
            return cli_fail(2, "top: expected a process id, got \"%s\"", op[0]);
        return 0;
    case MESSAGE:
        if (n < 1)
            return cli_fail(2, "%s: missing ADDRESS (see shmix %s --help)", c->name, c->name);
        a->address = op[0];
        a->args = op + 1;
        a->nargs = n - 1;
        return 0;
    default:
        return n ? cli_fail(2, "%s: takes no arguments", c->name) : 0;
    }
}

int cli_parse(int argc, char **argv, struct cli *a)
{
    memset(a, 0, sizeof *a);
    a->duration = -1;
    a->osc_port = -1;
    a->stats_interval = 0.5;
    if (argc < 2)
        return cli_fail(2, "missing command (see shmix --help)");
    const struct command *c = find(argv[1]);
    if (!c)
        return cli_fail(2, "unknown command \"%s\" (see shmix --help)", argv[1]);
    a->cmd = c->name;
    int rc = options(c, argc - 1, argv + 1, a);
    if (rc || a->help)
        return rc;
    return operands(c, argc - 1, argv + 1, a);
}
