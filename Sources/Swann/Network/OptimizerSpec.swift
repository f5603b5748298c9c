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

    /// Whether the canonical spec writes key `h` of its optimizer's or schedule's list
    /// (OptimizerKeys.swift): "clip_norm" only when it clips, the warm-up's keys only
    /// when it warms up, every other key always.
    func writes(_ h: Hyper) -> Bool {
        switch h {
        case .clipNorm: return clipNorm > 0
        case .warmupSteps, .warmupStartFactor: return warmupSteps > 0
        default: return true
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
    let keys = kind.keys
    try value.forEachMember { (key, v) throws(SwannError) in
        if isKey(key, "type") { return }
        if isKey(key, "schedule") { try parseSchedule(v, &c); return }
        guard let h = keys.named(key) else {
            throw keys.names(r.begin(key).text(" is not a key of ").text(kind.keysLabel).text(" ("))
                .text(", schedule)").error(.spec)
        }
        c.set(h, try h.read(r, v, key))
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
    let keys = kind.keys
    try value.forEachMember { (key, v) throws(SwannError) in
        if isKey(key, "type") { return }
        guard let h = keys.named(key) else {
            throw keys.names(r.begin(key).text(" is not a key of the ").text(kind.name).text(" schedule (type, "))
                .text(")").error(.spec)
        }
        c.set(h, try h.read(r, v, key))
    }
}
