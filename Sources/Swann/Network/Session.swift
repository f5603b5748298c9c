import CSupport

/// The head of a session's arena. A `swann_session *` points here. The arena
/// holds this header, the caller's GEMM workspace record, two activation buffers
/// of max_batch rows of the model's widest layer (layers write them in turn; the
/// first reads x where the host has it), and the workspace's packing buffers.
/// No pool: a session computes on the calling thread.
struct SessionHeader {
    static let liveMagic: UInt64 = 0x7377_616E_6E5F_7331  // "swann_s1"

    var magic: UInt64 = 0
    var model: UnsafeMutableRawPointer? = nil
    var maxBatch = 0
    var ownsArena = false
    var buffer0 = 0         // byte offsets from the arena start
    var buffer1 = 0
    var workspace = 0
    /// An int8 model's quantized input rows (max_batch x the widest input, bytes)
    /// and their scales (max_batch floats); 0 for other models.
    var quantized = 0
    var rowScales = 0
    /// An int8 model's layers in the packed layout (Compact.packInt8), one after the
    /// other, made at create; 0 for other models.
    var packed = 0
    /// The kernels of the CPU level chosen at create (KernelTable.chooseForSession).
    var kernels = KernelTable.inference()
}

/// Where each part of a session's arena goes, for a model and max_batch.
struct SessionPlan {
    var header = SessionHeader()
    var packA = 0, packB = 0, tile = 0, packCols = 0
    var bytes = 0

    init(_ model: Model, maxBatch: Int, _ function: StaticString) throws(SwannError) {
        let h = model.header.pointee
        let f = MemoryLayout<Float>.stride
        var cursor = 0
        func take(_ n: Int) -> Int {
            let at = cursor
            cursor = Plan.aligned(cursor + n)
            return at
        }
        _ = take(MemoryLayout<SessionHeader>.stride)
        header.maxBatch = maxBatch
        header.workspace = take(MemoryLayout<Gemm.Workspace>.stride)
        // max_batch <= 2^24 and a layer's units <= 2^24: no product overflows.
        header.buffer0 = take(maxBatch * h.width * f)
        header.buffer1 = take(maxBatch * h.width * f)
        // The forward products: m = batch, n = a layer's units, k = its inputs.
        // packB's width does not change any sum's order, only how often A is
        // packed: a session keeps it narrow (8 sessions of a 4096-wide model at
        // max_batch 1 would otherwise hold 21 MB of packing space). Fewer rows
        // than the micro-kernel's never pack at all.
        packCols = maxBatch < Gemm.fewRowsLimit ? Gemm.nr : 512
        let pack = Gemm.packSizes(maxM: maxBatch, maxN: h.width, maxK: h.widestInput, cols: packCols)
        packA = take(pack.a * f)
        packB = take(pack.b * f)
        tile = take(Gemm.mr * Gemm.nr * f)
        if h.weights == .int8 {
            header.quantized = take(maxBatch * Compact.roundUp4(h.widestInput))
            header.rowScales = take(maxBatch * f)
            var packedBytes = 0
            for k in 0..<h.layerCount {
                let l = model.layers[k]
                packedBytes += Plan.aligned(int8PackedBytes(l))
            }
            header.packed = take(packedBytes)
        }
        guard cursor <= Limits.maxArenaBytes else {
            throw Failure(function).text(": the session needs more than ").int(cursor)
                .text(" bytes, above the limit of ").int(Limits.maxArenaBytes).error(.arg)
        }
        bytes = cursor
    }
}

/// A view of a live session.
struct Session {
    let base: UnsafeMutableRawPointer

    @inline(__always) var header: UnsafeMutablePointer<SessionHeader> {
        base.assumingMemoryBound(to: SessionHeader.self)
    }
    @inline(__always) func floats(_ offset: Int) -> UnsafeMutablePointer<Float> {
        (base + offset).assumingMemoryBound(to: Float.self)
    }

    static func live(_ p: UnsafeMutableRawPointer) -> Session? {
        p.assumingMemoryBound(to: SessionHeader.self).pointee.magic == SessionHeader.liveMagic ? Session(base: p) : nil
    }

    /// Y for `batch` rows of x (1 ... max_batch, checked by the caller), through the
    /// layers' one forward path, in the caller's floating-point mode.
    func run(_ model: Model, _ x: UnsafePointer<Float>, batch: Int, _ y: UnsafeMutablePointer<Float>)
        throws(SwannError) {
        let m = model.header.pointee
        let h = header.pointee
        // An int8 first layer on the packed path finds each row's largest magnitude as it
        // quantizes it, keeping NaN and Inf (CompactInt8VNNIRows.swift): its row scales
        // then say whether x is finite, and the pass allFinite makes over x is saved (3.6 %
        // of a W1i int8 run). Nothing the host sees is written before the check.
        let checkedByScales = m.layerCount > 0 && usesPackedInt8(model.layers[0])
        guard checkedByScales || h.kernels.allFinite(x, batch * m.inputSize) else {
            throw Failure("session_run: input has NaN or Inf values").error(.numeric)
        }
        let engine = Gemm.Engine(workspaces: (base + h.workspace).assumingMemoryBound(to: Gemm.Workspace.self),
                                 pool: nil)
        var prev = x
        var packed = base + h.packed
        for k in 0..<m.layerCount {
            // Z and Y of a layer share a buffer (activations work in place);
            // the layers alternate between the two.
            let out = floats(k & 1 == 0 ? h.buffer0 : h.buffer1)
            let l = model.layers[k]
            if l.weights == .f32 {
                forwardLayer(l, input: prev, z: out, y: out, batch: batch, engine: engine, kernels: h.kernels)
            } else {
                compactLayer(l, input: prev, z: out, batch: batch, packed: UnsafeRawPointer(packed))
                packed += Plan.aligned(int8PackedBytes(l))
                if k == 0 && checkedByScales {
                    let scales = floats(h.rowScales)
                    for r in 0..<batch where scales[r].isNaN {
                        throw Failure("session_run: input has NaN or Inf values").error(.numeric)
                    }
                }
            }
            prev = UnsafePointer(out)
        }
        copyFloats(y, prev, batch * m.outputSize)
    }
}

