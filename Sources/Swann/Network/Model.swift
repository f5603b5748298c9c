import CSupport

/// The head of a model's block. A `swann_model *` points here. The block holds,
/// in order: this header, the live-session count (its own 64 bytes, changed
/// atomically by sessions on any thread), the layer table (`LayerView`s, whose
/// weight and bias pointers lead into this block, the host's bytes or a file
/// mapping), the canonical spec text, then the tensors that were copied.
struct ModelHeader {
    static let liveMagic: UInt64 = 0x7377_616E_6E5F_6D31  // "swann_m1"

    var magic: UInt64 = 0
    /// The library allocated the block (destroy frees it); false: the host's `mem`.
    var ownsBlock = false
    /// A file mapping the weights are read in place from (destroy unmaps it), or nil.
    var mapAddress: UnsafeMutableRawPointer? = nil
    var mapLength = 0
    var blockBytes = 0
    var layerCount = 0
    var inputSize = 0
    var outputSize = 0
    /// The widest layer output: a session's activation buffers hold max_batch rows of it.
    var width = 0
    /// The widest layer input (the forward products' inner size).
    var widestInput = 0
    var paramCount = 0
    /// Sessions run with flush-to-zero and denormals-are-zero (as swann_set_flush_subnormals):
    /// on for loaded models, the net's setting for swann_model_from_net.
    var flushSubnormals = true
    var specLength = 0
    /// How every layer's weights are stored (CompactModel.swift).
    var weights = WeightType.f32
}

/// Where the parts of a model's block go.
struct ModelLayout {
    static let counter = Plan.aligned(MemoryLayout<ModelHeader>.stride)
    static let layers = Plan.aligned(counter + MemoryLayout<Int>.stride)

    let layerCount: Int
    let specLength: Int
    var spec: Int { Plan.aligned(ModelLayout.layers + layerCount * MemoryLayout<LayerView>.stride) }
    /// The bookkeeping the model keeps: everything but the copied tensors.
    var bookkeeping: Int { Plan.aligned(spec + specLength + 1) }
}

/// A view of a live model.
struct Model {
    let base: UnsafeMutableRawPointer

    @inline(__always) var header: UnsafeMutablePointer<ModelHeader> {
        base.assumingMemoryBound(to: ModelHeader.self)
    }
    /// The live sessions (cs_atomic_add / cs_atomic_load only).
    @inline(__always) var sessions: UnsafeMutablePointer<Int> {
        (base + ModelLayout.counter).assumingMemoryBound(to: Int.self)
    }
    @inline(__always) var layers: UnsafeMutablePointer<LayerView> {
        (base + ModelLayout.layers).assumingMemoryBound(to: LayerView.self)
    }
    @inline(__always) var specText: UnsafeMutablePointer<CChar> {
        let layout = ModelLayout(layerCount: header.pointee.layerCount, specLength: header.pointee.specLength)
        return (base + layout.spec).assumingMemoryBound(to: CChar.self)
    }

    static func live(_ p: UnsafeMutableRawPointer) -> Model? {
        p.assumingMemoryBound(to: ModelHeader.self).pointee.magic == ModelHeader.liveMagic ? Model(base: p) : nil
    }
}

/// Where a model's weights are read from.
enum ModelPlacement {
    /// Read into the model's own block (swann_model_load, from_buffer without mem).
    case copy
    /// In place from the bytes at `base` (the file's first byte); a tensor that is
    /// not 4-byte aligned there is copied when `copyMisaligned` (a mapping), else refused.
    case inPlace(base: UnsafeRawPointer, copyMisaligned: Bool)
}

/// The bytes of the host's `mem` a model built in place from `file` needs: the
/// loader's reading scratch (header text, trees, tensor table), then the block the
/// model keeps, placed at mem's end once the reading is done.
func modelMemSize(_ file: ModelFile) -> Int {
    file.scratch.reading + ModelLayout(layerCount: file.spec.pointee.layers.count,
                                       specLength: file.plan.header.specLength).bookkeeping
}

