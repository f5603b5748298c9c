import CSupport

/// Per-layer record, stored in the arena. Offsets are in bytes from the arena start.
struct LayerRecord {
    var fanIn: Int          // D_{k-1}
    var fanOut: Int         // D_k
    var activation: Activation
    var alpha: Float
    var weight: Int         // W_k, [fanOut, fanIn], inside the parameter block
    var bias: Int           // b_k, [fanOut]
    var z: Int              // z_k for max_batch rows
    var y: Int              // y_k for max_batch rows (== z for identity)
}

/// The head of every arena. A `swann_net *` points here.
struct NetHeader {
    static let liveMagic: UInt64 = 0x7377_616E_6E5F_6E31  // "swann_n1"

    var magic: UInt64
    var ownsArena: Bool
    var arenaBytes: Int
    var layerCount: Int
    var inputSize: Int
    var outputSize: Int
    var paramCount: Int
    var maxBatch: Int
    var loss: Loss
    var optimizer: OptimizerConfig
    var slotCount: Int
    /// The output layer's gradient comes straight from the loss (softmax +
    /// cross_entropy or sigmoid + binary_cross_entropy). Tests may turn it off.
    var fuseOutput: Bool

    // regions (byte offsets)
    var layers: Int
    var spec: Int
    var specLength: Int     // without the NUL
    var specRoom: Int       // bytes of the region: specLength + 1 + lrTextSlack at creation
    var params: Int
    var grads: Int
    var slots: Int
    var input: Int          // y_0 for max_batch rows
    var scratch0: Int       // two max_batch x max width buffers for the backward recursion
    var scratch1: Int
    var threads: Int        // the caller and threads - 1 workers
    var workspaces: Int     // `threads` Gemm.Workspace records, each with its own packing buffers
    var pool: Int           // the worker pool (cs_pool)
    var sharedPack: Int     // threads > 1: one packed A for all the threads of a product
    var sharedPackFloats: Int

    // training state
    var lastBatch: Int      // rows of the last successful forward; 0 = none yet
    var accumulated: Int    // T: rows whose gradients are summed in grads
    var steps: Int          // optimizer steps taken
    /// The gradient buffer still holds the sums of a finished step (or of a
    /// swann_zero_grad): they count as zero, and the next backward writes its
    /// sums over them instead of adding, so a step neither zeroes the buffer
    /// nor makes the next backward read it. Never set once `gradsShared`.
    var gradsStale = false
    /// The host has the buffer's address (swann_grads): from then on it holds
    /// the true sums at all times, zeroed eagerly by step and zero_grad.
    var gradsShared = false
    /// The host has the parameters' address (swann_params) and may have written
    /// anything there. Until then every parameter is known finite (initialized,
    /// loaded and updated only through checks), which lets a plain SGD step prove
    /// its update finite from the gradient alone.
    var paramsShared = false
}

/// Where each buffer of a net goes in its arena. Computed identically by
/// `swann_arena_size` and `swann_create`, with every size checked for overflow.
struct Plan {
    var header = NetHeader(magic: 0, ownsArena: false, arenaBytes: 0, layerCount: 0, inputSize: 0,
                           outputSize: 0, paramCount: 0, maxBatch: 0, loss: .mse,
                           optimizer: OptimizerConfig(), slotCount: 0, fuseOutput: true, layers: 0,
                           spec: 0, specLength: 0, specRoom: 0, params: 0, grads: 0, slots: 0, input: 0,
                           scratch0: 0, scratch1: 0, threads: 1, workspaces: 0, pool: 0, sharedPack: 0, sharedPackFloats: 0,
                           lastBatch: 0, accumulated: 0, steps: 0)
    var records = FixedList<256, LayerRecord>(filler: LayerRecord(fanIn: 0, fanOut: 0, activation: .identity, alpha: 0,
                                                                  weight: 0, bias: 0, z: 0, y: 0))
    var bytes = 0
    /// Per thread: the packing buffers (A, B, tile) of its workspace.
    var workspaceOffsets = FixedList<64, (Int, Int, Int)>(filler: (0, 0, 0))

    static let alignment = 64


