import CSupport

// Models and sessions: a read-only model shared by threads, each with its own session.

/// swann_model_load's flags.
private let modelMap: UInt32 = 1

/// The live model behind a handle from C.
func liveModel(_ p: UnsafeRawPointer?, _ function: StaticString) throws(SwannError) -> Model {
    guard let p else { throw Failure(function).text(": model is NULL").error(.arg) }
    guard let model = Model.live(UnsafeMutableRawPointer(mutating: p)) else {
        throw Failure(function).text(": not a live swann model (destroyed, or not from a swann_model_* call)")
            .error(.arg)
    }
    return model
}

/// The live session behind a handle from C.
func liveSession(_ p: UnsafeRawPointer?, _ function: StaticString) throws(SwannError) -> Session {
    guard let p else { throw Failure(function).text(": session is NULL").error(.arg) }
    guard let s = Session.live(UnsafeMutableRawPointer(mutating: p)) else {
        throw Failure(function).text(": not a live swann session (destroyed, or not from swann_session_create)")
            .error(.arg)
    }
    return s
}

@_cdecl("swann_model_load")
public func swann_model_load(_ path: UnsafePointer<CChar>?, _ flags: UInt32,
                             _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    ieeeBoundary { () throws(SwannError) in
        let out = try required(out, "model_load", "out")
        out.pointee = nil
        let path = try checkPath(path, "model_load")
        guard flags & ~modelMap == 0 else {
            throw Failure("model_load: unknown flag bits ").uint(UInt(flags & ~modelMap))
                .text(" (only SWANN_MODEL_MAP is defined)").error(.arg)
        }
        let model: Model
        if flags & modelMap != 0 {
            model = try withMappedModelFile(path, maxBatch: 1, "model_load") {
                (file, map, length) throws(SwannError) -> Model in
                try buildModel(file, placement: .inPlace(base: UnsafeRawPointer(map), copyMisaligned: true),
                               mem: nil, memBytes: 0, map: (map, length))
            }
        } else {
            model = try withModelFile(path, maxBatch: 1, "model_load", .heap) { (file) throws(SwannError) in
                try buildModel(file, placement: .copy, mem: nil, memBytes: 0)
            }
        }
        out.pointee = model.base
    }
}

@_cdecl("swann_model_mem_size")
public func swann_model_mem_size(_ bytes: UnsafeRawPointer?, _ size: UInt,
                                 _ memBytes: UnsafeMutablePointer<UInt>?) -> Int32 {
    ieeeBoundary { () throws(SwannError) in
        let out = try required(memBytes, "model_mem_size", "mem_bytes")
        let bytes = try checkBytes(bytes, size, "model_mem_size")
        out.pointee = UInt(try withModelBuffer(bytes, size: Int(size), maxBatch: 1, "model_mem_size", .heap) {
            (file) throws(SwannError) in modelMemSize(file)
        })
    }
}

@_cdecl("swann_model_from_buffer")
public func swann_model_from_buffer(_ bytes: UnsafeRawPointer?, _ size: UInt, _ mem: UnsafeMutableRawPointer?,
                                    _ memBytes: UInt,
                                    _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    ieeeBoundary { () throws(SwannError) in
        let out = try required(out, "model_from_buffer", "out")
        out.pointee = nil
        guard mem != nil || memBytes == 0 else {
            throw Failure("model_from_buffer: mem is NULL but mem_bytes is ").uint(memBytes).text(" (must be 0)")
                .error(.arg)
        }
        if mem == nil { try needHeap("model_from_buffer", "mem is NULL") }
        if let mem, UInt(bitPattern: mem) % UInt(Plan.alignment) != 0 {
            throw Failure("model_from_buffer: mem is not 64-byte aligned").error(.arena)
        }
        let bytes = try checkBytes(bytes, size, "model_from_buffer")
        // With mem, the reading's scratch is mem's start: nothing is allocated.
        let home = mem.map { ScratchHome(arena: $0, arenaBytes: Int(memBytes), forNet: false) } ?? .heap
        let model = try withModelBuffer(bytes, size: Int(size), maxBatch: 1, "model_from_buffer", home) {
            (file) throws(SwannError) -> Model in
            try buildModel(file, placement: mem == nil ? .copy : .inPlace(base: bytes, copyMisaligned: false),
                           mem: mem, memBytes: memBytes)
        }
        out.pointee = model.base
    }
}

@_cdecl("swann_model_from_net")
public func swann_model_from_net(_ p: UnsafeRawPointer?,
                                 _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    boundary { () throws(SwannError) in
        let out = try required(out, "model_from_net", "out")
        out.pointee = nil
        let net = try liveNet(p, "model_from_net")
        try needHeap("model_from_net", "the model block would come from the heap")
        out.pointee = try modelFromNet(net, "model_from_net").base
    }
}

@_cdecl("swann_model_save_buffer")
public func swann_model_save_buffer(_ p: UnsafeRawPointer?, _ buf: UnsafeMutableRawPointer?, _ cap: UInt,
                                    _ needed: UnsafeMutablePointer<UInt>?) -> Int32 {
    ieeeBoundary { () throws(SwannError) in
        let model = try liveModel(p, "model_save_buffer")
        let needed = try required(needed, "model_save_buffer", "needed")
        guard buf != nil || cap == 0 else {
            throw Failure("model_save_buffer: buf is NULL but cap is ").uint(cap).text(" (must be 0)").error(.arg)
        }
        try saveToBuffer(model, "model_save_buffer", buf, cap: Int(clamping: cap), needed: needed)
    }
}

