#!/usr/bin/env bash
# run.sh BUILD_DIR - builds shmix with -DSHMIX_GUI=OFF in BUILD_DIR and runs
# the tests that need no overlay there (ctest label `nogui`: the unit tests,
# test_cli, test_render). pkg-config is given a search path with every .pc
# file of this machine except SDL2's, SDL2_ttf's and fontconfig's, so a part
# of the build that still asked for them fails here, as it would on a
# machine without them, rather than going unnoticed on one that has them.
# Then ldd checks that the program links none of them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$1
mkdir -p "$build"
build=$(cd "$build" && pwd)

pc=$build/pkgconfig-without-gui
rm -rf "$pc"
mkdir -p "$pc"
IFS=: read -r -a dirs <<<"$(pkg-config --variable pc_path pkg-config)"
for d in "${dirs[@]}"; do
    for f in "$d"/*.pc; do
        [[ -e $f ]] || continue
        case $(basename "$f") in
            sdl2.pc | SDL2_*.pc | fontconfig.pc) ;;
            *) [[ -e $pc/$(basename "$f") ]] || ln -s "$f" "$pc/" ;;
        esac
    done
done
export PKG_CONFIG_LIBDIR=$pc PKG_CONFIG_PATH=
if pkg-config --exists sdl2 || pkg-config --exists fontconfig; then
    echo "nogui: the filtered pkg-config path still finds SDL2 or fontconfig" >&2
    exit 1
fi

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHMIX_GUI=OFF >/dev/null
cmake --build "$build" -j "${JOBS:-2}"
if ldd "$build/shmix" | grep -Ei 'sdl|fontconfig|freetype'; then
    echo "nogui: shmix built with SHMIX_GUI=OFF still links the libraries above" >&2
    exit 1
fi
cd "$build" && ctest --output-on-failure -j "${JOBS:-2}" -L nogui
