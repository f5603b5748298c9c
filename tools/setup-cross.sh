#!/bin/sh
# Installs the cross tools of one target (docs/embedded.md), only what is missing:
#   setup-cross.sh aarch64   gcc-aarch64-linux-gnu, the arm64 C library, qemu-user
#   setup-cross.sh arm       gcc-arm-none-eabi, picolibc, qemu-system-arm
set -e
need=""
case "$1" in
aarch64)
    command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need="$need gcc-aarch64-linux-gnu"
    [ -f /usr/aarch64-linux-gnu/include/stdio.h ] || need="$need libc6-dev-arm64-cross"
    command -v qemu-aarch64 >/dev/null 2>&1 || need="$need qemu-user" ;;
arm)
    command -v arm-none-eabi-gcc >/dev/null 2>&1 || need="$need gcc-arm-none-eabi"
    [ -f /usr/lib/picolibc/arm-none-eabi/picolibc.specs ] || need="$need picolibc-arm-none-eabi"
    command -v qemu-system-arm >/dev/null 2>&1 || need="$need qemu-system-arm" ;;
*) echo "setup-cross.sh: unknown target '$1' (aarch64 or arm)" >&2; exit 2 ;;
esac
if [ -n "$need" ]; then
    echo "setup-cross: installing$need"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
exit 0
