import CSupport

/// The optimizers of the contract, with torch.optim's semantics and defaults.
enum OptimizerKind: Int32 {
    case sgd, adam, adamw, rmsprop, rprop

    static func named(_ s: UnsafePointer<CChar>) -> OptimizerKind? {
        if strcmp(s, "sgd") == 0 { return .sgd }
        if strcmp(s, "adam") == 0 { return .adam }
        if strcmp(s, "adamw") == 0 { return .adamw }
        if strcmp(s, "rmsprop") == 0 { return .rmsprop }
        if strcmp(s, "rprop") == 0 { return .rprop }
        return nil
    }

    var name: StaticString {
        switch self {
        case .sgd: return "sgd"
        case .adam: return "adam"
        case .adamw: return "adamw"
        case .rmsprop: return "rmsprop"
        case .rprop: return "rprop"
        }
    }
}

/// Learning-rate schedules, as a function of the number of steps taken.
enum ScheduleKind: Int32 {
    case constant, step, cosine

    static func named(_ s: UnsafePointer<CChar>) -> ScheduleKind? {
        if strcmp(s, "constant") == 0 { return .constant }
        if strcmp(s, "step") == 0 { return .step }
        if strcmp(s, "cosine") == 0 { return .cosine }
        return nil
    }

    var name: StaticString {
        switch self {
        case .constant: return "constant"
        case .step: return "step"
        case .cosine: return "cosine"
        }
    }
}

/// A hyper-parameter's value, for writing the canonical spec.
enum HyperValue {
    case number(Double)
    case integer(Int)
    case flag(Bool)
}

/// The optimizer of a net and its hyper-parameters, with PyTorch's defaults.
/// Plain data: it is stored in the arena's header.
struct OptimizerConfig {
    var kind: OptimizerKind = .sgd
    var lr: Double = 0.01
    var weightDecay: Double = 0
    // sgd
    var momentum: Double = 0
    var dampening: Double = 0
    var nesterov: Bool = false
    // adam, adamw
    var beta1: Double = 0.9
    var beta2: Double = 0.999
    var eps: Double = 1e-8
    var amsgrad: Bool = false
    // rmsprop (also momentum, eps)
    var alpha: Double = 0.99
    var centered: Bool = false
    // rprop
    var etaMinus: Double = 0.5
    var etaPlus: Double = 1.2
    var stepMin: Double = 1e-6
    var stepMax: Double = 50
    // training controls, for every optimizer
    var clipNorm: Double = 0          // 0: no clipping
    var schedule: ScheduleKind = .constant
    var stepSize: Int = 1             // step: lr * gamma^(t / step_size)
    var gamma: Double = 0.1
    var tMax: Int = 1                 // cosine: over t_max steps down to eta_min
    var etaMin: Double = 0
    var warmupSteps: Int = 0          // linear warm-up, as torch's LinearLR
    var warmupStartFactor: Double = 1.0 / 3.0

    /// PyTorch's defaults for each optimizer.
    init(kind: OptimizerKind = .sgd) {
        self.kind = kind
        switch kind {
        case .sgd: lr = 0.01
        case .adam: lr = 1e-3
        case .adamw: lr = 1e-3; weightDecay = 1e-2
        case .rmsprop: lr = 1e-2; eps = 1e-8
        case .rprop: lr = 1e-2
        }
    }

    /// How many parameter-sized state buffers (slots) the optimizer keeps.
    var slotCount: Int {
        switch kind {
        case .sgd: return momentum != 0 ? 1 : 0
        case .adam, .adamw: return amsgrad ? 3 : 2
        case .rmsprop: return 1 + (momentum != 0 ? 1 : 0) + (centered ? 1 : 0)
        case .rprop: return 2
        }
    }

    /// The name of state slot `i` in model files (PyTorch's state_dict names).
    func slotName(_ i: Int) -> StaticString {
        switch kind {
        case .sgd: return "momentum_buffer"
        case .adam, .adamw: return i == 0 ? "exp_avg" : (i == 1 ? "exp_avg_sq" : "max_exp_avg_sq")
        case .rmsprop:
            if i == 0 { return "square_avg" }
            if i == 1 && momentum != 0 { return "momentum_buffer" }
            return "grad_avg"
        case .rprop: return i == 0 ? "prev" : "step_size"
        }
    }

