import CSupport

/// Where each buffer of a net goes in its arena: the header, the layer records,
/// the canonical spec text, the tensors (`TensorTable`), then the engine (each
/// thread's packing workspace, the pool, the shared packed A). Computed identically
/// by `swann_arena_size` and `swann_create`, every size bounded by the spec's limits.
/// The layer records are not kept here (256 of them inline would be 10-20 KB of every
/// frame holding a plan): `buildNet` lays them into the arena from the spec, with
/// `layTensors`, the walk that sized them.
struct Plan {
    var header = NetHeader()
    var bytes = 0
    /// Where the tensor table starts (`layTensors`' start).
    var tensorStart = 0
    /// Per thread: the packing buffers (A, B, tile) of its workspace.
    var workspaceOffsets = ThreadList<(Int, Int, Int)>(filler: (0, 0, 0))

    static let alignment = 64
    /// Where the layers' packed forward weights start.
    var packedStart = 0
    /// Largest layer (floats of W) that keeps a packed copy of its forward weights.
    static let packedWeightLimit = 1 << 20

    /// Bytes of a layer's packed copy of its forward weights (GemmPrepacked.swift), or 0:
    /// layers up to 4 MiB of weights (W1's and W3's, not W4's: their copies would add 96 MB,
    /// about 45 %, to a W4 training net that never reads them, for 5 % of a W4 inference
    /// forward, measured 2026-12-04); none on 32-bit ARM, whose scalar product packs nothing.
    static func packedWeightBytes(fanIn: Int, fanOut: Int) -> Int {
        #if arch(arm)
        return 0
        #else
        guard fanIn * fanOut <= packedWeightLimit else { return 0 }
        return Gemm.packedSize(k: fanIn, n: fanOut) * MemoryLayout<Float>.stride
        #endif
    }
    static func aligned(_ offset: Int) -> Int { (offset + alignment - 1) / alignment * alignment }

    /// Builds the plan; fails with `.arg` when the arena would exceed the limit.
    init(spec: UnsafePointer<NetSpec>, maxBatch: Int, specLength: Int) throws(SwannError) {
        var cursor = 0
        func take(_ n: Int) -> Int {
            let at = cursor
            cursor = Plan.aligned(cursor + n)
            return at
        }
        let f = MemoryLayout<Float>.stride
        var h = header
        h.layerCount = spec.pointee.layers.count
        h.inputSize = spec.pointee.input
        h.outputSize = spec.output
        h.maxBatch = maxBatch
        h.loss = spec.pointee.loss
        h.optimizer = spec.pointee.optimizer
        h.slotCount = spec.pointee.optimizer.slotCount
        h.threads = spec.pointee.threads
        _ = take(MemoryLayout<NetHeader>.stride)
        h.layers = take(MemoryLayout<LayerRecord>.stride * spec.pointee.layers.count)
        // Room for swann_set_lr to write a longer "lr" into the canonical text.
        h.spec = take(specLength + 1 + lrTextSlack)
        h.specLength = specLength
        h.specRoom = specLength + 1 + lrTextSlack

        var fanIn = spec.pointee.input
        var maxM = maxBatch, maxN = 1, maxK = maxBatch, shared = 0
        for k in 0..<spec.pointee.layers.count {  // by index: a for-in iterator would copy the whole list
            let l = spec.pointee.layers[k]
            maxM = max(maxM, l.units)
            maxN = max(maxN, max(l.units, fanIn))
            maxK = max(maxK, max(l.units, fanIn))
            // op(A) of the forward (batch x fanIn), dX (batch x units) and dW (units x batch) products
            shared = max(shared, Gemm.sharedPackSize(m: maxBatch, k: max(fanIn, l.units)),
                         Gemm.sharedPackSize(m: l.units, k: maxBatch))
            fanIn = l.units
        }
        // The tensors. Every size is bounded by the spec's limits (units and
        // max_batch <= 2^24, parameters <= 2^34, 256 layers), so no sum overflows
        // before the total is checked below.
        let start = cursor, slotCount = h.slotCount
        tensorStart = start
        let laid = Plan.layTensors(SpecShapes(spec), into: nil, slotCount: slotCount, maxBatch: maxBatch, start: start)
        cursor = Plan.aligned(laid.cursor)
        h.input = laid.input
        h.scratch0 = laid.scratch0
        h.scratch1 = laid.scratch1
        let params = laid.params, firstParam = laid.firstParam, firstGrad = laid.firstGrad, firstSlot = laid.firstSlot
        h.paramCount = params
        h.params = firstParam
        h.grads = firstGrad
        h.slots = firstSlot < 0 ? firstGrad : firstSlot  // no slots: an empty block
        // The engine.
        let pack = Gemm.packSizes(maxM: maxM, maxN: maxN, maxK: maxK, cols: Gemm.nc)
        h.workspaces = take(MemoryLayout<Gemm.Workspace>.stride * spec.pointee.threads)
        for _ in 0..<spec.pointee.threads {
            workspaceOffsets.append((take(pack.a * f), take(pack.b * f), take(Gemm.mr * Gemm.nr * f)))
        }
        h.pool = take(MemoryLayout<cs_pool>.stride)
        // The layers' packed forward weights, one after the other (`packedWeightBytes`;
        // buildNet gives each layer its offset).
        packedStart = cursor
        fanIn = spec.pointee.input
        for k in 0..<spec.pointee.layers.count {
            _ = take(Plan.packedWeightBytes(fanIn: fanIn, fanOut: spec.pointee.layers[k].units))
            fanIn = spec.pointee.layers[k].units
        }
        if spec.pointee.threads > 1 {
            h.sharedPackFloats = shared
            h.sharedPack = take(shared * f)
        }
        guard cursor <= Limits.maxArenaBytes else {
            throw Failure("arena: the net needs more than ").int(cursor).text(" bytes, above the limit of ")
                .int(Limits.maxArenaBytes).error(.arg)
        }
        h.arenaBytes = cursor
        header = h
        bytes = cursor
    }
}

