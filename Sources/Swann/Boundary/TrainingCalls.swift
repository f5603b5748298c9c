import CSupport

// Training and inference: forward, backward, step, and the buffers behind them.

@_cdecl("swann_forward")
public func swann_forward(_ p: UnsafeMutableRawPointer?, _ x: UnsafePointer<Float>?, _ batch: UInt,
                          _ y: UnsafeMutablePointer<Float>?) -> Int32 {
    boundary { () throws(SwannError) in
        let net = try liveNet(p, "forward")
        let x = try required(x, "forward", "x")
        let maxBatch = net.header.pointee.maxBatch
        guard batch >= 1 else { throw Failure("forward: batch is 0").error(.shape) }
        guard batch <= UInt(maxBatch) else {
            throw Failure("forward: batch ").uint(batch).text(" exceeds max_batch ").int(maxBatch).error(.shape)
        }
        try inFPMode(flush: net.header.pointee.flushSubnormals) { () throws(SwannError) in
            try net.forward(x, batch: Int(batch), output: y)
        }
    }
}

@_cdecl("swann_last_batch")
public func swann_last_batch(_ p: UnsafeRawPointer?, _ rows: UnsafeMutablePointer<UInt>?) -> Int32 {
    boundary { () throws(SwannError) in
        let net = try liveNet(p, "last_batch")
        try required(rows, "last_batch", "rows").pointee = UInt(net.header.pointee.lastBatch)
    }
}

/// Backward needs a forward to go back through.
private func requireForward(_ net: Net, _ function: StaticString) throws(SwannError) {
    guard net.header.pointee.lastBatch > 0 else {
        throw Failure(function).text(": no forward pass to go back through (call swann_forward first)")
            .error(.state)
    }
}

@_cdecl("swann_backward")
public func swann_backward(_ p: UnsafeMutableRawPointer?, _ target: UnsafePointer<Float>?,
                           _ loss: UnsafeMutablePointer<Float>?, _ dx: UnsafeMutablePointer<Float>?) -> Int32 {
    boundary { () throws(SwannError) in
        let net = try liveNet(p, "backward")
        let target = try required(target, "backward", "target")
        guard net.header.pointee.loss != .none else {
            throw Failure("backward: the spec's loss is \"none\"; use swann_backward_grad").error(.state)
        }
        try requireForward(net, "backward")
        try inFPMode(flush: net.header.pointee.flushSubnormals) { () throws(SwannError) in
            try net.backward(target: target, loss: loss, dx: dx)
        }
    }
}

@_cdecl("swann_backward_grad")
public func swann_backward_grad(_ p: UnsafeMutableRawPointer?, _ dy: UnsafePointer<Float>?,
                                _ dx: UnsafeMutablePointer<Float>?) -> Int32 {
    boundary { () throws(SwannError) in
        let net = try liveNet(p, "backward_grad")
        let dy = try required(dy, "backward_grad", "dy")
        try requireForward(net, "backward_grad")
        try inFPMode(flush: net.header.pointee.flushSubnormals) { () throws(SwannError) in
            try net.backward(dy: dy, dx: dx)
        }
    }
}

@_cdecl("swann_step")
public func swann_step(_ p: UnsafeMutableRawPointer?) -> Int32 {
    boundary { () throws(SwannError) in
        let net = try liveNet(p, "step")
        try inFPMode(flush: net.header.pointee.flushSubnormals) { () throws(SwannError) in try net.step() }
    }
}

@_cdecl("swann_accumulated_rows")
public func swann_accumulated_rows(_ p: UnsafeRawPointer?, _ rows: UnsafeMutablePointer<UInt>?) -> Int32 {
    boundary { () throws(SwannError) in
        let net = try liveNet(p, "accumulated_rows")
        try required(rows, "accumulated_rows", "rows").pointee = UInt(net.header.pointee.accumulated)
    }
}

@_cdecl("swann_step_rows")
public func swann_step_rows(_ p: UnsafeMutableRawPointer?, _ rows: UInt) -> Int32 {
    boundary { () throws(SwannError) in
        let net = try liveNet(p, "step_rows")
        guard rows >= 1, rows <= UInt(1) << 62 else {
            throw Failure("step_rows: rows ").uint(rows).text(" must be in 1...2^62").error(.arg)
        }
        try inFPMode(flush: net.header.pointee.flushSubnormals) { () throws(SwannError) in try net.step(rows: Int(rows)) }
    }
}

@_cdecl("swann_zero_grad")
public func swann_zero_grad(_ p: UnsafeMutableRawPointer?) -> Int32 {
    boundary { () throws(SwannError) in try liveNet(p, "zero_grad").zeroGrad() }
}

@_cdecl("swann_set_lr")
public func swann_set_lr(_ p: UnsafeMutableRawPointer?, _ lr: Double) -> Int32 {
    ieeeBoundary { () throws(SwannError) in
        let net = try liveNet(p, "set_lr")
        guard lr.isFinite, lr >= 0, lr <= 1e6 else {
            throw Failure("set_lr: lr ").number(lr).text(" must be finite and in [0, 1e6]").error(.arg)
        }
        let lr = lr == 0 ? 0 : lr  // -0.0 is stored as 0: the canonical spec never says -0
        // The canonical spec (and so swann_spec_json and saved files) carries the new rate.
        var length = net.header.pointee.specLength
        guard rewriteCanonicalLR(net.specText, length: &length, room: net.header.pointee.specRoom, lr: lr) else {
            throw Failure("set_lr: the canonical spec has no room for the new lr (a bug: please report it)")
                .error(.state)
        }
        net.header.pointee.specLength = length
        net.header.pointee.optimizer.lr = lr
    }
}

@_cdecl("swann_get_lr")
public func swann_get_lr(_ p: UnsafeRawPointer?, _ lr: UnsafeMutablePointer<Double>?) -> Int32 {
    ieeeBoundary { () throws(SwannError) in
        let net = try liveNet(p, "get_lr")
        let h = net.header.pointee
        try required(lr, "get_lr", "lr").pointee = h.optimizer.learningRate(afterSteps: h.steps)
    }
}

/// A flat view into the arena for the host (`share` says what handing it out changes).
private func view(_ p: UnsafeMutableRawPointer?, _ data: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>?,
                  _ count: UnsafeMutablePointer<UInt>?, _ function: StaticString,
                  _ share: (Net) -> UnsafeMutablePointer<Float>) -> Int32 {
    boundary { () throws(SwannError) in
        let net = try liveNet(p, function)
        guard let data, let count else { throw Failure(function).text(": data or count is NULL").error(.arg) }
        data.pointee = share(net)
        count.pointee = UInt(net.header.pointee.paramCount)
    }
}

@_cdecl("swann_params")
public func swann_params(_ p: UnsafeMutableRawPointer?, _ data: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>?,
                         _ count: UnsafeMutablePointer<UInt>?) -> Int32 {
    view(p, data, count, "params") { $0.shareParams() }
}

@_cdecl("swann_grads")
public func swann_grads(_ p: UnsafeMutableRawPointer?, _ data: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>?,
                        _ count: UnsafeMutablePointer<UInt>?) -> Int32 {
    view(p, data, count, "grads") { $0.shareGrads() }
}