    /// Calls `body` with each hyper-parameter of `kind`, in canonical order.
    func forEachHyperParameter(_ body: (StaticString, HyperValue) -> Void) {
        body("lr", .number(lr))
        switch kind {
        case .sgd:
            body("momentum", .number(momentum))
            body("dampening", .number(dampening))
            body("nesterov", .flag(nesterov))
            body("weight_decay", .number(weightDecay))
        case .adam, .adamw:
            body("beta1", .number(beta1))
            body("beta2", .number(beta2))
            body("eps", .number(eps))
            body("weight_decay", .number(weightDecay))
            body("amsgrad", .flag(amsgrad))
        case .rmsprop:
            body("alpha", .number(alpha))
            body("eps", .number(eps))
            body("weight_decay", .number(weightDecay))
            body("momentum", .number(momentum))
            body("centered", .flag(centered))
        case .rprop:
            body("eta_minus", .number(etaMinus))
            body("eta_plus", .number(etaPlus))
            body("step_min", .number(stepMin))
            body("step_max", .number(stepMax))
        }
        if clipNorm > 0 { body("clip_norm", .number(clipNorm)) }
    }

    /// The schedule's own keys, in canonical order (written as the "schedule" object).
    func forEachScheduleParameter(_ body: (StaticString, HyperValue) -> Void) {
        switch schedule {
        case .constant: break
        case .step:
            body("step_size", .integer(stepSize))
            body("gamma", .number(gamma))
        case .cosine:
            body("t_max", .integer(tMax))
            body("eta_min", .number(etaMin))
        }
        if warmupSteps > 0 {
            body("warmup_steps", .integer(warmupSteps))
            body("warmup_start_factor", .number(warmupStartFactor))
        }
    }

    /// True when the canonical spec needs a "schedule" object.
    var hasSchedule: Bool { schedule != .constant || warmupSteps > 0 }

    /// The learning rate of the step that follows `t` steps: the base rate under the
    /// schedule, times the warm-up factor (torch's StepLR, CosineAnnealingLR and
    /// LinearLR in closed form, stepped once per optimizer step). A base rate of 0
    /// stays 0 under every schedule. Never NaN: a step schedule with gamma > 1
    /// grows towards +Inf, which `Net.step` refuses once float cannot hold it.
    func learningRate(afterSteps t: Int) -> Double {
        guard lr != 0 else { return 0 }
        var r = lr
        switch schedule {
        case .constant: break
        case .step:
            var e = t / stepSize
            var f = 1.0
            var g = gamma
            while e > 0 {  // gamma^e by squaring: exact and libm-free
                if e & 1 == 1 { f *= g }
                g *= g
                e >>= 1
            }
            r = lr * f
        case .cosine:
            let c = Double(min(t, tMax)) / Double(tMax)
            r = etaMin + (lr - etaMin) * (1 + cos(Double.pi * c)) / 2
        }
        if warmupSteps > 0 {
            let w = Double(min(t, warmupSteps)) / Double(warmupSteps)
            r *= warmupStartFactor + (1 - warmupStartFactor) * w
        }
        return r
    }
}