/// Where `Plan.layTensors` put the blocks and buffers of a net's tensor table.
struct LaidTensors {
    var cursor = 0
    var params = 0, firstParam = -1, firstGrad = -1, firstSlot = -1
    var input = 0, scratch0 = 0, scratch1 = 0
}

extension Plan {
    /// Lays the tensor table of a spec's layers from `start`; with `records` (one per
    /// layer), also writes each layer's record there, its offsets filled in.
    static func layTensors(_ shapes: SpecShapes, into records: UnsafeMutablePointer<LayerRecord>?, slotCount: Int,
                           maxBatch: Int, start: Int) -> LaidTensors {
        let f = MemoryLayout<Float>.stride
        var r = LaidTensors()
        if let records {
            for k in 0..<shapes.layerCount { (records + k).initialize(to: shapes.layer(k)) }
        }
        let tensors = TensorTable(shapes, slotCount: slotCount, inputSize: shapes.spec.pointee.input,
                                  maxBatch: maxBatch, start: start)
        var it = tensors.makeIterator()
        while let t = it.next() {
            switch t.role {
            case .parameter:
                if r.firstParam < 0 { r.firstParam = t.offset }
                r.params += t.bytes / f
                if t.isBias { records?[t.layer].bias = t.offset } else { records?[t.layer].weight = t.offset }
            case .gradient:
                if r.firstGrad < 0 { r.firstGrad = t.offset }
                if t.isBias { records?[t.layer].gradBias = t.offset } else { records?[t.layer].gradWeight = t.offset }
            case .slot: if r.firstSlot < 0 { r.firstSlot = t.offset }
            case .input: r.input = t.offset
            case .preActivation: records?[t.layer].z = t.offset; records?[t.layer].y = t.offset
            case .activation: records?[t.layer].y = t.offset
            case .scratch: if t.layer == 0 { r.scratch0 = t.offset } else { r.scratch1 = t.offset }
            case .step, .scale: break  // a net's table has no scales (float32 weights)
            }
        }
        r.cursor = it.cursor
        return r
    }
}

/// The block a net or session lives in: the host's arena (at least `bytes`, else
/// SWANN_E_ARENA naming `what`), or one allocation of the library's (SWANN_E_NOMEM).
func arenaBlock(_ arena: UnsafeMutableRawPointer?, _ arenaBytes: UInt, needs bytes: Int, _ what: StaticString,
                _ function: StaticString) throws(SwannError) -> UnsafeMutableRawPointer {
    if let arena {
        guard arenaBytes >= UInt(bytes) else {
            throw Failure(function).text(": arena has ").uint(arenaBytes).text(" bytes, the ").text(what)
                .text(" needs ").int(bytes).error(.arena)
        }
        return arena
    }
    guard let owned = cs_aligned_alloc(bytes) else {
        throw Failure(function).text(": could not allocate the arena of ").int(bytes).text(" bytes").error(.nomem)
    }
    return owned
}
