# swann: thin build, install, test and demo targets.
#
#   make            build build/libswann.so and build/libswann.a (Embedded Swift, release)
#   make demo       set up, build, and train the digits classifier (examples/c/train_digits.c)
#   make test       set up, build, and run every test (Swift unit tests, C contract tests)
#   make install PREFIX=/usr/local
#
# TARGET_CPU names the CPU level the kernels are compiled for (default haswell:
# AVX2 + FMA); e.g. `make TARGET_CPU=native`. Without one Swift emits scalar
# library calls for every fused multiply-add.

PREFIX     ?= /usr/local
TARGET_CPU ?= haswell
SWIFTC     ?= swiftc
CC         ?= cc
BUILD      ?= build
VERSION    := $(shell sed -n 's/^let swannVersion: StaticString = "\(.*\)"/\1/p' Sources/Swann/Network/Version.swift)

SWIFT_SRCS := $(sort $(shell find Sources/Swann -name '*.swift'))
C_SRCS     := $(sort $(wildcard Sources/CSupport/*.c))
C_HDRS     := $(wildcard Sources/CSupport/include/*.h)
C_OBJS     := $(patsubst Sources/CSupport/%.c,$(BUILD)/cs/%.o,$(C_SRCS))
EMBEDDED   := -enable-experimental-feature Embedded -wmo -parse-as-library -O \
              -target-cpu $(TARGET_CPU) -module-name Swann -I Sources/CSupport/include
STAGE      := $(BUILD)/stage

.PHONY: all lib setup demo test test-swift test-c test-checkpoint test-python test-examples stage bench-optimizers test-mpi bench-mpi test-reliability test-sanitize fuzz sanitized bench \
        install python clean check-lib

all: lib
lib: $(BUILD)/libswann.so $(BUILD)/libswann.a

# Installs what the build and tests need on a fresh Debian machine, if missing.
setup:
	@sh tools/setup.sh

# The platform layer (Sources/CSupport), one relocatable object.
$(BUILD)/cs/%.o: Sources/CSupport/%.c $(C_HDRS)
	@mkdir -p $(BUILD)/cs
	$(CC) -std=c11 -O2 -fPIC -fvisibility=hidden -Wall -Wextra -I Sources/CSupport/include -c $< -o $@

$(BUILD)/csupport.o: $(C_OBJS)
	ld -r -o $@ $(C_OBJS)

$(BUILD)/swann.o: $(SWIFT_SRCS) $(C_HDRS)
	@mkdir -p $(BUILD)
	$(SWIFTC) $(EMBEDDED) -c $(SWIFT_SRCS) -o $@

# The shared library: Embedded Swift objects, no Swift runtime; only swann_* exported.
$(BUILD)/libswann.so: $(BUILD)/swann.o $(BUILD)/csupport.o tools/exports.map
	$(CC) -shared -o $@ $(BUILD)/swann.o $(BUILD)/csupport.o -Wl,-soname,libswann.so.0 \
	    -Wl,--version-script=tools/exports.map -Wl,-z,defs -Wl,--gc-sections -lm
	ln -sf libswann.so $(BUILD)/libswann.so.0

# The static library: one relocatable object whose only global symbols are swann_*,
# so it links into any program (a Swift one included) without clashing.
$(BUILD)/libswann.a: $(BUILD)/swann.o $(BUILD)/csupport.o
	ld -r -o $(BUILD)/swann-all.o $(BUILD)/swann.o $(BUILD)/csupport.o
	objcopy --wildcard --keep-global-symbol='swann_*' $(BUILD)/swann-all.o $(BUILD)/swann-static.o
	rm -f $@ && ar rcs $@ $(BUILD)/swann-static.o

$(BUILD)/swann.pc: tools/swann.pc.in Makefile
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(abspath $(PREFIX))|' -e 's|@VERSION@|$(VERSION)|' tools/swann.pc.in > $@

install: lib $(BUILD)/swann.pc
	install -d $(PREFIX)/include $(PREFIX)/lib/pkgconfig
	install -m 644 include/swann.h $(PREFIX)/include/swann.h
	install -m 755 $(BUILD)/libswann.so $(PREFIX)/lib/libswann.so.$(VERSION)
	ln -sf libswann.so.$(VERSION) $(PREFIX)/lib/libswann.so.0
	ln -sf libswann.so.0 $(PREFIX)/lib/libswann.so
	install -m 644 $(BUILD)/libswann.a $(PREFIX)/lib/libswann.a
	install -m 644 $(BUILD)/swann.pc $(PREFIX)/lib/pkgconfig/swann.pc

# What the shipped library must be: no Swift runtime, only swann_* exported, small.
check-lib: lib
	@sh Tests/lib/check_lib.sh $(BUILD)/libswann.so $(BUILD)/libswann.a

demo: setup lib
	$(CC) -std=c11 -O2 -Wall -Wextra -I include examples/c/train_digits.c -o $(BUILD)/train_digits \
	    $(BUILD)/libswann.so -lm -Wl,-rpath,$(abspath $(BUILD))
	./$(BUILD)/train_digits examples/data/digits.csv

test: setup
	@sh tools/run-tests.sh

test-swift:
	swift test

# The C, checkpoint and example tests build against an installed copy, as a host would.
stage: lib
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install PREFIX=$(STAGE) BUILD=$(BUILD)

test-c: stage
	bash Tests/c/run.sh $(abspath $(STAGE))

test-checkpoint: stage
	bash Tests/checkpoint/run.sh $(abspath $(STAGE))

test-examples: stage
	sh Tests/examples/run.sh $(abspath $(STAGE))

# Data-parallel training over MPI (installs Open MPI and mpi4py when missing).
test-mpi: stage
	sh Tests/mpi/run.sh $(abspath $(STAGE))

bench-mpi: stage
	sh Tests/mpi/bench.sh $(abspath $(STAGE))

# Reliability (docs/reliability.md): sanitizers, fuzzing, threads, allocation failure, long run.
test-reliability: stage
	bash Tests/reliability/run.sh $(abspath $(STAGE))

# The sanitizer runs alone: C, checkpoint and Python tests under ASan+UBSan, thread tests under TSan.
test-sanitize: stage
	bash Tests/reliability/run.sh $(abspath $(STAGE)) asan python tsan

# Longer fuzzing: FUZZ_SECONDS (600) per fuzzer; the corpus grows in build/reliability/corpus.
fuzz:
	bash Tests/reliability/fuzz.sh

# The instrumented libraries (build/asan, build/tsan, build/fuzz), rebuilt when Sources/ change.
sanitized:
	sh tools/build-sanitized.sh

test-python: lib
	bash Tests/python/run.sh

# Ships a copy of the library inside the Python package (found before the system's).
python: lib
	mkdir -p bindings/python/src/swann/_lib
	cp $(BUILD)/libswann.so bindings/python/src/swann/_lib/libswann.so

# swann beside the peers of ../shared/bench (W1-W4), the GEMM against OpenBLAS, the
# targets of the performance issue; QUICK=1 for a smoke run, PY= a Python with the peers.
bench: lib
	TARGET_CPU=$(TARGET_CPU) sh benchmarks/run.sh

# How each optimizer trains on XOR and digits (steps to converge, accuracy).
bench-optimizers: lib
	$(CC) -std=c11 -O2 -Wall -Wextra -I include benchmarks/optimizers.c -o $(BUILD)/optimizers \
	    $(BUILD)/libswann.so -Wl,-rpath,$(abspath $(BUILD))
	./$(BUILD)/optimizers examples/data/digits.csv

clean:
	rm -rf $(BUILD) .build
include tools/targets.mk