func parseOptimizer(_ value: JSONValue) throws(SwannError) -> OptimizerConfig {
    guard value.kind == .object else {
        Failure("spec: \"optimizer\" must be an object")
        throw SwannError(status: .spec)
    }
    let r = JSONReader(owner: "optimizer", index: -1)
    // The type decides which keys are valid, so read it first.
    guard let typeValue = value.member("type") else {
        Failure("spec: optimizer.\"type\" is required")
        throw SwannError(status: .spec)
    }
    let typeName = try r.string(typeValue, "type")
    guard let kind = OptimizerKind.named(typeName) else {
        throw r.unknownValue("type", typeName, "sgd, adam, adamw, rmsprop, rprop")
    }
    var c = OptimizerConfig(kind: kind)
    try value.forEachMember { (key, v) throws(SwannError) in
        if isKey(key, "type") { return }
        if isKey(key, "lr") { c.lr = try r.number(v, key, min: 0, max: 1e6); return }
        if isKey(key, "clip_norm") { c.clipNorm = try r.number(v, key, min: 0, max: 1e30); return }
        if isKey(key, "schedule") { try parseSchedule(v, &c); return }
        switch kind {
        case .sgd:
            if isKey(key, "momentum") { c.momentum = try r.number(v, key, min: 0, max: 1, normalFloat: true) }
            else if isKey(key, "dampening") { c.dampening = try r.number(v, key, min: 0, max: 1) }
            else if isKey(key, "nesterov") { c.nesterov = try r.boolean(v, key) }
            else if isKey(key, "weight_decay") { c.weightDecay = try r.number(v, key, min: 0, max: 1e6) }
            else {
                throw r.fail(key, "is not a key of sgd (lr, momentum, dampening, nesterov, weight_decay, clip_norm, schedule)")
            }
        case .adam, .adamw:
            if isKey(key, "beta1") { c.beta1 = try r.number(v, key, min: 0, max: 1, openMax: true) }
            else if isKey(key, "beta2") { c.beta2 = try r.number(v, key, min: 0, max: 1, openMax: true) }
            else if isKey(key, "eps") { c.eps = try r.number(v, key, min: 0, max: 1, openMin: true, normalFloat: true) }
            else if isKey(key, "weight_decay") { c.weightDecay = try r.number(v, key, min: 0, max: 1e6) }
            else if isKey(key, "amsgrad") { c.amsgrad = try r.boolean(v, key) }
            else {
                throw r.fail(key, "is not a key of adam/adamw (lr, beta1, beta2, eps, weight_decay, amsgrad, clip_norm, schedule)")
            }
        case .rmsprop:
            if isKey(key, "alpha") { c.alpha = try r.number(v, key, min: 0, max: 1) }
            else if isKey(key, "eps") { c.eps = try r.number(v, key, min: 0, max: 1, openMin: true, normalFloat: true) }
            else if isKey(key, "weight_decay") { c.weightDecay = try r.number(v, key, min: 0, max: 1e6) }
            else if isKey(key, "momentum") { c.momentum = try r.number(v, key, min: 0, max: 1, normalFloat: true) }
            else if isKey(key, "centered") { c.centered = try r.boolean(v, key) }
            else {
                throw r.fail(key, "is not a key of rmsprop (lr, alpha, eps, weight_decay, momentum, centered, clip_norm, schedule)")
            }
        case .rprop:
            if isKey(key, "eta_minus") {
                c.etaMinus = try r.number(v, key, min: 0, max: 1, openMin: true, openMax: true, normalFloat: true)
            }
            else if isKey(key, "eta_plus") { c.etaPlus = try r.number(v, key, min: 1, max: 1e3, openMin: true) }
            else if isKey(key, "step_min") { c.stepMin = try r.number(v, key, min: 0, max: 1e6) }
            else if isKey(key, "step_max") {
                c.stepMax = try r.number(v, key, min: 0, max: 1e6, openMin: true, normalFloat: true)
            }
            else {
                throw r.fail(key, "is not a key of rprop (lr, eta_minus, eta_plus, step_min, step_max, clip_norm, schedule)")
            }
        }
    }
    if c.kind == .sgd && c.nesterov && (c.momentum <= 0 || c.dampening != 0) {
        Failure("spec: optimizer \"nesterov\" needs momentum > 0 and dampening 0")
        throw SwannError(status: .spec)
    }
    if c.kind == .rprop && c.stepMin > c.stepMax {
        Failure("spec: optimizer \"step_min\" is above \"step_max\"")
        throw SwannError(status: .spec)
    }
    return c
}

private func parseSchedule(_ value: JSONValue, _ c: inout OptimizerConfig) throws(SwannError) {
    guard value.kind == .object else {
        Failure("spec: optimizer.\"schedule\" must be an object")
        throw SwannError(status: .spec)
    }
    let r = JSONReader(owner: "optimizer.schedule", index: -1)
    guard let typeValue = value.member("type") else {
        Failure("spec: optimizer.schedule.\"type\" is required")
        throw SwannError(status: .spec)
    }
    let typeName = try r.string(typeValue, "type")
    guard let kind = ScheduleKind.named(typeName) else {
        throw r.unknownValue("type", typeName, "constant, step, cosine")
    }
    c.schedule = kind
    let maxSteps = Int64(1) << 40
    try value.forEachMember { (key, v) throws(SwannError) in
        if isKey(key, "type") { return }
        if isKey(key, "warmup_steps") { c.warmupSteps = Int(try r.integer(v, key, min: 0, max: maxSteps)); return }
        if isKey(key, "warmup_start_factor") {
            c.warmupStartFactor = try r.number(v, key, min: 0, max: 1)
            return
        }
        switch kind {
        case .constant:
            throw r.fail(key, "is not a key of the constant schedule (type, warmup_steps, warmup_start_factor)")
        case .step:
            if isKey(key, "step_size") { c.stepSize = Int(try r.integer(v, key, min: 1, max: maxSteps)) }
            else if isKey(key, "gamma") { c.gamma = try r.number(v, key, min: 0, max: 1e6) }
            else { throw r.fail(key, "is not a key of the step schedule (type, step_size, gamma, warmup_steps, warmup_start_factor)") }
        case .cosine:
            if isKey(key, "t_max") { c.tMax = Int(try r.integer(v, key, min: 1, max: maxSteps)) }
            else if isKey(key, "eta_min") { c.etaMin = try r.number(v, key, min: 0, max: 1e6) }
            else { throw r.fail(key, "is not a key of the cosine schedule (type, t_max, eta_min, warmup_steps, warmup_start_factor)") }
        }
    }
}

