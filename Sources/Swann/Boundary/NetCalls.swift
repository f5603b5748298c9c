import CSupport

// Creating and destroying nets, and what a net is.

@_cdecl("swann_arena_size")
public func swann_arena_size(_ specJSON: UnsafePointer<CChar>?, _ maxBatch: UInt,
                             _ bytes: UnsafeMutablePointer<UInt>?) -> Int32 {
    ieeeBoundary { () throws(SwannError) in
        let bytes = try required(bytes, "arena_size", "bytes")
        let mb = try checkMaxBatch(maxBatch, "arena_size")
        // The parse's scratch comes from the heap here; swann_create takes it from the host's arena.
        var spec = NetSpec()
        let read = try ReadSpec(specJSON, .heap, "arena_size", into: &spec)
        bytes.pointee = UInt(read.arenaBytes(try Plan(spec: &spec, maxBatch: mb, specLength: read.canonicalLength)))
    }
}

@_cdecl("swann_create")
public func swann_create(_ specJSON: UnsafePointer<CChar>?, _ maxBatch: UInt,
                         _ arena: UnsafeMutableRawPointer?, _ arenaBytes: UInt,
                         _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    ieeeBoundary { () throws(SwannError) in
        let out = try required(out, "create", "out")
        out.pointee = nil
        try checkArena(arena, arenaBytes, "create")
        let mb = try checkMaxBatch(maxBatch, "create")
        // With a host arena the parse's scratch is the arena's start, dead before the net is laid there.
        var spec = NetSpec()
        let read = try ReadSpec(specJSON, ScratchHome(arena: arena, arenaBytes: Int(clamping: arenaBytes)), "create",
                                into: &spec)
        let plan = try Plan(spec: &spec, maxBatch: mb, specLength: read.canonicalLength)
        out.pointee = try placeNet(plan, spec: &spec, arena: arena, arenaBytes: arenaBytes, "create").base
    }
}

@_cdecl("swann_destroy")
public func swann_destroy(_ p: UnsafeMutableRawPointer?) {
    guard let p, let net = Net.live(p) else { return }
    releaseNet(net)
}

/// A header field of a possibly-NULL net, without touching the error text.
@inline(__always)
private func peek(_ p: UnsafeRawPointer?, _ field: (NetHeader) -> Int) -> UInt {
    guard let p, let net = Net.live(UnsafeMutableRawPointer(mutating: p)) else { return 0 }
    return UInt(field(net.header.pointee))
}

@_cdecl("swann_input_size")
public func swann_input_size(_ p: UnsafeRawPointer?) -> UInt { peek(p) { $0.inputSize } }

@_cdecl("swann_output_size")
public func swann_output_size(_ p: UnsafeRawPointer?) -> UInt { peek(p) { $0.outputSize } }

@_cdecl("swann_param_count")
public func swann_param_count(_ p: UnsafeRawPointer?) -> UInt { peek(p) { $0.paramCount } }

@_cdecl("swann_max_batch")
public func swann_max_batch(_ p: UnsafeRawPointer?) -> UInt { peek(p) { $0.maxBatch } }

@_cdecl("swann_isa")
public func swann_isa(_ p: UnsafeRawPointer?) -> UnsafePointer<CChar>? {
    guard let p, let net = Net.live(UnsafeMutableRawPointer(mutating: p)) else { return nil }
    return cString(net.kernels.name)
}

@_cdecl("swann_spec_json")
public func swann_spec_json(_ p: UnsafeRawPointer?, _ buf: UnsafeMutablePointer<CChar>?, _ cap: UInt,
                            _ needed: UnsafeMutablePointer<UInt>?) -> Int32 {
    boundary { () throws(SwannError) in
        let net = try liveNet(p, "spec_json")
        try copySpecText(net.specText, length: net.header.pointee.specLength, buf, cap, needed, "spec_json")
    }
}

/// A canonical spec text out to C, snprintf-style: `needed` (when not NULL) gets
/// its size with the NUL; a `cap` short of it writes nothing.
func copySpecText(_ text: UnsafePointer<CChar>, length: Int, _ buf: UnsafeMutablePointer<CChar>?, _ cap: UInt,
                  _ needed: UnsafeMutablePointer<UInt>?, _ function: StaticString) throws(SwannError) {
    needed?.pointee = UInt(length + 1)
    guard cap >= UInt(length + 1) else {
        throw Failure(function).text(": cap ").uint(cap).text(" is less than the ").int(length + 1)
            .text(" bytes needed").error(.arg)
    }
    memcpy(try required(buf, function, "buf"), text, length + 1)
}

@_cdecl("swann_set_threads")
public func swann_set_threads(_ p: UnsafeMutableRawPointer?, _ threads: UInt) -> Int32 {
    boundary { () throws(SwannError) in
        let net = try liveNet(p, "set_threads")
        let most = net.header.pointee.threads
        guard threads >= 1, threads <= UInt(most) else {
            throw Failure("set_threads: threads ").uint(threads).text(" must be in 1...").int(most)
                .text(" (the spec's \"threads\")").error(.arg)
        }
        cs_pool_set_active(net.pool, UInt32(threads - 1))
    }
}

@_cdecl("swann_set_flush_subnormals")
public func swann_set_flush_subnormals(_ p: UnsafeMutableRawPointer?, _ on: Int32) -> Int32 {
    boundary { () throws(SwannError) in
        try liveNet(p, "set_flush_subnormals").header.pointee.flushSubnormals = on != 0
    }
}

@_cdecl("swann_get_flush_subnormals")
public func swann_get_flush_subnormals(_ p: UnsafeRawPointer?, _ on: UnsafeMutablePointer<Int32>?) -> Int32 {
    boundary { () throws(SwannError) in
        let net = try liveNet(p, "get_flush_subnormals")
        try required(on, "get_flush_subnormals", "on").pointee = net.header.pointee.flushSubnormals ? 1 : 0
    }
}