    /// Builds the plan; fails with `.arg` when the arena would exceed the limit.
    init(spec: NetSpec, maxBatch: Int, specLength: Int) throws(SwannError) {
        var cursor = 0
        func take(_ n: Int) -> Int {
            let at = cursor
            cursor = (cursor + n + Plan.alignment - 1) / Plan.alignment * Plan.alignment
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
        _ = take(MemoryLayout<NetHeader>.stride)
        h.layers = take(MemoryLayout<LayerRecord>.stride * spec.layers.count)
        // Room for swann_set_lr to write a longer "lr" into the canonical text.
        h.spec = take(specLength + 1 + lrTextSlack)
        h.specLength = specLength
        h.specRoom = specLength + 1 + lrTextSlack

        var params = 0, fanIn = spec.input, width = spec.input
        var maxM = maxBatch, maxN = 1, maxK = maxBatch, shared = 0
        for l in spec.layers {
            let w = params
            params += l.units * fanIn
            let b = params
            params += l.units
            records.append(LayerRecord(fanIn: fanIn, fanOut: l.units, activation: l.activation,
                                       alpha: Float(l.alpha), weight: w * f, bias: b * f, z: 0, y: 0))
            width = max(width, l.units)
            maxM = max(maxM, l.units)
            maxN = max(maxN, max(l.units, fanIn))
            maxK = max(maxK, max(l.units, fanIn))
            // op(A) of the forward (batch x fanIn), dX (batch x units) and dW (units x batch) products
            shared = max(shared, Gemm.sharedPackSize(m: maxBatch, k: max(fanIn, l.units)),
                         Gemm.sharedPackSize(m: l.units, k: maxBatch))
            fanIn = l.units
        }
        h.paramCount = params
        h.params = take(params * f)
        for k in 0..<records.count { records[k].weight += h.params; records[k].bias += h.params }
        h.grads = take(params * f)
        h.slots = take(h.slotCount * params * f)
        // Activations: max_batch <= 2^24 and widths <= 2^24, so each product fits easily;
        // the running total is checked against the limit after each layer.
        h.input = take(maxBatch * spec.input * f)
        for k in 0..<records.count {
            records[k].z = take(maxBatch * records[k].fanOut * f)
            records[k].y = records[k].activation == .identity ? records[k].z : take(maxBatch * records[k].fanOut * f)
            guard cursor <= Limits.maxArenaBytes else { throw Plan.tooBig(cursor) }
        }
        h.scratch0 = take(maxBatch * width * f)
        h.scratch1 = take(maxBatch * width * f)
        let pack = Gemm.packSizes(maxM: maxM, maxN: maxN, maxK: maxK)
        h.threads = spec.threads
        h.workspaces = take(MemoryLayout<Gemm.Workspace>.stride * spec.threads)
        for _ in 0..<spec.threads {
            workspaceOffsets.append((take(pack.a * f), take(pack.b * f), take(Gemm.mr * Gemm.nr * f)))
        }
        h.pool = take(MemoryLayout<cs_pool>.stride)
        if spec.threads > 1 {
            h.sharedPackFloats = shared
            h.sharedPack = take(shared * f)
        }
        guard cursor <= Limits.maxArenaBytes else { throw Plan.tooBig(cursor) }
        h.arenaBytes = cursor
        header = h
        bytes = cursor
    }

    static func tooBig(_ bytes: Int) -> SwannError {
        Failure("arena: the net needs more than ").int(bytes).text(" bytes, above the limit of ")
            .int(Limits.maxArenaBytes)
        return SwannError(status: .arg)
    }
}

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

    /// The handle of a live net, or nil (with the message set) for NULL or a
    /// pointer that is not a live net.
    static func from(_ p: UnsafeMutableRawPointer?, _ function: StaticString) -> Net? {
        guard let p else {
            Failure(function).text(": net is NULL")
            return nil
        }
        guard p.assumingMemoryBound(to: NetHeader.self).pointee.magic == NetHeader.liveMagic else {
            Failure(function).text(": not a live swann net (destroyed, or not from swann_create)")
            return nil
        }
        return Net(base: p)
    }
}

/// Parses the spec and writes its canonical text; `body` receives the parsed spec,
/// the canonical text (valid only during the call) and its length.
func withCanonicalSpec<R>(_ specJSON: UnsafePointer<CChar>?,
                          _ body: (NetSpec, UnsafePointer<CChar>, Int) throws(SwannError) -> R) throws(SwannError) -> R {
    let spec = try parseSpec(specJSON)
    // About 110 bytes a layer, 700 for the rest.
    var text = TextBuffer(capacity: 1024 + 128 * spec.layers.count)
    defer { text.free() }
    writeCanonicalSpec(spec, into: &text)
    guard text.ok else {
        Failure("spec: out of memory while writing the canonical spec")
        throw SwannError(status: .nomem)
    }
    return try body(spec, UnsafePointer(text.base), text.length)
}

/// Validates max_batch from C.
func checkMaxBatch(_ maxBatch: UInt, _ function: StaticString) throws(SwannError) -> Int {
    guard maxBatch >= 1 else {
        Failure(function).text(": max_batch is 0, must be at least 1")
        throw SwannError(status: .arg)
    }
    guard maxBatch <= UInt(Limits.maxBatch) else {
        Failure(function).text(": max_batch ").uint(maxBatch).text(" exceeds the limit ").int(Limits.maxBatch)
        throw SwannError(status: .arg)
    }
    return Int(maxBatch)
}