extension Session {
    /// A compact model's layer for `batch` rows: the f16 or int8 product (Kernels/
    /// Compact*.swift), then the activation in place, as forwardLayer does. Each row
    /// is computed alone, in one order, whatever the batch.
    /// `packed`: the layer's packed int8 weights in the arena, if it has them.
    func compactLayer(_ l: LayerView, input: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>, batch: Int,
                      packed: UnsafeRawPointer) {
        guard let w = l.compact else { return }
        let h = header.pointee
        if usesPackedInt8(l), let scales = l.scales, let entry = h.kernels.int8PackedEntry {
            let call = Int8PackedCall(x: input, rows: batch, inputs: l.fanIn, outputs: l.fanOut, packed: packed,
                                      scales: scales, bias: l.bias,
                                      q: (base + h.quantized).assumingMemoryBound(to: Int8.self),
                                      rowScales: floats(h.rowScales), z: z, relu: l.activation == .relu)
            withUnsafePointer(to: call) { entry(UnsafeRawPointer($0)) }
            if call.relu { return }  // applied in the kernel's stores
        } else if l.weights == .int8, let scales = l.scales {
            h.kernels.int8LayerEntry(input, batch, l.fanIn, l.fanOut, w.assumingMemoryBound(to: Int8.self), scales,
                                     l.bias, (base + h.quantized).assumingMemoryBound(to: Int8.self),
                                     floats(h.rowScales), z)
        } else {
            h.kernels.f16LayerEntry(input, batch, l.fanIn, l.fanOut, UnsafeRawPointer(w), l.bias, z)
        }
        h.kernels.activationForward(l.activation, alpha: l.alpha, z: z, y: z, rows: batch, cols: l.fanOut)
    }
}

extension Session {
    /// Whether an int8 layer runs on the packed path (the level has it and the layer fits it).
    func usesPackedInt8(_ l: LayerView) -> Bool {
        l.weights == .int8 && l.scales != nil && header.pointee.kernels.int8PackedEntry != nil && int8PackedBytes(l) > 0
    }
}

/// Lays a session into `arena` (at least `plan.bytes`, 64-byte aligned) and
/// counts it on its model.
func buildSession(_ plan: SessionPlan, model: Model, arena: UnsafeMutableRawPointer, ownsArena: Bool,
                  kernels: KernelTable) -> Session {
    let s = Session(base: arena)
    var h = plan.header
    h.kernels = kernels
    h.model = model.base
    h.ownsArena = ownsArena
    s.header.initialize(to: h)
    (arena + h.workspace).assumingMemoryBound(to: Gemm.Workspace.self)
        .initialize(to: Gemm.Workspace(packA: s.floats(plan.packA), packB: s.floats(plan.packB),
                                       tile: s.floats(plan.tile), packCols: Gemm.roundUp(plan.packCols, Gemm.nr)))
    if model.header.pointee.weights == .int8 {
        var packed = arena + h.packed
        for k in 0..<model.header.pointee.layerCount {
            let l = model.layers[k]
            let bytes = int8PackedBytes(l)
            if bytes > 0, let w = l.compact {
                Compact.packInt8(w.assumingMemoryBound(to: Int8.self), inputs: l.fanIn, outputs: l.fanOut, into: packed)
            }
            packed += Plan.aligned(bytes)
        }
    }
    _ = cs_atomic_add(model.sessions, 1)
    s.header.pointee.magic = SessionHeader.liveMagic
    return s
}

/// Ends a session: the handle stops being live, its model counts one session
/// fewer, and a library arena is freed.
func releaseSession(_ s: Session) {
    let h = s.header.pointee
    s.header.pointee.magic = 0
    if let m = h.model { _ = cs_atomic_add(Model(base: m).sessions, -1) }
    if h.ownsArena { cs_free(s.base) }
}

/// Bytes of an int8 layer's packed weights (Compact.packInt8) in a session. Only a build
/// with every x86 level has a kernel that reads them (the VNNI level's); its sessions
/// reserve and fill them on any CPU, so a session's size does not depend on the CPU.
/// One-level builds (TARGET_CPU, ARM, the Swift package) reserve nothing.
@inline(__always)
func int8PackedBytes(_ l: LayerView) -> Int {
    #if SWANN_ISA_VARIANTS
    return Compact.packedBytes(inputs: l.fanIn, outputs: l.fanOut)
    #else
    return 0
    #endif
}
