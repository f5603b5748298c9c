import CSupport

/// Products too small to pack: few rows or a short inner dimension, streamed
/// through SIMD registers as they lie (GEMV-like).
extension Gemm {
    static let smallRows = 4
    static let smallInner = 4

    /// C[i, :] (+)= sum_p op(A)(i, p) B[p, :] with B row-major: each row of C is a
    /// combination of rows of B, accumulated in SIMD registers 16 columns at a time.
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

    /// C[i, j] (+)= dot(A[i, :], Bt[j, :]) for op(B) = Bt^T: the forward pass of a
    /// few rows, where W's rows are contiguous.
    static func rowDots(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                        b: UnsafePointer<Float>, ldb: Int,
                        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        for i in 0..<m {
            let x = a + i * lda
            let row = c + i * ldc
            var j = 0
            // Eight outputs at a time share each load of x: 9 loads per 8 FMAs, and
            // eight independent accumulator chains cover the FMA latency.
            while j + 8 <= n {
                let w0 = b + j * ldb
                var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
                var s4 = SIMD8<Float>(), s5 = SIMD8<Float>(), s6 = SIMD8<Float>(), s7 = SIMD8<Float>()
                var p = 0
                while p + 8 <= k {
                    let xv = load8(x + p)
                    let w = w0 + p
                    s0 = s0.addingProduct(xv, load8(w))
                    s1 = s1.addingProduct(xv, load8(w + ldb))
                    s2 = s2.addingProduct(xv, load8(w + 2 * ldb))
                    s3 = s3.addingProduct(xv, load8(w + 3 * ldb))
                    s4 = s4.addingProduct(xv, load8(w + 4 * ldb))
                    s5 = s5.addingProduct(xv, load8(w + 5 * ldb))
                    s6 = s6.addingProduct(xv, load8(w + 6 * ldb))
                    s7 = s7.addingProduct(xv, load8(w + 7 * ldb))
                    p += 8
                }
                var t = SIMD8<Float>(s0.sum(), s1.sum(), s2.sum(), s3.sum(), s4.sum(), s5.sum(), s6.sum(), s7.sum())
                while p < k {
                    let xv = x[p]
                    for r in 0..<8 { t[r] += xv * w0[r * ldb + p] }
                    p += 1
                }
                if accumulate { t += load8(row + j) }
                store8(t, row + j)
                j += 8
            }
            while j < n {
                let w = b + j * ldb
                var s = SIMD8<Float>()
                var p = 0
                while p + 8 <= k { s = s.addingProduct(load8(x + p), load8(w + p)); p += 8 }
                var t = s.sum()
                while p < k { t += x[p] * w[p]; p += 1 }
                row[j] = accumulate ? row[j] + t : t
                j += 1
            }
        }
    }
}
