import CSupport

// Reading a spec: the JSON text parsed, every key checked, into a `NetSpec`.

/// Reads a JSON value with the checks every key shares. `owner` names the
/// object it sits in, for messages ("layers[1]", "optimizer").
struct JSONReader {
    let owner: StaticString
    let index: Int  // -1: not inside an array

    /// Starts the message `spec: owner[index]."key"`.
    func begin(_ key: UnsafePointer<CChar>) -> Failure {
        var f = Failure("spec: ")
        if owner.utf8CodeUnitCount > 0 {
            f = f.text(owner)
            if index >= 0 { f = f.text("[").int(index).text("]") }
            f = f.text(".")
        }
        return f.text("\"").text(key).text("\"")
    }

    func fail(_ key: UnsafePointer<CChar>, _ what: StaticString) -> SwannError {
        begin(key).text(" ").text(what).error(.spec)
    }

    func integer(_ v: JSONValue, _ key: UnsafePointer<CChar>, min: Int64, max: Int64) throws(SwannError) -> Int64 {
        guard let x = v.integer else {
            throw fail(key, "must be an integer")
        }
        // Integers beyond Int64 read as Int64.min/max; both fall outside every range here.
        guard x >= min && x <= max else {
            throw begin(key).text(" is ").int(Int(x)).text(", must be in ")
                .int(Int(min)).text("...").int(Int(max)).error(.spec)
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
            throw begin(key).text(" is ").number(x).text(", must be in ")
                .text(openMin ? "(" as StaticString : "[").number(min).text(", ").number(max).text(openMax ? ")" as StaticString : "]").error(.spec)
        }
        if normalFloat && x != 0 && Swift.abs(x) < Double(Float.leastNormalMagnitude) {
            throw begin(key).text(" is ").number(x).text(", which float32 holds as 0 or a subnormal; must be ")
                .text(openMin ? "" as StaticString : "0 or ").text("at least ").number(Double(Float.leastNormalMagnitude)).error(.spec)
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
        begin(key).text(" is \"").text(value).text("\", must be one of ").text(choices).error(.spec)
    }
}

@inline(__always)
func isKey(_ a: UnsafePointer<CChar>, _ b: StaticString) -> Bool { strcmp(a, cString(b)) == 0 }

/// A spec text checked as JSON and its tree sized (pass 1 of the reader), allocating
/// nothing: `sizing.bytes` is the scratch `parseSpec` needs.
struct SpecText {
    let text: UnsafePointer<CChar>
    let length: Int
    let sizing: JSONDocument

    init(_ text: UnsafePointer<CChar>?) throws(SwannError) {
        guard let text else {
            throw Failure("spec: spec_json is NULL").error(.arg)
        }
        let length = strnlen(text, 1 << 24)
        guard length < 1 << 24 else {
            throw Failure("spec: text longer than 16 MiB").error(.spec)
        }
        // A spec of 256 layers has about 1,000 values; 65,536 leaves room and caps the tree.
        let sizing = JSONDocument(sizing: text, length: length, maxValues: 1 << 16)
        if let problem = sizing.problem { throw jsonFailure(problem, sizing) }
        self.text = text
        self.length = length
        self.sizing = sizing
    }