@_cdecl("swann_model_quantize")
public func swann_model_quantize(_ p: UnsafeRawPointer?, _ dtype: UnsafePointer<CChar>?,
                                 _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    ieeeBoundary { () throws(SwannError) in
        let out = try required(out, "model_quantize", "out")
        out.pointee = nil
        let model = try liveModel(p, "model_quantize")
        let dtype = try required(dtype, "model_quantize", "dtype")
        guard let weights = WeightType.compact(named: dtype) else {
            throw Failure("model_quantize: unknown dtype \"").text(dtype).text("\" (\"f16\" or \"int8\")").error(.arg)
        }
        out.pointee = try quantizeModel(model, weights, "model_quantize").base
    }
}

@_cdecl("swann_model_save")
public func swann_model_save(_ p: UnsafeRawPointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    ieeeBoundary { () throws(SwannError) in
        let model = try liveModel(p, "model_save")
        let path = try checkPath(path, "model_save")
        try saveFile(model, path: path, "model_save")
    }
}

@_cdecl("swann_model_destroy")
public func swann_model_destroy(_ p: UnsafeMutableRawPointer?) -> Int32 {
    boundary { () throws(SwannError) in
        guard p != nil else { return }
        let model = try liveModel(p, "model_destroy")
        let alive = cs_atomic_load(model.sessions)
        guard alive == 0 else {
            throw Failure("model_destroy: ").int(alive).text(" sessions on the model are alive (destroy them first)")
                .error(.state)
        }
        releaseModel(model)
    }
}

/// A header field of a possibly-NULL model, without touching the error text.
@inline(__always)
private func peekModel(_ p: UnsafeRawPointer?, _ field: (ModelHeader) -> Int) -> UInt {
    guard let p, let model = Model.live(UnsafeMutableRawPointer(mutating: p)) else { return 0 }
    return UInt(field(model.header.pointee))
}

@_cdecl("swann_model_input_size")
public func swann_model_input_size(_ p: UnsafeRawPointer?) -> UInt { peekModel(p) { $0.inputSize } }

@_cdecl("swann_model_output_size")
public func swann_model_output_size(_ p: UnsafeRawPointer?) -> UInt { peekModel(p) { $0.outputSize } }

@_cdecl("swann_model_spec_json")
public func swann_model_spec_json(_ p: UnsafeRawPointer?, _ buf: UnsafeMutablePointer<CChar>?, _ cap: UInt,
                                  _ needed: UnsafeMutablePointer<UInt>?) -> Int32 {
    boundary { () throws(SwannError) in
        let model = try liveModel(p, "model_spec_json")
        try copySpecText(model.specText, length: model.header.pointee.specLength, buf, cap, needed, "model_spec_json")
    }
}

@_cdecl("swann_session_arena_size")
public func swann_session_arena_size(_ p: UnsafeRawPointer?, _ maxBatch: UInt,
                                     _ bytes: UnsafeMutablePointer<UInt>?) -> Int32 {
    boundary { () throws(SwannError) in
        let model = try liveModel(p, "session_arena_size")
        let bytes = try required(bytes, "session_arena_size", "bytes")
        let mb = try checkMaxBatch(maxBatch, "session_arena_size")
        bytes.pointee = UInt(try SessionPlan(model, maxBatch: mb, "session_arena_size").bytes)
    }
}

@_cdecl("swann_session_create")
public func swann_session_create(_ p: UnsafeRawPointer?, _ maxBatch: UInt, _ arena: UnsafeMutableRawPointer?,
                                 _ arenaBytes: UInt,
                                 _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    boundary { () throws(SwannError) in
        let out = try required(out, "session_create", "out")
        out.pointee = nil
        let model = try liveModel(p, "session_create")
        try checkArena(arena, arenaBytes, "session_create")
        let mb = try checkMaxBatch(maxBatch, "session_create")
        let plan = try SessionPlan(model, maxBatch: mb, "session_create")
        let kernels = try KernelTable.chooseForSession("session_create")
        let block = try arenaBlock(arena, arenaBytes, needs: plan.bytes, "session", "session_create")
        out.pointee = buildSession(plan, model: model, arena: block, ownsArena: arena == nil,
                                   kernels: kernels).base
    }
}

@_cdecl("swann_session_run")
public func swann_session_run(_ p: UnsafeMutableRawPointer?, _ x: UnsafePointer<Float>?, _ batch: UInt,
                              _ y: UnsafeMutablePointer<Float>?) -> Int32 {
    boundary { () throws(SwannError) in
        let session = try liveSession(p, "session_run")
        let x = try required(x, "session_run", "x")
        let y = try required(y, "session_run", "y")
        let h = session.header.pointee
        guard batch >= 1 else { throw Failure("session_run: batch is 0").error(.shape) }
        guard batch <= UInt(h.maxBatch) else {
            throw Failure("session_run: batch ").uint(batch).text(" exceeds the session's max_batch ").int(h.maxBatch)
                .error(.shape)
        }
        let model = try liveModel(h.model, "session_run")
        try inFPMode(flush: model.header.pointee.flushSubnormals) { () throws(SwannError) in
            try session.run(model, x, batch: Int(batch), y)
        }
    }
}

@_cdecl("swann_session_isa")
public func swann_session_isa(_ p: UnsafeRawPointer?) -> UnsafePointer<CChar>? {
    guard let p, let s = Session.live(UnsafeMutableRawPointer(mutating: p)) else { return nil }
    return cString(s.header.pointee.kernels.name)
}

@_cdecl("swann_session_destroy")
public func swann_session_destroy(_ p: UnsafeMutableRawPointer?) {
    guard let p, let s = Session.live(p) else { return }
    releaseSession(s)
}
