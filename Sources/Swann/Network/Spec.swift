import CSupport

/// Activation functions `f_k` of a layer. All but `softmax` act on each unit
/// alone (diagonal Jacobian); `softmax` acts on the whole layer (full Jacobian).
enum Activation: Int32 {
    case identity, sigmoid, tanh, relu, leakyRelu, elu, softplus, gelu, softmax

    static func named(_ s: UnsafePointer<CChar>) -> Activation? {
        if strcmp(s, "identity") == 0 { return .identity }
        if strcmp(s, "sigmoid") == 0 { return .sigmoid }
        if strcmp(s, "tanh") == 0 { return .tanh }
        if strcmp(s, "relu") == 0 { return .relu }
        if strcmp(s, "leaky_relu") == 0 { return .leakyRelu }
        if strcmp(s, "elu") == 0 { return .elu }
        if strcmp(s, "softplus") == 0 { return .softplus }
        if strcmp(s, "gelu") == 0 { return .gelu }
        if strcmp(s, "softmax") == 0 { return .softmax }
        return nil
    }

    var name: StaticString {
        switch self {
        case .identity: return "identity"
        case .sigmoid: return "sigmoid"
        case .tanh: return "tanh"
        case .relu: return "relu"
        case .leakyRelu: return "leaky_relu"
        case .elu: return "elu"
        case .softplus: return "softplus"
        case .gelu: return "gelu"
        case .softmax: return "softmax"
        }
    }

    /// `alpha` is a parameter of these two only; its default.
    var defaultAlpha: Double? {
        switch self {
        case .leakyRelu: return 0.01
        case .elu: return 1.0
        default: return nil
        }
    }
}

/// The divergence `Div(Y, d)` per sample.
enum Loss: Int32 {
    case mse, crossEntropy, binaryCrossEntropy, none

    static func named(_ s: UnsafePointer<CChar>) -> Loss? {
        if strcmp(s, "mse") == 0 { return .mse }
        if strcmp(s, "cross_entropy") == 0 { return .crossEntropy }
        if strcmp(s, "binary_cross_entropy") == 0 { return .binaryCrossEntropy }
        if strcmp(s, "none") == 0 { return Loss.none }
        return nil
    }

    var name: StaticString {
        switch self {
        case .mse: return "mse"
        case .crossEntropy: return "cross_entropy"
        case .binaryCrossEntropy: return "binary_cross_entropy"
        case .none: return "none"
        }
    }
}

/// Parameter initialisation. `automatic` is the contract's default: `he` for
/// relu, leaky_relu and elu layers, `xavier` for the others.
enum InitKind: Int32 {
    case automatic, he, xavier, zeros

    static func named(_ s: UnsafePointer<CChar>) -> InitKind? {
        if strcmp(s, "he") == 0 { return .he }
        if strcmp(s, "xavier") == 0 { return .xavier }
        if strcmp(s, "zeros") == 0 { return .zeros }
        return nil
    }

    var name: StaticString {
        switch self {
        case .automatic: return "auto"
        case .he: return "he"
        case .xavier: return "xavier"
        case .zeros: return "zeros"
        }
    }

    /// What a layer with this activation gets under `automatic`.
    func resolved(for activation: Activation) -> InitKind {
        guard self == .automatic else { return self }
        switch activation {
        case .relu, .leakyRelu, .elu: return .he
        default: return .xavier
        }
    }
}

/// One layer of the spec: `units` outputs, activation `f_k`.
struct LayerSpec {
    var units: Int
    var activation: Activation
    /// The leaky_relu slope or elu scale; 0 for other activations.
    var alpha: Double
}

/// Limits that keep every size computation far from overflow.
enum Limits {
    static let maxUnits = 1 << 24
    static let maxLayers = 256  // the capacity of NetSpec.layers and Plan.records
    static let maxBatch = 1 << 24
    static let maxParams = 1 << 34
    static let maxArenaBytes = 1 << 44
    static let maxThreads = Int(CS_POOL_MAX_WORKERS) + 1
}

/// A parsed, validated network spec.
struct NetSpec {
    var input: Int = 0
    var layers = FixedList<256, LayerSpec>(filler: LayerSpec(units: 0, activation: .identity, alpha: 0))
    var loss: Loss = .mse
    var optimizer = OptimizerConfig()
    var initKind: InitKind = .automatic
    var seed: UInt64 = 0
    /// Threads that run the large matrix products: the caller and threads - 1 workers.
    var threads: Int = 1

