# Makefile - the front door. `make demo` and `make test` install what is
# missing (Debian packages), configure, build and run. CMake does the build.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build test demo install bench clean

all: build

deps:
	@.ci/deps

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

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
	rm -rf $(BUILD) out
