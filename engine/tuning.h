/* tuning.h - the one home of the numbers that set how the engine behaves in
 * time: real-time priorities, render-ahead bounds, default sizes, time
 * constants. Units are in the names (_NS, _MS, _BLOCKS, _FRAMES, _SLOTS).
 * docs/realtime.md explains the choices; change them here and there. */
#ifndef SHX_TUNING_H
#define SHX_TUNING_H

#include "units.h"

#include <stdint.h>

/* ---- Real-time priorities (SCHED_FIFO; higher runs first) ---- */

/* The null device's clock stands in for a device's thread (JACK's is 10):
 * this priority when the kernel refuses it a deadline reservation. */
#define PRIO_NULL_DEVICE 10
/* The null device's clock runs as a SCHED_DEADLINE reservation of this
 * share of each period where the kernel allows it (docs/realtime.md, "The
 * fair server"). Its callback takes ~0.28 ms of a 2.67-ms period with
 * 1 000 tracks (about 10 %); a period that needs more than the share
 * finishes at the start of the next one, which is not yet an xrun
 * (NULL_SLACK_PERIODS). Half a CPU at most: on two CPUs three plays at
 * once get one beside the kernel's own reservations, a fourth gets
 * SCHED_FIFO (measured). */
#define NULL_DEADLINE_PCT 50u
/* Track threads (play): below the device, above the workers they wait for. */
#define PRIO_TRACK 5
/* The disk thread (play): real-time like the workers, in their queue. As
 * a time-shared thread it was starved once the workers' real-time load
 * passed ~85 % of the CPUs (they always preempt it): its input rings ran
 * dry and every track waited for it, so 120 one-pole tracks that need 65 %
 * of two CPUs played nothing but late blocks. At the workers' priority it
 * takes its turn between their calls and never preempts one; its reads are
 * ~2 s ahead, so waiting behind a burst of them costs nothing. */
#define PRIO_DISK 4
/* Workers (play): below their track threads, guarded by RLIMIT_RTTIME. */
#define PRIO_WORKER 4
/* Workers' nice value when SCHED_FIFO is refused or stepped down. */
#define WORKER_NICE (-10)
/* CPU time a real-time worker may run without blocking before it is
 * stepped down to time-sharing: a script stuck in a loop then holds a CPU
 * from the other workers at most this long, well within their slack (at
 * least ahead - batch blocks, 40 ms at the defaults), while a batch of 15
 * blocks of a script using a third of each block's time still fits. */
#define WORKER_RTTIME_US 15000u
/* ... and the hard limit: a worker whose script ignored or blocked SIGXCPU
 * (signal.signal(SIGXCPU, SIG_IGN)) and kept running real-time is killed
 * by the kernel here and restarted; the others lose that CPU for at most
 * this long, still within their slack. A worker that stepped down never
 * reaches it: time-shared CPU time does not count. */
#define WORKER_RTTIME_HARD_US 30000u
/* The kernel checks RLIMIT_RTTIME on its ticks (HZ=250 here: 4 ms): the
 * soft limit fires after 5 ticks (20 ms), the hard one after 8 (32 ms),
 * leaving 3 ticks for the SIGXCPU handler. A kernel with HZ=100 needs the
 * hard limit raised to about 45 ms, or it kills before it warns. */

/* ---- Play: render-ahead, batches, the disk ---- */

/* The render-ahead (ahead.h): a batch, the blocks a worker is handed per
 * wake-up (whole script calls; each wake-up of a worker costs ~0.2 ms of
 * cold caches on this kind of VM, so it pays to batch), and slack, what a
 * late worker or a stalled CPU may use up. It starts at a batch of 40 ms
 * and 40 ms of slack (80 ms = 30 blocks at 128 frames), or a batch's time
 * of slack when that is longer, and is then sized by what it costs while
 * playing: AHEAD_SAFETY times the worst slack any track needed over the
 * last AHEAD_MEMORY_NS, within AHEAD_SLACK_MIN_NS and --ahead-max (default
 * AHEAD_MAX_NS; REAPER's anticipative FX renders 200 ms ahead). On this
 * kind of VM a loaded CPU stalls for up to 20-45 ms now and then
 * (docs/performance.md), and at the CPUs' edge the kernel's real-time
 * throttling stops every real-time thread of a CPU for up to 50 ms
 * (docs/realtime.md). What it costs: a param change, a seek or a script
 * reload is heard that much later; faders, mute and solo are not. */
#define AHEAD_BATCH_NS MS_NS(40)
/* ... and longer with many workers to a CPU: a wake-up of a worker and its
 * track thread costs ~0.15 ms of the machine at a few hundred tracks
 * (docs/performance.md, "Where a tanh track's time went"), and the call
 * after it ~65 us more than a warm one (the caches refill: "Where a
 * scripted track's time goes"), so a batch of at least
 * AHEAD_BATCH_PER_WORKER_NS per worker sharing a CPU keeps those wake-ups
 * to about 5 % of the machine. That matters where the CPUs are full: at
 * the one-pole edge (40 tracks to a CPU, script_block 2048) three calls
 * per wake-up instead of one took the late blocks from thousands to
 * tens or none. Without script_block the batch is at most
 * CHAN_MAX_BATCH calls anyway, so it is the sessions with long script
 * calls that it moves. At most a 1/AHEAD_BATCH_SHARE of the render-ahead's
 * upper end, so that the lag and the slack keep the rest, and at most one
 * request (PLAY_BATCH_FRAMES, and CHAN_MAX_BATCH script calls). */
