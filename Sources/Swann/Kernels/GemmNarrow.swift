import CSupport

/// The forward product of a narrow layer (n <= 16 outputs: a classifier's output layer,
/// W1's 256 -> 10) from its packed copy: one panel of B, so the blocked product's
/// machinery costs more than the sums. It packed A (all of Y_prev: 128 KB for W1's
/// batch of 128, for 10 outputs) and spilled every 6 x 16 tile to the workspace to keep
/// 10 of its columns. Here A's rows are read in place, a tile of rows at a time against
/// the panel, and each row's n sums are stored from the registers.
///
/// The same sums as `kernel`: per kc block, each element from zero in p order
/// (C[i, j] = fma chain of a[i, p] * B[p, j]), then stored as bias + s (first block with
/// a bias), C + s or s; so the same bits as every other path, for any batch.
extension Gemm {
    /// Rows per tile: two 8-lane accumulators a row, 24 of the AVX-512 level's 32
    /// registers, 12 of the AVX2 level's 16.
    #if SWANN_LEVEL_AVX512
    static let narrowRows = 12
    #else
    static let narrowRows = 6
    #endif

    /// C[0..<m, 0..<n] = bias + A B^T (or C (+)= A B^T without `bias`) for n <= nr, B^T
    /// packed (GemmPrepacked.swift: kc block pc at packed + pc * nr).
    @inline(never)
    static func narrowProduct(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, packed: UnsafePointer<Float>,
                              c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
                              bias: UnsafePointer<Float>?) {
        var pc = 0
        while pc < k {
            let kcur = min(kc, k - pc)
            let panel = packed + pc * nr
            let add = accumulate || pc > 0
            let first = pc == 0 ? bias : nil
            var i = 0
            while m - i >= narrowRows {
                narrowTile(narrowRows, kcur, a + i * lda + pc, lda, panel, c + i * ldc, ldc, n, add, first)
                i += narrowRows
            }
            while m - i >= 4 {
                narrowTile(4, kcur, a + i * lda + pc, lda, panel, c + i * ldc, ldc, n, add, first)
                i += 4
            }
            while i < m {
                narrowTile(1, kcur, a + i * lda + pc, lda, panel, c + i * ldc, ldc, n, add, first)
                i += 1
            }
            pc += kc
        }
    }

