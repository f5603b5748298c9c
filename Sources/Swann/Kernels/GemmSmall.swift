import CSupport

/// Products too small to pack A: few rows of C, or (backward only) a short
/// inner dimension.
///
/// Batch invariance: the forward product (transB) of every row goes through
/// the packed panels of B, and each element C[i, j] is summed in one order
/// whatever m: per kc block, s = 0, s = fma(a[i, p], b[p, j], s) for p in
/// order, then C[i, j] += s. The micro-kernel (`kernel`) and the few-row
/// kernels below both do exactly that, so a row's bits do not depend on the
/// other rows of its batch.
extension Gemm {
    static let smallRows = 4
    static let smallInner = 4
    /// Below this many rows the packed product reads A's rows in place (no
    /// packA, no FMAs on padding rows): `fewRows`.
    static let fewRowsLimit = mr

    /// C[i, :] (+)= sum_p op(A)(i, p) B[p, :] with B row-major: each row of C is a
    /// combination of rows of B, accumulated in SIMD registers 16 columns at a time.
    /// (Backward's dX and dW only: the forward product never comes here.)
    static func rowCombination(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool,
                               b: UnsafePointer<Float>, ldb: Int,
                               c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        for i in 0..<m {
            let row = c + i * ldc
            var j = 0
            while j + 16 <= n {
                var s0 = accumulate ? load8(row + j) : SIMD8<Float>()
                var s1 = accumulate ? load8(row + j + 8) : SIMD8<Float>()
                for p in 0..<k {
                    let x = SIMD8<Float>(repeating: transA ? a[p * lda + i] : a[i * lda + p])
                    let bp = b + p * ldb + j
                    s0 = s0.addingProduct(x, load8(bp))
                    s1 = s1.addingProduct(x, load8(bp + 8))
                }
                store8(s0, row + j)
                store8(s1, row + j + 8)
                j += 16
            }
            while j < n {
                var s: Float = accumulate ? row[j] : 0
                for p in 0..<k { s += (transA ? a[p * lda + i] : a[i * lda + p]) * b[p * ldb + j] }
                row[j] = s
                j += 1
            }
        }
    }

    /// C[0..<m, 0..<n] (+)= A B^T for m < mr rows (B n x k, row j at b + j * ldb: the
    /// forward product of a few rows), in the micro-kernel's order without packing
    /// B: for each kc block and 32 columns, every 8 values of p are transposed in
    /// registers into a 32 x 8 block on the stack (in L1, 1 KiB), and each row's
    /// four accumulator chains take them in p order. Packing all of B first cost
    /// 4x the whole product for one row (W3's 784 x 128 layer: its 400 KB written
    /// and read back); this reads B once, as a dot-product loop would.
    static func fewRows(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                        b: UnsafePointer<Float>, ldb: Int,
                        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        // 8 p values x 32 columns, then mr - 1 rows x 32 column sums.
        var scratch = FewRowsScratch()
        withUnsafeMutablePointer(to: &scratch) { sp in
            let base = UnsafeMutableRawPointer(sp).assumingMemoryBound(to: Float.self)
            fewRows(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                    accumulate: accumulate, block: base, sums: base + 8 * 32)
        }
    }

    /// Stack room for `fewRows`: 8 x 32 + 5 x 32 floats (13 SIMD32 rows).
    struct FewRowsScratch {
        var v: (SIMD32<Float>, SIMD32<Float>, SIMD32<Float>, SIMD32<Float>, SIMD32<Float>, SIMD32<Float>,
                SIMD32<Float>, SIMD32<Float>, SIMD32<Float>, SIMD32<Float>, SIMD32<Float>, SIMD32<Float>,
                SIMD32<Float>) = (.zero, .zero, .zero, .zero, .zero, .zero, .zero, .zero, .zero, .zero,
                                  .zero, .zero, .zero)
    }

    static func fewRows(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                        b: UnsafePointer<Float>, ldb: Int,
                        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
                        block: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>) {
        var pc = 0
        while pc < k {
            let kcur = min(kc, k - pc)
            let add = accumulate || pc > 0
            var j0 = 0
            while j0 < n {
                let cols = min(32, n - j0)
                zeroFloats(sums, m * 32)
                // One row keeps its four sums in registers across the steps (the
                // chains then overlap the next block's shuffles); more rows go
                // through `sums`.
                var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
                var p0 = 0
                while p0 < kcur {
                    let pw = min(8, kcur - p0)
                    let w = b + j0 * ldb + pc + p0
                    if pw == 8 {
                        // Columns past n repeat the last one (their sums are discarded).
                        var q = 0
                        while q < 32 {
                            @inline(__always) func row(_ r: Int) -> UnsafePointer<Float> {
                                w + min(q &+ r, cols &- 1) &* ldb
                            }
                            var r0 = load8(row(0)), r1 = load8(row(1)), r2 = load8(row(2)), r3 = load8(row(3))
                            var r4 = load8(row(4)), r5 = load8(row(5)), r6 = load8(row(6)), r7 = load8(row(7))
                            transposeInRegisters(&r0, &r1, &r2, &r3, &r4, &r5, &r6, &r7)
                            let d = block + q
                            store8(r0, d); store8(r1, d + 32); store8(r2, d + 64); store8(r3, d + 96)
                            store8(r4, d + 128); store8(r5, d + 160); store8(r6, d + 192); store8(r7, d + 224)
                            q += 8
                        }
                    } else {
                        for t in 0..<pw {
                            for q in 0..<32 { block[t * 32 + q] = w[min(q, cols - 1) * ldb + t] }
                        }
                    }
                    if m == 1 {
                        let x = a + pc + p0
                        for t in 0..<pw {
                            let v = SIMD8<Float>(repeating: x[t])
                            let bt = block + t * 32
                            s0 = s0.addingProduct(v, load8(bt)); s1 = s1.addingProduct(v, load8(bt + 8))
                            s2 = s2.addingProduct(v, load8(bt + 16)); s3 = s3.addingProduct(v, load8(bt + 24))
                        }
                        p0 += 8
                        continue
                    }
                    for i in 0..<m {
                        let x = a + i * lda + pc + p0
                        let s = sums + i * 32
                        var s0 = load8(s), s1 = load8(s + 8), s2 = load8(s + 16), s3 = load8(s + 24)
                        for t in 0..<pw {
                            let v = SIMD8<Float>(repeating: x[t])
                            let bt = block + t * 32
                            s0 = s0.addingProduct(v, load8(bt)); s1 = s1.addingProduct(v, load8(bt + 8))
                            s2 = s2.addingProduct(v, load8(bt + 16)); s3 = s3.addingProduct(v, load8(bt + 24))
                        }
                        store8(s0, s); store8(s1, s + 8); store8(s2, s + 16); store8(s3, s + 24)
                    }
                    p0 += 8
                }
                if m == 1 { store8(s0, sums); store8(s1, sums + 8); store8(s2, sums + 16); store8(s3, sums + 24) }
                for i in 0..<m {
                    let row = c + i * ldc + j0, s = sums + i * 32
                    if add {
                        for j in 0..<cols { row[j] += s[j] }
                    } else {
                        for j in 0..<cols { row[j] = s[j] }
                    }
                }
                j0 += 32
            }
            pc += kc
        }
    }
}
