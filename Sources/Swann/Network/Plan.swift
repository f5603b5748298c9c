import CSupport

/// Where each buffer of a net goes in its arena: the header, the layer records,
/// the canonical spec text, the tensors (`TensorTable`), then the engine (each
/// thread's packing workspace, the pool, the shared packed A). Computed identically
/// by `swann_arena_size` and `swann_create`, every size bounded by the spec's limits.
struct Plan {
    var header = NetHeader()
    var records = LayerList<LayerRecord>(filler: LayerRecord())
    var bytes = 0
    /// Per thread: the packing buffers (A, B, tile) of its workspace.
    var workspaceOffsets = ThreadList<(Int, Int, Int)>(filler: (0, 0, 0))

    static let alignment = 64
    /// Largest layer (floats of W) that keeps a packed copy of its forward weights.
    static let packedWeightLimit = 1 << 20
    static func aligned(_ offset: Int) -> Int { (offset + alignment - 1) / alignment * alignment }

    /// Builds the plan; fails with `.arg` when the arena would exceed the limit.
    init(spec: NetSpec, maxBatch: Int, specLength: Int) throws(SwannError) {
        var cursor = 0
        func take(_ n: Int) -> Int {
            let at = cursor
            cursor = Plan.aligned(cursor + n)
            return at
        }
        let f = MemoryLayout<Float>.stride
        var h = header
        h.layerCount = spec.layers.count
        h.inputSize = spec.input
        h.outputSize = spec.output
        h.maxBatch = maxBatch
        h.loss = spec.loss
        h.optimizer = spec.optimizer
        h.slotCount = spec.optimizer.slotCount
        h.threads = spec.threads
        _ = take(MemoryLayout<NetHeader>.stride)
        h.layers = take(MemoryLayout<LayerRecord>.stride * spec.layers.count)
        // Room for swann_set_lr to write a longer "lr" into the canonical text.
        h.spec = take(specLength + 1 + lrTextSlack)
        h.specLength = specLength
        h.specRoom = specLength + 1 + lrTextSlack

        var fanIn = spec.input
        var maxM = maxBatch, maxN = 1, maxK = maxBatch, shared = 0
        for l in spec.layers {
            records.append(LayerRecord(fanIn: fanIn, fanOut: l.units, activation: l.activation, alpha: Float(l.alpha)))
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
        var table = records
        var params = 0, firstParam = -1, firstGrad = -1, firstSlot = -1
        let tensors = TensorTable(records, slotCount: h.slotCount, inputSize: spec.input, maxBatch: maxBatch,
                                  start: cursor)
        var it = tensors.makeIterator()
        while let t = it.next() {
            switch t.role {
            case .parameter:
                if firstParam < 0 { firstParam = t.offset }
                params += t.bytes / f
                if t.isBias { table[t.layer].bias = t.offset } else { table[t.layer].weight = t.offset }
            case .gradient:
                if firstGrad < 0 { firstGrad = t.offset }
                if t.isBias { table[t.layer].gradBias = t.offset } else { table[t.layer].gradWeight = t.offset }
            case .slot: if firstSlot < 0 { firstSlot = t.offset }
            case .input: h.input = t.offset
            case .preActivation: table[t.layer].z = t.offset; table[t.layer].y = t.offset
            case .activation: table[t.layer].y = t.offset
            case .scratch: if t.layer == 0 { h.scratch0 = t.offset } else { h.scratch1 = t.offset }
            case .step, .scale: break  // a net's table has no scales (float32 weights)
            }
        }
        cursor = Plan.aligned(it.cursor)
        records = table
        h.paramCount = params
        h.params = firstParam
        h.grads = firstGrad
        h.slots = firstSlot < 0 ? firstGrad : firstSlot  // no slots: an empty block
        // The engine.
        let pack = Gemm.packSizes(maxM: maxM, maxN: maxN, maxK: maxK, cols: Gemm.nc)
        h.workspaces = take(MemoryLayout<Gemm.Workspace>.stride * spec.threads)
        for _ in 0..<spec.threads {
            workspaceOffsets.append((take(pack.a * f), take(pack.b * f), take(Gemm.mr * Gemm.nr * f)))
        }
        h.pool = take(MemoryLayout<cs_pool>.stride)
        // Packed copies of the forward weights (GemmPrepacked.swift) for layers up to
        // 4 MiB of weights within one column block: W1's and W3's, not W4's, which would
        // double a 100 MB arena to save under 2 %. Not on 32-bit ARM (GemmScalar packs nothing).
        #if !arch(arm)
        for k in 0..<records.count {
            let r = records[k]
            if r.fanOut <= Gemm.nc && r.fanIn * r.fanOut <= Plan.packedWeightLimit {
                records[k].packedWeight = take(Gemm.packedSize(k: r.fanIn, n: r.fanOut) * f)
            }
        }
        #endif
        if spec.threads > 1 {
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
