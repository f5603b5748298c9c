import CSupport

// The optimizer's and the schedule's keys as data: each key's name, how its value is
// checked, its field, and each optimizer's and schedule's list of keys in canonical
// order. The reader (OptimizerSpec.swift), the canonical writer and the "is not a key
// of ..." messages walk these lists: one call site per kind of value instead of one per
// key, which on a Cortex-M was 4 KB of code in every firmware that reads a model.

/// A hyper-parameter of the spec's "optimizer" or of its "schedule".
enum Hyper: UInt8 {
    case end = 0  // ends a HyperList
    case lr, clipNorm, momentum, dampening, nesterov, weightDecay, beta1, beta2, eps, amsgrad,
         alpha, centered, etaMinus, etaPlus, stepMin, stepMax,
         stepSize, gamma, tMax, etaMin, warmupSteps, warmupStartFactor

    var name: StaticString {
        switch self {
        case .end: return ""
        case .lr: return "lr"
        case .clipNorm: return "clip_norm"
        case .momentum: return "momentum"
        case .dampening: return "dampening"
        case .nesterov: return "nesterov"
        case .weightDecay: return "weight_decay"
        case .beta1: return "beta1"
        case .beta2: return "beta2"
        case .eps: return "eps"
        case .amsgrad: return "amsgrad"
        case .alpha: return "alpha"
        case .centered: return "centered"
        case .etaMinus: return "eta_minus"
        case .etaPlus: return "eta_plus"
        case .stepMin: return "step_min"
        case .stepMax: return "step_max"
        case .stepSize: return "step_size"
        case .gamma: return "gamma"
        case .tMax: return "t_max"
        case .etaMin: return "eta_min"
        case .warmupSteps: return "warmup_steps"
        case .warmupStartFactor: return "warmup_start_factor"
        }
    }

    /// How a value is checked (JSONReader.number's range and flags; integers within
    /// min...max; flags true or false).
    struct Rule {
        enum Kind { case number, integer, flag }
        var kind: Kind = .number
        var min: Double = 0
        var max: Double = 1
        var openMin = false
        var openMax = false
        var normalFloat = false
    }

    /// Steps a schedule counts up to.
    static let maxSteps = Double(Int64(1) << 40)

    var rule: Rule {
        switch self {
        case .end, .dampening, .alpha, .warmupStartFactor: return Rule()
        case .lr, .weightDecay, .stepMin, .gamma, .etaMin: return Rule(max: 1e6)
        case .clipNorm: return Rule(max: 1e30)
        case .momentum: return Rule(normalFloat: true)
        case .nesterov, .amsgrad, .centered: return Rule(kind: .flag)
        case .beta1, .beta2: return Rule(openMax: true)
        case .eps: return Rule(openMin: true, normalFloat: true)
        case .etaMinus: return Rule(openMin: true, openMax: true, normalFloat: true)
        case .etaPlus: return Rule(min: 1, max: 1e3, openMin: true)
        case .stepMax: return Rule(max: 1e6, openMin: true, normalFloat: true)
        case .stepSize, .tMax: return Rule(kind: .integer, min: 1, max: Hyper.maxSteps)
        case .warmupSteps: return Rule(kind: .integer, max: Hyper.maxSteps)
        }
    }

    /// The value in `v`, checked by this key's rule.
    func read(_ r: JSONReader, _ v: JSONValue, _ key: UnsafePointer<CChar>) throws(SwannError) -> HyperValue {
        let k = rule
        switch k.kind {
        case .flag: return .flag(try r.boolean(v, key))
        case .integer: return .integer(Int(try r.integer(v, key, min: Int64(k.min), max: Int64(k.max))))
        case .number:
            return .number(try r.number(v, key, min: k.min, max: k.max, openMin: k.openMin, openMax: k.openMax,
                                        normalFloat: k.normalFloat))
        }
    }
}

/// Up to seven keys in order, five bits each (the first in the low bits), `.end` after
/// the last: a list with no array behind it.
struct HyperList {
    let bits: UInt64

    init(_ k: (Hyper, Hyper, Hyper, Hyper, Hyper, Hyper, Hyper)) {
        bits = UInt64(k.0.rawValue) | UInt64(k.1.rawValue) << 5 | UInt64(k.2.rawValue) << 10
            | UInt64(k.3.rawValue) << 15 | UInt64(k.4.rawValue) << 20 | UInt64(k.5.rawValue) << 25
            | UInt64(k.6.rawValue) << 30
    }

