import CSupport

/// How a model's layer weights are stored (deploy.md, "Compact weights"): float32,
/// IEEE binary16, or symmetric int8 with one float32 scale per output row. Biases
/// are float32 in all three.
enum WeightType: Int32 {
    case f32, f16, int8

    /// The weight tensors' dtype in files.
    var dtype: DType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .int8: return .i8
        }
    }

    /// The name in swann_model_quantize and in a file's "swann.weights".
    var name: StaticString {
        switch self {
        case .f32: return "f32"
        case .f16: return "f16"
        case .int8: return "int8"
        }
    }

    /// The compact type named `s` ("f16" or "int8"), or nil.
    static func compact(named s: UnsafePointer<CChar>) -> WeightType? {
        if strcmp(s, "f16") == 0 { return .f16 }
        if strcmp(s, "int8") == 0 { return .int8 }
        return nil
    }
}

/// Bytes a compact layer keeps in a model's block: bias, weights, int8's scales.
private func compactLayerBytes(_ l: LayerView, _ weights: WeightType) -> Int {
    Plan.aligned(l.fanOut * 4) + Plan.aligned(l.fanOut * l.fanIn * weights.dtype.size)
        + (weights == .int8 ? Plan.aligned(l.fanOut * 4) : 0)
}

/// A copy of a float32 model with its weights stored as `weights` (f16 or int8),
/// in one allocation: the same header, spec and biases.
func quantizeModel(_ source: Model, _ weights: WeightType, _ function: StaticString) throws(SwannError) -> Model {
    let h = source.header.pointee
    guard h.weights == .f32 else {
        throw Failure(function).text(": the model's weights are already ").text(h.weights.name)
            .text("; quantize its float32 original").error(.arg)
    }
    var copied = 0, largest = 0
    for k in 0..<h.layerCount {
        let l = source.layers[k]
        if weights == .int8 && l.fanIn > Compact.int8MaxInputs {
            throw Failure(function).text(": layer ").int(k).text(" has ").int(l.fanIn)
                .text(" inputs; int8 sums are exact for at most ").int(Compact.int8MaxInputs).error(.arg)
        }
        copied += compactLayerBytes(l, weights)
        if l.panels { largest = max(largest, l.fanOut * l.fanIn) }
    }
    // Weights in the product's panels (a model's own copy) are read back into [out, in]
    // rows in a transient block first.
    var rows: UnsafeMutablePointer<Float>? = nil
    if largest > 0 {
        guard let p = cs_aligned_alloc(largest * 4) else {
            throw Failure(function).text(": out of memory for ").int(largest * 4).text(" bytes of staging").error(.nomem)
        }
        rows = p.assumingMemoryBound(to: Float.self)
    }
    defer { if let rows { cs_free(rows) } }
    let layout = ModelLayout(layerCount: h.layerCount, specLength: h.specLength)
    let total = layout.bookkeeping + copied
    guard let block = cs_aligned_alloc(total) else {
        throw Failure(function).text(": could not allocate the model's ").int(total).text(" bytes").error(.nomem)
    }
    memset(block, 0, layout.bookkeeping)
    let model = Model(base: block)
    var m = h
    m.magic = 0
    m.ownsBlock = true
    m.mapAddress = nil
    m.mapLength = 0
    m.blockBytes = total
    m.weights = weights
    model.header.initialize(to: m)
    memcpy(model.specText, source.specText, h.specLength + 1)
    var cursor = layout.bookkeeping
    for k in 0..<h.layerCount {
        let l = source.layers[k]
        let b = (block + cursor).assumingMemoryBound(to: Float.self)
        cursor += Plan.aligned(l.fanOut * 4)
        copyFloats(b, l.bias, l.fanOut)
        let w = block + cursor
        cursor += Plan.aligned(l.fanOut * l.fanIn * weights.dtype.size)
        // Element (out j, in i) of the source: [in, out] when transposed, else [out, in]
        // (panels: read back into `rows`).
        var source = l.weight
        if l.panels, let rows {
            for j in 0..<l.fanOut {
                for i in 0..<l.fanIn { rows[j * l.fanIn + i] = l.weight[ownCopyIndex(l, out: j, in: i)] }
            }
            source = UnsafePointer(rows)
        }
        let rowStride = l.transposed ? 1 : l.fanIn, colStride = l.transposed ? l.fanOut : 1
        var view = LayerView(fanIn: l.fanIn, fanOut: l.fanOut, activation: l.activation, alpha: l.alpha,
                             weight: l.weight, bias: UnsafePointer(b))
        view.weights = weights
        view.compact = UnsafeRawPointer(w)
        if weights == .int8 {
            let s = (block + cursor).assumingMemoryBound(to: Float.self)
            cursor += Plan.aligned(l.fanOut * 4)
            Compact.quantizeInt8(source, rows: l.fanOut, cols: l.fanIn, rowStride: rowStride, colStride: colStride,
                                 into: w.assumingMemoryBound(to: Int8.self), scales: s)
            view.scales = UnsafePointer(s)
        } else {
            guard Compact.toHalf(source, rows: l.fanOut, cols: l.fanIn, rowStride: rowStride, colStride: colStride,
                                 into: w.assumingMemoryBound(to: Float16.self)) else {
                cs_free(block)
                throw Failure(function).text(": layer ").int(k)
                    .text(" has a weight beyond binary16's range (|w| > 65504)").error(.numeric)
            }
        }
        view.weight = UnsafePointer(b)  // unused by compact layers; never the source's
        model.layers[k] = view
    }
    model.header.pointee.magic = ModelHeader.liveMagic
    return model
}
