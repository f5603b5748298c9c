import CSupport

/// The spec's names of the activations (`Kernels/Activations.swift`).
extension Activation {
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

/// The spec's names of the losses (`Kernels/Losses.swift`).
extension Loss {
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

/// One value per layer, inline (no heap): its capacity is the most layers a spec may have.
typealias LayerList<Element> = FixedList<256, Element>
/// One value per thread, inline: its capacity bounds the threads a net may run.
typealias ThreadList<Element> = FixedList<64, Element>

/// Limits that keep every size computation far from overflow. The capacities
/// come from the lists that hold them, so the two cannot disagree.
enum Limits {
    static let maxUnits = 1 << 24
    static let maxLayers = LayerList<Int>.capacity
    static let maxBatch = 1 << 24
    static let maxParams = Int.bitWidth == 64 ? 1 << 34 : 1 << 28  // 32-bit: 1 GB of floats
    static let maxArenaBytes = Int.bitWidth == 64 ? 1 << 44 : 1 << 30
    static let maxThreads = min(ThreadList<Int>.capacity, Int(CS_POOL_MAX_WORKERS) + 1)
}

/// A parsed, validated network spec. 4 KB (32-bit) to 6 KB: the layers are inline.
/// Embedded Swift copies a borrowed value of it whole to read one of its layers, so
/// it is made in place (`specFromJSON(_:into:)`) and passed as an `UnsafePointer`,
/// read through `pointee`: each copy was that much more stack (a Cortex-M loading a
/// model reached 44 KB).
struct NetSpec {
    var input: Int = 0
    var layers = LayerList<LayerSpec>(filler: LayerSpec(units: 0, activation: .identity, alpha: 0))
    var loss: Loss = .mse
    var optimizer = OptimizerConfig()
    var initKind: InitKind = .automatic
    var seed: UInt64 = 0
    /// Threads that run the large matrix products: the caller and threads - 1 workers.
    var threads: Int = 1

    /// Inlined, so that a NetSpec is made where it is declared, not copied there.
    @inline(__always) init() {}
}

extension UnsafePointer where Pointee == NetSpec {
    /// The last layer's units.
    var output: Int { pointee.layers[pointee.layers.count - 1].units }

    /// Layer k's shape and activation as a record (its offsets 0: a plan lays them).
    /// Read field by field through the pointer: a NetSpec method's borrowed `self` was
    /// copied whole, twice per call, even inlined.
    func record(_ k: Int) -> LayerRecord {
        let fanIn = k == 0 ? pointee.input : pointee.layers[k - 1].units
        return LayerRecord(fanIn: fanIn, fanOut: pointee.layers[k].units, activation: pointee.layers[k].activation,
                           alpha: Float(pointee.layers[k].alpha))
    }
}
