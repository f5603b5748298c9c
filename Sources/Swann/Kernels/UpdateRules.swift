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
        // With momentum, eight parameters at a time, as Adam (LLVM left this loop scalar
        // too: a training step of the digits net took 5x plain SGD's time).
        let buf = s.slots, damp = damping, first = self.first, nesterov = self.nesterov
        var i = lo
        #if !arch(arm)
        while i + 8 <= hi {
            var g = load8(grad + i) * scale
            if wd != 0 { g += wd * load8(p + i) }
            let b = first ? g : mu * load8(buf + i) + damp * g
            out.put8(buf, i, b)
            out.put8(p, i, load8(p + i) - lr * (nesterov ? g + mu * b : b))
            i += 8
        }
        #endif
        while i < hi {
            var g = grad[i] * scale
            if wd != 0 { g += wd * p[i] }
            // PyTorch: the momentum buffer starts as the first gradient itself.
            let b = first ? g : mu * buf[i] + damp * g
            out.put(buf, i, b)
            out.put(p, i, p[i] - lr * (nesterov ? g + mu * b : b))
            i += 1
        }
    }

    /// torch.optim.Adam / AdamW: m = lerp(m, g, 1 - beta1), v = beta2 v + (1 - beta2) g^2,
    /// p -= step_size m / (sqrt(v) / sqrt(1 - beta2^t) + eps); AdamW decays p first.
    /// Eight parameters at a time, written out: LLVM left the loop scalar (two divisions
    /// and a square root a parameter, one at a time), which made Adam's W2 three times
    /// SGD's time. Lane by lane the operations are the scalar ones, so the bits are. The
    /// settings are tested in the loop (the same way every time: predicted branches); a
    /// loop per setting was 8 KB more code across the levels.
    @inline(__always)
    private func adam(_ s: UpdateState, _ lo: Int, _ hi: Int, _ out: inout UpdateSink) {
        let decoupled = kind == .adamw && weightDecay != 0, l2 = kind == .adam && weightDecay != 0
        let p = s.p, grad = s.grad, scale = s.scale, wd = weightDecay, shrink = self.shrink
        let m0 = s.slots, v0 = s.slots + s.stride, vmax = s.slots + 2 * s.stride
        let oneMinusBeta1 = self.oneMinusBeta1, oneMinusBeta2 = self.oneMinusBeta2, beta2 = self.beta2
        let bias2Sqrt = self.bias2Sqrt, eps = self.eps, stepSize = self.stepSize
        var i = lo
        #if !arch(arm)  // a Cortex-M has no vector unit: eight lanes would only be more code
        while i + 8 <= hi {
            var g = load8(grad + i) * scale
            var w = load8(p + i)
            if decoupled { w *= shrink }
            if l2 { g += wd * w }
            let mOld = load8(m0 + i)
            let m = mOld + oneMinusBeta1 * (g - mOld)
            let v = load8(v0 + i) * beta2 + oneMinusBeta2 * g * g
            out.put8(m0, i, m)
            out.put8(v0, i, v)
            var vhat = v
            if amsgrad {
                vhat = load8(vmax + i)
                vhat.replace(with: v, where: v .>= vhat)  // max(vmax[i], v), lane by lane
                out.put8(vmax, i, vhat)
            }
            let denom = squareRoot8(vhat) / bias2Sqrt + eps
            out.put8(p, i, w - stepSize * (m / denom))
            i += 8
        }
        #endif
        while i < hi {
            var g = grad[i] * scale
            var w = p[i]
            if decoupled { w *= shrink }
            if l2 { g += wd * w }
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
            i += 1
        }
    }

    /// torch.optim.RMSprop: sq = alpha sq + (1 - alpha) g^2 (centered: minus the
    /// squared running mean), p -= lr g / (sqrt(sq) + eps), through a momentum buffer.
    /// Eight parameters at a time, as Adam.
    @inline(__always)
    private func rmsprop(_ s: UpdateState, _ lo: Int, _ hi: Int, _ out: inout UpdateSink) {
        let l2 = weightDecay != 0, withMomentum = momentum != 0, centered = self.centered
        let p = s.p, grad = s.grad, scale = s.scale, wd = weightDecay, mu = momentum, lr = self.lr
        let alpha = self.alpha, oneMinusAlpha = self.oneMinusAlpha, eps = self.eps
        let square = s.slots
        let buf = s.slots + s.stride  // read only withMomentum
        let gavg = s.slots + (withMomentum ? 2 : 1) * s.stride  // read only when centered
        var i = lo
        #if !arch(arm)  // a Cortex-M has no vector unit: eight lanes would only be more code
        while i + 8 <= hi {
            var g = load8(grad + i) * scale
            if l2 { g += wd * load8(p + i) }
            let sq = load8(square + i) * alpha + oneMinusAlpha * g * g
            out.put8(square, i, sq)
            var avg: SIMD8<Float>
            if centered {
                let gaOld = load8(gavg + i)
                let ga = gaOld + oneMinusAlpha * (g - gaOld)
                out.put8(gavg, i, ga)
                var d = sq - ga * ga
                d.replace(with: 0, where: 0 .>= d)  // max(d, 0), lane by lane
                avg = squareRoot8(d) + eps
            } else {
                avg = squareRoot8(sq) + eps
            }
            if withMomentum {
                let b = load8(buf + i) * mu + g / avg
                out.put8(buf, i, b)
                out.put8(p, i, load8(p + i) - lr * b)
            } else {
                out.put8(p, i, load8(p + i) - lr * (g / avg))
            }
            i += 8
        }
        #endif
        while i < hi {
            var g = grad[i] * scale
            if l2 { g += wd * p[i] }
            let sq = square[i] * alpha + oneMinusAlpha * g * g
            out.put(square, i, sq)
            var avg: Float
            if centered {
                let ga = gavg[i] + oneMinusAlpha * (g - gavg[i])  // grad_avg.lerp_(grad, 1 - alpha)
                out.put(gavg, i, ga)
                avg = max(sq - ga * ga, 0).squareRoot() + eps  // rounding can take it just below 0
            } else {
                avg = sq.squareRoot() + eps
            }
            if withMomentum {
                let b = buf[i] * mu + g / avg
                out.put(buf, i, b)
                out.put(p, i, p[i] - lr * b)
            } else {
                out.put(p, i, p[i] - lr * (g / avg))
            }
            i += 1
        }
    }

    /// torch.optim.Rprop: each step size grows by eta_plus while the gradient keeps
    /// its sign, shrinks by eta_minus when it flips (and that update is skipped).
    @inline(__always)
    private func rprop(_ s: UpdateState, _ lo: Int, _ hi: Int, _ out: inout UpdateSink) {
        let p = s.p, grad = s.grad, scale = s.scale
        let prev = s.slots, size = s.slots + s.stride
        let first = self.first, etaPlus = self.etaPlus, etaMinus = self.etaMinus
        let stepMin = self.stepMin, stepMax = self.stepMax, initialStep = self.initialStep
        var i = lo
        #if !arch(arm)
        // Eight parameters at a time, each choice a lane select in the scalar rule's order
        // (max(a, b) is b >= a ? b : a, min(a, b) is b < a ? b : a).
        while i + 8 <= hi {
            var g = load8(grad + i) * scale
            let sign = g * (first ? SIMD8<Float>() : load8(prev + i))
            var factor = SIMD8<Float>(repeating: 1)
            factor.replace(with: etaMinus, where: sign .< 0)
            factor.replace(with: etaPlus, where: sign .> 0)
            var st = (first ? SIMD8<Float>(repeating: initialStep) : load8(size + i)) * factor
            st.replace(with: stepMin, where: stepMin .>= st)
            st.replace(with: stepMax, where: stepMax .< st)
            out.put8(size, i, st)
            g.replace(with: 0, where: sign .< 0)
            let w = load8(p + i)
            var moved = w
            moved.replace(with: w - st, where: g .> 0)
            moved.replace(with: w + st, where: g .< 0)
            out.put8(p, i, moved, where: g .> 0 .| g .< 0)
            out.put8(prev, i, g)
            i += 8
        }
        #endif
        while i < hi {
            var g = grad[i] * scale
            // torch: prev starts at zero, every step size at lr.
            let sign = g * (first ? 0 : prev[i])
            let factor: Float = sign > 0 ? etaPlus : (sign < 0 ? etaMinus : 1)
            let st = min(max((first ? initialStep : size[i]) * factor, stepMin), stepMax)
            out.put(size, i, st)
            if sign < 0 { g = 0 }  // after a sign change, skip this update
            if g > 0 { out.put(p, i, p[i] - st) } else if g < 0 { out.put(p, i, p[i] + st) }
            out.put(prev, i, g)
            i += 1
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

    var poison8 = SIMD8<UInt32>()

    @inline(__always)
    mutating func put(_ dst: UnsafeMutablePointer<Float>, _ i: Int, _ v: Float) {
        // Bit 31 of (bits & exponent mask) + one exponent step is set exactly when
        // the exponent is all ones: Inf or NaN.
        if commit { dst[i] = v } else { poison |= (v.bitPattern & 0x7f80_0000) &+ 0x0080_0000 }
    }

    /// put for dst[i ..< i + 8].
    @inline(__always)
    mutating func put8(_ dst: UnsafeMutablePointer<Float>, _ i: Int, _ v: SIMD8<Float>) {
        if commit {
            store8(v, dst + i)
        } else {
            poison8 |= (unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7f80_0000) &+ 0x0080_0000
        }
    }

    /// put8 for the lanes of `mask` alone (the others are neither written nor checked).
    @inline(__always)
    mutating func put8(_ dst: UnsafeMutablePointer<Float>, _ i: Int, _ v: SIMD8<Float>,
                       where mask: SIMDMask<SIMD8<Int32>>) {
        if commit {
            var w = load8(dst + i)
            w.replace(with: v, where: mask)
            store8(w, dst + i)
        } else {
            var bits = (unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7f80_0000) &+ 0x0080_0000
            bits.replace(with: 0, where: .!mask)
            poison8 |= bits
        }
    }

    var finite: Bool {
        var all = poison
        for l in 0..<8 { all |= poison8[l] }
        return all & 0x8000_0000 == 0
    }
}
