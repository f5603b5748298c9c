import CSupport

/// One matrix-multiply engine for the three products of a layer:
///   forward     Z      = Y_prev W^T   (then + b, then f)
///   backward    dY_prev = dZ W
///   gradient    dW     += dZ^T Y_prev
///
/// C[m x n] (+)= op(A)[m x k] * op(B)[k x n], row-major, where op(A)(i, p) is
/// `a[i * lda + p]`, or `a[p * lda + i]` when `transA`; likewise for B.
///
/// The method is the usual one for CPUs (Goto and van de Geijn): blocks of B
/// (KC x NC) and of A (MC x KC) are packed into contiguous panels in the
/// arena, and a register-tiled micro-kernel computes 6 x 16 tiles of C with
/// 12 `SIMD8<Float>` accumulators and fused multiply-adds.
enum Gemm {
    static let mr = 6
    static let nr = 16
    // Measured here (Zen 4, 32 KiB L1d, 1 MiB L2): a KC x 16 B panel stays in L1,
    // an MC x KC A block in L2.
    static let kc = 320
    static let mc = 120  // multiple of mr
    static let nc = 2048 // multiple of nr: a net's packB column capacity

    /// Floats of packing space A and B need for products up to these sizes, with
    /// room in B for `cols` columns (rounded up to a whole panel). The column
    /// capacity changes no result, only how often B is packed: nets take `nc`, a
    /// session for few rows less. (The forward product of fewer than mr rows packs
    /// neither A nor B: `fewRows`.)
    static func packSizes(maxM: Int, maxN: Int, maxK: Int, cols: Int) -> (a: Int, b: Int) {
        #if arch(arm)
        return (0, 0)  // the scalar product packs nothing (GemmScalar.swift)
        #else
        let k = min(kc, maxK)
        let m = roundUp(min(mc, maxM), mr)
        let n = roundUp(min(max(cols, nr), maxN), nr)
        return (m * k, k * n)
        #endif
    }

    @inline(__always)
    static func roundUp(_ x: Int, _ to: Int) -> Int { (x + to - 1) / to * to }

    /// Workspace carved from the arena: packed panels and one spill tile.
    struct Workspace {
        var packA: UnsafeMutablePointer<Float>
        var packB: UnsafeMutablePointer<Float>
        var tile: UnsafeMutablePointer<Float>  // mr * nr floats
        /// Columns packB holds (a multiple of nr, as packSizes' `cols` rounded).
        var packCols: Int = Gemm.nc
    }

    /// The workspaces of every thread and the pool that runs them (nil: one thread),
    /// and room for a whole packed A shared by the threads of a parallel product.
    struct Engine {
        var workspaces: UnsafeMutablePointer<Workspace>
        var pool: UnsafeMutablePointer<cs_pool>?
        var sharedA: UnsafeMutablePointer<Float>? = nil
        var sharedFloats = 0
    }

    /// Floats of the shared packed A for products of op(A) up to m x k (one per layer
    /// shape: forward, dW and dX).
    static func sharedPackSize(m: Int, k: Int) -> Int {
        #if arch(arm)
        return 0
        #else
        return roundUp(m, mr) * k
        #endif
    }

    /// Products below this many multiply-adds run on the calling thread alone:
    /// waking workers costs more than it saves.
    static let parallelThreshold = 1 << 21

    /// One parallel product: C split into chunks of columns (or rows), each
    /// computed by whichever thread claims it, with that thread's workspace.
    struct Job {
        var m, n, k: Int
        var a: UnsafePointer<Float>, lda: Int, transA: Bool
        var b: UnsafePointer<Float>, ldb: Int, transB: Bool
        var c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
        var alongN: Bool
        var chunk: Int
        var workspaces: UnsafeMutablePointer<Workspace>
        /// A packed once for every chunk (along N only): kc-blocks of all the rows,
        /// block pc at packedA + pc * mPad. nil: each chunk packs its own.
        var packedA: UnsafeMutablePointer<Float>?
        var mPad: Int
        /// B kept packed across calls (GemmPrepacked.swift), and whether it already holds
        /// this B (else each chunk along N packs its columns into it; along M it is
        /// packed whole before the chunks run).
        var packedB: UnsafeMutablePointer<Float>? = nil
        var packedBFresh = false
        /// C = bias + the product (n floats), or nil.
        var bias: UnsafePointer<Float>? = nil
    }

