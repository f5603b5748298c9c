import CSupport

// Model files: save and load.

@_cdecl("swann_save")
public func swann_save(_ p: UnsafeRawPointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    ieeeBoundary { () throws(SwannError) in
        let net = try liveNet(p, "save")
        try saveNet(net, path: try checkPath(path, "save"))
    }
}

@_cdecl("swann_load_size")
public func swann_load_size(_ path: UnsafePointer<CChar>?, _ maxBatch: UInt,
                            _ bytes: UnsafeMutablePointer<UInt>?) -> Int32 {
    ieeeBoundary { () throws(SwannError) in
        let bytes = try required(bytes, "load_size", "bytes")
        let path = try checkPath(path, "load_size")
        let mb = try checkMaxBatch(maxBatch, "load_size")
        bytes.pointee = UInt(try withModelFile(path, maxBatch: mb, "load_size", .heap) { (file) throws(SwannError) in
            try file.requireFloat32()
            return file.scratch.arenaBytes(netBytes: file.plan.bytes)
        })
    }
}

@_cdecl("swann_load")
public func swann_load(_ path: UnsafePointer<CChar>?, _ maxBatch: UInt,
                       _ arena: UnsafeMutableRawPointer?, _ arenaBytes: UInt,
                       _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    ieeeBoundary { () throws(SwannError) in
        let out = try required(out, "load", "out")
        out.pointee = nil
        try checkArena(arena, arenaBytes, "load")
        let path = try checkPath(path, "load")
        let mb = try checkMaxBatch(maxBatch, "load")
        let home = ScratchHome(arena: arena, arenaBytes: Int(clamping: arenaBytes))
        let net = try withModelFile(path, maxBatch: mb, "load", home) { (file) throws(SwannError) -> Net in
            try buildNet(file, arena: arena, arenaBytes: arenaBytes)
        }
        out.pointee = net.base
    }
}

/// A net from a checked model file: every parameter comes from the file, so the
/// random initialisation is skipped. In a host arena the net is laid over the
/// reading's trees (dead by now); the file table lies past it.
private func buildNet(_ file: ModelFile, arena: UnsafeMutableRawPointer?,
                      arenaBytes: UInt) throws(SwannError) -> Net {
    try file.requireFloat32()
    let net = try placeNet(file.plan, spec: file.spec, arena: arena,
                           arenaBytes: arenaBytes, initialize: false, file.function)
    do throws(SwannError) {
        try readTensors(file, into: net)
    } catch {
        releaseNet(net)
        throw error
    }
    return net
}

// Nets in memory: the same bytes, the same loader and checks as the files.

@_cdecl("swann_save_buffer")
public func swann_save_buffer(_ p: UnsafeRawPointer?, _ buf: UnsafeMutableRawPointer?, _ cap: UInt,
                              _ needed: UnsafeMutablePointer<UInt>?) -> Int32 {
    ieeeBoundary { () throws(SwannError) in
        let net = try liveNet(p, "save_buffer")
        let needed = try required(needed, "save_buffer", "needed")
        guard buf != nil || cap == 0 else {
            throw Failure("save_buffer: buf is NULL but cap is ").uint(cap).text(" (must be 0)").error(.arg)
        }
        try saveToBuffer(net, "save_buffer", buf, cap: Int(clamping: cap), needed: needed)
    }
}

@_cdecl("swann_load_buffer_size")
public func swann_load_buffer_size(_ bytes: UnsafeRawPointer?, _ size: UInt, _ maxBatch: UInt,
                                   _ arenaBytes: UnsafeMutablePointer<UInt>?) -> Int32 {
    ieeeBoundary { () throws(SwannError) in
        let out = try required(arenaBytes, "load_buffer_size", "arena_bytes")
        let bytes = try checkBytes(bytes, size, "load_buffer_size")
        let mb = try checkMaxBatch(maxBatch, "load_buffer_size")
        out.pointee = UInt(try withModelBuffer(bytes, size: Int(size), maxBatch: mb, "load_buffer_size", .heap) {
            (file) throws(SwannError) in
            try file.requireFloat32()
            return file.scratch.arenaBytes(netBytes: file.plan.bytes)
        })
    }
}

@_cdecl("swann_load_buffer")
public func swann_load_buffer(_ bytes: UnsafeRawPointer?, _ size: UInt, _ maxBatch: UInt,
                              _ arena: UnsafeMutableRawPointer?, _ arenaBytes: UInt,
                              _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    ieeeBoundary { () throws(SwannError) in
        let out = try required(out, "load_buffer", "out")
        out.pointee = nil
        try checkArena(arena, arenaBytes, "load_buffer")
        let bytes = try checkBytes(bytes, size, "load_buffer")
        let mb = try checkMaxBatch(maxBatch, "load_buffer")
        let home = ScratchHome(arena: arena, arenaBytes: Int(clamping: arenaBytes))
        let net = try withModelBuffer(bytes, size: Int(size), maxBatch: mb, "load_buffer", home) {
            (file) throws(SwannError) -> Net in
            try buildNet(file, arena: arena, arenaBytes: arenaBytes)
        }
        out.pointee = net.base
    }
}