/// A model from a checked model file: the parameters, each checked finite; the
/// optimizer tensors (checked by the loader) are ignored. The block is `mem`
/// (at least `memBytes`) or one allocation; `map` is handed to the model on success.
func buildModel(_ file: ModelFile, placement: ModelPlacement,
                mem: UnsafeMutableRawPointer?, memBytes: UInt,
                map: (UnsafeMutableRawPointer, Int)? = nil) throws(SwannError) -> Model {
    let function = file.function
    let layout = ModelLayout(layerCount: file.spec.pointee.layers.count, specLength: file.plan.header.specLength)
    if file.weights == .int8 {
        for k in 0..<file.spec.pointee.layers.count where file.spec.record(k).fanIn > Compact.int8MaxInputs {
            throw Failure(function).text(": layer ").int(k).text(" has ").int(file.spec.record(k).fanIn)
                .text(" int8 inputs; int8 sums are exact for at most ").int(Compact.int8MaxInputs).error(.format)
        }
    }
    // Which tensors are copied, and the bytes they need. A tensor is used in place
    // where it is aligned to its dtype in memory.
    var copied = 0
    for i in 0..<file.count where file.tensors[i].tensor.isModelData {
        let t = file.tensors[i].tensor
        guard case .inPlace(let bytes, let copyMisaligned) = placement else {
            copied += Plan.aligned(ownCopyBytes(t, file.spec.record(t.layer)))
            continue
        }
        let at = file.dataStart + UInt64(file.tensors[i].span.0)
        guard (UInt(bitPattern: bytes) &+ UInt(at)) & UInt(t.dtype.size - 1) != 0 else { continue }
        guard copyMisaligned else {
            throw t.withName(file.spec.pointee.optimizer) { name in
                Failure(function).text(": tensor \"").text(name).text("\" (at byte ").uint(UInt(at))
                    .text(") is not aligned to its dtype in memory: align the bytes, or pass mem NULL to copy them")
                    .error(.arg)
            }
        }
        copied += Plan.aligned(ownCopyBytes(t, file.spec.record(t.layer)))
    }
    let total = layout.bookkeeping + copied
    // Copied float32 weights are stored in the model's own order (LayerView.panels): read
    // into a transient block of the largest, checked, then laid into place.
    var largest = 0
    for i in 0..<file.count where file.tensors[i].tensor.reorderedInModel {
        largest = max(largest, file.tensors[i].tensor.bytes)
    }
    var staging: UnsafeMutableRawPointer? = nil
    if copied > 0 && largest > 0 {
        guard let p = cs_aligned_alloc(largest) else {
            throw Failure(function).text(": out of memory for ").int(largest).text(" bytes of staging").error(.nomem)
        }
        staging = p
    }
    defer { if let staging { cs_free(staging) } }
    let block: UnsafeMutableRawPointer
    if let mem {
        // The reading's scratch is at mem's start (still in use: the tensor table);
        // the model's block goes at its end.
        let need = file.scratch.reading + total
        guard memBytes >= UInt(need) else {
            throw Failure(function).text(": mem has ").uint(memBytes).text(" bytes, the model needs ").int(need)
                .text(" (swann_model_mem_size)").error(.arena)
        }
        block = mem + (Int(memBytes) - total) / Plan.alignment * Plan.alignment
    } else {
        guard let owned = cs_aligned_alloc(total) else {
            throw Failure(function).text(": could not allocate the model's ").int(total).text(" bytes")
                .error(.nomem)
        }
        block = owned
    }
    memset(block, 0, layout.bookkeeping)
    let model = Model(base: block)
    var h = ModelHeader()
    h.ownsBlock = mem == nil
    h.blockBytes = total
    h.layerCount = file.spec.pointee.layers.count
    h.inputSize = file.plan.header.inputSize
    h.outputSize = file.plan.header.outputSize
    h.paramCount = file.plan.header.paramCount
    h.specLength = layout.specLength
    h.weights = file.weights
    for k in 0..<file.spec.pointee.layers.count {
        h.width = max(h.width, file.spec.record(k).fanOut)
        h.widestInput = max(h.widestInput, file.spec.record(k).fanIn)
    }
    model.header.initialize(to: h)
    var text = TextBuffer(base: model.specText, capacity: layout.specLength + 1)
    writeCanonicalSpec(file.spec, into: &text)
    var cursor = layout.bookkeeping
    for i in 0..<file.count where file.tensors[i].tensor.isModelData {
        let t = file.tensors[i].tensor
        let at = file.dataStart + UInt64(file.tensors[i].span.0)
        var raw: UnsafeRawPointer
        var dst: UnsafeMutableRawPointer? = nil
        if case .inPlace(let bytes, _) = placement,
           (UInt(bitPattern: bytes) &+ UInt(at)) & UInt(t.dtype.size - 1) == 0 {
            raw = bytes + Int(at)
        } else {
            dst = block + cursor
            cursor += Plan.aligned(ownCopyBytes(t, file.spec.record(t.layer)))
            let into = t.reorderedInModel ? staging : dst
            guard let into, file.source.read(at: at, count: t.bytes, into: into) else {
                if mem == nil { cs_free(block) }
                throw Failure(function).text(": reading tensor data failed").reason().error(.io)
            }
            raw = UnsafeRawPointer(into)
        }
        if let problem = compactProblem(t, raw) {
            if mem == nil { cs_free(block) }
            throw t.withName(file.spec.pointee.optimizer) { name in
                Failure(function).text(": tensor \"").text(name).text("\" ").text(problem).error(.format)
            }
        }
        let source = raw.assumingMemoryBound(to: Float.self)  // read as floats only when t.dtype is .f32
        let r = file.spec.record(t.layer)
        if t.role == .scale {
            model.layers[t.layer].scales = source
        } else if t.dtype != .f32 {
            var view = LayerView(fanIn: r.fanIn, fanOut: r.fanOut, activation: r.activation,
                                 alpha: r.alpha, weight: source, bias: source)
            view.weights = file.weights
            view.compact = raw
            model.layers[t.layer] = view
        } else if !t.isBias {
            var view = LayerView(fanIn: r.fanIn, fanOut: r.fanOut, activation: r.activation,
                                 alpha: r.alpha, weight: source, bias: source)
            if let dst { layOwnCopy(source, into: dst.assumingMemoryBound(to: Float.self), &view) }
            model.layers[t.layer] = view
        } else {
            model.layers[t.layer].bias = source
        }
    }
    if let map {
        model.header.pointee.mapAddress = map.0
        model.header.pointee.mapLength = map.1
    }
    model.header.pointee.magic = ModelHeader.liveMagic
    return model
}

