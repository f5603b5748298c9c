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
        bytes.pointee = UInt(try withModelFile(path, maxBatch: mb, "load_size") { (file, _) throws(SwannError) in
            file.plan.bytes
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
        let net = try withModelFile(path, maxBatch: mb, "load") { (file, canonical) throws(SwannError) -> Net in
            // Every parameter comes from the file: skip the random initialisation.
            let net = try placeNet(file.plan, spec: file.spec, specText: canonical, arena: arena,
                                   arenaBytes: arenaBytes, initialize: false, "load")
            do throws(SwannError) {
                try readTensors(file, into: net)
            } catch {
                releaseNet(net)
                throw error
            }
            return net
        }
        out.pointee = net.base
    }
}
