import CSupport

/// One layer as the forward pass reads it: its shape, activation, and where its
/// weight and bias ([fanOut]) are. A net's come from its arena, a model's from its
/// layer table (weights in its block, the host's bytes or a mapping).
struct LayerView {
    var fanIn: Int
    var fanOut: Int
    var activation: Activation
    var alpha: Float
    /// [fanOut, fanIn] as in model files; a model's own copy instead holds W^T in the
    /// packed panels the product reads (`panels`, Gemm.packWhole: no packing at any run,
    /// and few rows read it as a net's packed copy), or on 32-bit ARM, whose scalar
    /// product packs nothing, [fanIn, fanOut] (`transposed`: few rows stream its rows
    /// instead of transposing W on the fly). The same bits in every layout.
    var weight: UnsafePointer<Float>
    var bias: UnsafePointer<Float>
    var transposed = false
    var panels = false
    /// A compact model's layer (f16 / int8): `compact` holds its weights [fanOut, fanIn]
    /// and `scales` int8's row scales; `weight` is then unused.
    var weights = WeightType.f32
    var compact: UnsafeRawPointer? = nil
    var scales: UnsafePointer<Float>? = nil
}

/// One layer of the forward pass for `batch` rows: Z = Y_prev W^T + b, Y = f(Z).
/// The one code path of swann_forward and swann_session_run, so that a session's
/// rows have exactly the bits of the net's. `z` and `y` may be the same buffer:
/// every activation reads each z before writing its y (softmax: a row's maximum
/// and sums first, then y in place).
/// `packed`: a net's packed copy of W^T (GemmPrepacked.swift) and what it holds (a
/// model's own copy is its weight: `panels`). `turn`: room the product may use
/// (Kernels/GemmTransposed.swift), or nil. `inputTransposed`: `input` holds Y_prev^T
/// (fanIn x batch), as a kept layer leaves it; `keep` asks for Z^T and Y^T (KeptLayout.swift).
/// Returns whether it left them (fanOut x batch) instead of Z and Y.
@inline(__always) @discardableResult
func forwardLayer(_ l: LayerView, input: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>,
                  y: UnsafeMutablePointer<Float>, batch: Int, engine: Gemm.Engine, kernels k: KernelTable,
                  packed: UnsafeMutablePointer<Float>? = nil, packedState: PackedState = .stale,
                  turn: TurnRoom? = nil, inputTransposed: Bool = false, keep: Bool = false) -> Bool {
    // Z = b + Y_prev W^T: the product adds b as it stores (or to a copy of b, where it
    // does not pack), with the bits of b copied into Z first and the product added.
    // An elementwise activation may be applied by the product (a turned-around one
    // does, chunk by chunk on its threads); softmax needs whole rows of Z.
    let epilogue = l.activation == .softmax ? nil : Epilogue(activation: l.activation, alpha: l.alpha, y: y)
    let output = k.multiply(m: batch, n: l.fanOut, k: l.fanIn,
                            a: input, lda: inputTransposed ? batch : l.fanIn, transA: inputTransposed,
                            b: l.weight, ldb: l.transposed ? l.fanOut : l.fanIn, transB: !l.transposed,
                            c: z, ldc: l.fanOut, accumulate: false, engine: engine,
                            packed: l.panels ? UnsafeMutablePointer(mutating: l.weight) : packed,
                            packedState: l.panels ? .fresh : packedState,
                            bias: l.bias, turn: turn, epilogue: epilogue, keep: keep)
    if output == .z { k.activationForward(l.activation, alpha: l.alpha, z: z, y: y, rows: batch, cols: l.fanOut) }
    return output == .transposed
}

/// The lecture's forward pass over a batch. Nothing here allocates: every
/// buffer is a pointer into the net's arena.
extension Net {
    /// Forward pass for `batch` rows of `x`:  z_k = W_k y_{k-1} + b_k,  y_k = f_k(z_k),
    /// computed for all rows at once as Z_k = Y_{k-1} W_k^T + b_k.
    func forward(_ x: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>?) throws(SwannError) {
        let h = header.pointee
        let kt = kernels
        let work = engine
        let state = packedState(batch: batch)
        let split = work.pool.flatMap { rowSplit(batch: batch, state: state, pool: $0) }
        let finite = if let pool = work.pool, split != nil {
            FiniteCheckJob.all(x, count: batch * h.inputSize, kernels: kt, pool: pool)
        } else {
            kt.allFinite(x, batch * h.inputSize)
        }
        guard finite else {
            throw Failure("forward: input has NaN or Inf values").error(.numeric)
        }
        let y0 = floats(h.input)
        var prev = UnsafePointer(y0)
        if let pool = work.pool, let rows = split {
            // Inference on fresh packed weights: each thread copies its rows of x into the
            // input buffer (backward reads it) and runs every layer on them.
            forwardRows(x, batch: batch, chunkRows: rows, pool: pool)
            for k in 0..<h.layerCount { layers[k].heldTransposed = false }
            prev = UnsafePointer(floats(layers[h.layerCount - 1].y))
        } else {
            copyFloats(y0, x, batch * h.inputSize)
            var turned = false  // prev holds Y_{k-1}^T
            for k in 0..<h.layerCount {
                let l = layers[k]
                let y = floats(l.y)
                let view = LayerView(fanIn: l.fanIn, fanOut: l.fanOut, activation: l.activation, alpha: l.alpha,
                                     weight: floats(l.weight), bias: floats(l.bias))
                // The backward recursion's buffers are free until a backward (which
                // writes them before it reads them): room for a turned-around product.
                turned = forwardLayer(view, input: prev, z: floats(l.z), y: y, batch: batch, engine: work,
                                      kernels: kt, packed: l.packedWeight > 0 ? floats(l.packedWeight) : nil,
                                      packedState: state, turn: TurnRoom(zt: floats(h.scratch0), xt: floats(h.scratch1)),
                                      inputTransposed: turned, keep: keepsTurned(k, batch: batch, state: state))
                layers[k].heldTransposed = turned
                prev = UnsafePointer(y)
            }
        }
        if let output { copyFloats(output, prev, batch * h.outputSize) }
        header.pointee.lastBatch = batch
        // The packed copies hold W^T once a forward built them; weights the host may
        // write through swann_params are never trusted to stay (packedState).
        header.pointee.packedFresh = state != .stale
        header.pointee.forwardsOnSameWeights = min(header.pointee.forwardsOnSameWeights + 1, 2)
    }

    /// What the packed weight copies hold for this forward: this W (fresh), or not
    /// yet. They are built only once the weights stayed the same over a forward
    /// (inference), not in a training loop, where every step changes them.
    func packedState(batch: Int) -> PackedState {
        let h = header.pointee
        if h.paramsShared { return .stale }
        if h.packedFresh { return .fresh }
        return h.forwardsOnSameWeights >= 1 ? .build : .stale
    }

    /// The weights changed (a step): the packed copies no longer hold them.
    func weightsChanged() {
        header.pointee.packedFresh = false
        header.pointee.forwardsOnSameWeights = 0
    }
}