#define AHEAD_BATCH_PER_WORKER_NS MS_NS(4)
#define AHEAD_BATCH_SHARE 2u
#define AHEAD_SLACK_NS MS_NS(40)         /* to start with, scripted tracks */
#define AHEAD_SLACK_DIRECT_NS MS_NS(10)  /* ... without scripts: the disk thread only */
#define AHEAD_SLACK_PER_WORKER_NS MS_NS(2)   /* ... or this much per worker sharing a CPU */
#define AHEAD_SLACK_MIN_NS MS_NS(10)     /* the tuning's lower end */
/* Its upper end, unless --ahead-max: reached only when the machine is so
 * loaded that less slack meant late blocks. 450 tanh tracks with
 * script_block 2048 played 30 s without a late block with 400 ms, while
 * 250 ms held 368 (docs/performance.md). */
#define AHEAD_MAX_NS MS_NS(400)
/* ... and with script calls longer than a block (script_block), room for
 * two batches of one whole request each (AHEAD_BATCH_SHARE x
 * PLAY_BATCH_FRAMES: 683 ms at 48 kHz, 256 blocks of 128 frames). At the
 * one-pole edge with script_block 2048 (~230 tracks on two CPUs) a batch
 * of four calls paid ~20 % over a hot loop's cost per call, eight calls
 * ~6-10 %: with 400 ms the batch stopped at four (half the upper end)
 * and 234 tracks had 9 900 to a million late blocks in 30 s, with 683 ms
 * none in four runs of five and 816 in the fifth (the null device's
 * xruns from real-time throttling stayed: docs/performance.md, "Batches
 * of eight calls"). Lighter sessions do not grow into it: the
 * render-ahead is sized by what they need. */
#define AHEAD_MAX_LONG_FRAMES (AHEAD_BATCH_SHARE * PLAY_BATCH_FRAMES)
#define AHEAD_MAX_LIMIT_NS S_NS(2)       /* --ahead-max's own upper end */
#define AHEAD_SAFETY 2u
#define AHEAD_MEMORY_NS S_NS(30)         /* the worst need is remembered this long */
#define AHEAD_HOLD_NS S_NS(10)           /* it shrinks only after this long without growing */
#define AHEAD_HW_HOLD_NS S_NS(1)         /* params wait past a shrunk render-ahead this long */
#define AHEAD_MIN_BLOCKS 2u      /* --ahead's bounds (a fixed render-ahead) */
#define AHEAD_MAX_BLOCKS 64u
/* A track's ring to the mixer in play: room for the largest --ahead. */
#define PLAY_RING_SLOTS AHEAD_MAX_BLOCKS
/* Channels are sized for batches of up to this much audio per request
 * (a channel's pages are resident only once a batch that long used them). */
#define PLAY_BATCH_FRAMES 16384u
/* and at most this many script calls (the render-ahead and its wake-ups
 * were measured and tuned with batches of up to 16 calls, docs/realtime.md;
 * render takes longer ones, RENDER_BATCH_FRAMES). */
#define PLAY_MAX_CALLS 16u
/* The disk thread reads about this far ahead (rounded up to a power of
 * two of blocks, at most PREFETCH_MAX_SLOTS). */
#define PREFETCH_NS S_NS(2)
#define PREFETCH_MAX_SLOTS 4096u
/* ... and looks at every input ring at least this often. */
#define DISK_LOOK_NS MS_NS(20)
/* A track thread waits at most this long for a block the disk thread has
 * not read yet (after a seek it starts over), and never past half the time
 * left before the block is due. */
#define DISK_WAIT_MAX_NS MS_NS(50)
/* A worker past hang_timeout that spent the time waiting for a CPU is
 * starved, not hung (track_loop.c): it is watched for a quarter of
 * hang_timeout (at least HANG_PROBE_MIN_NS) at a time, and given at most
 * this much more before it is killed all the same. */
#define HANG_PROBE_MIN_NS MS_NS(10)
#define HANG_STARVED_MAX_NS S_NS(30)
/* Play waits for every track to render ahead for as long as some track
 * makes progress, and gives up (and plays) after this long without any. */
#define PREFILL_STALL_NS S_NS(5)
/* The fade-out when playback is stopped. */
#define STOP_FADE_NS MS_NS(10)
/* A track switching between its script's output and its on_fault signal
 * smooths the step over this long (xfade.h): long enough that the largest
 * possible step (2.0, full scale to full scale) changes by under 1% of full
 * scale per sample at 48 kHz, short enough to be heard as a switch. */
