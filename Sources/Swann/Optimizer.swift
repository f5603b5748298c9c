import CSupport

/// The optimizers of the contract.
enum OptimizerKind: Int32 {
    case sgd

    static func named(_ s: UnsafePointer<CChar>) -> OptimizerKind? {
        if strcmp(s, "sgd") == 0 { return .sgd }
        return nil
    }

    var name: StaticString {
        switch self {
        case .sgd: return "sgd"
        }
    }

    /// The name of state slot `i` in model files (PyTorch's state_dict names).
    func slotName(_ i: Int) -> StaticString {
        switch self {
        case .sgd: return "momentum_buffer"
        }
    }

    /// How many parameter-sized state buffers (slots) the optimizer keeps.
    func slotCount(_ c: OptimizerConfig) -> Int {
        switch self {
        case .sgd: return c.momentum != 0 ? 1 : 0
        }
    }
}

/// A hyper-parameter's value, for writing the canonical spec.
enum HyperValue {
    case number(Double)
    case flag(Bool)
}

/// The optimizer of a net and its hyper-parameters, with PyTorch's defaults.
/// Plain data: it is stored in the arena's header.
struct OptimizerConfig {
    var kind: OptimizerKind = .sgd
    var lr: Double = 0.01
    // sgd
    var momentum: Double = 0
    var dampening: Double = 0
    var nesterov: Bool = false
    var weightDecay: Double = 0

    /// Calls `body` with each hyper-parameter of `kind`, in canonical order.
    func forEachHyperParameter(_ body: (StaticString, HyperValue) -> Void) {
        body("lr", .number(lr))
        switch kind {
        case .sgd:
            body("momentum", .number(momentum))
            body("dampening", .number(dampening))
            body("nesterov", .flag(nesterov))
            body("weight_decay", .number(weightDecay))
        }
    }
}

func parseOptimizer(_ value: OpaquePointer?) throws(SwannError) -> OptimizerConfig {
    guard json_object_get_type(value) == json_type_object else {
        Failure("spec: \"optimizer\" must be an object")
        throw SwannError(status: .spec)
    }
    var c = OptimizerConfig()
    let r = JSONReader(owner: "optimizer", index: -1)
    // The type decides which keys are valid, so read it first.
    var typeValue: OpaquePointer? = nil
    guard json_object_object_get_ex(value, "type", &typeValue) != 0 else {
        Failure("spec: optimizer.\"type\" is required")
        throw SwannError(status: .spec)
    }
    let typeName = try r.string(typeValue, "type")
    guard let kind = OptimizerKind.named(typeName) else {
        throw r.unknownValue("type", typeName, "sgd")
    }
    c.kind = kind
    try forEachMember(value) { (key, v) throws(SwannError) in
        if isKey(key, "type") { return }
        if isKey(key, "lr") {
            c.lr = try r.number(v, key, min: 0, max: 1e6)
            return
        }
        switch kind {
        case .sgd:
            if isKey(key, "momentum") {
                c.momentum = try r.number(v, key, min: 0, max: 1)
            } else if isKey(key, "dampening") {
                c.dampening = try r.number(v, key, min: 0, max: 1)
            } else if isKey(key, "nesterov") {
                c.nesterov = try r.boolean(v, key)
            } else if isKey(key, "weight_decay") {
                c.weightDecay = try r.number(v, key, min: 0, max: 1e6)
            } else {
                throw r.fail(key, "is not a key of sgd (lr, momentum, dampening, nesterov, weight_decay)")
            }
        }
    }
    if c.kind == .sgd && c.nesterov && (c.momentum <= 0 || c.dampening != 0) {
        Failure("spec: optimizer \"nesterov\" needs momentum > 0 and dampening 0")
        throw SwannError(status: .spec)
    }
    return c
}

// MARK: - Updates

/// Applies one optimizer step to `count` parameters: `grad` holds the gradient
/// summed over `t` rows, so the update uses `grad / t` (the lecture's `(1/T) grad Err`).
/// `slots` points at the optimizer's state buffers, `count` floats each, back to back.
/// `stepIndex` is the number of steps taken before this one.
func optimizerStep(_ c: OptimizerConfig, params: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
                   slots: UnsafeMutablePointer<Float>, count: Int, t: Int, stepIndex: Int) {
    let scale = 1 / Float(t)
    let lr = Float(c.lr)
    switch c.kind {
    case .sgd:
        let wd = Float(c.weightDecay)
        let mu = Float(c.momentum)
        let damp = 1 - Float(c.dampening)
        if mu == 0 {
            for i in 0..<count {
                var g = grad[i] * scale
                if wd != 0 { g += wd * params[i] }
                params[i] -= lr * g
            }
        } else {
            let buf = slots
            let first = stepIndex == 0
            for i in 0..<count {
                var g = grad[i] * scale
                if wd != 0 { g += wd * params[i] }
                // PyTorch: the momentum buffer starts as the first gradient itself.
                let b = first ? g : mu * buf[i] + damp * g
                buf[i] = b
                let d = c.nesterov ? g + mu * b : b
                params[i] -= lr * d
            }
        }
    }
}
