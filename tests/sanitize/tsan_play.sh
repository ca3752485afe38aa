#!/usr/bin/env bash
# tsan_play.sh BUILD_DIR - the threaded parts of the engine under
# ThreadSanitizer: plays the demo session (scripts on several tracks) on the
# null device for a few seconds with stats, meters and --record on (the
# recorder's ring between the callback and its writer), while one worker
# is killed twice (the supervisor restarts it) and the script of another is
# touched (hot reload), and control messages arrive over OSC (faders, a
# param, pause/play, a seek, a loop region, stats: the control thread, the
# console and the transport queue into the callback, the track threads'
# param queues, the disk thread following a seek). Fails on any
# ThreadSanitizer report or a bad exit.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)
tmp=$(mktemp -d /tmp/shmix-tsan.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cmake --build "$build" --target demo-assets >/dev/null
cp -r "$src/assets/demo/." "$tmp/"
cp -r "$src/assets/scripts" "$tmp/scripts"
sed -i "s#\.\./scripts/#scripts/#g" "$tmp/demo.yaml"
"$build/shmix" play "$tmp/demo.yaml" --null --duration 6 --stats "$tmp/stats.json" \
    --stats-interval 0.2 --record "$tmp/rec.flac" --capture-events "$tmp/ev.yaml" \
    >"$tmp/out.txt" 2>"$tmp/err.txt" &
pid=$!
sleep 2
ctl() { "$build/shmix" ctl --pid "$pid" "$@" >/dev/null 2>>"$tmp/ctl.txt" || true; }
ctl /shmix/track/0/gain_db -6
ctl /shmix/track/1/mute 1
ctl /shmix/master/gain_db -3
ctl /shmix/track/1/param/k 0.5
ctl /shmix/transport/pause
ctl /shmix/transport/play
ctl /shmix/transport/seek 1.0
ctl /shmix/transport/loop 0.5 2.0
ctl /shmix/stats
victim=$(pgrep -P "$pid" -f "^shmix-worker " | head -n 1 || true)
[[ -n $victim ]] && kill -9 "$victim"
sleep 1
victim=$(pgrep -P "$pid" -f "^shmix-worker " | head -n 1 || true)
[[ -n $victim ]] && kill -9 "$victim"
touch "$tmp"/scripts/*.py
rc=0
wait "$pid" || rc=$?
if grep -q "ThreadSanitizer" "$tmp/err.txt" || [[ $rc -ne 0 ]]; then
    echo "tsan: play exited $rc" >&2
    cat "$tmp/err.txt" >&2
    exit 1
fi
lines=$(wc -l <"$tmp/stats.json")
restarts=$(tail -n 1 "$tmp/stats.json" | grep -o '"restarts": [0-9]*' | awk '{ s += $2 } END { print s + 0 }')
echo "tsan: play with $lines stats lines, $restarts restarts: no report"
[[ $restarts -ge 1 ]] || { echo "tsan: no worker was restarted" >&2; exit 1; }
[[ -s $tmp/rec.flac ]] || { echo "tsan: no recording" >&2; exit 1; }
events=$(grep -c "osc:" "$tmp/ev.yaml" || true)
[[ $events -ge 6 ]] || { echo "tsan: only $events control messages took effect" >&2; cat "$tmp/ctl.txt" >&2; exit 1; }
echo "tsan: $events control messages took effect"
