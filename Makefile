# Makefile - the front door. `make demo` and `make test` install what is
# missing (Debian packages, named only in .ci/deps: `make demo` only what
# the demo needs, `make test` the test tools too), configure, build and
# run. CMake does the build.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
NOGUI_BUILD ?= build-nogui
DEB_BUILD ?= build-deb
# Seconds each fuzz target runs: briefly in `make test`, longer in `make fuzz`.
FUZZ_TEST_SECONDS ?= 30
FUZZ_SECONDS ?= 600
# Any sanitizer report fails the run (the builds also stop at the first).
export ASAN_OPTIONS ?= abort_on_error=1:detect_leaks=1:check_initialization_order=1
export UBSAN_OPTIONS ?= halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS ?= halt_on_error=1:second_deadlock_stack=1:exitcode=66
export LSAN_OPTIONS ?= suppressions=$(CURDIR)/tests/sanitize/lsan.supp

# Configures $(BUILD) for the demo, install and package targets, which need
# no test tools: with the tests when their libraries are there (after
# `make test`, so that one tree serves both), else without.
CONFIGURE_PRODUCT = cmake -S . -B $(BUILD) $(CMAKE_FLAGS) \
  -DSHMIX_TESTS=$$(pkg-config --exists cmocka libcjson && echo ON || echo OFF) >/dev/null

.PHONY: all deps build test test-nogui test-asan test-tsan test-fuzz fuzz demo install \
  package bench clean

all: build

# Everything a developer builds and tests with.
deps:
	@.ci/deps test

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DSHMIX_TESTS=ON >/dev/null
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

# Rings, channel, the recorder, supervisor (restarts under a chaos run) and the stats
# snapshot (a play with stats, meters and --record) under ThreadSanitizer.
test-tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHMIX_TSAN=ON >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target test_ring test_channel test_recorder test_osc \
	  shmix shmix-worker
	@$(TSAN_BUILD)/test_ring >/dev/null
	@$(TSAN_BUILD)/test_channel >/dev/null
	@$(TSAN_BUILD)/test_recorder >/dev/null
	@$(TSAN_BUILD)/test_osc >/dev/null
	@tests/sanitize/tsan_play.sh $(TSAN_BUILD)

test-fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSHMIX_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_session fuzz_channel fuzz_control
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TEST_SECONDS)

fuzz: deps
	@$(MAKE) --no-print-directory test-fuzz FUZZ_TEST_SECONDS=$(FUZZ_SECONDS)

# Plays the demo through the default output (JACK's when a JACK server
# runs); without a sound card shmix says so and plays on its null device.
# The CPU meters show in the overlay window when there is a display, in the
# terminal otherwise. Ctrl-C (or q in the window) stops it.
demo:
	@.ci/deps demo
	@$(CONFIGURE_PRODUCT)
	@cmake --build $(BUILD) -j $(JOBS) --target shmix shmix-worker demo-assets
	@echo "shmix: playing assets/demo/demo.yaml (16 s; Ctrl-C stops)"
	@if [ -n "$$DISPLAY" ]; then \
	  $(BUILD)/shmix play assets/demo/demo.yaml --gui; \
	else \
	  $(BUILD)/shmix play assets/demo/demo.yaml --meter; \
	fi

# shmix and its worker, the manual page, the example scripts and the demo
# session (with its generated stems) under CMAKE_INSTALL_PREFIX
# (/usr/local unless CMAKE_FLAGS says otherwise).
install:
	@.ci/deps demo
	@$(CONFIGURE_PRODUCT)
	@cmake --build $(BUILD) -j $(JOBS)
	@cmake --install $(BUILD)

# The Debian package, $(DEB_BUILD)/shmix_VERSION_ARCH.deb, from a tree of
# its own: configured for /usr (the prefix compiled in as where the worker
# lives) and without the tests, whatever $(BUILD) holds.
package:
	@.ci/deps package
	@cmake -S . -B $(DEB_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
	  -DSHMIX_TESTS=OFF >/dev/null
	@cmake --build $(DEB_BUILD) -j $(JOBS)
	@cd $(DEB_BUILD) && cpack -G DEB >/dev/null
	@echo "shmix: built $$(ls $(DEB_BUILD)/shmix_*.deb)"

bench: build
	@cmake --build $(BUILD) --target bench

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(NOGUI_BUILD) $(DEB_BUILD) out
