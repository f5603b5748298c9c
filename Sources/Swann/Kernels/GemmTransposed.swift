import CSupport

/// The forward product of a layer without a packed copy of its weights, turned
/// around: Z = b + X W^T computed as Z^T = b + W X^T, then transposed into Z.
///
/// Z = X W^T reads W's columns as B's rows, so every forward of a training step (and
/// of a net too large to keep W^T packed: W4, 96 MB) packs all of W^T first: 13 % of
/// a W4 forward on the Xeon. Turned around, W is the A operand, whose rows the AVX-512
/// tiles read where they lie (GemmKernelWide.kernelWideInPlace) or, where rows a multiple
/// of 4 KB apart alias in L1 (Gemm.rowsAlias), copy into panels a block at a time (a
/// copy, not a transpose), and the operand packed
/// is X^T, batch / fanOut the size of W. What it costs instead: one transpose of Z (none
/// for a layer kept turned around: Network/KeptLayout.swift). Each Z^T row's bias is added
/// by the tiles as they store the first kc block (`biasPerRow`), not spread over the rows first.
///
/// The same bits: every element is the same kc blocks, each summed from zero in p
/// order by the same FMA chain (a * b and b * a are one product), added to b and then
/// to each other in block order, as the product that adds to a copy of b does.
extension Gemm {
    /// The fewest weights (fanOut x fanIn) for which turning around pays: packing W^T
    /// is then what a forward spends most on outside its tiles.
    static let transposedMinimum = 1 << 16

    /// The most rows (batch) turned around. Every chunk of W's rows reads all of X^T
    /// packed (k x m), so X^T's traffic grows as m^2 while packing W^T is one pass: a
    /// 4096-unit layer's forward of 4096 rows ran at 97-100 GFLOP/s turned around, 145
    /// packed the usual way (3072 rows: 130 against 144; 1024-2048 rows within 2 %; Xeon,
    /// one thread; two threads: 249-264 against 292-295 from 1024 rows on).
    static let transposedMaximumRows = 512

    /// Z [m x n, ldz] = bias + X [m x k, ldx] W^T (W n x k, ldw) the turned-around way
    /// when this level has the in-place tiles and the shape suits them (m a multiple
    /// of 32 columns of Z^T, at most transposedMaximumRows; n of 4 rows). `room` holds
    /// n x m floats of Z^T and k x m of X^T packed. With `epilogue`, chunks of at least
    /// `epilogueMinimumColumns` also write their columns of Y = f(Z), in cache and on the
    /// chunk's thread (the activation is otherwise one pass on the calling thread).
    ///
    /// `xTransposed`: x holds X^T (k x m, ldx), as a kept layer before left it. `keep`
    /// (with an epilogue): leave Z^T (n x m) in z and Y^T = f(Z^T) in the epilogue's y,
    /// untransposed, for the next layer to read as its X^T (`ForwardOutput.transposed`).
    static func transposedForward(m: Int, n: Int, k: Int, x: UnsafePointer<Float>, ldx: Int, xTransposed: Bool,
                                  w: UnsafePointer<Float>, ldw: Int, bias: UnsafePointer<Float>,
                                  z: UnsafeMutablePointer<Float>, ldz: Int,
                                  room: TurnRoom, engine: Engine, epilogue: Epilogue? = nil,
                                  keep: Bool = false) -> ForwardOutput? {
        #if SWANN_LEVEL_AVX512
        guard turnsAround(m: m, n: n, k: k) else { return nil }
        // Chunks of W's rows, of equal size (multiples of 4, as the tiles take them), each
        // chunk's Z^T rows (at most 512 KB) staying in L2 over its kc blocks. On the pool, at
        // least four chunks per thread (`multiply` says why four) and a whole number per
        // thread: 9 chunks on 2 threads left W4's forward at 229-259 GFLOP/s against 260-266.
        let cap = max(4, (1 << 17) / m)
        var count = (n + cap - 1) / cap
        var pool: UnsafeMutablePointer<cs_pool>? = nil
        if let p = engine.pool, m * n * k >= parallelThreshold, cs_pool_use(p) != 0 {
            pool = p
            let threads = Int(p.pointee.active) + 1
            count = roundUp(max(count, 4 * threads), threads)
        }
        let chunk = roundUp((n + count - 1) / count, 4)
        // Kept, a chunk's rows of Z^T are whole rows of the result: the epilogue runs on
        // them at any width.
        let keep = keep && epilogue != nil
        let epilogue = keep || chunk >= epilogueMinimumColumns ? epilogue : nil
        var job = TransposedJob(m: m, n: n, k: k, x: x, ldx: ldx, xTransposed: xTransposed, w: w, ldw: ldw,
                                bias: bias, z: z, ldz: ldz, packed: room.xt, scratch: keep ? z : room.zt,
                                keep: keep, chunk: chunk, workspaces: engine.workspaces, epilogue: epilogue)
        withUnsafeMutablePointer(to: &job) { jp in
            let ctx = UnsafeMutableRawPointer(jp)
            let blocks = Int64((k + kc - 1) / kc), chunks = Int64((n + chunk - 1) / chunk)
            if let pool {
                cs_pool_run(pool, { ctx, index, _ in
                    if let ctx { Gemm.packTransposedBlock(ctx, Int(index)) }
                }, ctx, blocks)
                cs_pool_run(pool, { ctx, index, worker in
                    if let ctx { Gemm.transposedChunk(ctx, Int(index), Int(worker)) }
                }, ctx, chunks)
            } else {
                for pc in 0..<Int(blocks) { packTransposedBlock(ctx, pc) }
                for i in 0..<Int(chunks) { transposedChunk(ctx, i, 0) }
            }
        }
        return keep ? .transposed : epilogue == nil ? .z : .zy
        #else
        return nil
        #endif
    }

