import CSupport

// The C ABI of include/swann.h. Each function checks every argument before
// touching the net, so no input can trap or corrupt it, and reports failures
// through a status and the thread's last-error text.
//
// size_t arrives as UInt (so SIZE_MAX is not -1); pointers as optionals.

@_cdecl("swann_version")
public func swann_version() -> UnsafePointer<CChar> {
    cString(swannVersion)
}

@_cdecl("swann_version_number")
public func swann_version_number() -> Int32 {
    Int32(swannVersionNumber)
}

@_cdecl("swann_status_name")
public func swann_status_name(_ s: Int32) -> UnsafePointer<CChar> {
    guard let status = Status(rawValue: s) else { return cString("SWANN_E_UNKNOWN") }
    return cString(status.name)
}

@_cdecl("swann_last_error")
public func swann_last_error() -> UnsafePointer<CChar> {
    cs_err_text()
}

@_cdecl("swann_arena_size")
public func swann_arena_size(_ specJSON: UnsafePointer<CChar>?, _ maxBatch: UInt,
                             _ bytes: UnsafeMutablePointer<UInt>?) -> Int32 {
    guard let bytes else { return Failure("arena_size: bytes is NULL").status(.arg).rawValue }
    do throws(SwannError) {
        let mb = try checkMaxBatch(maxBatch, "arena_size")
        let size = try withCanonicalSpec(specJSON) { (spec, _, length) throws(SwannError) in
            try Plan(spec: spec, maxBatch: mb, specLength: length).bytes
        }
        bytes.pointee = UInt(size)
        return Status.ok.rawValue
    } catch {
        return error.status.rawValue
    }
}

@_cdecl("swann_create")
public func swann_create(_ specJSON: UnsafePointer<CChar>?, _ maxBatch: UInt,
                         _ arena: UnsafeMutableRawPointer?, _ arenaBytes: UInt,
                         _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    guard let out else { return Failure("create: out is NULL").status(.arg).rawValue }
    out.pointee = nil
    do throws(SwannError) {
        try checkArena(arena, arenaBytes, "create")
        let mb = try checkMaxBatch(maxBatch, "create")
        let net = try withCanonicalSpec(specJSON) { (spec, text, length) throws(SwannError) -> Net in
            let plan = try Plan(spec: spec, maxBatch: mb, specLength: length)
            return try placeNet(plan, spec: spec, specText: text, arena: arena, arenaBytes: arenaBytes, "create")
        }
        out.pointee = net.base
        return Status.ok.rawValue
    } catch {
        return error.status.rawValue
    }
}

@_cdecl("swann_destroy")
public func swann_destroy(_ p: UnsafeMutableRawPointer?) {
    guard let p else { return }
    let h = p.assumingMemoryBound(to: NetHeader.self)
    guard h.pointee.magic == NetHeader.liveMagic else { return }
    releaseNet(Net(base: p))
}

// MARK: - shape and spec

/// Reads a header field of a possibly-NULL net without touching the error text.
@inline(__always)
func peek(_ p: UnsafeRawPointer?, _ field: (NetHeader) -> Int) -> UInt {
    guard let p else { return 0 }
    let h = p.assumingMemoryBound(to: NetHeader.self).pointee
    guard h.magic == NetHeader.liveMagic else { return 0 }
    return UInt(field(h))
}

@_cdecl("swann_input_size")
public func swann_input_size(_ p: UnsafeRawPointer?) -> UInt { peek(p) { $0.inputSize } }

@_cdecl("swann_output_size")
public func swann_output_size(_ p: UnsafeRawPointer?) -> UInt { peek(p) { $0.outputSize } }

@_cdecl("swann_param_count")
public func swann_param_count(_ p: UnsafeRawPointer?) -> UInt { peek(p) { $0.paramCount } }

@_cdecl("swann_max_batch")
public func swann_max_batch(_ p: UnsafeRawPointer?) -> UInt { peek(p) { $0.maxBatch } }

@_cdecl("swann_spec_json")
public func swann_spec_json(_ p: UnsafeRawPointer?, _ buf: UnsafeMutablePointer<CChar>?, _ cap: UInt,
                            _ needed: UnsafeMutablePointer<UInt>?) -> Int32 {
    guard let net = Net.from(UnsafeMutableRawPointer(mutating: p), "spec_json") else { return Status.arg.rawValue }
    let length = net.header.pointee.specLength
    needed?.pointee = UInt(length + 1)
    guard cap >= UInt(length + 1) else {
        return Failure("spec_json: cap ").uint(cap).text(" is less than the ").int(length + 1)
            .text(" bytes needed").status(.arg).rawValue
    }
    guard let buf else { return Failure("spec_json: buf is NULL").status(.arg).rawValue }
    memcpy(buf, net.specText, length + 1)
    return Status.ok.rawValue
}

// MARK: - training and inference