    var output: Int { layers[layers.count - 1].units }
}

// MARK: - Parsing

/// Reads a JSON value with the checks every key shares. `owner` names the
/// object it sits in, for messages ("layers[1]", "optimizer").
struct JSONReader {
    let owner: StaticString
    let index: Int  // -1: not inside an array

    /// Starts the message `spec: owner[index]."key"`.
    func begin(_ key: UnsafePointer<CChar>) -> Failure {
        let f = Failure("spec: ")
        if owner.utf8CodeUnitCount > 0 {
            f.text(owner)
            if index >= 0 { f.text("[").int(index).text("]") }
            f.text(".")
        }
        return f.text("\"").text(key).text("\"")
    }

    func fail(_ key: UnsafePointer<CChar>, _ what: StaticString) -> SwannError {
        begin(key).text(" ").text(what)
        return SwannError(status: .spec)
    }

    func integer(_ v: JSONValue, _ key: UnsafePointer<CChar>, min: Int64, max: Int64) throws(SwannError) -> Int64 {
        guard let x = v.integer else {
            throw fail(key, "must be an integer")
        }
        // Integers beyond Int64 read as Int64.min/max; both fall outside every range here.
        guard x >= min && x <= max else {
            let f = begin(key).text(" is ").int(Int(x)).text(", must be in ")
            f.int(Int(min)).text("...").int(Int(max))
            throw SwannError(status: .spec)
        }
        return x
    }

    /// A number in the range. `normalFloat`: a value the update divides by, or
    /// whose being non-zero decides what the optimizer keeps, so it must stay
    /// non-zero as float32 math sees it: 0 (where the range allows it) or at least
    /// float's smallest normal number (below, float holds 0 or a subnormal, which
    /// flush-to-zero hosts read as 0: Adam's eps 1e-50 gave 0 / 0).
    func number(_ v: JSONValue, _ key: UnsafePointer<CChar>, min: Double, max: Double,
                openMin: Bool = false, openMax: Bool = false, normalFloat: Bool = false) throws(SwannError) -> Double {
        guard let x = v.double else {
            throw fail(key, "must be a number")
        }
        guard x.isFinite, openMin ? x > min : x >= min, openMax ? x < max : x <= max else {
            let f = begin(key).text(" is ").number(x).text(", must be in ")
            f.text(openMin ? "(" : "[").number(min).text(", ").number(max).text(openMax ? ")" : "]")
            throw SwannError(status: .spec)
        }
        if normalFloat && x != 0 && Swift.abs(x) < Double(Float.leastNormalMagnitude) {
            let f = begin(key).text(" is ").number(x).text(", which float32 holds as 0 or a subnormal; must be ")
            f.text(openMin ? "" : "0 or ").text("at least ").number(Double(Float.leastNormalMagnitude))
            throw SwannError(status: .spec)
        }
        return x == 0 ? 0 : x  // -0.0 reads as 0: the canonical spec never says -0
    }

    func boolean(_ v: JSONValue, _ key: UnsafePointer<CChar>) throws(SwannError) -> Bool {
        guard let b = v.boolean else {
            throw fail(key, "must be true or false")
        }
        return b
    }

    func string(_ v: JSONValue, _ key: UnsafePointer<CChar>) throws(SwannError) -> UnsafePointer<CChar> {
        guard let s = v.string else {
            throw fail(key, "must be a string")
        }
        return s
    }

    func unknownValue(_ key: UnsafePointer<CChar>, _ value: UnsafePointer<CChar>,
                      _ choices: StaticString) -> SwannError {
        begin(key).text(" is \"").text(value).text("\", must be one of ").text(choices)
        return SwannError(status: .spec)
    }
}

@inline(__always)
func isKey(_ a: UnsafePointer<CChar>, _ b: StaticString) -> Bool { strcmp(a, cString(b)) == 0 }

/// Parses and validates a spec. The JSON tree is the one allocation.
func parseSpec(_ text: UnsafePointer<CChar>?) throws(SwannError) -> NetSpec {
    guard let text else {
        Failure("spec: spec_json is NULL")
        throw SwannError(status: .arg)
    }
    let length = strnlen(text, 1 << 24)
    guard length < 1 << 24 else {
        Failure("spec: text longer than 16 MiB")
        throw SwannError(status: .spec)
    }
    // A spec of 256 layers has about 1,000 values; 65,536 leaves room and caps the tree.
    var parsed = JSONDocument(text, length: length, maxValues: 1 << 16)
    defer { parsed.release() }
    guard let root = parsed.root else {
        let problem = parsed.problem ?? .syntax
        let f = Failure("spec: ").text(problem.text).text(" at offset ").int(parsed.offset)
        if parsed.detail.utf8CodeUnitCount > 0 { f.text(": ").text(parsed.detail) }
        throw SwannError(status: problem == .outOfMemory ? .nomem : .spec)
    }
    return try specFromJSON(root)
}