    /// Whether this level turns the forward product of m rows through an n x k weight
    /// around (m a multiple of 32 columns of Z^T, at most transposedMaximumRows; n of 4
    /// rows; at least transposedMinimum weights). Only the AVX-512 level has its tiles.
    static func turnsAround(m: Int, n: Int, k: Int) -> Bool {
        #if SWANN_LEVEL_AVX512
        return m >= 2 * nr && m % (2 * nr) == 0 && m <= transposedMaximumRows && n % 4 == 0 && k > 0
            && n * k >= transposedMinimum
        #else
        return false
        #endif
    }

    /// The narrowest chunk that applies the epilogue. At two threads (Xeon, A/B in both
    /// orders) W4i, chunks of 512 columns, took 0.987-0.990x the time with it; W1's
    /// forward, chunks of 32 and 64, 1.018x (rows that short cost more than the pass).
    static let epilogueMinimumColumns = 128

    /// kc block `index` of X^T into the packing room, as packWhole lays it out.
    static func packTransposedBlock(_ ctx: UnsafeMutableRawPointer, _ index: Int) {
        let j = ctx.assumingMemoryBound(to: TransposedJob.self).pointee
        let pc = index * kc
        let kcur = min(kc, j.k - pc)
        packB(k: kcur, n: j.m, b: j.x, ldb: j.ldx, trans: !j.xTransposed, row0: pc, col0: 0,
              into: j.packed + packedPanels(pc: pc, nPad: j.m, col: 0, kcur: kcur))
    }