@_cdecl("swann_forward")
public func swann_forward(_ p: UnsafeMutableRawPointer?, _ x: UnsafePointer<Float>?, _ batch: UInt,
                          _ y: UnsafeMutablePointer<Float>?) -> Int32 {
    guard let net = Net.from(p, "forward") else { return Status.arg.rawValue }
    guard let x else { return Failure("forward: x is NULL").status(.arg).rawValue }
    let maxBatch = net.header.pointee.maxBatch
    guard batch >= 1 else { return Failure("forward: batch is 0").status(.shape).rawValue }
    guard batch <= UInt(maxBatch) else {
        return Failure("forward: batch ").uint(batch).text(" exceeds max_batch ").int(maxBatch)
            .status(.shape).rawValue
    }
    return net.forward(x, batch: Int(batch), output: y).rawValue
}

@_cdecl("swann_last_batch")
public func swann_last_batch(_ p: UnsafeRawPointer?, _ rows: UnsafeMutablePointer<UInt>?) -> Int32 {
    guard let net = Net.from(UnsafeMutableRawPointer(mutating: p), "last_batch") else { return Status.arg.rawValue }
    guard let rows else { return Failure("last_batch: rows is NULL").status(.arg).rawValue }
    rows.pointee = UInt(net.header.pointee.lastBatch)
    return Status.ok.rawValue
}

/// Checks shared by both backward entry points.
private func backwardReady(_ net: Net, _ function: StaticString) -> Status {
    guard net.header.pointee.lastBatch > 0 else {
        return Failure(function).text(": no forward pass to go back through (call swann_forward first)")
            .status(.state)
    }
    return .ok
}

@_cdecl("swann_backward")
public func swann_backward(_ p: UnsafeMutableRawPointer?, _ target: UnsafePointer<Float>?,
                           _ loss: UnsafeMutablePointer<Float>?, _ dx: UnsafeMutablePointer<Float>?) -> Int32 {
    guard let net = Net.from(p, "backward") else { return Status.arg.rawValue }
    guard let target else { return Failure("backward: target is NULL").status(.arg).rawValue }
    guard net.header.pointee.loss != .none else {
        return Failure("backward: the spec's loss is \"none\"; use swann_backward_grad").status(.state).rawValue
    }
    let ready = backwardReady(net, "backward")
    guard ready == .ok else { return ready.rawValue }
    return net.backward(target: target, loss: loss, dx: dx).rawValue
}

@_cdecl("swann_backward_grad")
public func swann_backward_grad(_ p: UnsafeMutableRawPointer?, _ dy: UnsafePointer<Float>?,
                                _ dx: UnsafeMutablePointer<Float>?) -> Int32 {
    guard let net = Net.from(p, "backward_grad") else { return Status.arg.rawValue }
    guard let dy else { return Failure("backward_grad: dy is NULL").status(.arg).rawValue }
    let ready = backwardReady(net, "backward_grad")
    guard ready == .ok else { return ready.rawValue }
    return net.backward(dy: dy, dx: dx).rawValue
}

@_cdecl("swann_step")
public func swann_step(_ p: UnsafeMutableRawPointer?) -> Int32 {
    guard let net = Net.from(p, "step") else { return Status.arg.rawValue }
    return net.step().rawValue
}

@_cdecl("swann_accumulated_rows")
public func swann_accumulated_rows(_ p: UnsafeRawPointer?, _ rows: UnsafeMutablePointer<UInt>?) -> Int32 {
    guard let net = Net.from(UnsafeMutableRawPointer(mutating: p), "accumulated_rows") else { return Status.arg.rawValue }
    guard let rows else { return Failure("accumulated_rows: rows is NULL").status(.arg).rawValue }
    rows.pointee = UInt(net.header.pointee.accumulated)
    return Status.ok.rawValue
}

@_cdecl("swann_step_rows")
public func swann_step_rows(_ p: UnsafeMutableRawPointer?, _ rows: UInt) -> Int32 {
    guard let net = Net.from(p, "step_rows") else { return Status.arg.rawValue }
    guard rows >= 1, rows <= UInt(1) << 62 else {
        return Failure("step_rows: rows ").uint(rows).text(" must be in 1...2^62").status(.arg).rawValue
    }
    return net.step(rows: Int(rows)).rawValue
}

@_cdecl("swann_zero_grad")
public func swann_zero_grad(_ p: UnsafeMutableRawPointer?) -> Int32 {
    guard let net = Net.from(p, "zero_grad") else { return Status.arg.rawValue }
    net.zeroGrad()
    return Status.ok.rawValue
}

