# swann: thin build, install, test and demo targets.
#
#   make            build build/libswann.so and build/libswann.a (Embedded Swift, release)
#   make demo       set up, build, and train the digits classifier (examples/c/train_digits.c)
#   make test       set up, build, and run every test (Swift unit tests, C contract tests)
#   make install PREFIX=/usr/local
#
# The kernel layer is compiled once per x86-64 level and chosen at run time from the
# CPU (Sources/Swann/Kernels/KernelTable.swift): the library itself for x86-64 (no
# AVX2 or FMA needed), plus AVX2+FMA (haswell) and AVX-512 (skylake-avx512) kernels.
# TARGET_CPU=<cpu> (e.g. native, haswell) builds one level only, for that CPU.

PREFIX     ?= /usr/local
TARGET_CPU ?=
SWIFTC     ?= swiftc
CC         ?= cc
# The installed library drops its local symbols (build/libswann.so keeps them, for profilers).
STRIP      ?= strip
BUILD      ?= build
VERSION    := $(shell sed -n 's/^let swannVersion: StaticString = "\(.*\)"/\1/p' Sources/Swann/Network/Version.swift)

SWIFT_SRCS := $(sort $(shell find Sources/Swann -name '*.swift'))
C_SRCS     := $(sort $(wildcard Sources/CSupport/*.c))
C_HDRS     := $(wildcard Sources/CSupport/include/*.h)
C_OBJS     := $(patsubst Sources/CSupport/%.c,$(BUILD)/cs/%.o,$(C_SRCS))
EMBEDDED   := -enable-experimental-feature Embedded -wmo -parse-as-library -O \
              -module-name Swann -I Sources/CSupport/include -Xfrontend -function-sections
ifeq ($(TARGET_CPU),)
LEVEL      := -target-cpu x86-64 -D SWANN_LEVEL_BASELINE -D SWANN_ISA_VARIANTS
LEVEL_OBJS := $(BUILD)/kernels-avx2.o $(BUILD)/kernels-avx512.o $(BUILD)/kernels-avx512vnni.o
# The library object (the Network layer and the baseline level's kernels) for size: the
# hot kernels of AVX2 and AVX-512 CPUs live in the level objects. Measured (A/B, Zen 4):
# W1, W1i and W3 within +-2 % (noise), 41 KB less installed.
LEVEL_OPT  ?= -Osize
else
LEVEL      := -target-cpu $(TARGET_CPU)
LEVEL_OBJS :=
endif
STAGE      := $(BUILD)/stage
# glibc below 2.34 keeps the pthread_* the library binds to (Sources/CSupport/glibc_versions.h)
# in libpthread.so.0, a stub since: name it, so the library loads on glibc 2.28.
comma      := ,
GLIBC_LIBS := $(if $(wildcard /usr/lib/x86_64-linux-gnu/libpthread.so.0 /lib64/libpthread.so.0 /usr/lib64/libpthread.so.0),-Wl$(comma)--push-state$(comma)--no-as-needed -l:libpthread.so.0 -Wl$(comma)--pop-state)

.PHONY: all lib setup demo test test-swift test-c test-checkpoint test-python test-examples test-packaging stage bench-optimizers test-mpi bench-mpi test-reliability test-sanitize fuzz sanitized bench \
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

# The level flags as a file rewritten (when make reads this file) only when they change:
# a build with another TARGET_CPU recompiles the library instead of linking the other
# build's object.
$(shell mkdir -p $(BUILD) && (echo '$(LEVEL) $(LEVEL_OPT)' | cmp -s - $(BUILD)/level.flags || echo '$(LEVEL) $(LEVEL_OPT)' > $(BUILD)/level.flags))

$(BUILD)/swann.o: $(SWIFT_SRCS) $(C_HDRS) $(BUILD)/level.flags
	@mkdir -p $(BUILD)
	$(SWIFTC) $(EMBEDDED) $(LEVEL) $(LEVEL_OPT) -c $(SWIFT_SRCS) -o $@

# A wider level's kernels: the same sources for that CPU, reduced to what its table
# (swannk_<level>) reaches, every symbol but that one made local.
$(BUILD)/kernels-avx2.o: CPU := haswell
$(BUILD)/kernels-avx2.o: DEFINE := SWANN_LEVEL_AVX2
$(BUILD)/kernels-avx512.o: CPU := skylake-avx512
$(BUILD)/kernels-avx512.o: DEFINE := SWANN_LEVEL_AVX512
$(BUILD)/kernels-avx512vnni.o: CPU := cascadelake
$(BUILD)/kernels-avx512vnni.o: DEFINE := SWANN_LEVEL_AVX512VNNI
# LLVM intrinsics through the Builtin module: vpdpbusd (Kernels/CompactInt8VNNI.swift),
# the vector square root (Kernels/SIMD.swift).
$(BUILD)/kernels-avx2.o $(BUILD)/kernels-avx512.o $(BUILD)/kernels-avx512vnni.o: BUILTIN := -Xfrontend -enable-builtin-module
$(BUILD)/kernels-%.o: $(SWIFT_SRCS) $(C_HDRS)
	@mkdir -p $(BUILD)
	$(SWIFTC) $(EMBEDDED) -target-cpu $(CPU) -D $(DEFINE) $(BUILTIN) -c $(SWIFT_SRCS) -o $(BUILD)/kernels-$*-whole.o
	ld -r --gc-sections -u swannk_$* -o $(BUILD)/kernels-$*-kept.o $(BUILD)/kernels-$*-whole.o
	objcopy --keep-global-symbol=swannk_$* $(BUILD)/kernels-$*-kept.o $@

# The shared library: Embedded Swift objects, no Swift runtime; only swann_* exported.
$(BUILD)/libswann.so: $(BUILD)/swann.o $(LEVEL_OBJS) $(BUILD)/csupport.o tools/exports.map
	$(CC) -shared -o $@ $(BUILD)/swann.o $(LEVEL_OBJS) $(BUILD)/csupport.o -Wl,-soname,libswann.so.0 \
	    -Wl,--version-script=tools/exports.map -Wl,-z,defs -Wl,--gc-sections -lm $(GLIBC_LIBS)
	ln -sf libswann.so $(BUILD)/libswann.so.0

# The static library: one relocatable object whose only global symbols are swann_*,
# so it links into any program (a Swift one included) without clashing.
$(BUILD)/libswann.a: $(BUILD)/swann.o $(LEVEL_OBJS) $(BUILD)/csupport.o
	ld -r -o $(BUILD)/swann-all.o $(BUILD)/swann.o $(LEVEL_OBJS) $(BUILD)/csupport.o
	objcopy --wildcard --keep-global-symbol='swann_*' $(BUILD)/swann-all.o $(BUILD)/swann-static.o
	rm -f $@ && ar rcs $@ $(BUILD)/swann-static.o

# Always rewritten: they carry PREFIX, which changes between installs (stage, a user's).
.PHONY: $(BUILD)/swann.pc $(BUILD)/swann-static.pc
$(BUILD)/swann.pc: tools/swann.pc.in Makefile
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(abspath $(PREFIX))|' -e 's|@VERSION@|$(VERSION)|' tools/swann.pc.in > $@

$(BUILD)/swann-static.pc: tools/swann-static.pc.in Makefile
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(abspath $(PREFIX))|' -e 's|@VERSION@|$(VERSION)|' tools/swann-static.pc.in > $@

install: lib $(BUILD)/swann.pc $(BUILD)/swann-static.pc
	install -d $(PREFIX)/include $(PREFIX)/lib/pkgconfig
	install -m 644 include/swann.h $(PREFIX)/include/swann.h
	install -d $(PREFIX)/include/swann
	install -m 644 include/swann/module.modulemap $(PREFIX)/include/swann/module.modulemap
	install -m 755 $(BUILD)/libswann.so $(PREFIX)/lib/libswann.so.$(VERSION)
	$(STRIP) --strip-unneeded $(PREFIX)/lib/libswann.so.$(VERSION)
	ln -sf libswann.so.$(VERSION) $(PREFIX)/lib/libswann.so.0
	ln -sf libswann.so.0 $(PREFIX)/lib/libswann.so
	install -m 644 $(BUILD)/libswann.a $(PREFIX)/lib/libswann.a
	install -m 644 $(BUILD)/swann.pc $(PREFIX)/lib/pkgconfig/swann.pc
	install -m 644 $(BUILD)/swann-static.pc $(PREFIX)/lib/pkgconfig/swann-static.pc

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

# Packages for every host (issue 19): pip install from a clean copy, the wheel and
# auditwheel, glibc symbol versions, static links through pkg-config, the Swift host.
test-packaging: stage
	sh Tests/packaging/run.sh $(abspath $(STAGE))

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