    /// Chunk `index` of W's rows: its Z^T rows = bias + W X^T, transposed into Z's
    /// columns, and with an epilogue those columns of Y = f(Z) (each element as
    /// Activations.forward computes it, so the same bits as a pass over all of Z).
    /// Kept, the Z^T rows are written in place and Y^T's rows follow from them.
    static func transposedChunk(_ ctx: UnsafeMutableRawPointer, _ index: Int, _ worker: Int) {
        let j = ctx.assumingMemoryBound(to: TransposedJob.self).pointee
        let lo = index * j.chunk
        let rows = min(j.chunk, j.n - lo)
        let ct = j.scratch + lo * j.m
        packedMultiply(m: rows, n: j.m, k: j.k, a: j.w + lo * j.ldw, lda: j.ldw, transA: false,
                       b: j.x, ldb: j.ldx, transB: !j.xTransposed, c: ct, ldc: j.m, accumulate: false,
                       work: j.workspaces[worker], packedB: j.packed, packedBFresh: true, nPad: j.m,
                       bias: j.bias + lo, inPlaceA: true, biasPerRow: true)
        if j.keep {
            if let e = j.epilogue {
                Activations.forward(e.activation, alpha: e.alpha, z: ct, y: e.y + lo * j.m, rows: rows, cols: j.m)
            }
            return
        }
        transpose(rows: rows, cols: j.m, UnsafePointer(ct), into: j.z + lo, ldz: j.ldz)
        if let e = j.epilogue {
            Activations.forward(e.activation, alpha: e.alpha, z: j.z + lo, y: e.y + lo, rows: j.m, cols: rows, ld: j.ldz)
        }
    }

    /// dst[j * ldz + i] = src[i * cols + j]: the rows x cols matrix transposed, in
    /// 16 x 16 blocks so both sides are read and written a cache line at a time. Z's
    /// writes are what it costs, not the moves: `transposeMatrix` (8 x 8 blocks through
    /// registers, half lines) given a leading dimension made W4i 1.017-1.04x the time, and
    /// 16 x 16 blocks through AVX-512 registers (64 vpermt2ps a block) 0.996-1.000x.
    /// Writing Y = f(Z) here too, element by element, made W4i 1.066x the time: the
    /// epilogue runs over the chunk's columns after it.
    static func transpose(rows: Int, cols: Int, _ src: UnsafePointer<Float>,
                          into dst: UnsafeMutablePointer<Float>, ldz: Int) {
        var i0 = 0
        while i0 < rows {
            let ih = min(i0 + 16, rows)
            var j0 = 0
            while j0 < cols {
                let jh = min(j0 + 16, cols)
                for j in j0..<jh {
                    let out = dst + j * ldz
                    for i in i0..<ih { out[i] = src[i * cols + j] }
                }
                j0 += 16
            }
            i0 += 16
        }
    }
}

/// Room a turned-around forward may use (a net's two backward buffers, free until a
/// backward writes them): Z^T, batch x fanOut floats, and X^T packed, batch x fanIn.
struct TurnRoom {
    var zt: UnsafeMutablePointer<Float>
    var xt: UnsafeMutablePointer<Float>
}

/// An elementwise activation (not softmax, which needs whole rows) a forward product
/// may apply as it finishes Z: Y = f(Z), Y laid out as Z (the same leading dimension;
/// it may be Z itself).
struct Epilogue {
    var activation: Activation
    var alpha: Float
    var y: UnsafeMutablePointer<Float>
}

/// What a forward product wrote: Z; Z and Y = f(Z) (its epilogue); or, asked to keep
/// them turned around, Z^T and Y^T = f(Z^T) (fanOut x batch: the next layer's X^T).
enum ForwardOutput { case z, zy, transposed }

/// One turned-around forward on the pool (Gemm.transposedForward).
struct TransposedJob {
    var m, n, k: Int
    var x: UnsafePointer<Float>, ldx: Int, xTransposed: Bool
    var w: UnsafePointer<Float>, ldw: Int
    var bias: UnsafePointer<Float>
    var z: UnsafeMutablePointer<Float>, ldz: Int
    var packed: UnsafeMutablePointer<Float>
    /// Z^T's rows: the room's, or z itself when kept.
    var scratch: UnsafeMutablePointer<Float>
    var keep: Bool
    var chunk: Int
    var workspaces: UnsafeMutablePointer<Gemm.Workspace>
    var epilogue: Epilogue?
}
