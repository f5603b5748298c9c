import CSupport

// An inference forward split by rows: each chunk of the batch runs every layer on one
// thread, with no barrier between layers. Split by columns (Gemm.multiply's own
// split), a W1i batch of 128 waited four times per forward (A packed, then the
// product, for two layers) and ran the activations and the small last layer on
// the caller alone: two threads gave 1.46x one. Split by rows, each thread reads
// every layer's packed weights, so it is taken only where they are packed and
// fresh (no thread packs W) and the batch is large enough that the weights' reads
// are shared by at least minRowsPerThread rows. A row's bits do not depend on
// the rows beside it (the product sums each element in the micro-kernel's order
// for any m), so the split changes nothing in the result.
enum RowSplit {
    /// Rows a thread needs before splitting by rows beats splitting each product
    /// by columns (which divides the weights' reads among the threads).
    static let minRowsPerThread = 32
    /// Multiply-adds below which the workers are not woken at all.
    static let minWork = 1 << 21
    /// Two chunks per thread. Every chunk reads all the weights, yet one chunk per
    /// thread was no faster (in-process A/B 0.99-1.02x; alone, best of 7: 162-169k
    /// rows/s against 168-174k for two) and left a worker that wakes late with
    /// nothing to do (the caller then runs both halves).
    /// Chunks are a multiple of 4 rows: the AVX-512 tile's 12, 8 and 4-row forms
    /// (GemmKernelWide.swift) then leave no part tile. Rounded to 12, W1i's 128
    /// rows made chunks of 36, 36, 36 and 20, one thread 72 rows to the other's 56;
    /// in 4 chunks of 32, 1.06x the rows/s at two threads (A/B 0.94x the time).
    static let rowMultiple = 4

    /// Rows per chunk for `batch` rows on `threads` threads, or nil to keep the
    /// per-product split.
    static func chunkRows(batch: Int, threads: Int, macsPerRow: Int) -> Int? {
        guard threads > 1, batch >= minRowsPerThread * threads,
              macsPerRow > 0, batch >= (minWork + macsPerRow - 1) / macsPerRow else { return nil }
        let even = (batch + 2 * threads - 1) / (2 * threads)
        return (even + rowMultiple - 1) / rowMultiple * rowMultiple
    }
}

/// One row-split forward: chunk c covers rows c * chunkRows ..< min(batch, (c + 1) * chunkRows).
/// Each chunk copies its rows of the host's x into the net's input buffer first: the
/// copy (400 KB for W1i's 128 rows) is then split too, not done by the caller alone.
struct RowForwardJob {
    var net: Net
    /// The host's rows (checked finite), copied into the input buffer by each chunk.
    var x: UnsafePointer<Float>
    var batch: Int, chunkRows: Int

    static func runChunk(_ jp: UnsafePointer<RowForwardJob>, _ chunk: Int, worker: Int) {
        let j = jp.pointee
        let lo = chunk * j.chunkRows
        let rows = min(j.chunkRows, j.batch - lo)
        guard rows > 0 else { return }
        let net = j.net, kt = net.kernels
        let engine = Gemm.Engine(workspaces: net.workspaces + worker, pool: nil)
        let width = net.header.pointee.inputSize
        let input = net.floats(net.header.pointee.input) + lo * width
        copyFloats(input, j.x + lo * width, rows * width)
        var prev = UnsafePointer(input)
        for k in 0..<net.header.pointee.layerCount {
            let l = net.layers[k]
            let y = net.floats(l.y) + lo * l.fanOut
            let view = LayerView(fanIn: l.fanIn, fanOut: l.fanOut, activation: l.activation, alpha: l.alpha,
                                 weight: net.floats(l.weight), bias: net.floats(l.bias))
            forwardLayer(view, input: prev, z: net.floats(l.z) + lo * l.fanOut, y: y, batch: rows, engine: engine,
                         kernels: kt, packed: net.floats(l.packedWeight), packedState: .fresh)
            prev = UnsafePointer(y)
        }
    }
}

/// The host's rows checked finite on the pool before a row-split forward writes
/// anything, one slice per thread: on the caller alone the check was 2 % of a W1i
/// forward at two threads (x read from L3 after the forward before evicted it).
struct FiniteCheckJob {
    var x: UnsafePointer<Float>
    var count: Int, slice: Int
    var kernels: KernelTable
    var bad: UnsafeMutablePointer<Int>

    static func all(_ x: UnsafePointer<Float>, count: Int, kernels: KernelTable,
                    pool: UnsafeMutablePointer<cs_pool>) -> Bool {
        let threads = Int(pool.pointee.active) + 1
        var bad = 0
        withUnsafeMutablePointer(to: &bad) { bp in
            var job = FiniteCheckJob(x: x, count: count, slice: (count + threads - 1) / threads, kernels: kernels, bad: bp)
            withUnsafePointer(to: &job) { jp in
                cs_pool_run(pool, { ctx, index, _ in
                    guard let j = ctx?.assumingMemoryBound(to: FiniteCheckJob.self).pointee else { return }
                    let lo = Int(index) * j.slice
                    let n = min(j.slice, j.count - lo)
                    if n > 0 && !j.kernels.allFinite(j.x + lo, n) { _ = cs_atomic_add(j.bad, 1) }
                }, UnsafeMutableRawPointer(mutating: jp), Int64(threads))
            }
        }
        return bad == 0
    }
}

extension Net {
    /// Rows per chunk when this forward should split by rows (every layer's packed
    /// weights fresh, the pool in use, the batch large enough), else nil.
    func rowSplit(batch: Int, state: PackedState, pool: UnsafeMutablePointer<cs_pool>) -> Int? {
        guard state == .fresh else { return nil }
        let h = header.pointee
        var macs = 0
        for k in 0..<h.layerCount {
            let l = layers[k]
            guard l.packedWeight > 0 else { return nil }
            macs += l.fanIn * l.fanOut
        }
        guard let rows = RowSplit.chunkRows(batch: batch, threads: Int(pool.pointee.active) + 1, macsPerRow: macs),
              cs_pool_use(pool) != 0 else { return nil }
        return rows
    }

    /// Every layer for `batch` rows of the host's `x` (copied into the input buffer
    /// chunk by chunk), chunks of `chunkRows` rows on the pool's threads.
    func forwardRows(_ x: UnsafePointer<Float>, batch: Int, chunkRows: Int, pool: UnsafeMutablePointer<cs_pool>) {
        var job = RowForwardJob(net: self, x: x, batch: batch, chunkRows: chunkRows)
        withUnsafePointer(to: &job) { jp in
            cs_pool_run(pool, { ctx, index, worker in
                guard let ctx else { return }
                RowForwardJob.runChunk(ctx.assumingMemoryBound(to: RowForwardJob.self), Int(index), worker: Int(worker))
            }, UnsafeMutableRawPointer(mutating: jp), Int64((batch + chunkRows - 1) / chunkRows))
        }
    }
}