    /// C (+)= op(A) op(B) on the engine's threads when the product is large enough.
    /// What it wrote: C, or also the epilogue's Y, or (`keep`) both turned around (only
    /// a turned-around forward applies an epilogue or keeps).
    @discardableResult
    static func multiply(m: Int, n: Int, k: Int,
                         a: UnsafePointer<Float>, lda: Int, transA: Bool,
                         b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                         c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
                         engine: Engine, packed: UnsafeMutablePointer<Float>? = nil,
                         packedState: PackedState = .stale, bias: UnsafePointer<Float>? = nil,
                         turn: TurnRoom? = nil, epilogue: Epilogue? = nil, keep: Bool = false) -> ForwardOutput {
        // A forward product on weights that have no packed copy, or whose copy is left
        // alone (training), turned around where the level can (GemmTransposed.swift).
        // A transposed A is a kept layer's X^T.
        if let turn, let row = bias, transB, packed == nil || packedState == .stale,
           let done = transposedForward(m: m, n: n, k: k, x: a, ldx: lda, xTransposed: transA, w: b, ldw: ldb,
                                        bias: row, z: c, ldz: ldc, room: turn, engine: engine, epilogue: epilogue,
                                        keep: keep) {
            return done
        }
        // With `bias` (n floats), C = bias + op(A) op(B) (`accumulate` unused): the
        // packed product adds it as it stores its first kc block, the others add the
        // product to a copy of it. The same bits either way.
        var accumulate = accumulate, bias = bias
        if let row = bias, m < fewRowsLimit || k == 0 {
            spreadBias(row, m: m, n: n, c: c, ldc: ldc)
            accumulate = true
            bias = nil
        }
        // A forward product whose B = W^T is kept packed (GemmPrepacked.swift). While
        // the weights change at every step the copy is left alone: packing into it
        // would only add its megabytes to what a training step keeps in cache.
        let packed = transB && !transA && packedState != .stale ? packed : nil
        if let p = packed, m < fewRowsLimit {
            if packedState == .build { packWhole(k: k, n: n, b: b, ldb: ldb, into: p) }
            panelRows(m: m, n: n, k: k, a: a, lda: lda, packed: UnsafePointer(p), c: c, ldc: ldc,
                      accumulate: accumulate)
            return .z
        }
        if let p = packed, n <= nr, k > 0, engine.pool == nil || m * n * k < parallelThreshold {
            // A narrow layer (an output layer of few classes): one panel, A read in place.
            if packedState == .build { packWhole(k: k, n: n, b: b, ldb: ldb, into: p) }
            narrowProduct(m: m, n: n, k: k, a: a, lda: lda, packed: UnsafePointer(p), c: c, ldc: ldc,
                          accumulate: accumulate, bias: bias)
            return .z
        }
        let fresh = packedState == .fresh
        guard let pool = engine.pool, m * n * k >= parallelThreshold, m > smallRows, k > smallInner,
              cs_pool_use(pool) != 0 else {
            if let packed, k > 0, n > 0, m > 0 {
                packedMultiply(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                               c: c, ldc: ldc, accumulate: accumulate, work: engine.workspaces[0],
                               packedB: packed, packedBFresh: fresh, nPad: roundUp(n, nr), col0: 0, bias: bias)
                return .z
            }
            if let row = bias, !transB && k <= smallInner {
                spreadBias(row, m: m, n: n, c: c, ldc: ldc)  // rowCombination's case
                accumulate = true
                bias = nil
            }
            if let bias {
                // At least mr rows, k >= 1, and not rowCombination's case: the packed product.
                packedMultiply(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                               c: c, ldc: ldc, accumulate: false, work: engine.workspaces[0], bias: bias)
                return .z
            }
            multiply(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                     c: c, ldc: ldc, accumulate: accumulate, work: engine.workspaces[0])
            return .z
        }
        // About four chunks per thread, so a thread the OS delays (or a core the
        // VM runs slower) holds back only a small part of the work: with two, W4's
        // products on two threads varied from 95 to 123 GFLOP/s between runs on an
        // idle machine, with four 113-122. Split along N, A is packed once, by all the threads,
        // into the shared buffer; split along M (or without room for A), each
        // chunk re-packs the other operand, so chunks stay wide (at least 128
        // columns or 120 rows) to keep that cost small. Rows go in whole 12-row
        // tiles, not whole mc blocks: W4's dW of 4096 rows made 7 chunks of 600 on
        // two threads, 4 for one and 3 for the other (8 of 516: its backward 0.98-0.99x).
        let threads = Int(pool.pointee.active) + 1
        let alongN = n >= m
        let span = alongN ? n : m
        let unit = alongN ? 128 : 120
        let chunk = max(unit, roundUp((span + 4 * threads - 1) / (4 * threads), alongN ? nr : 2 * mr))
        let chunks = (span + chunk - 1) / chunk
        var job = Job(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                      c: c, ldc: ldc, accumulate: accumulate, alongN: alongN, chunk: chunk,
                      workspaces: engine.workspaces, packedA: nil, mPad: roundUp(m, mr))
        if alongN && chunks > 1, let shared = engine.sharedA, sharedPackSize(m: m, k: k) <= engine.sharedFloats {
            job.packedA = shared
        }
        job.bias = bias
        if alongN {
            job.packedB = packed
            job.packedBFresh = fresh
        } else if let packed, !fresh {
            // Chunks of rows would each pack all of B: pack it once, here.
            packWhole(k: k, n: n, b: b, ldb: ldb, into: packed)
            job.packedB = packed
            job.packedBFresh = true
        }
        withUnsafeMutablePointer(to: &job) { jp in
            if jp.pointee.packedA != nil {
                // One chunk per (kc block, mc block) of A.
                let mBlocks = (m + mc - 1) / mc
                cs_pool_run(pool, { ctx, index, _ in
                    guard let ctx else { return }
                    let j = ctx.assumingMemoryBound(to: Job.self).pointee
                    let mBlocks = (j.m + Gemm.mc - 1) / Gemm.mc
                    let pc = Int(index) / mBlocks * Gemm.kc, ic = Int(index) % mBlocks * Gemm.mc
                    let kcur = min(Gemm.kc, j.k - pc)
                    if let dst = j.packedA {
                        Gemm.packA(m: min(Gemm.mc, j.m - ic), k: kcur, a: j.a, lda: j.lda, trans: j.transA,
                                   row0: ic, col0: pc, into: dst + pc * j.mPad + ic * kcur)
                    }
                }, UnsafeMutableRawPointer(jp), Int64(mBlocks * ((k + kc - 1) / kc)))
            }
            cs_pool_run(pool, { ctx, index, worker in
                guard let ctx else { return }
                let j = ctx.assumingMemoryBound(to: Job.self).pointee
                let lo = Int(index) * j.chunk
                let w = j.workspaces[Int(worker)]
                // The packed path computes every element the same way whatever the
                // chunk, so results do not depend on the thread count.
                if j.alongN {
                    let cols = min(j.chunk, j.n - lo)
                    Gemm.packedMultiply(m: j.m, n: cols, k: j.k, a: j.a, lda: j.lda, transA: j.transA,
                                  b: j.transB ? j.b + lo * j.ldb : j.b + lo, ldb: j.ldb, transB: j.transB,
                                  c: j.c + lo, ldc: j.ldc, accumulate: j.accumulate, work: w,
                                  packedA: j.packedA.map { UnsafePointer($0) }, mPad: j.mPad,
                                  packedB: j.packedB, packedBFresh: j.packedBFresh, nPad: Gemm.roundUp(j.n, Gemm.nr), col0: lo,
                                  bias: j.bias.map { $0 + lo })
                } else {
                    let rows = min(j.chunk, j.m - lo)
                    Gemm.packedMultiply(m: rows, n: j.n, k: j.k, a: j.transA ? j.a + lo : j.a + lo * j.lda,
                                  lda: j.lda, transA: j.transA, b: j.b, ldb: j.ldb, transB: j.transB,
                                  c: j.c + lo * j.ldc, ldc: j.ldc, accumulate: j.accumulate, work: w,
                                  packedB: j.packedB, packedBFresh: j.packedBFresh, nPad: Gemm.roundUp(j.n, Gemm.nr), col0: 0,
                                  bias: j.bias)
                }
            }, UnsafeMutableRawPointer(jp), Int64(chunks))
        }
        return .z
    }

