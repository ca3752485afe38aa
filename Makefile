# Makefile - the front door. `make demo` and `make test` install what is
# missing (Debian packages), configure, build and run. CMake does the build.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
NOGUI_BUILD ?= build-nogui
# Seconds each fuzz target runs: briefly in `make test`, longer in `make fuzz`.
FUZZ_TEST_SECONDS ?= 30
FUZZ_SECONDS ?= 600
# Any sanitizer report fails the run (the builds also stop at the first).
export ASAN_OPTIONS ?= abort_on_error=1:detect_leaks=1:check_initialization_order=1
export UBSAN_OPTIONS ?= halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS ?= halt_on_error=1:second_deadlock_stack=1:exitcode=66
export LSAN_OPTIONS ?= suppressions=$(CURDIR)/tests/sanitize/lsan.supp

.PHONY: all deps build test test-nogui test-asan test-tsan test-fuzz fuzz demo install bench \
  clean

all: build

deps:
	@.ci/deps

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The suite, then the tests that need no overlay in a build without it, the
# same suite under AddressSanitizer + UBSan, the threaded parts under
# ThreadSanitizer, and each fuzz target briefly.
test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory test-nogui test-asan test-tsan test-fuzz

# -DSHMIX_GUI=OFF: built where pkg-config cannot see SDL2, SDL2_ttf or
# fontconfig; the unit tests, test_cli and test_render (ctest label nogui).
test-nogui: deps
	@tests/nogui/run.sh $(NOGUI_BUILD)

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHMIX_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

# Rings, channel, supervisor (restarts under a chaos run) and the stats
# snapshot (a play with stats and meters) under ThreadSanitizer.
test-tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHMIX_TSAN=ON >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target test_ring test_channel shmix shmix-worker
	@$(TSAN_BUILD)/test_ring >/dev/null
	@$(TSAN_BUILD)/test_channel >/dev/null
	@tests/sanitize/tsan_play.sh $(TSAN_BUILD)

test-fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSHMIX_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_session fuzz_channel
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TEST_SECONDS)

fuzz: deps
	@$(MAKE) --no-print-directory test-fuzz FUZZ_TEST_SECONDS=$(FUZZ_SECONDS)

# Plays the demo through the default output (JACK's when a JACK server
# runs); without a sound card shmix says so and plays on its null device.
# The CPU meters show in the overlay window when there is a display, in the
# terminal otherwise. Ctrl-C (or q in the window) stops it.
demo: build
	@cmake --build $(BUILD) --target demo-assets >/dev/null
	@echo "shmix: playing assets/demo/demo.yaml (16 s; Ctrl-C stops)"
	@if [ -n "$$DISPLAY" ]; then \
	  $(BUILD)/shmix play assets/demo/demo.yaml --gui; \
	else \
	  $(BUILD)/shmix play assets/demo/demo.yaml --meter; \
	fi

install: build
	@cmake --install $(BUILD)

bench: build
	@cmake --build $(BUILD) --target bench

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(NOGUI_BUILD) out
