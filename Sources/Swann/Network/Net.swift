import CSupport

/// A view of a live net: the arena base and typed accessors into it.
struct Net {
    let base: UnsafeMutableRawPointer

    @inline(__always) var header: UnsafeMutablePointer<NetHeader> {
        base.assumingMemoryBound(to: NetHeader.self)
    }
    @inline(__always) func floats(_ offset: Int) -> UnsafeMutablePointer<Float> {
        (base + offset).assumingMemoryBound(to: Float.self)
    }
    @inline(__always) var layers: UnsafeMutablePointer<LayerRecord> {
        (base + header.pointee.layers).assumingMemoryBound(to: LayerRecord.self)
    }
    @inline(__always) var params: UnsafeMutablePointer<Float> { floats(header.pointee.params) }
    @inline(__always) var grads: UnsafeMutablePointer<Float> { floats(header.pointee.grads) }
    @inline(__always) var slots: UnsafeMutablePointer<Float> { floats(header.pointee.slots) }
    @inline(__always) var specText: UnsafeMutablePointer<CChar> {
        (base + header.pointee.spec).assumingMemoryBound(to: CChar.self)
    }
    /// Per-thread workspaces; [0] is the caller's.
    @inline(__always) var workspaces: UnsafeMutablePointer<Gemm.Workspace> {
        (base + header.pointee.workspaces).assumingMemoryBound(to: Gemm.Workspace.self)
    }
    @inline(__always) var pool: UnsafeMutablePointer<cs_pool> {
        (base + header.pointee.pool).assumingMemoryBound(to: cs_pool.self)
    }
    /// Everything the matrix products need: the workspaces and the pool.
    @inline(__always) var engine: Gemm.Engine {
        let h = header.pointee
        return Gemm.Engine(workspaces: workspaces, pool: h.threads > 1 ? pool : nil,
                           sharedA: h.sharedPackFloats > 0 ? floats(h.sharedPack) : nil, sharedFloats: h.sharedPackFloats)
    }

    @inline(__always) var kernels: KernelTable { header.pointee.kernels }

    /// The net at `p` when it is live (made by create or load, not destroyed).
    static func live(_ p: UnsafeMutableRawPointer) -> Net? {
        p.assumingMemoryBound(to: NetHeader.self).pointee.magic == NetHeader.liveMagic ? Net(base: p) : nil
    }
}

/// Places a planned net: in the host's arena (checked for size) or in one the
/// library allocates, then builds it there and starts its workers.
/// `initialize` false leaves the parameters zero (load overwrites them all).
func placeNet(_ plan: Plan, spec: UnsafePointer<NetSpec>, arena: UnsafeMutableRawPointer?,
              arenaBytes: UInt, initialize: Bool = true, _ function: StaticString) throws(SwannError) -> Net {
    let kernels = try KernelTable.choose(function)
    let block = try arenaBlock(arena, arenaBytes, needs: plan.bytes, "net", function)
    let net = buildNet(plan, spec: spec, arena: block, ownsArena: arena == nil,
                       initialize: initialize, kernels: kernels)
    if cs_pool_start(net.pool, Int32(net.header.pointee.threads - 1)) != 0 {
        releaseNet(net)
        throw Failure(function).text(": could not start ").int(plan.header.threads - 1).text(" worker threads")
            .error(.nomem)
    }
    return net
}

/// Ends a net: the handle stops being live, and a library arena is freed.
func releaseNet(_ net: Net) {
    cs_pool_stop(net.pool)
    net.header.pointee.magic = 0
    if net.header.pointee.ownsArena { cs_free(net.base) }
}

/// Lays a planned net into `arena` (at least `plan.bytes`, 64-byte aligned), writes
/// the canonical spec into its slot (the plan measured it), and initialises the
/// parameters from the spec's init and seed.
func buildNet(_ plan: Plan, spec: UnsafePointer<NetSpec>, arena: UnsafeMutableRawPointer,
              ownsArena: Bool, initialize: Bool = true, kernels: KernelTable) -> Net {
    memset(arena, 0, plan.bytes)
    let net = Net(base: arena)
    var h = plan.header
    h.ownsArena = ownsArena
    h.kernels = kernels
    net.header.initialize(to: h)
    let start = plan.tensorStart, slotCount = h.slotCount, maxBatch = h.maxBatch
    _ = Plan.layTensors(SpecShapes(spec), into: net.layers, slotCount: slotCount, maxBatch: maxBatch, start: start)
    var packed = plan.packedStart
    for k in 0..<h.layerCount {
        let bytes = Plan.packedWeightBytes(fanIn: net.layers[k].fanIn, fanOut: net.layers[k].fanOut)
        if bytes > 0 { net.layers[k].packedWeight = packed }
        packed = Plan.aligned(packed + bytes)
    }
    for i in 0..<plan.workspaceOffsets.count {
        let w = plan.workspaceOffsets[i]
        (net.workspaces + i).initialize(to: Gemm.Workspace(packA: net.floats(w.0), packB: net.floats(w.1),
                                                           tile: net.floats(w.2)))
    }
    var text = TextBuffer(base: net.specText, capacity: h.specRoom)
    writeCanonicalSpec(spec, into: &text)
    if initialize { initializeParameters(net, spec: spec) }
    net.header.pointee.magic = NetHeader.liveMagic
    return net
}

/// `he`: normal, std sqrt(2 / fan_in); `xavier`: uniform in +-sqrt(6 / (fan_in + fan_out));
/// `zeros`; biases zero. Each layer draws from its own stream of the seed.
func initializeParameters(_ net: Net, spec: UnsafePointer<NetSpec>) {
    let h = net.header.pointee
    for k in 0..<h.layerCount {
        let l = net.layers[k]
        let w = net.floats(l.weight)
        let n = l.fanIn * l.fanOut
        var rng = SplitMix64(seed: spec.pointee.seed, stream: UInt64(k))
        switch spec.pointee.initKind.resolved(for: l.activation) {
        case .he:
            let std = (2.0 / Double(l.fanIn)).squareRoot()
            rng.fillNormal(w, count: n, scale: std)
        case .xavier, .automatic:
            let bound = (6.0 / Double(l.fanIn + l.fanOut)).squareRoot()
            for i in 0..<n { w[i] = Float(rng.uniform(-bound, bound)) }
        case .zeros:
            zeroFloats(w, n)
        }
        zeroFloats(net.floats(l.bias), l.fanOut)
    }
}