    static func multiply(m: Int, n: Int, k: Int,
                         a: UnsafePointer<Float>, lda: Int, transA: Bool,
                         b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                         c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
                         work: Workspace) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if !accumulate { for i in 0..<m { zeroFloats(c + i * ldc, n) } }
            return
        }
        // Few rows or a short inner dimension with B row-major: packing would cost
        // as much as the product, so stream the operands as they lie. Every path
        // sums an element in the micro-kernel's order, so the bits do not depend
        // on m (batch invariance, GemmSmall.swift).
        if !transB && (m < fewRowsLimit || k <= smallInner) {
            rowCombination(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb,
                           c: c, ldc: ldc, accumulate: accumulate)
            return
        }
        packedMultiply(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                       c: c, ldc: ldc, accumulate: accumulate, work: work)
    }

    /// The blocked, packed product (any shape; k >= 1). With `packedA`, A is
    /// already packed there (kc block pc of all the rows at packedA + pc * mPad).
    /// With `packedB`, B's panels live there (kc block pc at packedB + pc * nPad,
    /// these columns from col0 on: `packedPanels`),
    /// already packed when `packedBFresh`, else packed there now. The forward
    /// product of fewer than mr rows goes to `fewRows`, in the micro-kernel's order
    /// (`fewRowsAliased` for W rows a multiple of 4 KB apart on the AVX-512 level).
    /// `inPlaceA` (a weight matrix as A, GemmTransposed.swift): on the AVX-512 level A
    /// is not packed unless its rows alias (`rowsAlias`); n must then be a multiple of 32
    /// and m of 4, and `biasPerRow` may say that `bias` holds m floats, one a row (Z^T's),
    /// instead of n.
    @inline(never)  // one copy: its callers are per product, not per tile
    static func packedMultiply(m: Int, n: Int, k: Int,
                               a: UnsafePointer<Float>, lda: Int, transA: Bool,
                               b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                               c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
                               work: Workspace, packedA: UnsafePointer<Float>? = nil, mPad: Int = 0,
                               packedB: UnsafeMutablePointer<Float>? = nil, packedBFresh: Bool = false,
                               nPad: Int = 0, col0: Int = 0, bias: UnsafePointer<Float>? = nil,
                               inPlaceA: Bool = false, biasPerRow: Bool = false) {
        if m < fewRowsLimit && !transA && transB && packedA == nil && packedB == nil {
            // The few-row products add to C: the bias is spread over the rows first.
            if let bias { spreadBias(bias, m: m, n: n, c: c, ldc: ldc) }
            let add = accumulate || bias != nil
            #if SWANN_LEVEL_AVX512
            if fewRowsAlias(m: m, n: n, k: k, ldb: ldb) {
                fewRowsAliased(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: add,
                               work: work)
                return
            }
            #endif
            fewRows(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: add)
            return
        }
        var jc = 0
        while jc < n {
            let ncur = min(work.packCols, n - jc)
            var pc = 0
            while pc < k {
                let kcur = min(kc, k - pc)
                let bBlock: UnsafeMutablePointer<Float>
                if let packedB {
                    bBlock = packedB + packedPanels(pc: pc, nPad: nPad, col: col0 + jc, kcur: kcur)
                    if !packedBFresh {
                        packB(k: kcur, n: ncur, b: b, ldb: ldb, trans: transB, row0: pc, col0: jc, into: bBlock)
                    }
                } else {
                    bBlock = work.packB
                    packB(k: kcur, n: ncur, b: b, ldb: ldb, trans: transB, row0: pc, col0: jc, into: bBlock)
                }
                var ic = 0
                while ic < m {
                    let mcur = min(mc, m - ic)
                    #if SWANN_LEVEL_AVX512
                    // The forward on packed weights, its columns in whole 32-wide panels and
                    // its rows in 12s, 8s and 4s: where the A block is larger than L1 (64 KB;
                    // Zen 4 has 32, the Xeon 48), every panel reads it from L2 packed or not,
                    // so the tiles read A's rows in place and packing it is saved: W1i at one
                    // thread (blocks of 120 rows) 0.968-0.981x the time on the Xeon. A smaller
                    // block stays packed, in L1 for every panel: the row split's 32-row
                    // chunks read in place were slower (W1i two threads, 6 runs each side:
                    // median 188k rows/s against 218k).
                    // `inPlaceA`: A is a weight matrix (GemmTransposed.swift), read in place
                    // unless its rows alias in L1 (`rowsAlias`): then packed as below.
                    if packedA == nil && !transA && ncur % (2 * nr) == 0 && mcur % 4 == 0 && !rowsAlias(lda)
                        && (inPlaceA || packedB != nil && mcur * kcur >= 1 << 14) {
                        let add = accumulate || pc > 0
                        let first = pc == 0 ? bias : nil
                        var jr = 0
                        while jr < ncur {
                            let bp = bBlock + jr * kcur
                            var ir = 0
                            while ir < mcur {
                                let rows = mcur - ir >= 12 ? 12 : mcur - ir >= 8 ? 8 : 4
                                let tileBias = biasPerRow ? first.map { $0 + ic + ir } : first.map { $0 + jc + jr }
                                kernelWideInPlace(rows, kcur, a + (ic + ir) * lda + pc, lda, bp, bp + nr * kcur,
                                                  c + (ic + ir) * ldc + jc + jr, ldc, add, tileBias,
                                                  biasPerRow: biasPerRow)
                                ir += rows
                            }
                            jr += 2 * nr
                        }
                        ic += mc
                        continue
                    }
                    #endif
                    let aBlock: UnsafePointer<Float>
                    if let packedA {
                        aBlock = packedA + pc * mPad + ic * kcur
                    } else {
                        packA(m: mcur, k: kcur, a: a, lda: lda, trans: transA, row0: ic, col0: pc, into: work.packA)
                        aBlock = UnsafePointer(work.packA)
                    }
                    let add = accumulate || pc > 0
                    let rowBias = pc == 0 ? bias.map { $0 + jc } : nil
                    var jr = 0
                    while jr < ncur {
                        #if SWANN_LEVEL_AVX512
                        if ncur - jr >= 2 * nr {
                            // 32 columns: 12 x 32 tiles, then 8 x 32 or 4 x 32 (GemmKernelWide.swift)
                            // or 6 x 16 ones for the rows left. With `biasPerRow` (a turned-around
                            // forward whose W rows alias: its m is a multiple of 4, so no 6 x 16
                            // tiles) bias holds one float a row of C.
                            let bp = bBlock + jr * kcur
                            let columnBias = biasPerRow ? nil : rowBias.map { $0 + jr }
                            let blockRowBias = biasPerRow && pc == 0 ? bias.map { $0 + ic } : nil
                            var ir = 0
                            while mcur - ir >= 2 * mr {
                                kernelWide(kcur, aBlock + ir * kcur, aBlock + (ir + mr) * kcur, bp, bp + nr * kcur,
                                           c + (ic + ir) * ldc + jc + jr, ldc, add,
                                           bias: blockRowBias.map { $0 + ir } ?? columnBias, biasPerRow: biasPerRow)
                                ir += 2 * mr
                            }
                            let cp = c + (ic + ir) * ldc + jc + jr
                            let tileBias = blockRowBias.map { $0 + ir } ?? columnBias
                            if mcur - ir == 8 {
                                kernelWide8(kcur, aBlock + ir * kcur, aBlock + (ir + mr) * kcur, bp, bp + nr * kcur,
                                            cp, ldc, add, bias: tileBias, biasPerRow: biasPerRow)
                                ir += 8
                            } else if mcur - ir == 4 {
                                kernelWide4(kcur, aBlock + ir * kcur, bp, bp + nr * kcur, cp, ldc, add,
                                            bias: tileBias, biasPerRow: biasPerRow)
                                ir += 4
                            }
                            while ir < mcur {
                                let mrcur = min(mr, mcur - ir)
                                let ap = aBlock + ir * kcur, cp = c + (ic + ir) * ldc + jc + jr
                                kernel(kcur, ap, bp, cp, ldc, mrcur, nr, add, work.tile, bias: rowBias.map { $0 + jr })
                                kernel(kcur, ap, bp + nr * kcur, cp + nr, ldc, mrcur, nr, add, work.tile,
                                       bias: rowBias.map { $0 + jr + nr })
                                ir += mr
                            }
                            jr += 2 * nr
                            continue
                        }
                        #endif
                        let nrcur = min(nr, ncur - jr)
                        let bp = bBlock + jr * kcur
                        var ir = 0
                        while ir < mcur {
                            let mrcur = min(mr, mcur - ir)
                            let ap = aBlock + ir * kcur
                            let cp = c + (ic + ir) * ldc + jc + jr
                            kernel(kcur, ap, bp, cp, ldc, mrcur, nrcur, add, work.tile, bias: rowBias.map { $0 + jr })
                            ir += mr
                        }
                        jr += nr
                    }
                    ic += mc
                }
                pc += kc
            }
            jc += ncur
        }
    }
}

extension Gemm {
    /// Whether rows `lda` floats apart start in one L1 set: a stride of whole 4 KB (64 sets
    /// of 64-byte lines, on Zen 4 and the Xeon alike). A 12-row tile reading such rows in
    /// place keeps 12 lines of one set (8 ways on Zen 4, 12 on the Xeon) live beside B's,
    /// and W4i's tiles, a turned-around W 1024 or 4096 floats wide, ran at about 88 % of
    /// the FMA loop where W1i's 784-wide rows run at 96 %. Packing such a block (one copy
    /// of W a forward) took W4i 0.95-0.96x the time at one thread and at two (Zen 4, A/B
    /// both orders). Rows 512 floats apart (6 lines a set) are not worth it: packing W1's
    /// 512-wide second layer too made its forward 1.01-1.04x the time.
    static func rowsAlias(_ lda: Int) -> Bool { lda % 1024 == 0 }

    /// C[i, 0..<n] = bias for each of the m rows: the start of a product that adds to it.
    static func spreadBias(_ bias: UnsafePointer<Float>, m: Int, n: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m { copyFloats(c + i * ldc, bias, n) }
    }
}