/// Places a planned net: in the host's arena (checked for size) or in one the
/// library allocates, then builds it there.
/// `initialize` false leaves the parameters zero (load overwrites them all).
func placeNet(_ plan: Plan, spec: NetSpec, specText: UnsafePointer<CChar>, arena: UnsafeMutableRawPointer?,
              arenaBytes: UInt, initialize: Bool = true, _ function: StaticString) throws(SwannError) -> Net {
    if let arena {
        guard arenaBytes >= UInt(plan.bytes) else {
            Failure(function).text(": arena has ").uint(arenaBytes).text(" bytes, the net needs ").int(plan.bytes)
            throw SwannError(status: .arena)
        }
        return try startWorkers(buildNet(plan, spec: spec, specText: specText, arena: arena, ownsArena: false,
                                             initialize: initialize), function)
    }
    guard let block = cs_aligned_alloc(plan.bytes) else {
        Failure(function).text(": could not allocate the arena of ").int(plan.bytes).text(" bytes")
        throw SwannError(status: .nomem)
    }
    return try startWorkers(buildNet(plan, spec: spec, specText: specText, arena: block, ownsArena: true,
                                         initialize: initialize), function)
}

/// Starts the net's worker threads (threads - 1 of them).
private func startWorkers(_ net: Net, _ function: StaticString) throws(SwannError) -> Net {
    if cs_pool_start(net.pool, Int32(net.header.pointee.threads - 1)) != 0 {
        Failure(function).text(": could not start ").int(net.header.pointee.threads - 1).text(" worker threads")
        releaseNet(net)
        throw SwannError(status: .nomem)
    }
    return net
}

/// Checks the arena arguments: a host arena is 64-byte aligned; without one,
/// arena_bytes must be 0 (a size with no block is a host mistake worth reporting).
func checkArena(_ arena: UnsafeMutableRawPointer?, _ arenaBytes: UInt, _ function: StaticString) throws(SwannError) {
    guard let arena else {
        guard arenaBytes == 0 else {
            Failure(function).text(": arena is NULL but arena_bytes is ").uint(arenaBytes).text(" (must be 0)")
            throw SwannError(status: .arg)
        }
        return
    }
    if UInt(bitPattern: arena) % UInt(Plan.alignment) != 0 {
        Failure(function).text(": arena is not 64-byte aligned")
        throw SwannError(status: .arena)
    }
}

/// Ends a net: the handle stops being live, and a library arena is freed.
func releaseNet(_ net: Net) {
    cs_pool_stop(net.pool)
    net.header.pointee.magic = 0
    if net.header.pointee.ownsArena { cs_free(net.base) }
}

/// Lays a planned net into `arena` (at least `plan.bytes`, 64-byte aligned) and
/// initialises its parameters from the spec's init and seed.
func buildNet(_ plan: Plan, spec: NetSpec, specText: UnsafePointer<CChar>, arena: UnsafeMutableRawPointer,
              ownsArena: Bool, initialize: Bool = true) -> Net {
    memset(arena, 0, plan.bytes)
    let net = Net(base: arena)
    var h = plan.header
    h.ownsArena = ownsArena
    net.header.initialize(to: h)
    for k in 0..<plan.records.count { (net.layers + k).initialize(to: plan.records[k]) }
    for (i, w) in plan.workspaceOffsets.enumerated() {
        (net.workspaces + i).initialize(to: Gemm.Workspace(packA: net.floats(w.0), packB: net.floats(w.1),
                                                           tile: net.floats(w.2)))
    }
    memcpy(net.specText, specText, h.specLength)
    net.specText[h.specLength] = 0
    if initialize { initializeParameters(net, spec: spec) }
    net.header.pointee.magic = NetHeader.liveMagic
    return net
}

/// `he`: normal, std sqrt(2 / fan_in); `xavier`: uniform in +-sqrt(6 / (fan_in + fan_out));
/// `zeros`; biases zero. Each layer draws from its own stream of the seed.
func initializeParameters(_ net: Net, spec: NetSpec) {
    let h = net.header.pointee
    for k in 0..<h.layerCount {
        let l = net.layers[k]
        let w = net.floats(l.weight)
        let n = l.fanIn * l.fanOut
        var rng = SplitMix64(seed: spec.seed, stream: UInt64(k))
        switch spec.initKind.resolved(for: l.activation) {
        case .he:
            let std = (2.0 / Double(l.fanIn)).squareRoot()
            for i in 0..<n { w[i] = Float(std * rng.normal()) }
        case .xavier, .automatic:
            let bound = (6.0 / Double(l.fanIn + l.fanOut)).squareRoot()
            for i in 0..<n { w[i] = Float(rng.uniform(-bound, bound)) }
        case .zeros:
            zeroFloats(w, n)
        }
        zeroFloats(net.floats(l.bias), l.fanOut)
    }
}
