#!/bin/sh
# Runs an aarch64 Linux program under qemu-aarch64 with the cross C library.
# SWANN_PRELOAD (the test runners' allocation shim) becomes the guest's LD_PRELOAD:
# the emulator itself is an x86-64 program and must not preload it.
if [ -n "${SWANN_PRELOAD:-}" ]; then
    exec qemu-aarch64 -L /usr/aarch64-linux-gnu -E LD_PRELOAD="$SWANN_PRELOAD" "$@"
fi
exec qemu-aarch64 -L /usr/aarch64-linux-gnu "$@"
