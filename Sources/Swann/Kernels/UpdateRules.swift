import CSupport

/// The optimizers' update rules, with torch.optim's single-tensor algorithms.
enum OptimizerKind: Int32 {
    case sgd, adam, adamw, rmsprop, rprop
}

/// Everything one step's update needs, as floats: the optimizer's
/// hyper-parameters and the step's scalars (learning rate under the schedule,
/// Adam's bias corrections). Made once per step by the step (`Network/Step.swift`).
struct UpdateRule {
    var kind: OptimizerKind = .sgd
    var lr: Float = 0            // the step's learning rate
    var weightDecay: Float = 0
    var momentum: Float = 0
    var damping: Float = 1       // 1 - dampening
    var nesterov = false
    var first = true             // no step taken yet
    // adam, adamw
    var beta2: Float = 0
    var oneMinusBeta1: Float = 0, oneMinusBeta2: Float = 0
    var eps: Float = 0
    var stepSize: Float = 0      // lr / (1 - beta1^t)
    var bias2Sqrt: Float = 1     // sqrt(1 - beta2^t)
    var shrink: Float = 1        // adamw: 1 - lr * weight_decay
    var amsgrad = false
    // rmsprop
    var alpha: Float = 0, oneMinusAlpha: Float = 0
    var centered = false
    // rprop
    var etaPlus: Float = 0, etaMinus: Float = 0
    var stepMin: Float = 0, stepMax: Float = 0
    var initialStep: Float = 0   // the base rate: every step size starts there

    /// Floats updated together while they sit in L1 (16 KB of each buffer).
    static let block = 4096

    /// The update of parameters lo ..< hi (state slot k of parameter i at
    /// `slots[k * stride + i]`), block by block, with `grad * scale` as the gradient.
    /// Without `commit` nothing is written and `update` says whether every new value
    /// would be finite; with it the values are written and, with `zeroGrad`, each
    /// block's gradient is zeroed once used. `checkGrad`: `grad` says whether the
    /// gradient is all finite.
    func apply(params: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>,
               slots: UnsafeMutablePointer<Float>, stride: Int, from lo: Int, to hi: Int,
               scale: Float, commit: Bool, zeroGrad: Bool, checkGrad: Bool) -> (update: Bool, grad: Bool) {
        var updateOK = true, gradOK = true
        var b = lo
        while b < hi {
            let e = min(hi, b + UpdateRule.block)
            if checkGrad { gradOK = gradOK && allFinite(grad + b, e - b) }
            let state = UpdateState(p: params, grad: grad, slots: slots, stride: stride, scale: scale)
            // Two call sites with a constant `commit`, so each inlined loop has no branch on it.
            if commit {
                var out = UpdateSink(commit: true)
                update(state, b, e, &out)
                if zeroGrad { zeroFloats(grad + b, e - b) }
            } else {
                var out = UpdateSink(commit: false)
                update(state, b, e, &out)
                updateOK = updateOK && out.finite
            }
            b = e
        }
        return (updateOK, gradOK)
    }

    @inline(__always)
    private func update(_ s: UpdateState, _ lo: Int, _ hi: Int, _ out: inout UpdateSink) {
        switch kind {
        case .sgd: sgd(s, lo, hi, &out)
        case .adam, .adamw: adam(s, lo, hi, &out)
        case .rmsprop: rmsprop(s, lo, hi, &out)
        case .rprop: rprop(s, lo, hi, &out)
        }
    }

    /// torch.optim.SGD: g = grad + wd p; b = g (first step) or mu b + (1 - dampening) g;
    /// d = g + mu b (nesterov) or b; p -= lr d.
    @inline(__always)
    private func sgd(_ s: UpdateState, _ lo: Int, _ hi: Int, _ out: inout UpdateSink) {
        let p = s.p, grad = s.grad, scale = s.scale, lr = self.lr, wd = weightDecay, mu = momentum
        if mu == 0 {
            if wd == 0 {
                for i in lo..<hi { out.put(p, i, p[i] - lr * (grad[i] * scale)) }
            } else {
                for i in lo..<hi { out.put(p, i, p[i] - lr * (grad[i] * scale + wd * p[i])) }
            }
            return
        }
        let buf = s.slots, damp = damping, first = self.first, nesterov = self.nesterov
        for i in lo..<hi {
            var g = grad[i] * scale
            if wd != 0 { g += wd * p[i] }
            // PyTorch: the momentum buffer starts as the first gradient itself.
            let b = first ? g : mu * buf[i] + damp * g
            out.put(buf, i, b)
            out.put(p, i, p[i] - lr * (nesterov ? g + mu * b : b))
        }
    }

