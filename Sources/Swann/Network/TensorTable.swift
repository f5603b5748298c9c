import CSupport

/// What a tensor of a net holds.
enum TensorRole {
    case step           // optimizer.step: the steps taken (kept in the header)
    case parameter      // layers.{k}.weight / .bias
    case gradient       // their accumulated gradients
    case slot           // optimizer.{k}.weight / .bias.{slot name}: optimizer state
    case scale          // layers.{k}.weight_scale: an int8 weight's row scales (compact models)
    case input          // y_0 for max_batch rows
    case preActivation  // z_k for max_batch rows
    case activation     // y_k for max_batch rows (z_k itself for identity layers)
    case scratch        // the backward recursion's two buffers

    /// Held in model files (in table order).
    var inFile: Bool { self == .step || self == .parameter || self == .slot || self == .scale }
}

enum DType {
    case f32, i64, f16, i8

    var size: Int {
        switch self {
        case .i64: return 8
        case .f32: return 4
        case .f16: return 2
        case .i8: return 1
        }
    }
    /// The safetensors name.
    var name: StaticString {
        switch self {
        case .i64: return "I64"
        case .f32: return "F32"
        case .f16: return "F16"
        case .i8: return "I8"
        }
    }
}

/// One tensor of a net: its name's parts, shape, dtype, role, and where it lives.
struct Tensor {
    var role: TensorRole
    var layer = -1          // -1: the step and the input; the scratch buffers are numbered 0 and 1
    var isBias = false
    var slot = -1           // the optimizer slot of a `.slot` tensor
    var rows = 0            // shape [rows, cols], [rows] when cols == 0, [] for the step
    var cols = 0
    var dtype: DType = .f32
    var offset = 0          // bytes from the arena start (the step lives in the header)
    var bytes = 0

    var rank: Int { role == .step ? 0 : (cols == 0 ? 1 : 2) }

    /// A key for the tensor's name that is unique in its net, below the table's
    /// fileTensorCount: model files are matched to the table through it (see `Load.swift`).
    func key(layers: Int, slots: Int) -> Int {
        if role == .scale { return 1 + 2 * layers * (slots + 1) + layer }
        return role == .step ? 0 : 1 + ((slot + 1) * layers + layer) * 2 + (isBias ? 1 : 0)
    }

    /// Calls `body` with the tensor's name in model files.
    func withName<R>(_ optimizer: OptimizerConfig, _ body: (UnsafePointer<CChar>) -> R) -> R {
        var name = TextBuffer.Scratch()  // 128 bytes on the stack
        return withUnsafeMutablePointer(to: &name) { raw -> R in
            let p = UnsafeMutableRawPointer(raw).assumingMemoryBound(to: CChar.self)
            let slotName: UnsafePointer<CChar>? = role == .slot ? cString(optimizer.slotName(slot)) : nil
            cs_tensor_name(p, Int64(role == .step ? -1 : layer), isBias ? 1 : 0, slotName)
            if role == .scale { strcat(p, "_scale") }  // layers.{k}.weight_scale
            return body(UnsafePointer(p))
        }
    }
}

/// The layers' shapes a table is laid out from: the plan's records while a net
/// is planned, the arena's once it lives.
protocol LayerShapes {
    var layerCount: Int { get }
    func layer(_ k: Int) -> LayerRecord
}

/// The one list of a net's tensors. Its order is the arena's, and the file tensors
/// (the step, the parameters, the optimizer slots) are in the order model files
/// hold them. The plan, save, load, swann_params / swann_grads and the passes all
/// go through it; adding a tensor is one case in `TensorIterator.next`.
///
/// Offsets are laid from `start` (64-byte aligned): the blocks of parameters, of
/// gradients and of the slots packed tensor after tensor (so each is one flat
/// view), every other tensor on its own 64-byte boundary. An iterator, not a
/// closure: walking the table allocates nothing.
struct TensorTable<Layers: LayerShapes>: Sequence {
    let layers: Layers
    let slotCount: Int
    let inputSize: Int
    let maxBatch: Int
    let start: Int
    let width: Int  // the widest layer, input included
    /// How layer weights are stored: float32 (nets, and their files), or a compact
    /// model's f16 / int8 (then int8 adds each layer's weight_scale after its bias).
    let weights: WeightType

