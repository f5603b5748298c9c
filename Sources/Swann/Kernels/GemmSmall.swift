import CSupport

/// Products too small to pack: few rows of C, or (B row-major) a short inner
/// dimension.
///
/// Batch invariance: the forward product (transB) sums each element C[i, j] in
/// one order whatever m: per kc block, s = 0, s = fma(a[i, p], b[p, j], s) for
/// p in order, then C[i, j] += s. The micro-kernel (`kernel`) does that for 6
/// rows and more, `fewRows` for fewer, so a row's bits do not depend on the
/// other rows of its batch.
extension Gemm {
    static let smallRows = 4
    static let smallInner = 4
    /// The forward product of fewer rows reads A's rows in place and W unpacked
    /// (no packA, no FMAs on padding rows): `fewRows`.
    static let fewRowsLimit = mr

    /// C[i, :] (+)= sum_p op(A)(i, p) B[p, :] with B row-major: each row of C is a
    /// combination of rows of B, in the micro-kernel's order (per kc block, sums
    /// from zero in p order, then added to C), 64 columns at a time (eight chains,
    /// so one row never waits on the FMA latency). Backward's dX and dW of few rows,
    /// and the forward product of few rows of a model whose weights are stored
    /// transposed ([in, out]): the same bits as `fewRows` and the packed product.
    static func rowCombination(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool,
                               b: UnsafePointer<Float>, ldb: Int,
                               c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        var pc = 0
        while pc < k {
            let end = min(pc + kc, k)
            let add = accumulate || pc > 0
            for i in 0..<m {
                let row = c + i * ldc
                @inline(__always) func x(_ p: Int) -> SIMD8<Float> {
                    SIMD8<Float>(repeating: transA ? a[p * lda + i] : a[i * lda + p])
                }
                @inline(__always) func put(_ s: SIMD8<Float>, _ j: Int) {
                    store8(add ? load8(row + j) + s : s, row + j)
                }
                var j = 0
                while j + 64 <= n {
                    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
                    var s4 = SIMD8<Float>(), s5 = SIMD8<Float>(), s6 = SIMD8<Float>(), s7 = SIMD8<Float>()
                    for p in pc..<end {
                        let v = x(p)
                        let bp = b + p * ldb + j
                        s0 = fma8(s0, v, load8(bp)); s1 = fma8(s1, v, load8(bp + 8))
                        s2 = fma8(s2, v, load8(bp + 16)); s3 = fma8(s3, v, load8(bp + 24))
                        s4 = fma8(s4, v, load8(bp + 32)); s5 = fma8(s5, v, load8(bp + 40))
                        s6 = fma8(s6, v, load8(bp + 48)); s7 = fma8(s7, v, load8(bp + 56))
                    }
                    put(s0, j); put(s1, j + 8); put(s2, j + 16); put(s3, j + 24)
                    put(s4, j + 32); put(s5, j + 40); put(s6, j + 48); put(s7, j + 56)
                    j += 64
                }
                while j + 8 <= n {
                    var s = SIMD8<Float>()
                    for p in pc..<end { s = fma8(s, x(p), load8(b + p * ldb + j)) }
                    put(s, j)
                    j += 8
                }
                while j < n {
                    var s: Float = 0
                    for p in pc..<end {
                        s = fma1(s, transA ? a[p * lda + i] : a[i * lda + p], b[p * ldb + j])
                    }
                    row[j] = add ? row[j] + s : s
                    j += 1
                }
            }
            pc += kc
        }
    }

    /// C[0..<m, 0..<n] (+)= A B^T for m < mr rows (B n x k, row j at b + j * ldb: the
    /// forward product of a few rows), in the micro-kernel's order without packing
    /// B: for each kc block and 64 columns, every 16 values of p are transposed in
    /// registers (`transposeByLanes`, 8 at a time) into a 64 x 16 block on the stack
    /// (4 KiB), and each row's eight accumulator chains take them in p order. Packing
    /// all of B first cost 4x the whole product for one row (W3's 784 x 128 layer: its
    /// 400 KB written and read back); this reads B once. Sixteen, a whole cache line of
    /// each of the 64 rows at one visit: with 8, rows a multiple of 4 KB apart (1024
    /// inputs) share one L1 set, each line was gone before its second half was read, and
    /// a 1024-256 layer's one-row forward took 2.9x a 1016-256 one's per weight; now 1.7x
    /// (Zen 4, benchmarks/row_stride.c): 64 rows in one set still defeat the prefetcher,
    /// so the AVX-512 level packs such rows first (GemmFewRowsAliased.swift).
    static func fewRows(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                        b: UnsafePointer<Float>, ldb: Int,
                        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        var scratch = FewRowsScratch()
        withUnsafeMutablePointer(to: &scratch) { sp in
            let base = UnsafeMutableRawPointer(sp).assumingMemoryBound(to: Float.self)
            fewRows(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                    accumulate: accumulate, block: base, sums: base + fewDepth * fewCols)
        }
    }

    /// Columns `fewRows` takes at a time: eight chains of 8 for one row, so that the
    /// FMA latency (4 cycles) never waits.
    static let fewCols = 64

    /// Values of p `fewRows` moves into its block at one visit of a row.
    static let fewDepth = 16

