# lstm-wasm: build the wasm modules and the JS package, run the tests, the demo and the benchmarks.
# `make` builds dist/; `make test` installs what is missing (as root: apt-get), builds and tests.

SHELL := /bin/bash
export NODE_PATH := /usr/share/nodejs

CORE_SRC    := src/model.c src/params.c src/pack.c src/workspace.c src/cell_lstm.c src/cell_lstm_ln.c \
               src/cell_gru.c src/unit.c src/network.c src/train.c src/optimizer.c \
               src/step_guard.c src/sampler.c src/infer.c src/serialize.c src/build_info.c \
               src/quantize.c src/threads.c src/trace.c src/infer_state.c src/samples.c src/kernels_scalar.c src/kernels_wasmsimd.c
CORE_HDR    := include/lstm.h src/model.h src/cell.h src/kernels.h src/kernel_elements.h \
               src/fastmath.h src/rng.h
# Test entry points (every kernel of both tables, a look at a cell's gates): the native tests
# and the test wasm builds in build/test/ link them; the release wasm in dist/ does not.
TEST_SRC    := tests/kernel_check.c
EXPORTS     := $(shell bash tools/wasm-exports.sh)
TEST_EXPORTS := $(shell bash tools/wasm-exports.sh test-simd)
TEST_EXPORTS_SCALAR := $(shell bash tools/wasm-exports.sh test)

WARN        := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
EMCC        := emcc
EMCC_CFLAGS := -std=c11 -O3 $(WARN)
# Standalone wasm, instantiated by our own ESM loader (src/js/loader.js) in Node and browsers.
# ABORTING_MALLOC=0: a failed malloc returns NULL, which the core reports as a status.
EMCC_LDFLAGS := --no-entry -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH -sABORTING_MALLOC=0 \
                -sMAXIMUM_MEMORY=4GB -sINITIAL_MEMORY=16MB -sTOTAL_STACK=1MB
SIMD_FLAGS  := -msimd128

CC          := gcc
NATIVE_CFLAGS := -std=c11 -O1 -g $(WARN) -fsanitize=address,undefined -fno-sanitize-recover=all \
                 -fno-omit-frame-pointer
# The core's tests, by topic, sharing tests/native/check.h; Valgrind runs them without sanitizers.
CORE_TESTS  := test_core test_file test_tasks test_variants
NATIVE_TESTS := $(CORE_TESTS:%=build/native/%) build/native/test_faults build/native/test_inspect
VALGRIND_TESTS := $(CORE_TESTS:%=build/native/%_plain)

.PHONY: all deps test test-native test-js test-fuzz test-valgrind lint layout demo pretrained bench fuzz clean