func specFromJSON(_ root: JSONValue) throws(SwannError) -> NetSpec {
    guard root.kind == .object else {
        Failure("spec: must be a JSON object")
        throw SwannError(status: .spec)
    }
    var spec = NetSpec()
    var sawInput = false, sawLayers = false, sawLoss = false
    let top = JSONReader(owner: "", index: -1)
    try root.forEachMember { (key, value) throws(SwannError) in
        if isKey(key, "input") {
            spec.input = Int(try top.integer(value, key, min: 1, max: Int64(Limits.maxUnits)))
            sawInput = true
        } else if isKey(key, "layers") {
            spec.layers = try parseLayers(value)
            sawLayers = true
        } else if isKey(key, "loss") {
            let s = try top.string(value, key)
            guard let l = Loss.named(s) else {
                throw top.unknownValue(key, s, "mse, cross_entropy, binary_cross_entropy, none")
            }
            spec.loss = l
            sawLoss = true
        } else if isKey(key, "optimizer") {
            spec.optimizer = try parseOptimizer(value)
        } else if isKey(key, "init") {
            let s = try top.string(value, key)
            guard let k = InitKind.named(s) else { throw top.unknownValue(key, s, "he, xavier, zeros") }
            spec.initKind = k
        } else if isKey(key, "seed") {
            // 0 ... 2^53: exact in every JSON reader (a double holds it).
            spec.seed = UInt64(try top.integer(value, key, min: 0, max: 1 << 53))
        } else if isKey(key, "threads") {
            spec.threads = Int(try top.integer(value, key, min: 1, max: Int64(Limits.maxThreads)))
        } else {
            throw top.fail(key, "is not a known key (input, layers, loss, optimizer, init, seed, threads)")
        }
    }
    guard sawInput else { Failure("spec: \"input\" is required"); throw SwannError(status: .spec) }
    guard sawLayers else { Failure("spec: \"layers\" is required"); throw SwannError(status: .spec) }
    guard sawLoss else { Failure("spec: \"loss\" is required"); throw SwannError(status: .spec) }
    // Parameter count must stay far from overflow.
    var params = 0
    var fanIn = spec.input
    for l in spec.layers {
        params += l.units * fanIn + l.units  // both <= 2^24: no overflow
        guard params <= Limits.maxParams else {
            Failure("spec: more than ").int(Limits.maxParams).text(" parameters")
            throw SwannError(status: .spec)
        }
        fanIn = l.units
    }
    return spec
}

func parseLayers(_ value: JSONValue) throws(SwannError) -> FixedList<256, LayerSpec> {
    guard value.kind == .array else {
        Failure("spec: \"layers\" must be an array of objects")
        throw SwannError(status: .spec)
    }
    let n = value.count
    guard n >= 1 else { Failure("spec: \"layers\" is empty"); throw SwannError(status: .spec) }
    guard n <= Limits.maxLayers else {
        Failure("spec: \"layers\" has ").int(n).text(" entries, at most ").int(Limits.maxLayers).text(" are allowed")
        throw SwannError(status: .spec)
    }
    var layers = FixedList<256, LayerSpec>(filler: LayerSpec(units: 0, activation: .identity, alpha: 0))
    try value.forEachElement { (k, obj) throws(SwannError) in
        guard obj.kind == .object else {
            Failure("spec: layers[").int(k).text("] must be an object")
            throw SwannError(status: .spec)
        }
        let r = JSONReader(owner: "layers", index: k)
        var units = -1
        var activation: Activation? = nil
        var alpha: Double? = nil
        var alphaKey = false
        try obj.forEachMember { (key, v) throws(SwannError) in
            if isKey(key, "units") {
                units = Int(try r.integer(v, key, min: 1, max: Int64(Limits.maxUnits)))
            } else if isKey(key, "activation") {
                let s = try r.string(v, key)
                guard let a = Activation.named(s) else {
                    throw r.unknownValue(key, s, "identity, sigmoid, tanh, relu, leaky_relu, elu, softplus, gelu, softmax")
                }
                activation = a
            } else if isKey(key, "alpha") {
                alpha = try r.number(v, key, min: -1e6, max: 1e6)
                alphaKey = true
            } else {
                throw r.fail(key, "is not a known key (units, activation, alpha)")
            }
        }
        guard units > 0 else {
            Failure("spec: layers[").int(k).text("].\"units\" is required")
            throw SwannError(status: .spec)
        }
        guard let activation else {
            Failure("spec: layers[").int(k).text("].\"activation\" is required")
            throw SwannError(status: .spec)
        }
        if alphaKey && activation.defaultAlpha == nil {
            Failure("spec: layers[").int(k).text("].\"alpha\" applies only to leaky_relu and elu, not ")
                .text(activation.name)
            throw SwannError(status: .spec)
        }
        let a = alpha ?? activation.defaultAlpha ?? 0
        layers.append(LayerSpec(units: units, activation: activation, alpha: a))
    }
    return layers
}

