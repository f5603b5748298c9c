/// The library's version, the one place it is written: the Makefile and the
/// sanitizer build read it from this file (the line below, as it is), and the
/// SWANN_VERSION macros of include/swann.h must agree (Tests/lib/check_lib.sh).
let swannVersion: StaticString = "0.2.0"

/// MAJOR * 1000000 + MINOR * 1000 + PATCH, as SWANN_VERSION_NUMBER.
let swannVersionNumber = 2000
