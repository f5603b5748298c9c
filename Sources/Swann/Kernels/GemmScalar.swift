#if arch(arm)
/// The product on a 32-bit ARM core (Cortex-M4F/M7): no SIMD unit, so the x86 tiles
/// (6 x 16 in SIMD8 accumulators, the 64-column row chains) unroll into tens of KB of
/// scalar code there. This is the whole product in one small loop nest: four columns
/// of C at a time (one load of A feeds four fused multiply-adds), strides instead of
/// packing (the core has no cache to pack for).
///
/// Each element is summed in the order of every other path (Gemm.swift, GemmSmall.swift):
/// per kc block, s = 0, s = fma(a[i, p], b[p, j], s) for p in order, then C[i, j] (+)= s;
/// so the bits are those the tiled code gives on this target.
extension Gemm {
    static func scalarMultiply(m: Int, n: Int, k: Int,
                               a: UnsafePointer<Float>, lda: Int, transA: Bool,
                               b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                               c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        if m <= 0 || n <= 0 { return }
        if k <= 0 {
            if !accumulate { for i in 0..<m { zeroFloats(c + i * ldc, n) } }
            return
        }
        // op(A)(i, p) = a[i * ai + p * ap], op(B)(p, j) = b[p * bp + j * bj].
        let ai = transA ? 1 : lda, ap = transA ? lda : 1
        let bp = transB ? 1 : ldb, bj = transB ? ldb : 1
        let bj2 = 2 * bj, bj3 = 3 * bj
        var pc = 0
        while pc < k {
            let kcur = min(kc, k - pc)
            let add = accumulate || pc > 0
            for i in 0..<m {
                let x = a + i * ai + pc * ap
                let row = c + i * ldc
                var j = 0
                while j + 4 <= n {
                    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                    var xp = x, wp = b + pc * bp + j * bj
                    for _ in 0..<kcur {
                        let v = xp.pointee
                        s0 = fma1(s0, v, wp[0]); s1 = fma1(s1, v, wp[bj])
                        s2 = fma1(s2, v, wp[bj2]); s3 = fma1(s3, v, wp[bj3])
                        xp += ap
                        wp += bp
                    }
                    let r = row + j
                    if add {
                        r[0] += s0; r[1] += s1; r[2] += s2; r[3] += s3
                    } else {
                        r[0] = s0; r[1] = s1; r[2] = s2; r[3] = s3
                    }
                    j += 4
                }
                while j < n {
                    var s: Float = 0
                    var xp = x, wp = b + pc * bp + j * bj
                    for _ in 0..<kcur {
                        s = fma1(s, xp.pointee, wp.pointee)
                        xp += ap
                        wp += bp
                    }
                    row[j] = add ? row[j] + s : s
                    j += 1
                }
            }
            pc += kc
        }
    }

    /// transposeMatrix's result, one value at a time.
    static func scalarTranspose(_ src: UnsafePointer<Float>, rows: Int, cols: Int,
                                into dst: UnsafeMutablePointer<Float>) {
        for j in 0..<rows {
            for p in 0..<cols { dst[p * rows + j] = src[j * cols + p] }
        }
    }
}
#endif