// MARK: - Canonical JSON

/// The canonical spec text (every optimizer default filled in), written into a
/// `TextBuffer` (one checked allocation; it records whether that failed).
func writeCanonicalSpec(_ spec: NetSpec, into t: inout TextBuffer) {
    func put(_ key: StaticString, _ value: HyperValue) {
        t.byte(0x2c)
        t.key(key)
        switch value {
        case .number(let x): t.number(x)
        case .integer(let n): t.number(n)
        case .flag(let b): if b { t.text("true") } else { t.text("false") }
        }
    }
    t.text("{")
    t.key("input"); t.number(spec.input)
    t.text(",")
    t.key("layers"); t.text("[")
    for (k, l) in spec.layers.enumerated() {
        if k > 0 { t.text(",") }
        t.text("{"); t.key("units"); t.number(l.units)
        t.text(","); t.key("activation"); t.quoted(cString(l.activation.name))
        if l.activation.defaultAlpha != nil { t.text(","); t.key("alpha"); t.number(l.alpha) }
        t.text("}")
    }
    t.text("],")
    t.key("loss"); t.quoted(cString(spec.loss.name))
    t.text(",")
    let c = spec.optimizer
    t.key("optimizer"); t.text("{"); t.key("type"); t.quoted(cString(c.kind.name))
    c.forEachHyperParameter { key, value in put(key, value) }
    if c.hasSchedule {
        t.text(","); t.key("schedule"); t.text("{"); t.key("type"); t.quoted(cString(c.schedule.name))
        c.forEachScheduleParameter { key, value in put(key, value) }
        t.text("}")
    }
    t.text("}")
    if spec.initKind != .automatic { t.text(","); t.key("init"); t.quoted(cString(spec.initKind.name)) }
    t.text(","); t.key("seed"); t.number(Int(spec.seed))
    if spec.threads != 1 { t.text(","); t.key("threads"); t.number(spec.threads) }
    t.text("}")
}

/// Bytes the canonical spec's region keeps beyond its text, so that "lr" can be
/// rewritten by `swann_set_lr`: the number's text is 1 to 24 bytes long.
let lrTextSlack = 32

/// Rewrites the optimizer's "lr" in a canonical spec text in place (the text has
/// `lrTextSlack` spare bytes past its NUL). The canonical writer puts "lr" right
/// after the optimizer's "type", and no other key or value of a canonical spec
/// contains the text `"lr":`. False when the text has no such key or no room.
func rewriteCanonicalLR(_ text: UnsafeMutablePointer<CChar>, length: inout Int, room: Int, lr: Double) -> Bool {
    guard let keyStart = strstr(text, "\"lr\":") else { return false }
    let start = keyStart - text + 5
    var end = start
    while end < length && text[end] != 0x2c && text[end] != 0x7d { end += 1 }  // up to ',' or '}'
    var digits = TextBuffer.Scratch()
    return withUnsafeMutablePointer(to: &digits) { raw -> Bool in
        let buf = UnsafeMutableRawPointer(raw).assumingMemoryBound(to: CChar.self)
        cs_format_double(lr, buf)
        let n = strlen(buf)
        let newLength = length - (end - start) + n
        guard newLength + 1 <= room else { return false }
        memmove(text + start + n, text + end, length - end + 1)  // the tail and its NUL
        memcpy(text + start, buf, n)
        length = newLength
        return true
    }
}