    func at(_ i: Int) -> Hyper {
        i < 7 ? Hyper(rawValue: UInt8(truncatingIfNeeded: bits >> UInt64(5 * i)) & 31) ?? .end : .end
    }

    /// The key named `key`, if the list has it.
    func named(_ key: UnsafePointer<CChar>) -> Hyper? {
        var i = 0
        while at(i) != .end {
            if isKey(key, at(i).name) { return at(i) }
            i += 1
        }
        return nil
    }

    /// `f` with the names, ", " between them.
    func names(_ f: Failure) -> Failure {
        var f = f
        var i = 0
        while at(i) != .end {
            if i > 0 { f = f.text(", ") }
            f = f.text(at(i).name)
            i += 1
        }
        return f
    }
}

extension OptimizerKind {
    /// The optimizer's keys in canonical order (the spec's "type" and "schedule" aside).
    var keys: HyperList {
        switch self {
        case .sgd: return HyperList((.lr, .momentum, .dampening, .nesterov, .weightDecay, .clipNorm, .end))
        case .adam, .adamw: return HyperList((.lr, .beta1, .beta2, .eps, .weightDecay, .amsgrad, .clipNorm))
        case .rmsprop: return HyperList((.lr, .alpha, .eps, .weightDecay, .momentum, .centered, .clipNorm))
        case .rprop: return HyperList((.lr, .etaMinus, .etaPlus, .stepMin, .stepMax, .clipNorm, .end))
        }
    }

    /// The name messages give it ("adam/adamw": the two share their keys).
    var keysLabel: StaticString { self == .adam || self == .adamw ? "adam/adamw" : name }
}

extension ScheduleKind {
    /// The schedule's keys in canonical order (its "type" aside).
    var keys: HyperList {
        switch self {
        case .constant: return HyperList((.warmupSteps, .warmupStartFactor, .end, .end, .end, .end, .end))
        case .step: return HyperList((.stepSize, .gamma, .warmupSteps, .warmupStartFactor, .end, .end, .end))
        case .cosine: return HyperList((.tMax, .etaMin, .warmupSteps, .warmupStartFactor, .end, .end, .end))
        }
    }
}

extension OptimizerConfig {
    func value(_ h: Hyper) -> HyperValue {
        switch h {
        case .end, .lr: return .number(lr)
        case .clipNorm: return .number(clipNorm)
        case .momentum: return .number(momentum)
        case .dampening: return .number(dampening)
        case .nesterov: return .flag(nesterov)
        case .weightDecay: return .number(weightDecay)
        case .beta1: return .number(beta1)
        case .beta2: return .number(beta2)
        case .eps: return .number(eps)
        case .amsgrad: return .flag(amsgrad)
        case .alpha: return .number(alpha)
        case .centered: return .flag(centered)
        case .etaMinus: return .number(etaMinus)
        case .etaPlus: return .number(etaPlus)
        case .stepMin: return .number(stepMin)
        case .stepMax: return .number(stepMax)
        case .stepSize: return .integer(stepSize)
        case .gamma: return .number(gamma)
        case .tMax: return .integer(tMax)
        case .etaMin: return .number(etaMin)
        case .warmupSteps: return .integer(warmupSteps)
        case .warmupStartFactor: return .number(warmupStartFactor)
        }
    }

    /// Sets key `h` to `v` (a value `h.read` gave: its kind is the key's).
    mutating func set(_ h: Hyper, _ v: HyperValue) {
        var x = 0.0, n = 0, b = false
        switch v {
        case .number(let d): x = d
        case .integer(let i): n = i
        case .flag(let f): b = f
        }
        switch h {
        case .end: break
        case .lr: lr = x
        case .clipNorm: clipNorm = x
        case .momentum: momentum = x
        case .dampening: dampening = x
        case .nesterov: nesterov = b
        case .weightDecay: weightDecay = x
        case .beta1: beta1 = x
        case .beta2: beta2 = x
        case .eps: eps = x
        case .amsgrad: amsgrad = b
        case .alpha: alpha = x
        case .centered: centered = b
        case .etaMinus: etaMinus = x
        case .etaPlus: etaPlus = x
        case .stepMin: stepMin = x
        case .stepMax: stepMax = x
        case .stepSize: stepSize = n
        case .gamma: gamma = x
        case .tMax: tMax = n
        case .etaMin: etaMin = x
        case .warmupSteps: warmupSteps = n
        case .warmupStartFactor: warmupStartFactor = x
        }
    }
}
