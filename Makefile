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

demo: build
	@cmake --build $(BUILD) --target demo-assets >/dev/null
	@mkdir -p out
	@$(BUILD)/shmix render assets/demo/demo.yaml -o out/demo.wav --stats out/demo-stats.jsonl
	@echo "shmix: demo rendered to out/demo.wav (stats in out/demo-stats.jsonl)"

install: build
	@cmake --install $(BUILD)

bench: build
	@cmake --build $(BUILD) --target bench

clean:
	rm -rf $(BUILD) out
