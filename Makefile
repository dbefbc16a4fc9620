# The two commands of the README: `make run` and `make test`. Everything else is for developers.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 600
FUZZ_JOBS  ?= 2
CHAOS_SECONDS ?= 600
MAKEFLAGS  += --no-print-directory

.PHONY: all deps build run test test-asan valgrind bench chaos fuzz format format-check clean

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/sluice up

test: build
	@scripts/run-tests $(BUILD)

test-asan: deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)
	@SLUICE_TIMEOUT_SCALE=4 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 scripts/run-tests $(BUILD_ASAN)

# Issue 11: every unit test and corpus replay under valgrind's memcheck (docs/reliability.md).
valgrind: build
	@scripts/run-valgrind $(BUILD) $(JOBS)

bench: build
	@bench/run $(BUILD)

# Issue 11's chaos run (docs/reliability.md): random SIGKILLs under ingest, then every check.
chaos: build
	@/usr/bin/python3 tests/chaos/chaos.py --duration $(CHAOS_SECONDS) --bin $(BUILD)/sluice

fuzz: deps
	@CC=clang cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_FUZZ=ON >/dev/null
	@cmake --build $(BUILD_FUZZ) -j $(JOBS)
	@scripts/run-fuzz $(BUILD_FUZZ) $(FUZZ_SECONDS) $(FUZZ_JOBS)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

# Lists the files that differ from .clang-format; fails if any does.
format-check:
	@bad=0; for f in $$(git ls-files '*.c' '*.h'); do \
	  clang-format --dry-run -Werror $$f >/dev/null 2>&1 || { echo "$$f"; bad=1; }; done; exit $$bad

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