#define XFADE_NS MS_NS(5)
/* How far [ and ] seek, in the overlay and the terminal. */
#define KEY_SEEK_S 5.0
/* The null device counts an xrun when it wakes more than this many
 * periods late (what a device's buffer would have held). */
#define NULL_SLACK_PERIODS 3u

/* ---- Play --record ---- */

/* The recorder's ring holds this much audio: how far its writer thread may
 * fall behind (a slow disk, a busy CPU encoding FLAC or Vorbis) before
 * frames are dropped. 4 s of stereo at 48 kHz is 1.5 MB, locked in RAM. */
#define RECORD_RING_NS S_NS(4)
/* The writer looks at the ring this often: the callback never wakes it
 * (no system call on the audio thread), and a few ms is nothing against
 * seconds of ring. */
#define RECORD_POLL_NS MS_NS(5)

/* ---- Render ---- */

/* A render request covers about this much audio: at block 256 the 64
 * blocks a channel takes at most (CHAN_MAX_BATCH), at shorter blocks
 * those 64, at longer ones never fewer than RENDER_MIN_BATCH blocks (the
 * channel and ring memory stay what 16 blocks of 8192 frames took). Each
 * round trip costs two context switches and a cold start of the worker;
 * render makes ~1/4 as many as with batches of 16 (performance.md). */
#define RENDER_BATCH_FRAMES 16384u
#define RENDER_MIN_BATCH 16u
#define RENDER_DRAIN_BLOCKS 64u  /* blocks between printing worker messages */
/* In render a block waits this long for a restarting worker's channel. */
#define RENDER_CHANNEL_WAIT_NS S_NS(60)

/* ---- The main thread: ticks, views ---- */

#define PLAY_TICK_NS MS_NS(33)      /* ~30 overlay frames a second */
#define PLAY_MIN_TICK_NS MS_NS(5)   /* ... or as often as stats lines are due */
#define TERM_REDRAW_NS MS_NS(100)   /* play --meter's table on a terminal */
#define TERM_PLAIN_NS S_NS(1)       /* ... and as plain tables into a pipe or file */
/* The shortest stretch of a track's audio its shown cpu is measured over:
 * about 8 overlay frames, a few batches (one batch's thread-CPU readings
 * are lumpy on a VM). Stats lines measure over their own interval. */
#define METER_CPU_SPAN_NS 250e6
/* A waiting thread looks at its stop flag at least this often - but for a
 * track thread's wait for room in play, which sleeps until the room is due
 * and this much more (track_loop.c's await_room): track_stop wakes it. */
#define STOP_POLL_NS MS_NS(100)
/* track_stop wakes the track thread's waits again this often until it
 * has ended (a wake-up can come just before the thread sleeps). */
#define STOP_REWAKE_NS MS_NS(10)

/* ---- Workers and the supervisor ---- */

#define WORKER_START_NS S_NS(30)    /* Python + numpy on a loaded machine */
/* Workers the zygote is asked for ahead of the one being set up: enough
 * that it never waits for the engine, few enough that no pipe fills. */
#define ZYGOTE_AHEAD 8
#define WORKER_POLL_NS MS_NS(50)    /* start-up: look for a dead worker this often */
#define WORKER_QUIT_NS MS_NS(200)   /* a clean QUIT before the kill */
#define WORKER_REAP_MS 500          /* an exit after QUIT or a kill */
#define LOAD_TIMEOUT_NS S_NS(10)    /* a (re)started script must set up within this */
#define QUICK_LOAD_NS MS_NS(20)     /* wait this long for a load before polling it */
#define RELOAD_DEBOUNCE_NS MS_NS(30)  /* editors write a file in several steps */
#define SUPERVISOR_BUSY_MS 2        /* its poll period while something is in progress */
#define SUPERVISOR_IDLE_MS 100
/* Descriptors besides each track's file, channel and pidfd: stdio, the
 * device, inotify, the zygote's pipes, the meters. */
#define FD_MARGIN 48
/* Processes and threads of the user (RLIMIT_NPROC) besides each track's
 * thread and each scripted track's worker: the zygote, the engine's main,
 * disk, supervisor, device, control and recorder threads (a JACK or ALSA
 * device brings a few of its own), and the user's shell. */
#define TASK_MARGIN 16

/* ---- Control (OSC) ---- */

/* A subscriber is sent stats lines until it unsubscribes or sends nothing
 * for this long (the contract's 60 s): a client that went away without
 * unsubscribing is not written to for ever. */
#define CONTROL_SILENCE_NS S_NS(60)
/* Subscribers at once; each costs a stats line per period (up to 50 Hz). */
#define CONTROL_MAX_SUBSCRIBERS 16
/* Datagrams the control thread reads from one socket before it looks at
 * its subscribers and its stop pipe again: a flood delays nothing else. */
#define CONTROL_BURST 64
/* shmix ctl waits this long for the engine's reply. */
#define CONTROL_REPLY_NS S_NS(1)

#endif