// MARK: - Updates

/// How a step splits the parameters: chunks of whole blocks, at most `maxChunks`
/// of them, sized from the parameter count alone. The pool runs the chunks on
/// any thread, but the gradient norm is summed chunk by chunk and the partial
/// sums added in chunk order, so a step gives the same bits whatever the
/// thread count.
enum StepChunks {
    /// Floats updated together while they sit in L1 (16 KB of each buffer).
    static let block = 4096
    static let maxChunks = 64
    /// At least 32 K floats per chunk: below that, handing chunks to workers
    /// costs more than the update.
    static let minChunk = 8 * block

    /// (floats per chunk, chunk count) for `n` parameters.
    static func of(_ n: Int) -> (size: Int, count: Int) {
        let spread = (n + maxChunks - 1) / maxChunks
        let size = max(minChunk, (spread + block - 1) / block * block)
        return (size, max(1, (n + size - 1) / size))
    }
}

/// Sum over i < n of Double(g[i] * scale)^2, in a fixed order (16 lanes, then
/// the lanes added in index order, then the tail).
func sumOfSquares(_ g: UnsafePointer<Float>, _ n: Int, scale: Float) -> Double {
    var s0 = SIMD4<Double>(), s1 = SIMD4<Double>(), s2 = SIMD4<Double>(), s3 = SIMD4<Double>()
    @inline(__always) func wide(_ p: UnsafePointer<Float>) -> SIMD4<Double> {
        SIMD4<Double>(Double(p[0] * scale), Double(p[1] * scale), Double(p[2] * scale), Double(p[3] * scale))
    }
    var i = 0
    while i + 16 <= n {
        let a = wide(g + i), b = wide(g + i + 4), c = wide(g + i + 8), d = wide(g + i + 12)
        s0 = s0.addingProduct(a, a)
        s1 = s1.addingProduct(b, b)
        s2 = s2.addingProduct(c, c)
        s3 = s3.addingProduct(d, d)
        i += 16
    }
    var sum = ((s0 + s1) + (s2 + s3)).sum()
    while i < n { let x = Double(g[i] * scale); sum += x * x; i += 1 }
    return sum
}

/// The factor applied to the summed gradient: 1 / t, times the clipping
/// coefficient when `clip_norm` is set and the averaged gradient's norm (from
/// `sumSquares`, the sum of its squares) exceeds it.
func clippedScale(_ c: OptimizerConfig, t: Int, sumSquares: Double) -> Float {
    var scale = 1 / Float(t)
    if c.clipNorm > 0 {
        // torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6), at most 1.
        let coefficient = c.clipNorm / (sumSquares.squareRoot() + 1e-6)
        if coefficient < 1 { scale *= Float(coefficient) }
    }
    return scale
}

