#!/bin/sh
# Installs what swann's build, demo and tests need on a fresh Debian machine,
# and only what is missing. Safe to run again.
set -e
need=""
# json-c: not linked by the library; the JSON oracle test (Tests/reliability) checks
# swann's parser against it. locales: the test of a host with a ',' decimal point.
[ -f /usr/include/json-c/json.h ] || need="$need libjson-c-dev"
command -v localedef >/dev/null 2>&1 && [ -d /usr/share/i18n/locales ] || need="$need locales"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v objcopy >/dev/null 2>&1 || need="$need binutils"
if [ -n "$need" ]; then
    echo "setup: installing$need"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
fi
command -v swiftc >/dev/null 2>&1 || { echo "setup: swiftc not found: install Swift 6.x (swift.org) and put it on PATH" >&2; exit 1; }
exit 0