extension Tensor {
    /// A tensor a model keeps: a layer's weight, bias or int8 scales.
    var isModelData: Bool { role == .parameter || role == .scale }
    /// A float32 weight, which a model's own copy keeps in its own order (LayerView.panels).
    var reorderedInModel: Bool { role == .parameter && !isBias && dtype == .f32 }
}

/// What is wrong with the values of a model tensor (raw: its bytes), or nil: float32
/// values must be finite, int8 scales also positive, binary16 weights finite, and
/// int8 weights in -127...127 (the bound of Compact.int8MaxInputs).
private func compactProblem(_ t: Tensor, _ raw: UnsafeRawPointer) -> StaticString? {
    let n = t.bytes / t.dtype.size
    switch t.dtype {
    case .f32:
        let f = raw.assumingMemoryBound(to: Float.self)
        guard allFinite(f, n) else { return "has NaN or Inf values" }
        if t.role == .scale {
            for i in 0..<n where !(f[i] > 0) { return "has a zero or negative scale" }
        }
        return nil
    case .f16:
        return Compact.firstNonFinite(raw, n) < 0 ? nil : "has NaN or Inf values"
    case .i8:
        return Compact.firstOutOfRange(raw.assumingMemoryBound(to: Int8.self), n) < 0 ? nil
            : "has the value -128 (int8 weights lie in -127...127)"
    case .i64:
        return nil
    }
}

/// A model holding a snapshot of a live net's parameters, in one allocation.
func modelFromNet(_ net: Net, _ function: StaticString) throws(SwannError) -> Model {
    let h = net.header.pointee
    guard allFinite(net.params, h.paramCount) else {
        throw Failure(function).text(": the net's parameters have NaN or Inf values").error(.numeric)
    }
    let layout = ModelLayout(layerCount: h.layerCount, specLength: h.specLength)
    var copied = 0
    for k in 0..<h.layerCount {
        let l = net.layers[k]
        copied += Plan.aligned(ownCopyFloats(fanIn: l.fanIn, fanOut: l.fanOut) * 4) + Plan.aligned(l.fanOut * 4)
    }
    let total = layout.bookkeeping + copied
    guard let block = cs_aligned_alloc(total) else {
        throw Failure(function).text(": could not allocate the model's ").int(total).text(" bytes").error(.nomem)
    }
    memset(block, 0, layout.bookkeeping)
    let model = Model(base: block)
    var m = ModelHeader()
    m.ownsBlock = true
    m.blockBytes = total
    m.layerCount = h.layerCount
    m.inputSize = h.inputSize
    m.outputSize = h.outputSize
    m.paramCount = h.paramCount
    m.flushSubnormals = h.flushSubnormals
    m.specLength = h.specLength
    model.header.initialize(to: m)
    memcpy(model.specText, net.specText, h.specLength + 1)
    var cursor = layout.bookkeeping
    for k in 0..<h.layerCount {
        let l = net.layers[k]
        let w = (block + cursor).assumingMemoryBound(to: Float.self)
        cursor += Plan.aligned(ownCopyFloats(fanIn: l.fanIn, fanOut: l.fanOut) * 4)
        let b = (block + cursor).assumingMemoryBound(to: Float.self)
        cursor += Plan.aligned(l.fanOut * 4)
        copyFloats(b, net.floats(l.bias), l.fanOut)
        var view = LayerView(fanIn: l.fanIn, fanOut: l.fanOut, activation: l.activation, alpha: l.alpha,
                             weight: UnsafePointer(w), bias: UnsafePointer(b))
        layOwnCopy(net.floats(l.weight), into: w, &view)
        model.layers[k] = view
        model.header.pointee.width = max(model.header.pointee.width, l.fanOut)
        model.header.pointee.widestInput = max(model.header.pointee.widestInput, l.fanIn)
    }
    model.header.pointee.magic = ModelHeader.liveMagic
    return model
}