    /// torch.optim.Adam / AdamW: m = lerp(m, g, 1 - beta1), v = beta2 v + (1 - beta2) g^2,
    /// p -= step_size m / (sqrt(v) / sqrt(1 - beta2^t) + eps); AdamW decays p first.
    @inline(__always)
    private func adam(_ s: UpdateState, _ lo: Int, _ hi: Int, _ out: inout UpdateSink) {
        let p = s.p, grad = s.grad, scale = s.scale, wd = weightDecay
        let m0 = s.slots, v0 = s.slots + s.stride, vmax = s.slots + 2 * s.stride
        let decoupled = kind == .adamw
        for i in lo..<hi {
            var g = grad[i] * scale
            var w = p[i]
            if decoupled {
                if wd != 0 { w *= shrink }
            } else if wd != 0 {
                g += wd * w
            }
            let m = m0[i] + oneMinusBeta1 * (g - m0[i])     // exp_avg.lerp_(grad, 1 - beta1)
            let v = v0[i] * beta2 + oneMinusBeta2 * g * g   // exp_avg_sq.mul_(beta2).addcmul_(g, g, 1 - beta2)
            out.put(m0, i, m)
            out.put(v0, i, v)
            var vhat = v
            if amsgrad {
                vhat = max(vmax[i], v)
                out.put(vmax, i, vhat)
            }
            let denom = vhat.squareRoot() / bias2Sqrt + eps
            out.put(p, i, w - stepSize * (m / denom))
        }
    }

    /// torch.optim.RMSprop: sq = alpha sq + (1 - alpha) g^2 (centered: minus the
    /// squared running mean), p -= lr g / (sqrt(sq) + eps), through a momentum buffer.
    @inline(__always)
    private func rmsprop(_ s: UpdateState, _ lo: Int, _ hi: Int, _ out: inout UpdateSink) {
        let p = s.p, grad = s.grad, scale = s.scale, wd = weightDecay, mu = momentum, lr = self.lr
        let square = s.slots
        let buf: UnsafeMutablePointer<Float>? = mu != 0 ? s.slots + s.stride : nil
        let gavg: UnsafeMutablePointer<Float>? = centered ? s.slots + (mu != 0 ? 2 : 1) * s.stride : nil
        for i in lo..<hi {
            var g = grad[i] * scale
            if wd != 0 { g += wd * p[i] }
            let sq = square[i] * alpha + oneMinusAlpha * g * g
            out.put(square, i, sq)
            var avg: Float
            if let gavg {
                let ga = gavg[i] + oneMinusAlpha * (g - gavg[i])  // grad_avg.lerp_(grad, 1 - alpha)
                out.put(gavg, i, ga)
                avg = max(sq - ga * ga, 0).squareRoot() + eps  // rounding can take it just below 0
            } else {
                avg = sq.squareRoot() + eps
            }
            if let buf {
                let b = buf[i] * mu + g / avg
                out.put(buf, i, b)
                out.put(p, i, p[i] - lr * b)
            } else {
                out.put(p, i, p[i] - lr * (g / avg))
            }
        }
    }

    /// torch.optim.Rprop: each step size grows by eta_plus while the gradient keeps
    /// its sign, shrinks by eta_minus when it flips (and that update is skipped).
    @inline(__always)
    private func rprop(_ s: UpdateState, _ lo: Int, _ hi: Int, _ out: inout UpdateSink) {
        let p = s.p, grad = s.grad, scale = s.scale
        let prev = s.slots, size = s.slots + s.stride
        let first = self.first
        for i in lo..<hi {
            var g = grad[i] * scale
            // torch: prev starts at zero, every step size at lr.
            let sign = g * (first ? 0 : prev[i])
            let factor: Float = sign > 0 ? etaPlus : (sign < 0 ? etaMinus : 1)
            let st = min(max((first ? initialStep : size[i]) * factor, stepMin), stepMax)
            out.put(size, i, st)
            if sign < 0 { g = 0 }  // after a sign change, skip this update
            if g > 0 { out.put(p, i, p[i] - st) } else if g < 0 { out.put(p, i, p[i] + st) }
            out.put(prev, i, g)
        }
    }
}

/// The buffers an update reads and writes.
private struct UpdateState {
    let p: UnsafeMutablePointer<Float>
    let grad: UnsafePointer<Float>
    let slots: UnsafeMutablePointer<Float>
    let stride: Int
    let scale: Float

    init(p: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>, slots: UnsafeMutablePointer<Float>,
         stride: Int, scale: Float) {
        self.p = p; self.grad = UnsafePointer(grad); self.slots = slots; self.stride = stride; self.scale = scale
    }
}

/// Where an update's values go: written (`commit`), or only checked finite, as an
/// integer OR of exponent bits, which vectorizes where a float sum would be one
/// serial chain.
private struct UpdateSink {
    let commit: Bool
    var poison: UInt32 = 0

    init(commit: Bool) { self.commit = commit }

    @inline(__always)
    mutating func put(_ dst: UnsafeMutablePointer<Float>, _ i: Int, _ v: Float) {
        // Bit 31 of (bits & exponent mask) + one exponent step is set exactly when
        // the exponent is all ones: Inf or NaN.
        if commit { dst[i] = v } else { poison |= (v.bitPattern & 0x7f80_0000) &+ 0x0080_0000 }
    }

    var finite: Bool { poison & 0x8000_0000 == 0 }
}
