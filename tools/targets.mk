# Other machines (docs/embedded.md, deploy.md "Targets"): included by the Makefile.
#
#   make TARGET=aarch64-linux-gnu   build/aarch64-linux-gnu/libswann.so and libswann.a
#   make TARGET=armv7em-none-eabi   build/armv7em-none-eabi/libswann.a (Cortex-M4F/M7, freestanding)
#   make test-aarch64               the C contract tests, examples and checkpoint round trips under qemu-aarch64
#   make mcu-demo                   examples/mcu/ firmware run in qemu-system-arm (mps2-an386)
#
# Own variables (X_*) and rules only: the host's rules and variables are untouched.
# The toolchain carries no Embedded stdlib for aarch64-unknown-linux-gnu, so the Swift
# core compiles for aarch64-none-none-elf (the same AAPCS64 ELF objects) against the
# cross glibc's headers, and the Linux cross linker makes the shared library.

X_SWIFT_SRCS := $(sort $(shell find Sources/Swann -name '*.swift'))
X_C_HDRS     := $(wildcard Sources/CSupport/include/*.h)
X_SWIFT      := -enable-experimental-feature Embedded -wmo -parse-as-library -module-name Swann \
                -I Sources/CSupport/include -Xfrontend -function-sections

# ---- aarch64-linux-gnu -----------------------------------------------------------------
A64       := build/aarch64-linux-gnu
A64_CROSS := aarch64-linux-gnu-
A64_C     := $(sort $(wildcard Sources/CSupport/*.c))
A64_OBJS  := $(patsubst Sources/CSupport/%.c,$(A64)/cs/%.o,$(A64_C))

$(A64)/cs/%.o: Sources/CSupport/%.c $(X_C_HDRS)
	@mkdir -p $(A64)/cs
	$(A64_CROSS)gcc -std=c11 -O2 -fPIC -fvisibility=hidden -Wall -Wextra -I Sources/CSupport/include -c $< -o $@

$(A64)/swann.o: $(X_SWIFT_SRCS) $(X_C_HDRS)
	@mkdir -p $(A64)
	$(SWIFTC) $(X_SWIFT) -O -target aarch64-none-none-elf \
	    -Xcc -isystem -Xcc /usr/aarch64-linux-gnu/include -Xcc -fPIC -c $(X_SWIFT_SRCS) -o $@

$(A64)/libswann.so: $(A64)/swann.o $(A64_OBJS) tools/exports.map
	$(A64_CROSS)gcc -shared -o $@ $(A64)/swann.o $(A64_OBJS) -Wl,-soname,libswann.so.0 \
	    -Wl,--version-script=tools/exports.map -Wl,-z,defs -Wl,--gc-sections -lm
	ln -sf libswann.so $(A64)/libswann.so.0

$(A64)/libswann.a: $(A64)/swann.o $(A64_OBJS)
	$(A64_CROSS)ld -r -o $(A64)/swann-all.o $(A64)/swann.o $(A64_OBJS)
	$(A64_CROSS)objcopy --wildcard --keep-global-symbol='swann_*' $(A64)/swann-all.o $(A64)/swann-static.o
	rm -f $@ && $(A64_CROSS)ar rcs $@ $(A64)/swann-static.o

.PHONY: lib-aarch64-linux-gnu test-aarch64 setup-aarch64
lib-aarch64-linux-gnu: setup-aarch64 $(A64)/libswann.so $(A64)/libswann.a

setup-aarch64:
	@sh tools/setup-cross.sh aarch64

# The host's library too: model files cross between the two.
test-aarch64: lib-aarch64-linux-gnu lib
	bash Tests/aarch64/run.sh $(A64) $(BUILD)

# ---- armv7em-none-eabi: Cortex-M4F/M7, hard float, freestanding ------------------------
# No OS: the platform layer's common part (text.c, atomics.c) and no_os.c instead of its
# OS part; -DCS_FREESTANDING tells both sides. Size-optimised (-Osize / -Os), one section
# per function, so a firmware's --gc-sections keeps only the calls it makes. Math (expf,
# tanhf, log1pf, ...) and memcpy come from picolibc, Debian's C library for this target.
M4       := build/armv7em-none-eabi
M4_CROSS := arm-none-eabi-
M4_FLAGS := -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
M4_C     := Sources/CSupport/text.c Sources/CSupport/atomics.c Sources/CSupport/no_os.c Sources/CSupport/cpu.c \
            Sources/CSupport/libc_compat.c
M4_OBJS  := $(patsubst Sources/CSupport/%.c,$(M4)/cs/%.o,$(M4_C))
M4_CFLAGS := $(M4_FLAGS) --specs=picolibc.specs -std=c11 -Os -ffunction-sections -fdata-sections \
             -DCS_FREESTANDING -Wall -Wextra

$(M4)/cs/%.o: Sources/CSupport/%.c $(X_C_HDRS)
	@mkdir -p $(M4)/cs
	$(M4_CROSS)gcc $(M4_CFLAGS) -I Sources/CSupport/include -c $< -o $@

# Two steps: Swift's optimized LLVM IR, each string literal given its own section
# (tools/ir-string-sections.pl: a firmware keeps only the messages of the calls it makes),
# then the toolchain's own clang (the same LLVM) generates code from it, LLVM passes not run
# again, with -fdata-sections and the static relocation model a firmware links with (no GOT).
M4_CLANG ?= $(dir $(realpath $(shell command -v $(SWIFTC))))clang
$(M4)/swann.ll: $(X_SWIFT_SRCS) $(X_C_HDRS) tools/ir-string-sections.pl
	@mkdir -p $(M4)
	$(SWIFTC) $(X_SWIFT) -Osize -target armv7em-none-none-eabi -Xfrontend -disable-stack-protector \
	    -Xcc -mfloat-abi=hard -Xcc -mfpu=fpv4-sp-d16 -Xcc -DCS_FREESTANDING \
	    -Xcc -isystem -Xcc /usr/lib/picolibc/arm-none-eabi/include -emit-ir $(X_SWIFT_SRCS) -o $(M4)/swann-swift.ll
	perl tools/ir-string-sections.pl < $(M4)/swann-swift.ll > $@

$(M4)/swann.o: $(M4)/swann.ll
	$(M4_CLANG) -target armv7em-none-none-eabi -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Oz -Xclang -disable-llvm-optzns \
	    -ffunction-sections -fdata-sections -fno-pic -Wno-override-module -c $< -o $@

$(M4)/libswann.a: $(M4)/swann.o $(M4_OBJS)
	$(M4_CROSS)ld -r --no-enum-size-warning -z noexecstack -o $(M4)/swann-all.o $(M4)/swann.o $(M4_OBJS)
	$(M4_CROSS)objcopy --wildcard --keep-global-symbol='swann_*' $(M4)/swann-all.o $(M4)/swann-static.o
	rm -f $@ && $(M4_CROSS)ar rcs $@ $(M4)/swann-static.o

.PHONY: lib-armv7em-none-eabi setup-arm mcu-demo
lib-armv7em-none-eabi: setup-arm $(M4)/libswann.a

setup-arm:
	@sh tools/setup-cross.sh arm

# The firmware (examples/mcu/): XOR trained in a static arena, the digits model from flash.
mcu-demo: lib-armv7em-none-eabi lib
	sh examples/mcu/run.sh $(M4) $(BUILD)

# ---- TARGET= selects the default goal ----------------------------------------------------
ifneq ($(TARGET),)
.DEFAULT_GOAL := lib-$(TARGET)
endif