/// Ends a model: the handle stops being live, a mapping is unmapped and a
/// library block freed. The caller has checked that no session is alive.
func releaseModel(_ model: Model) {
    let h = model.header.pointee
    model.header.pointee.magic = 0
    if let map = h.mapAddress { cs_unmap(map, h.mapLength) }
    if h.ownsBlock { cs_free(model.base) }
}

// A model's bytes: the spec and the parameters, no optimizer state.
extension Model: LayerShapes {
    var layerCount: Int { header.pointee.layerCount }
    func layer(_ k: Int) -> LayerRecord {
        let l = layers[k]
        return LayerRecord(fanIn: l.fanIn, fanOut: l.fanOut, activation: l.activation, alpha: l.alpha)
    }
}

extension Model: ModelFileSource {
    var fileTable: TensorTable<Model> {
        TensorTable(self, slotCount: 0, inputSize: header.pointee.inputSize, maxBatch: 1, start: 0,
                    weights: header.pointee.weights)
    }
    var fileSpecText: UnsafePointer<CChar> { UnsafePointer(specText) }
    var fileSpecLength: Int { header.pointee.specLength }
    var fileOptimizer: OptimizerConfig { OptimizerConfig() }
    var fileSteps: Int? { nil }
    func fileData(_ t: Tensor) -> UnsafeRawPointer? {
        guard t.role == .parameter || t.role == .scale else { return nil }
        let l = layers[t.layer]
        if t.role == .scale { return l.scales.map { UnsafeRawPointer($0) } }
        if t.isBias { return UnsafeRawPointer(l.bias) }
        return l.weights == .f32 ? UnsafeRawPointer(l.weight) : l.compact
    }

    /// A weight in the model's own order goes back to the file's [out, in] rows, 64
    /// values at a time.
    func emitData(_ t: Tensor, _ sink: (UnsafeRawPointer, Int) -> Bool) -> Bool {
        guard let p = fileData(t) else { return true }
        let l = layers[t.layer]
        guard t.role == .parameter && !t.isBias && (l.transposed || l.panels) else { return sink(p, t.bytes) }
        var chunk = SIMD64<Float>()
        return withUnsafeMutablePointer(to: &chunk) { cp -> Bool in
            let buf = UnsafeMutableRawPointer(cp).assumingMemoryBound(to: Float.self)
            for j in 0..<l.fanOut {
                var p0 = 0
                while p0 < l.fanIn {
                    let n = min(64, l.fanIn - p0)
                    for q in 0..<n { buf[q] = l.weight[ownCopyIndex(l, out: j, in: p0 + q)] }
                    guard sink(buf, n * 4) else { return false }
                    p0 += n
                }
            }
            return true
        }
    }
}

// A model's own copy of a float32 weight: W^T in the packed panels the product reads
// (Gemm.packWhole, as a net's packed copy), so no run packs it and few rows read it as
// a net does; on 32-bit ARM, whose scalar product packs nothing, W^T as [in, out].

/// Floats of a layer's own copy.
func ownCopyFloats(fanIn: Int, fanOut: Int) -> Int {
    #if arch(arm)
    return fanIn * fanOut
    #else
    return Gemm.packedSize(k: fanIn, n: fanOut)
    #endif
}

/// Bytes a model's own copy of tensor `t` (of layer `r`) takes.
func ownCopyBytes(_ t: Tensor, _ r: LayerRecord) -> Int {
    t.reorderedInModel ? ownCopyFloats(fanIn: r.fanIn, fanOut: r.fanOut) * 4 : t.bytes
}

/// Lays W ([fanOut, fanIn]) into `dst` in the own copy's order; `view` then reads it.
func layOwnCopy(_ w: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, _ view: inout LayerView) {
    #if arch(arm)
    Gemm.transposeMatrix(w, rows: view.fanOut, cols: view.fanIn, into: dst)
    view.transposed = true
    #else
    Gemm.packWhole(k: view.fanIn, n: view.fanOut, b: w, ldb: view.fanIn, into: dst)
    view.panels = true
    #endif
    view.weight = UnsafePointer(dst)
}

/// Where W[out, in] is in a layer's own copy.
@inline(__always)
func ownCopyIndex(_ l: LayerView, out j: Int, in p: Int) -> Int {
    l.panels ? Gemm.packedIndex(p: p, j: j, k: l.fanIn, n: l.fanOut) : p * l.fanOut + j
}