    /// `rows` (a constant at each call) rows of C against one panel for one kc block.
    /// Each row's A is read through its own pointer (no index arithmetic in the loop).
    @inline(__always)
    static func narrowTile(_ rows: Int, _ kcur: Int, _ x: UnsafePointer<Float>, _ lda: Int, _ panel: UnsafePointer<Float>,
                           _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ n: Int, _ add: Bool,
                           _ bias: UnsafePointer<Float>?) {
        let x0 = x, x1 = x0 + lda, x2 = x1 + lda, x3 = x2 + lda, x4 = x3 + lda, x5 = x4 + lda
        let x6 = x5 + lda, x7 = x6 + lda, x8 = x7 + lda, x9 = x8 + lda, x10 = x9 + lda, x11 = x10 + lda
        var s0l = SIMD8<Float>(), s0h = SIMD8<Float>(), s1l = SIMD8<Float>(), s1h = SIMD8<Float>()
        var s2l = SIMD8<Float>(), s2h = SIMD8<Float>(), s3l = SIMD8<Float>(), s3h = SIMD8<Float>()
        var s4l = SIMD8<Float>(), s4h = SIMD8<Float>(), s5l = SIMD8<Float>(), s5h = SIMD8<Float>()
        var s6l = SIMD8<Float>(), s6h = SIMD8<Float>(), s7l = SIMD8<Float>(), s7h = SIMD8<Float>()
        var s8l = SIMD8<Float>(), s8h = SIMD8<Float>(), s9l = SIMD8<Float>(), s9h = SIMD8<Float>()
        var s10l = SIMD8<Float>(), s10h = SIMD8<Float>(), s11l = SIMD8<Float>(), s11h = SIMD8<Float>()
        var pb = panel
        for p in 0..<kcur {
            let l = load8(pb), h = load8(pb + 8)
            if rows > 0 { let v = SIMD8<Float>(repeating: x0[p]); s0l = fma8(s0l, v, l); s0h = fma8(s0h, v, h) }
            if rows > 1 { let v = SIMD8<Float>(repeating: x1[p]); s1l = fma8(s1l, v, l); s1h = fma8(s1h, v, h) }
            if rows > 2 { let v = SIMD8<Float>(repeating: x2[p]); s2l = fma8(s2l, v, l); s2h = fma8(s2h, v, h) }
            if rows > 3 { let v = SIMD8<Float>(repeating: x3[p]); s3l = fma8(s3l, v, l); s3h = fma8(s3h, v, h) }
            if rows > 4 { let v = SIMD8<Float>(repeating: x4[p]); s4l = fma8(s4l, v, l); s4h = fma8(s4h, v, h) }
            if rows > 5 { let v = SIMD8<Float>(repeating: x5[p]); s5l = fma8(s5l, v, l); s5h = fma8(s5h, v, h) }
            if rows > 6 { let v = SIMD8<Float>(repeating: x6[p]); s6l = fma8(s6l, v, l); s6h = fma8(s6h, v, h) }
            if rows > 7 { let v = SIMD8<Float>(repeating: x7[p]); s7l = fma8(s7l, v, l); s7h = fma8(s7h, v, h) }
            if rows > 8 { let v = SIMD8<Float>(repeating: x8[p]); s8l = fma8(s8l, v, l); s8h = fma8(s8h, v, h) }
            if rows > 9 { let v = SIMD8<Float>(repeating: x9[p]); s9l = fma8(s9l, v, l); s9h = fma8(s9h, v, h) }
            if rows > 10 { let v = SIMD8<Float>(repeating: x10[p]); s10l = fma8(s10l, v, l); s10h = fma8(s10h, v, h) }
            if rows > 11 { let v = SIMD8<Float>(repeating: x11[p]); s11l = fma8(s11l, v, l); s11h = fma8(s11h, v, h) }
            pb += nr
        }
        if rows > 0 { narrowPut(s0l, s0h, c, n, add, bias) }
        if rows > 1 { narrowPut(s1l, s1h, c + ldc, n, add, bias) }
        if rows > 2 { narrowPut(s2l, s2h, c + 2 * ldc, n, add, bias) }
        if rows > 3 { narrowPut(s3l, s3h, c + 3 * ldc, n, add, bias) }
        if rows > 4 { narrowPut(s4l, s4h, c + 4 * ldc, n, add, bias) }
        if rows > 5 { narrowPut(s5l, s5h, c + 5 * ldc, n, add, bias) }
        if rows > 6 { narrowPut(s6l, s6h, c + 6 * ldc, n, add, bias) }
        if rows > 7 { narrowPut(s7l, s7h, c + 7 * ldc, n, add, bias) }
        if rows > 8 { narrowPut(s8l, s8h, c + 8 * ldc, n, add, bias) }
        if rows > 9 { narrowPut(s9l, s9h, c + 9 * ldc, n, add, bias) }
        if rows > 10 { narrowPut(s10l, s10h, c + 10 * ldc, n, add, bias) }
        if rows > 11 { narrowPut(s11l, s11h, c + 11 * ldc, n, add, bias) }
    }

    /// A row's first n (<= 16) sums into C: bias + s, C + s or s.
    @inline(never)  // per row, off the sums' loop
    static func narrowPut(_ lo: SIMD8<Float>, _ hi: SIMD8<Float>, _ row: UnsafeMutablePointer<Float>, _ n: Int,
                          _ add: Bool, _ bias: UnsafePointer<Float>?) {
        for j in 0..<n {
            let s = j < 8 ? lo[j] : hi[j - 8]
            let v: Float
            if let bias { v = bias[j] + s } else { v = add ? row[j] + s : s }
            row[j] = v
        }
    }
}