# The JS modules, shipped side by side in dist/ (src/js/index.js as the entry point, dist/lstm.js).
JS_DIST     := dist/lstm.js $(patsubst src/js/%,dist/%,$(filter-out src/js/index.js,$(wildcard src/js/*.js)))
# The declarations: src/lstm.d.ts (the entry, dist/lstm.d.ts) and the files it re-exports, by topic.
TYPES_DIST  := dist/lstm.d.ts $(patsubst src/types/%,dist/types/%,$(wildcard src/types/*.d.ts))

all: dist/lstm-simd.wasm dist/lstm-scalar.wasm dist/lstm-simd-threads.wasm $(JS_DIST) $(TYPES_DIST)

dist/lstm-simd.wasm: $(CORE_SRC) $(CORE_HDR) Makefile tools/wasm-exports.sh
	@mkdir -p dist
	$(EMCC) $(EMCC_CFLAGS) $(SIMD_FLAGS) $(CORE_SRC) $(EMCC_LDFLAGS) -sEXPORTED_FUNCTIONS=$(EXPORTS) -o $@

dist/lstm-scalar.wasm: $(CORE_SRC) $(CORE_HDR) Makefile tools/wasm-exports.sh
	@mkdir -p dist
	$(EMCC) $(EMCC_CFLAGS) $(CORE_SRC) $(EMCC_LDFLAGS) -sEXPORTED_FUNCTIONS=$(EXPORTS) -o $@

# The threads build: one shared memory (imported, so every thread's instance gets the same)
# and atomics; its data segments are initialised once, by the first instance (wasm-ld's
# --shared-memory). src/js/threads.js starts the extra threads.
THREAD_FLAGS := -msimd128 -matomics -mbulk-memory
THREAD_LDFLAGS := -sIMPORTED_MEMORY -Wl,--shared-memory

dist/lstm-simd-threads.wasm: $(CORE_SRC) $(CORE_HDR) Makefile tools/wasm-exports.sh
	@mkdir -p dist
	$(EMCC) $(EMCC_CFLAGS) $(THREAD_FLAGS) $(CORE_SRC) $(EMCC_LDFLAGS) $(THREAD_LDFLAGS) -sEXPORTED_FUNCTIONS=$(EXPORTS) -o $@

build/test/lstm-simd-threads.wasm: $(CORE_SRC) $(TEST_SRC) $(CORE_HDR) Makefile tools/wasm-exports.sh
	@mkdir -p build/test
	$(EMCC) $(EMCC_CFLAGS) $(THREAD_FLAGS) $(CORE_SRC) $(TEST_SRC) $(EMCC_LDFLAGS) $(THREAD_LDFLAGS) -sEXPORTED_FUNCTIONS=$(TEST_EXPORTS) -o $@

# The same builds with the test entry points, for the kernel tests (tests/helpers.mjs).
build/test/lstm-simd.wasm: $(CORE_SRC) $(TEST_SRC) $(CORE_HDR) Makefile tools/wasm-exports.sh
	@mkdir -p build/test
	$(EMCC) $(EMCC_CFLAGS) $(SIMD_FLAGS) $(CORE_SRC) $(TEST_SRC) $(EMCC_LDFLAGS) -sEXPORTED_FUNCTIONS=$(TEST_EXPORTS) -o $@

build/test/lstm-scalar.wasm: $(CORE_SRC) $(TEST_SRC) $(CORE_HDR) Makefile tools/wasm-exports.sh
	@mkdir -p build/test
	$(EMCC) $(EMCC_CFLAGS) $(CORE_SRC) $(TEST_SRC) $(EMCC_LDFLAGS) -sEXPORTED_FUNCTIONS=$(TEST_EXPORTS_SCALAR) -o $@

TEST_WASM   := build/test/lstm-simd.wasm build/test/lstm-scalar.wasm build/test/lstm-simd-threads.wasm

dist/lstm.js: src/js/index.js
	@mkdir -p dist
	cp $< $@

dist/%.js: src/js/%.js
	@mkdir -p dist
	cp $< $@

dist/lstm.d.ts: src/lstm.d.ts
	@mkdir -p dist
	cp $< $@

dist/types/%.d.ts: src/types/%.d.ts
	@mkdir -p dist/types
	cp $< $@

build/native/test_faults: NATIVE_CFLAGS += -DLSTM_FAULT_INJECTION

# libFuzzer target over the loader; the CRC check is bypassed so fuzzing reaches the fields.
FUZZ_CFLAGS := -std=c11 -O1 -g $(WARN) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
               -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
FUZZ_SECONDS ?= 300
build/fuzz/fuzz_load: tests/fuzz/fuzz_load.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p build/fuzz
	clang $(FUZZ_CFLAGS) tests/fuzz/fuzz_load.c $(CORE_SRC) -lm -o $@

build/fuzz/seeds/.done: tests/fuzz/make_seeds.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p build/fuzz/seeds build/fuzz/corpus
	$(CC) -std=c11 -O1 $(WARN) tests/fuzz/make_seeds.c $(CORE_SRC) -lm -o build/fuzz/make_seeds
	build/fuzz/make_seeds build/fuzz/seeds && touch $@

# Valgrind memcheck needs a build without sanitizers.
build/native/%_plain: tests/native/%.c $(CORE_SRC) $(TEST_SRC) $(CORE_HDR)
	@mkdir -p build/native
	$(CC) -std=c11 -O1 -g $(WARN) $< $(CORE_SRC) $(TEST_SRC) -lm -o $@

$(CORE_TESTS:%=build/native/%) build/native/test_inspect $(VALGRIND_TESTS): tests/native/check.h

build/native/%: tests/native/%.c $(CORE_SRC) $(TEST_SRC) $(CORE_HDR)
	@mkdir -p build/native
	$(CC) $(NATIVE_CFLAGS) $< $(CORE_SRC) $(TEST_SRC) -lm -o $@

deps:
	@bash tools/ensure-deps.sh

test: deps
	$(MAKE) all $(NATIVE_TESTS)
	$(MAKE) lint test-native test-fuzz test-valgrind test-js

test-native: $(NATIVE_TESTS) build/native/layout_json
	@for t in $(NATIVE_TESTS); do echo "== $$t"; $$t || exit 1; done
	@build/native/layout_json | diff -u tools/lstm_layout.json - || \
	  { echo "tools/lstm_layout.json differs from src/params.c's table: run make layout"; exit 1; }

# The parameter table's rules as JSON for the Python tools (committed; make test checks it).
build/native/layout_json: tools/layout_json.c src/params.c $(CORE_HDR)
	@mkdir -p build/native
	$(CC) -std=c11 -O1 $(WARN) tools/layout_json.c src/params.c -lm -o $@

layout: build/native/layout_json
	build/native/layout_json > tools/lstm_layout.json

# A short fuzzing run in every test; `make fuzz` runs longer (FUZZ_SECONDS). Inputs that once
# failed (tests/fuzz/regressions) are run first, every time.
test-fuzz: build/fuzz/fuzz_load build/fuzz/seeds/.done
	build/fuzz/fuzz_load -max_total_time=20 -print_final_stats=1 -artifact_prefix=build/fuzz/ build/fuzz/corpus build/fuzz/seeds tests/fuzz/regressions 2>&1 | \
	  grep -E 'stat::number_of_executed_units|Done|ERROR|SUMMARY|crash' ; test $${PIPESTATUS[0]} -eq 0

fuzz: build/fuzz/fuzz_load build/fuzz/seeds/.done
	build/fuzz/fuzz_load -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=build/fuzz/ build/fuzz/corpus build/fuzz/seeds tests/fuzz/regressions

test-valgrind: $(VALGRIND_TESTS)
	@for t in $(VALGRIND_TESTS); do echo "== $$t"; \
	  valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=all $$t || exit 1; done

# Static analysis of the core; suppressions, where any, are justified beside the code.
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
	  --std=c11 -Iinclude src/
	clang-tidy --quiet $(filter-out src/kernels_wasmsimd.c,$(CORE_SRC)) $(TEST_SRC) -- -std=c11 -Iinclude

test-js: all $(TEST_WASM)
	node --test tests/

demo: deps
	$(MAKE) all
	node tools/build-demo.mjs
	node tools/serve-demo.mjs

# The demo's pretrained model, web/pretrained/brown.lstm (committed): the demo's recipe (2 x 192,
# the command line's defaults) on the default corpus for a fixed number of steps (6 passes of
# the cosine schedule), so the file is the same on any machine and thread count; then written
# without its training state (2 MB instead of 6), with its validation loss printed.
# docs/demo.md gives its run time and loss.
PRETRAINED_STEPS  := 15772
PRETRAINED_EPOCHS := 6
pretrained: deps
	$(MAKE) all
	@mkdir -p build/pretrained web/pretrained
	node tools/build-demo.mjs --corpus build/pretrained/brown.txt
	node bin/lstm-wasm.mjs train build/pretrained/brown.txt --out build/pretrained/brown-training.lstm --force \
	  --epochs $(PRETRAINED_EPOCHS) --steps $(PRETRAINED_STEPS) --progress lines
	node bin/lstm-wasm.mjs convert build/pretrained/brown-training.lstm --out web/pretrained/brown.lstm --force \
	  --eval build/pretrained/brown.txt

# OpenBLAS for PyTorch's columns: Debian's torch uses the reference BLAS without it.
bench: deps
	@bash tools/ensure-deps.sh bench
	$(MAKE) all $(TEST_WASM)
	node bench/run.mjs

clean:
	rm -rf dist build
