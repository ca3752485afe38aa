#!/usr/bin/env bash
# gen_control_corpus.sh - writes the seed packets of fuzz_control into
# tests/fuzz/corpus/fuzz_control: one OSC message per file, encoded by
# liblo's oscsend (liblo-tools) as it would go over the wire - every
# address of the contract's Control table with the types it takes, and a
# few it must refuse. The seeds are committed; rerun this only to change
# them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$here/corpus/fuzz_control
mkdir -p "$out"
command -v oscsend >/dev/null || { echo "gen_control_corpus.sh: needs oscsend (liblo-tools)" >&2; exit 1; }

seed() {   # seed NAME ADDRESS [TYPES VALUES...]
    local name=$1
    shift
    oscsend - "$@" >"$out/$name"
}

seed gain_f /shmix/track/drums/gain_db f -6.0
seed gain_i /shmix/track/0/gain_db i -6
seed gain_d /shmix/track/bass/gain_db d 3.5
seed gain_range /shmix/track/drums/gain_db f -200.0
seed gain_string /shmix/track/drums/gain_db s loud
seed pan_f /shmix/track/a/b/pan f 0.5
seed mute_i /shmix/track/2/mute i 1
seed mute_T /shmix/track/drums/mute T
seed solo_F /shmix/track/bass/solo F
seed param_f /shmix/track/drums/param/cutoff_hz f 800.0
seed param_i /shmix/track/drums/param/taps i 4
seed param_h /shmix/track/drums/param/big h 1099511627776
seed param_s /shmix/track/x/param/mode s 'wide "stereo"'
seed param_S /shmix/track/x/param/mode S sym
seed param_T /shmix/track/x/param/on T
seed param_N /shmix/track/x/param/curve N
seed param_c /shmix/track/x/param/c c x
seed restart /shmix/track/drums/restart
seed reload /shmix/track/1/reload
seed master /shmix/master/gain_db f -3.0
seed play /shmix/transport/play
seed pause /shmix/transport/pause
seed stop /shmix/transport/stop
seed seek /shmix/transport/seek f 12.5
seed loop_i /shmix/transport/loop i 1
seed loop_ff /shmix/transport/loop f 2.0 f 6.0
seed loop_ii /shmix/transport/loop i 0 i 4
seed stats /shmix/stats
seed subscribe /shmix/subscribe f 10.0
seed unsubscribe /shmix/unsubscribe
seed ping /shmix/ping
seed no_track /shmix/track/nope/pan f 0.0
seed unknown /shmix/foo
# A bundle holding a ping (oscsend writes no bundles): "#bundle", an
# immediate time tag, one element of 16 bytes.
printf '#bundle\0\0\0\0\0\0\0\0\1\0\0\0\x10/shmix/ping\0,\0\0\0' >"$out/bundle"
# A blob whose size word is cut off.
printf '/x\0\0,b\0\0\0\0' >"$out/blob_cut"
echo "gen_control_corpus.sh: $(ls "$out" | wc -l) seeds in $out"