/// Applies one optimizer step to `count` parameters, following torch.optim's
/// single-tensor algorithms. `grad` holds the gradient summed over `t` rows; the
/// update uses `grad / t` (the lecture's `(1/T) grad Err`), scaled down further
/// when `clip_norm` is set and the averaged gradient's global norm exceeds it.
/// `slots` holds the optimizer's state buffers, `count` floats each, back to back.
/// `stepIndex` is the number of steps taken before this one.
///
/// With `commit` false nothing is written: the result says whether every new
/// parameter and state value would be finite. With `commit` true the update is
/// written (and the result is true). One thread; `Net.step` runs the same
/// chunks on the pool.
func optimizerStep(_ c: OptimizerConfig, params p: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
                   slots: UnsafeMutablePointer<Float>, count n: Int, t: Int, stepIndex: Int,
                   commit: Bool) -> Bool {
    let chunks = StepChunks.of(n)
    var sum = 0.0
    if c.clipNorm > 0 {
        for k in 0..<chunks.count {
            let lo = k * chunks.size
            sum += sumOfSquares(grad + lo, min(chunks.size, n - lo), scale: 1 / Float(t))
        }
    }
    let scale = clippedScale(c, t: t, sumSquares: sum)
    var ok = true
    for k in 0..<chunks.count {
        let lo = k * chunks.size
        let r = optimizerChunk(c, params: p, grad: UnsafeMutablePointer(mutating: grad), slots: slots, stride: n,
                               from: lo, to: min(n, lo + chunks.size), scale: scale, stepIndex: stepIndex,
                               commit: commit, zeroGrad: false, checkGrad: false)
        ok = ok && r.update
    }
    return ok
}

/// The update of parameters lo ..< hi (state slot k of parameter i at
/// `slots[k * stride + i]`), block by block. Without `commit` nothing is
/// written and `update` says whether every new value would be finite; with it
/// the values are written and, with `zeroGrad`, each block's gradient is zeroed
/// once used. `checkGrad`: `grad` says whether the gradient is all finite.
func optimizerChunk(_ c: OptimizerConfig, params: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>,
                    slots: UnsafeMutablePointer<Float>, stride: Int, from lo: Int, to hi: Int,
                    scale: Float, stepIndex: Int, commit: Bool, zeroGrad: Bool, checkGrad: Bool)
    -> (update: Bool, grad: Bool) {
    var updateOK = true, gradOK = true
    let k = UpdateConstants(c, stepIndex: stepIndex)
    var b = lo
    while b < hi {
        let e = min(hi, b + StepChunks.block)
        if checkGrad { gradOK = gradOK && allFinite(grad + b, e - b) }
        if commit {
            _ = updateBlock(c, k, params, grad, slots, stride, b, e, scale, commit: true)
            if zeroGrad { zeroFloats(grad + b, e - b) }
        } else {
            updateOK = updateBlock(c, k, params, grad, slots, stride, b, e, scale, commit: false) && updateOK
        }
        b = e
    }
    return (updateOK, gradOK)
}

/// The per-step scalars of the update (learning rate under the schedule, bias
/// corrections, ...), computed once per chunk.
struct UpdateConstants {
    var lr: Double
    var lrf, wd, mu, damp: Float
    var stepSize, bc2Sqrt, shrink: Float
    var first: Bool  // no step taken yet

    init(_ c: OptimizerConfig, stepIndex: Int) {
        first = stepIndex == 0
        lr = c.learningRate(afterSteps: stepIndex)
        lrf = Float(lr)
        wd = Float(c.weightDecay)
        mu = Float(c.momentum)
        damp = 1 - Float(c.dampening)
        stepSize = 0; bc2Sqrt = 1; shrink = 1
        if c.kind == .adam || c.kind == .adamw {
            let step = Double(stepIndex + 1)
            stepSize = Float(lr / (1 - pow(c.beta1, step)))
            bc2Sqrt = Float((1 - pow(c.beta2, step)).squareRoot())
            shrink = Float(1 - lr * c.weightDecay)
        }
    }
}

