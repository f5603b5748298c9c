import CSupport

/// What a tensor of a net holds.
enum TensorRole {
    case step           // optimizer.step: the steps taken (kept in the header)
    case parameter      // layers.{k}.weight / .bias
    case gradient       // their accumulated gradients
    case slot           // optimizer.{k}.weight / .bias.{slot name}: optimizer state
    case input          // y_0 for max_batch rows
    case preActivation  // z_k for max_batch rows
    case activation     // y_k for max_batch rows (z_k itself for identity layers)
    case scratch        // the backward recursion's two buffers

    /// Held in model files (in table order).
    var inFile: Bool { self == .step || self == .parameter || self == .slot }
}

enum DType { case f32, i64 }

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

    /// A key for the tensor's name that is unique in its net: model files are
    /// matched to the table through it (see `Load.swift`).
    func key(layers: Int) -> Int {
        role == .step ? 0 : 1 + ((slot + 1) * layers + layer) * 2 + (isBias ? 1 : 0)
    }

    /// Calls `body` with the tensor's name in model files.
    func withName<R>(_ optimizer: OptimizerConfig, _ body: (UnsafePointer<CChar>) -> R) -> R {
        var name = TextBuffer.Scratch()  // 128 bytes on the stack
        return withUnsafeMutablePointer(to: &name) { raw -> R in
            let p = UnsafeMutableRawPointer(raw).assumingMemoryBound(to: CChar.self)
            let slotName: UnsafePointer<CChar>? = role == .slot ? cString(optimizer.slotName(slot)) : nil
            cs_tensor_name(p, Int64(role == .step ? -1 : layer), isBias ? 1 : 0, slotName)
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
/// go through it; adding a tensor is one line in `forEach`.
struct TensorTable<Layers: LayerShapes> {
    let layers: Layers
    let slotCount: Int
    let inputSize: Int
    let maxBatch: Int
    let width: Int  // the widest layer, input included

    init(_ layers: Layers, slotCount: Int, inputSize: Int, maxBatch: Int) {
        self.layers = layers
        self.slotCount = slotCount
        self.inputSize = inputSize
        self.maxBatch = maxBatch
        var w = inputSize
        for k in 0..<layers.layerCount { w = max(w, layers.layer(k).fanOut) }
        width = w
    }

    var fileTensorCount: Int { 1 + 2 * layers.layerCount * (1 + slotCount) }

    /// Calls `body` with every tensor, offsets laid from byte `start` (64-byte
    /// aligned): blocks of parameters, gradients and each slot packed tensor after
    /// tensor (so each block is one flat view), every other tensor on its own
    /// 64-byte boundary. Returns the end of the last one.
    @discardableResult
    func forEach(from start: Int, _ body: (Tensor) -> Void) -> Int {
        var cursor = start
        let f = MemoryLayout<Float>.stride
        func put(_ t: Tensor, aligned: Bool) {
            var t = t
            if aligned { cursor = Plan.aligned(cursor) }
            t.offset = cursor
            t.bytes = (t.cols == 0 ? t.rows : t.rows * t.cols) * f
            cursor += t.bytes
            body(t)
        }
        func block(_ role: TensorRole, slot: Int) {
            // The slots follow each other unpadded: the update reads slot s of
            // parameter i at slots[s * paramCount + i].
            if slot <= 0 { cursor = Plan.aligned(cursor) }
            for k in 0..<layers.layerCount {
                let l = layers.layer(k)
                put(Tensor(role: role, layer: k, isBias: false, slot: slot, rows: l.fanOut, cols: l.fanIn), aligned: false)
                put(Tensor(role: role, layer: k, isBias: true, slot: slot, rows: l.fanOut), aligned: false)
            }
        }
        body(Tensor(role: .step, dtype: .i64, offset: -1, bytes: 8))
        block(.parameter, slot: -1)
        block(.gradient, slot: -1)
        for s in 0..<slotCount { block(.slot, slot: s) }
        put(Tensor(role: .input, rows: maxBatch, cols: inputSize), aligned: true)
        for k in 0..<layers.layerCount {
            let l = layers.layer(k)
            put(Tensor(role: .preActivation, layer: k, rows: maxBatch, cols: l.fanOut), aligned: true)
            if l.activation != .identity {
                put(Tensor(role: .activation, layer: k, rows: maxBatch, cols: l.fanOut), aligned: true)
            }
        }
        put(Tensor(role: .scratch, layer: 0, rows: maxBatch, cols: width), aligned: true)
        put(Tensor(role: .scratch, layer: 1, rows: maxBatch, cols: width), aligned: true)
        return Plan.aligned(cursor)
    }

    /// Calls `body` with the file tensors only, with their index in file order.
    func forEachInFile(from start: Int, _ body: (Int, Tensor) -> Void) {
        var i = 0
        forEach(from: start) { t in
            guard t.role.inFile else { return }
            body(i, t)
            i += 1
        }
    }
}

extension FixedList: LayerShapes where Element == LayerRecord {
    var layerCount: Int { count }
    func layer(_ k: Int) -> LayerRecord { self[k] }
}

extension Net: LayerShapes {
    var layerCount: Int { header.pointee.layerCount }
    func layer(_ k: Int) -> LayerRecord { layers[k] }

    /// The net's tensor table (laid out as when it was planned).
    var tensors: TensorTable<Net> {
        let h = header.pointee
        return TensorTable(self, slotCount: h.slotCount, inputSize: h.inputSize, maxBatch: h.maxBatch)
    }
}
