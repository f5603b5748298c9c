import CSupport

// The C boundary of include/swann.h: every argument checked before the core
// sees it, the core's failure turned into the returned status and the thread's
// error text. size_t arrives as UInt (so SIZE_MAX is not -1), pointers as optionals.

/// Runs `body` and returns its status: 0, or the failure's status with its
/// message published as the calling thread's error text.
@inline(__always)
func boundary(_ body: () throws(SwannError) -> Void) -> Int32 {
    do {
        try body()
        return Status.ok.rawValue
    } catch {
        cs_err_publish()
        return error.status.rawValue
    }
}

/// Runs `body` in swann's floating-point mode and gives the caller's mode back
/// (MXCSR; FPCR and FPSR on aarch64; FPSCR on Cortex-M; flags included), returning
/// or throwing: round to nearest, exceptions
/// masked, and with `flush` flush-to-zero and denormals-are-zero (x86's slow
/// path for subnormal operands and results costs up to 3x in late training).
/// Forward, backward and step use the net's setting; the calls that parse or
/// print numbers, initialise or check parameters (create, load, save, set_lr,
/// get_lr, the size queries) run plain IEEE, so the canonical spec, the
/// initial parameters and a file never depend on the host's mode. Calls that
/// only copy or look up run in the host's mode: they do no float arithmetic.
@inline(__always)
func inFPMode<T, E: Error>(flush: Bool, _ body: () throws(E) -> T) throws(E) -> T {
    let saved = cs_fp_enter(flush ? 1 : 0)
    defer { cs_fp_leave(saved) }
    return try body()
}

/// `boundary` for the calls that parse, compare or print numbers, initialise or
/// check parameters (create, load, save, set_lr, get_lr, the size queries): the
/// whole call, argument checks included, runs plain IEEE.
@inline(__always)
func ieeeBoundary(_ body: () throws(SwannError) -> Void) -> Int32 {
    let saved = cs_fp_enter(0)
    defer { cs_fp_leave(saved) }
    return boundary(body)
}

/// The live net behind a handle from C, or a failure naming the call.
func liveNet(_ p: UnsafeRawPointer?, _ function: StaticString) throws(SwannError) -> Net {
    guard let p else { throw Failure(function).text(": net is NULL").error(.arg) }
    guard let net = Net.live(UnsafeMutableRawPointer(mutating: p)) else {
        throw Failure(function).text(": not a live swann net (destroyed, or not from swann_create)").error(.arg)
    }
    return net
}

/// A required pointer argument.
@inline(__always)
func required<T>(_ p: T?, _ function: StaticString, _ name: StaticString) throws(SwannError) -> T {
    guard let p else { throw Failure(function).text(": ").text(name).text(" is NULL").error(.arg) }
    return p
}

/// max_batch from C: 1 ... Limits.maxBatch.
func checkMaxBatch(_ maxBatch: UInt, _ function: StaticString) throws(SwannError) -> Int {
    guard maxBatch >= 1 else {
        throw Failure(function).text(": max_batch is 0, must be at least 1").error(.arg)
    }
    guard maxBatch <= UInt(Limits.maxBatch) else {
        throw Failure(function).text(": max_batch ").uint(maxBatch).text(" exceeds the limit ").int(Limits.maxBatch)
            .error(.arg)
    }
    return Int(maxBatch)
}

/// A call that would take its memory from the heap, refused on a target with none
/// (deploy.md, "Targets"): `why` says what asked for it.
func needHeap(_ function: StaticString, _ why: StaticString) throws(SwannError) {
    if cs_has_os() == 0 {
        throw Failure(function).text(": ").text(why).text(": ").text(cs_target_name())
            .text(" has no heap (pass the memory)").error(.arg)
    }
}

/// The arena arguments: a host arena is 64-byte aligned; without one, arena_bytes
/// must be 0 (a size with no block is a host mistake worth reporting).
func checkArena(_ arena: UnsafeMutableRawPointer?, _ arenaBytes: UInt, _ function: StaticString) throws(SwannError) {
    guard let arena else {
        guard arenaBytes == 0 else {
            throw Failure(function).text(": arena is NULL but arena_bytes is ").uint(arenaBytes).text(" (must be 0)")
                .error(.arg)
        }
        try needHeap(function, "arena is NULL")
        return
    }
    guard UInt(bitPattern: arena) % UInt(Plan.alignment) == 0 else {
        throw Failure(function).text(": arena is not 64-byte aligned").error(.arena)
    }
}

/// A path from C: not NULL, not empty, on a target with a file system.
func checkPath(_ path: UnsafePointer<CChar>?, _ function: StaticString) throws(SwannError) -> UnsafePointer<CChar> {
    if cs_has_os() == 0 {
        throw Failure(function).text(": ").text(cs_target_name()).text(" has no file system (use the buffer calls)")
            .error(.arg)
    }
    let path = try required(path, function, "path")
    guard path[0] != 0 else { throw Failure(function).text(": path is empty").error(.arg) }
    return path
}

/// bytes and size from C: a block of at least 8 bytes that offsets can address.
func checkBytes(_ bytes: UnsafeRawPointer?, _ size: UInt, _ function: StaticString) throws(SwannError)
    -> UnsafeRawPointer {
    guard size > 0 else { throw Failure(function).text(": size is 0").error(.arg) }
    guard size <= UInt(maxModelBytes) else {
        throw Failure(function).text(": size ").uint(size).text(" exceeds the limit ").int(maxModelBytes).error(.arg)
    }
    return try required(bytes, function, "bytes")
}
