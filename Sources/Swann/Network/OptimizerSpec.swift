import CSupport

/// The spec's names of the optimizers (`Kernels/UpdateRules.swift`).
extension OptimizerKind {
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
        throw Failure("spec: \"optimizer\" must be an object").error(.spec)
    }
    let r = JSONReader(owner: "optimizer", index: -1)
    // The type decides which keys are valid, so read it first.
    guard let typeValue = value.member("type") else {
        throw Failure("spec: optimizer.\"type\" is required").error(.spec)
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
        throw Failure("spec: optimizer \"nesterov\" needs momentum > 0 and dampening 0").error(.spec)
    }
    if c.kind == .rprop && c.stepMin > c.stepMax {
        throw Failure("spec: optimizer \"step_min\" is above \"step_max\"").error(.spec)
    }
    return c
}

private func parseSchedule(_ value: JSONValue, _ c: inout OptimizerConfig) throws(SwannError) {
    guard value.kind == .object else {
        throw Failure("spec: optimizer.\"schedule\" must be an object").error(.spec)
    }
    let r = JSONReader(owner: "optimizer.schedule", index: -1)
    guard let typeValue = value.member("type") else {
        throw Failure("spec: optimizer.schedule.\"type\" is required").error(.spec)
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