    /// Parses and validates the spec into `spec` (a fresh `NetSpec()`), its tree taken
    /// from `scratch`.
    func parse(_ scratch: inout Scratch, _ function: StaticString, into spec: inout NetSpec) throws(SwannError) {
        guard let memory = scratch.take(sizing.bytes) else {
            throw Failure(function).text(": the scratch has no room for the spec's tree").error(.arena)
        }
        let parsed = JSONDocument(text, length: length, sized: sizing, in: memory)
        guard let root = parsed.root else { throw jsonFailure(parsed.problem ?? .syntax, parsed) }
        try specFromJSON(root, into: &spec)
    }
}

private func jsonFailure(_ problem: JSONDocument.Problem, _ d: JSONDocument) -> SwannError {
    var f = Failure("spec: ").text(problem.text).text(" at offset ").int(d.offset)
    if d.detail.utf8CodeUnitCount > 0 { f = f.text(": ").text(d.detail) }
    return f.error(problem == .outOfMemory ? .nomem : .spec)
}

/// Parses and validates a spec with a heap scratch of its own (for the tests).
func parseSpec(_ text: UnsafePointer<CChar>?) throws(SwannError) -> NetSpec {
    let source = try SpecText(text)
    var spec = NetSpec()
    try withScratch(.heap, source.sizing.bytes, "spec", "reading the spec") { (s) throws(SwannError) in
        try source.parse(&s, "spec", into: &spec)
    }
    return spec
}

/// The spec of `root` into `spec` (a fresh `NetSpec()`), in place: a NetSpec is 4-6 KB
/// (256 layers inline), and every copy of it is that much more stack (NetSpec.record).
func specFromJSON(_ root: JSONValue, into spec: inout NetSpec) throws(SwannError) {
    guard root.kind == .object else {
        throw Failure("spec: must be a JSON object").error(.spec)
    }
    var sawInput = false, sawLayers = false, sawLoss = false
    let top = JSONReader(owner: "", index: -1)
    try root.forEachMember { (key, value) throws(SwannError) in
        if isKey(key, "input") {
            spec.input = Int(try top.integer(value, key, min: 1, max: Int64(Limits.maxUnits)))
            sawInput = true
        } else if isKey(key, "layers") {
            try parseLayers(value, into: &spec.layers)
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
            if cs_has_os() == 0 { spec.threads = 1 }  // no threads there: counted as 1, not refused
        } else {
            throw top.fail(key, "is not a known key (input, layers, loss, optimizer, init, seed, threads)")
        }
    }
    guard sawInput else { throw Failure("spec: \"input\" is required").error(.spec) }
    guard sawLayers else { throw Failure("spec: \"layers\" is required").error(.spec) }
    guard sawLoss else { throw Failure("spec: \"loss\" is required").error(.spec) }
    // Parameter count must stay far from overflow.
    var params = 0
    var fanIn = spec.input
    for k in 0..<spec.layers.count {  // by index: a for-in iterator would copy the whole list
        let l = spec.layers[k]
        params += l.units * fanIn + l.units  // both <= 2^24: no overflow
        guard params <= Limits.maxParams else {
            throw Failure("spec: more than ").int(Limits.maxParams).text(" parameters").error(.spec)
        }
        fanIn = l.units
    }
}

/// The "layers" array appended to `layers` (empty).
func parseLayers(_ value: JSONValue, into layers: inout LayerList<LayerSpec>) throws(SwannError) {
    guard value.kind == .array else {
        throw Failure("spec: \"layers\" must be an array of objects").error(.spec)
    }
    let n = value.count
    guard n >= 1 else { throw Failure("spec: \"layers\" is empty").error(.spec) }
    guard n <= Limits.maxLayers else {
        throw Failure("spec: \"layers\" has ").int(n).text(" entries, at most ").int(Limits.maxLayers).text(" are allowed").error(.spec)
    }
    try value.forEachElement { (k, obj) throws(SwannError) in
        guard obj.kind == .object else {
            throw Failure("spec: layers[").int(k).text("] must be an object").error(.spec)
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
            throw Failure("spec: layers[").int(k).text("].\"units\" is required").error(.spec)
        }
        guard let activation else {
            throw Failure("spec: layers[").int(k).text("].\"activation\" is required").error(.spec)
        }
        if alphaKey && activation.defaultAlpha == nil {
            throw Failure("spec: layers[").int(k).text("].\"alpha\" applies only to leaky_relu and elu, not ")
                .text(activation.name).error(.spec)
        }
        let a = alpha ?? activation.defaultAlpha ?? 0
        layers.append(LayerSpec(units: units, activation: activation, alpha: a))
    }
}
