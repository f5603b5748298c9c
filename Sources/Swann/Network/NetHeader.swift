import CSupport

/// Per-layer record, stored in the arena: the layer's shape and where its
/// tensors are (byte offsets from the arena start, as the tensor table lays them).
struct LayerRecord {
    var fanIn = 0           // D_{k-1}
    var fanOut = 0          // D_k
    var activation: Activation = .identity
    var alpha: Float = 0
    var weight = 0          // W_k, [fanOut, fanIn], inside the parameter block
    var bias = 0            // b_k, [fanOut]
    var gradWeight = 0      // grad W_k, inside the gradient block
    var gradBias = 0        // grad b_k
    var z = 0               // z_k for max_batch rows
    var y = 0               // y_k for max_batch rows (== z for identity)
    var packedWeight = 0    // W_k^T in Gemm's packed panels for the forward product, or 0 (GemmPrepacked.swift)
    var heldTransposed = false  // z and y hold Z_k^T and Y_k^T, fanOut x batch (KeptLayout.swift)
}

/// The head of every arena. A `swann_net *` points here.
struct NetHeader {
    static let liveMagic: UInt64 = 0x7377_616E_6E5F_6E31  // "swann_n1"

    var magic: UInt64 = 0
    var ownsArena = false
    var arenaBytes = 0
    var layerCount = 0
    var inputSize = 0
    var outputSize = 0
    var paramCount = 0
    var maxBatch = 0
    var loss: Loss = .mse
    var optimizer = OptimizerConfig()
    var slotCount = 0

    // regions (byte offsets)
    var layers = 0
    var spec = 0
    var specLength = 0      // without the NUL
    var specRoom = 0        // bytes of the region: specLength + 1 + lrTextSlack at creation
    var params = 0          // the parameter block: every layer's weight and bias, in table order
    var grads = 0           // the gradient block, likewise
    var slots = 0           // the optimizer slots, one block each, likewise
    var input = 0           // y_0 for max_batch rows
    var scratch0 = 0        // two max_batch x max width buffers for the backward recursion
    var scratch1 = 0
    var threads = 1         // the caller and threads - 1 workers
    var workspaces = 0      // `threads` Gemm.Workspace records, each with its own packing buffers
    var pool = 0            // the worker pool (cs_pool)
    var sharedPack = 0      // threads > 1: one packed A for all the threads of a product
    var sharedPackFloats = 0

    // training state
    var lastBatch = 0       // rows of the last successful forward; 0 = none yet
    var accumulated = 0     // T: rows whose gradients are summed in grads
    var steps = 0           // optimizer steps taken
    /// The gradient buffer still holds the sums of a finished step (or of a
    /// swann_zero_grad): they count as zero, and the next backward writes its
    /// sums over them instead of adding, so a step neither zeroes the buffer
    /// nor makes the next backward read it. Never set once `gradsShared`.
    var gradsStale = false
    /// The host has the buffer's address (swann_grads): from then on it holds
    /// the true sums at all times, zeroed eagerly by step and zero_grad.
    var gradsShared = false
    /// An upper bound on |every value| the gradient buffer holds, from the bounds and
    /// checks of the backward that wrote it (`Net.propagate`); infinity when none is
    /// known. A plain SGD step proves its update finite from it instead of a pass over
    /// the gradient. Read only while the buffer is neither stale nor shared.
    var gradientBound = Double.infinity
    /// The host has the parameters' address (swann_params) and may have written
    /// anything there. Until then every parameter is known finite (initialized,
    /// loaded and updated only through checks), which lets a plain SGD step prove
    /// its update finite from the gradient alone.
    var paramsShared = false
    /// The layers' packed weight copies hold the current weights (Forward.swift).
    var packedFresh = false
    /// Forwards since the weights last changed (capped at 2).
    var forwardsOnSameWeights = 0

    // run-time settings (like the thread count: never in the canonical spec or a model file)
    /// Forward, backward and step run with flush-to-zero and denormals-are-zero
    /// (swann_set_flush_subnormals); false: IEEE subnormals.
    var flushSubnormals = true
    /// The kernels of the CPU level chosen at create (KernelTable.choose).
    var kernels = KernelTable.inference()  // a placeholder: create sets choose's
}