/// The update of parameters lo ..< hi. Without `commit`, true when every value
/// it would write is finite (an integer OR of exponent bits, which vectorizes
/// where a float sum would be one serial chain).
@inline(__always)
private func updateBlock(_ c: OptimizerConfig, _ k: UpdateConstants, _ p: UnsafeMutablePointer<Float>,
                         _ grad: UnsafePointer<Float>, _ slots: UnsafeMutablePointer<Float>, _ n: Int,
                         _ lo: Int, _ hi: Int, _ scale: Float, commit: Bool) -> Bool {
    let slot0 = slots, slot1 = slots + n, slot2 = slots + 2 * n
    // Bit 31 of (bits & exponent mask) + one exponent step is set exactly when the
    // exponent is all ones: Inf or NaN.
    var poison: UInt32 = 0
    @inline(__always) func put(_ dst: UnsafeMutablePointer<Float>, _ i: Int, _ v: Float) {
        if commit { dst[i] = v } else { poison |= (v.bitPattern & 0x7f80_0000) &+ 0x0080_0000 }
    }
    let lrf = k.lrf, wd = k.wd
    switch c.kind {
    case .sgd:
        let mu = k.mu
        let damp = k.damp
        if mu == 0 {
            if wd == 0 {
                for i in lo..<hi { put(p, i, p[i] - lrf * (grad[i] * scale)) }
            } else {
                for i in lo..<hi {
                    let g = grad[i] * scale + wd * p[i]
                    put(p, i, p[i] - lrf * g)
                }
            }
        } else {
            let first = k.first
            let nesterov = c.nesterov
            for i in lo..<hi {
                var g = grad[i] * scale
                if wd != 0 { g += wd * p[i] }
                // PyTorch: the momentum buffer starts as the first gradient itself.
                let b = first ? g : mu * slot0[i] + damp * g
                let d = nesterov ? g + mu * b : b
                put(slot0, i, b)
                put(p, i, p[i] - lrf * d)
            }
        }
    case .adam, .adamw:
        let b2 = Float(c.beta2)
        let w1 = Float(1 - c.beta1), w2 = Float(1 - c.beta2)
        let stepSize = k.stepSize
        let bc2Sqrt = k.bc2Sqrt
        let eps = Float(c.eps)
        let decoupled = c.kind == .adamw
        let shrink = k.shrink
        let amsgrad = c.amsgrad
        for i in lo..<hi {
            var g = grad[i] * scale
            var w = p[i]
            if decoupled {
                if wd != 0 { w *= shrink }
            } else if wd != 0 {
                g += wd * w
            }
            let m = slot0[i] + w1 * (g - slot0[i])   // exp_avg.lerp_(grad, 1 - beta1)
            let v = slot1[i] * b2 + w2 * g * g       // exp_avg_sq.mul_(beta2).addcmul_(g, g, 1 - beta2)
            put(slot0, i, m)
            put(slot1, i, v)
            var vhat = v
            if amsgrad {
                vhat = max(slot2[i], v)
                put(slot2, i, vhat)
            }
            let denom = vhat.squareRoot() / bc2Sqrt + eps
            put(p, i, w - stepSize * (m / denom))
        }
    case .rmsprop:
        let a = Float(c.alpha), wa = Float(1 - c.alpha)
        let eps = Float(c.eps)
        let mu = k.mu
        let buf: UnsafeMutablePointer<Float>? = mu != 0 ? slot1 : nil
        let gavg: UnsafeMutablePointer<Float>? = c.centered ? (mu != 0 ? slot2 : slot1) : nil
        for i in lo..<hi {
            var g = grad[i] * scale
            if wd != 0 { g += wd * p[i] }
            let sq = slot0[i] * a + wa * g * g
            put(slot0, i, sq)
            var avg: Float
            if let gavg {
                let ga = gavg[i] + wa * (g - gavg[i])  // grad_avg.lerp_(grad, 1 - alpha)
                put(gavg, i, ga)
                avg = max(sq - ga * ga, 0).squareRoot() + eps  // rounding can take it just below 0
            } else {
                avg = sq.squareRoot() + eps
            }
            if let buf {
                let b = buf[i] * mu + g / avg
                put(buf, i, b)
                put(p, i, p[i] - lrf * b)
            } else {
                put(p, i, p[i] - lrf * (g / avg))
            }
        }
    case .rprop:
        let prev = slot0, size = slot1
        let up = Float(c.etaPlus), down = Float(c.etaMinus)
        let lo2 = Float(c.stepMin), hi2 = Float(c.stepMax)
        // torch: prev starts at zero, every step size at lr.
        let first = k.first
        let initial = Float(c.lr)
        for i in lo..<hi {
            var g = grad[i] * scale
            let s = g * (first ? 0 : prev[i])
            let factor: Float = s > 0 ? up : (s < 0 ? down : 1)
            let st = min(max((first ? initial : size[i]) * factor, lo2), hi2)
            put(size, i, st)
            if s < 0 { g = 0 }  // after a sign change, skip this update
            if g > 0 { put(p, i, p[i] - st) } else if g < 0 { put(p, i, p[i] + st) }
            put(prev, i, g)
        }
    }
    return poison & 0x8000_0000 == 0
}