    /// Stack room for `fewRows`: 16 x 64 floats of B, then 5 x 64 row sums.
    struct FewRowsScratch {
        var block = (SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(),
                     SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(),
                     SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(),
                     SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>())
        var sums = (SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>())
    }

    static func fewRows(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                        b: UnsafePointer<Float>, ldb: Int,
                        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
                        block: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>) {
        let g = fewCols
        var pc = 0
        while pc < k {
            let kcur = min(kc, k - pc)
            let add = accumulate || pc > 0
            var j0 = 0
            while j0 < n {
                let cols = min(g, n - j0)
                zeroFloats(sums, m * g)
                // One row keeps its sums in registers across the steps (its chains
                // overlap the next blocks' shuffles); more rows go through `sums`.
                var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
                var s4 = SIMD8<Float>(), s5 = SIMD8<Float>(), s6 = SIMD8<Float>(), s7 = SIMD8<Float>()
                var p0 = 0
                while p0 < kcur {
                    let pw = min(fewDepth, kcur - p0)
                    let w = b + j0 * ldb + pc + p0
                    // Whole groups of 8 values through registers, both groups of a row one
                    // after the other; the rest (pw not a multiple of 8) one value at a time.
                    let whole = pw / 8 * 8
                    if whole > 0 {
                        // Blocks past n are skipped and columns past n in the last one
                        // repeat column n - 1: their sums are discarded.
                        var q = 0
                        while q < cols {
                            @inline(__always) func row(_ r: Int) -> UnsafePointer<Float> {
                                w + min(q &+ r, cols &- 1) &* ldb
                            }
                            let w0 = row(0), w1 = row(1), w2 = row(2), w3 = row(3)
                            let w4 = row(4), w5 = row(5), w6 = row(6), w7 = row(7)
                            @inline(__always) func group(_ t0: Int) {
                                var r0 = load8(w0 + t0), r1 = load8(w1 + t0), r2 = load8(w2 + t0), r3 = load8(w3 + t0)
                                var r4 = load8(w4 + t0), r5 = load8(w5 + t0), r6 = load8(w6 + t0), r7 = load8(w7 + t0)
                                transposeByLanes(&r0, &r1, &r2, &r3, &r4, &r5, &r6, &r7)
                                let d = block + t0 * g + q
                                store8(r0, d); store8(r1, d + g); store8(r2, d + 2 * g); store8(r3, d + 3 * g)
                                store8(r4, d + 4 * g); store8(r5, d + 5 * g); store8(r6, d + 6 * g); store8(r7, d + 7 * g)
                            }
                            group(0)
                            if whole == 16 { group(8) }
                            q += 8
                        }
                    }
                    for t in whole..<pw {
                        for q in 0..<g { block[t * g + q] = w[min(q, cols - 1) * ldb + t] }
                    }
                    if m == 1 {
                        let x = a + pc + p0
                        for t in 0..<pw {
                            let v = SIMD8<Float>(repeating: x[t])
                            let bt = block + t * g
                            s0 = fma8(s0, v, load8(bt)); s1 = fma8(s1, v, load8(bt + 8))
                            s2 = fma8(s2, v, load8(bt + 16)); s3 = fma8(s3, v, load8(bt + 24))
                            s4 = fma8(s4, v, load8(bt + 32)); s5 = fma8(s5, v, load8(bt + 40))
                            s6 = fma8(s6, v, load8(bt + 48)); s7 = fma8(s7, v, load8(bt + 56))
                        }
                    } else {
                        for i in 0..<m {
                            let x = a + i * lda + pc + p0
                            let s = sums + i * g
                            var u0 = load8(s), u1 = load8(s + 8), u2 = load8(s + 16), u3 = load8(s + 24)
                            var u4 = load8(s + 32), u5 = load8(s + 40), u6 = load8(s + 48), u7 = load8(s + 56)
                            for t in 0..<pw {
                                let v = SIMD8<Float>(repeating: x[t])
                                let bt = block + t * g
                                u0 = fma8(u0, v, load8(bt)); u1 = fma8(u1, v, load8(bt + 8))
                                u2 = fma8(u2, v, load8(bt + 16)); u3 = fma8(u3, v, load8(bt + 24))
                                u4 = fma8(u4, v, load8(bt + 32)); u5 = fma8(u5, v, load8(bt + 40))
                                u6 = fma8(u6, v, load8(bt + 48)); u7 = fma8(u7, v, load8(bt + 56))
                            }
                            store8(u0, s); store8(u1, s + 8); store8(u2, s + 16); store8(u3, s + 24)
                            store8(u4, s + 32); store8(u5, s + 40); store8(u6, s + 48); store8(u7, s + 56)
                        }
                    }
                    p0 += pw
                }
                if m == 1 {
                    store8(s0, sums); store8(s1, sums + 8); store8(s2, sums + 16); store8(s3, sums + 24)
                    store8(s4, sums + 32); store8(s5, sums + 40); store8(s6, sums + 48); store8(s7, sums + 56)
                }
                for i in 0..<m {
                    let row = c + i * ldc + j0, s = sums + i * g
                    if add {
                        for j in 0..<cols { row[j] += s[j] }
                    } else {
                        for j in 0..<cols { row[j] = s[j] }
                    }
                }
                j0 += g
            }
            pc += kc
        }
    }
}