    init(_ layers: Layers, slotCount: Int, inputSize: Int, maxBatch: Int, start: Int, weights: WeightType = .f32) {
        self.layers = layers
        self.weights = weights
        self.slotCount = slotCount
        self.inputSize = inputSize
        self.maxBatch = maxBatch
        self.start = start
        var w = inputSize
        for k in 0..<layers.layerCount { w = Swift.max(w, layers.layer(k).fanOut) }
        width = w
    }

    var fileTensorCount: Int {
        1 + 2 * layers.layerCount * (1 + slotCount) + (weights == .int8 ? layers.layerCount : 0)
    }

    func makeIterator() -> TensorIterator<Layers> { TensorIterator(table: self) }
}

/// Walks a `TensorTable`, laying each tensor's offset as it goes.
struct TensorIterator<Layers: LayerShapes>: IteratorProtocol {
    private enum Stage { case step, parameters, gradients, slots, input, activations, scratch, done }

    let table: TensorTable<Layers>
    private(set) var cursor: Int
    private var stage = Stage.step
    private var layer = 0, part = 0, slot = 0

    init(table: TensorTable<Layers>) {
        self.table = table
        cursor = table.start
    }

    mutating func next() -> Tensor? {
        let n = table.layers.layerCount
        switch stage {
        case .step:
            stage = .parameters
            return Tensor(role: .step, dtype: .i64, offset: -1, bytes: 8)
        case .parameters, .gradients, .slots:
            let role: TensorRole = stage == .parameters ? .parameter : (stage == .gradients ? .gradient : .slot)
            // The slots follow each other unpadded: the update reads slot s of
            // parameter i at slots[s * paramCount + i].
            let aligned = layer == 0 && part == 0 && (stage != .slots || slot == 0)
            let l = table.layers.layer(layer)
            let scales = role == .parameter && table.weights == .int8
            var t = Tensor(role: part == 2 ? .scale : role, layer: layer, isBias: part == 1,
                           slot: role == .slot ? slot : -1, rows: l.fanOut, cols: part == 0 ? l.fanIn : 0)
            if role == .parameter && part == 0 { t.dtype = table.weights.dtype }
            part += 1
            if part == (scales ? 3 : 2) { part = 0; layer += 1 }
            if layer == n {
                layer = 0
                switch stage {
                case .parameters: stage = .gradients
                case .gradients: stage = table.slotCount > 0 ? .slots : .input
                default:
                    slot += 1
                    if slot == table.slotCount { stage = .input }
                }
            }
            return lay(t, aligned: aligned)
        case .input:
            stage = .activations
            return lay(Tensor(role: .input, rows: table.maxBatch, cols: table.inputSize), aligned: true)
        case .activations:
            let l = table.layers.layer(layer)
            let t = Tensor(role: part == 0 ? .preActivation : .activation, layer: layer,
                           rows: table.maxBatch, cols: l.fanOut)
            // y is z itself for identity layers.
            if part == 0 && l.activation != .identity { part = 1 } else { part = 0; layer += 1 }
            if layer == n { stage = .scratch }
            return lay(t, aligned: true)
        case .scratch:
            let t = Tensor(role: .scratch, layer: part, rows: table.maxBatch, cols: table.width)
            part += 1
            if part == 2 { stage = .done }
            return lay(t, aligned: true)
        case .done:
            return nil
        }
    }

    private mutating func lay(_ tensor: Tensor, aligned: Bool) -> Tensor {
        var t = tensor
        if aligned { cursor = Plan.aligned(cursor) }
        t.offset = cursor
        t.bytes = (t.cols == 0 ? t.rows : t.rows * t.cols) * t.dtype.size
        cursor += t.bytes
        return t
    }
}

/// A spec's layers, read through a pointer while a net is planned or a file matched:
/// a table holding the spec itself would copy its inline layer list (4-6 KB) into
/// every frame that walks it.
struct SpecShapes: LayerShapes {
    let spec: UnsafePointer<NetSpec>
    init(_ spec: UnsafePointer<NetSpec>) { self.spec = spec }
    var layerCount: Int { spec.pointee.layers.count }
    func layer(_ k: Int) -> LayerRecord { spec.record(k) }
}

extension Net: LayerShapes {
    var layerCount: Int { header.pointee.layerCount }
    func layer(_ k: Int) -> LayerRecord { layers[k] }

    /// The net's tensor table (laid out as when it was planned).
    var tensors: TensorTable<Net> {
        let h = header.pointee
        return TensorTable(self, slotCount: h.slotCount, inputSize: h.inputSize, maxBatch: h.maxBatch, start: h.params)
    }
}