@_cdecl("swann_set_lr")
public func swann_set_lr(_ p: UnsafeMutableRawPointer?, _ lr: Double) -> Int32 {
    guard let net = Net.from(p, "set_lr") else { return Status.arg.rawValue }
    guard lr.isFinite, lr >= 0, lr <= 1e6 else {
        return Failure("set_lr: lr ").number(lr).text(" must be finite and in [0, 1e6]").status(.arg).rawValue
    }
    let lr = lr == 0 ? 0 : lr  // -0.0 is stored as 0: the canonical spec never says -0
    // The canonical spec (and so swann_spec_json and saved files) carries the new rate.
    var length = net.header.pointee.specLength
    guard rewriteCanonicalLR(net.specText, length: &length, room: net.header.pointee.specRoom, lr: lr) else {
        return Failure("set_lr: the canonical spec has no room for the new lr (a bug: please report it)")
            .status(.state).rawValue
    }
    net.header.pointee.specLength = length
    net.header.pointee.optimizer.lr = lr
    return Status.ok.rawValue
}

@_cdecl("swann_get_lr")
public func swann_get_lr(_ p: UnsafeRawPointer?, _ lr: UnsafeMutablePointer<Double>?) -> Int32 {
    guard let net = Net.from(UnsafeMutableRawPointer(mutating: p), "get_lr") else { return Status.arg.rawValue }
    guard let lr else { return Failure("get_lr: lr is NULL").status(.arg).rawValue }
    let h = net.header.pointee
    lr.pointee = h.optimizer.learningRate(afterSteps: h.steps)
    return Status.ok.rawValue
}

@_cdecl("swann_set_threads")
public func swann_set_threads(_ p: UnsafeMutableRawPointer?, _ threads: UInt) -> Int32 {
    guard let net = Net.from(p, "set_threads") else { return Status.arg.rawValue }
    let most = net.header.pointee.threads
    guard threads >= 1, threads <= UInt(most) else {
        return Failure("set_threads: threads ").uint(threads).text(" must be in 1...").int(most)
            .text(" (the spec's \"threads\")").status(.arg).rawValue
    }
    cs_pool_set_active(net.pool, UInt32(threads - 1))
    return Status.ok.rawValue
}

@_cdecl("swann_params")
public func swann_params(_ p: UnsafeMutableRawPointer?, _ data: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>?,
                         _ count: UnsafeMutablePointer<UInt>?) -> Int32 {
    guard let net = Net.from(p, "params") else { return Status.arg.rawValue }
    guard let data, let count else { return Failure("params: data or count is NULL").status(.arg).rawValue }
    data.pointee = net.shareParams()
    count.pointee = UInt(net.header.pointee.paramCount)
    return Status.ok.rawValue
}

@_cdecl("swann_grads")
public func swann_grads(_ p: UnsafeMutableRawPointer?, _ data: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>?,
                        _ count: UnsafeMutablePointer<UInt>?) -> Int32 {
    guard let net = Net.from(p, "grads") else { return Status.arg.rawValue }
    guard let data, let count else { return Failure("grads: data or count is NULL").status(.arg).rawValue }
    data.pointee = net.shareGrads()
    count.pointee = UInt(net.header.pointee.paramCount)
    return Status.ok.rawValue
}

// MARK: - model files

@_cdecl("swann_save")
public func swann_save(_ p: UnsafeRawPointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    guard let net = Net.from(UnsafeMutableRawPointer(mutating: p), "save") else { return Status.arg.rawValue }
    guard let path else { return Failure("save: path is NULL").status(.arg).rawValue }
    guard path[0] != 0 else { return Failure("save: path is empty").status(.arg).rawValue }
    return saveNet(net, path: path).rawValue
}

@_cdecl("swann_load_size")
public func swann_load_size(_ path: UnsafePointer<CChar>?, _ maxBatch: UInt,
                            _ bytes: UnsafeMutablePointer<UInt>?) -> Int32 {
    guard let bytes else { return Failure("load_size: bytes is NULL").status(.arg).rawValue }
    do throws(SwannError) {
        let size = try withModelFile(path, maxBatch: maxBatch, "load_size") { (file, _) throws(SwannError) in
            file.plan.bytes
        }
        bytes.pointee = UInt(size)
        return Status.ok.rawValue
    } catch {
        return error.status.rawValue
    }
}

@_cdecl("swann_load")
public func swann_load(_ path: UnsafePointer<CChar>?, _ maxBatch: UInt,
                       _ arena: UnsafeMutableRawPointer?, _ arenaBytes: UInt,
                       _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    guard let out else { return Failure("load: out is NULL").status(.arg).rawValue }
    out.pointee = nil
    do throws(SwannError) {
        try checkArena(arena, arenaBytes, "load")
        let net = try withModelFile(path, maxBatch: maxBatch, "load") { (file, canonical) throws(SwannError) -> Net in
            // Every parameter comes from the file: skip the random initialisation.
            let net = try placeNet(file.plan, spec: file.spec, specText: canonical, arena: arena,
                                   arenaBytes: arenaBytes, initialize: false, "load")
            let status = readTensors(file, into: net)
            guard status == .ok else {
                releaseNet(net)
                throw SwannError(status: status)
            }
            return net
        }
        out.pointee = net.base
        return Status.ok.rawValue
    } catch {
        return error.status.rawValue
    }
}
