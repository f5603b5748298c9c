import CSupport

#if SWANN_LEVEL_AVX512
/// The wide tile's shorter forms for the rows a block leaves after its 12-row tiles:
/// 8 rows (a batch of 128 is 10 tiles and 8 rows) and 4 (64, 256), x 32 columns. The
/// 6 x 16 kernel did those rows as whole 6-row tiles (8 rows cost 12 rows' work, 4
/// cost 6). Every element is the same fma chain as in kernelWide and `kernel`, so the
/// bits are the same.
extension Gemm {
    /// C[0..<8, 0..<32] (+)= [A panel a0; rows 0, 1 of A panel a1] * [B panel b0, B panel b1].
    static func kernelWide8(_ kc: Int, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>,
                            _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>,
                            _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ add: Bool, bias: UnsafePointer<Float>? = nil) {
        var c0l = SIMD16<Float>(), c0r = SIMD16<Float>()
        var c1l = SIMD16<Float>(), c1r = SIMD16<Float>()
        var c2l = SIMD16<Float>(), c2r = SIMD16<Float>()
        var c3l = SIMD16<Float>(), c3r = SIMD16<Float>()
        var c4l = SIMD16<Float>(), c4r = SIMD16<Float>()
        var c5l = SIMD16<Float>(), c5r = SIMD16<Float>()
        var c6l = SIMD16<Float>(), c6r = SIMD16<Float>()
        var c7l = SIMD16<Float>(), c7r = SIMD16<Float>()
        for i in 0..<8 { cs_prefetch_write(c + i * ldc); cs_prefetch_write(c + i * ldc + 31) }
        var pa0 = a0, pa1 = a1, pb0 = b0, pb1 = b1
        for _ in 0..<kc {
            let l = UnsafeRawPointer(pb0).loadUnaligned(as: SIMD16<Float>.self)
            let r = UnsafeRawPointer(pb1).loadUnaligned(as: SIMD16<Float>.self)
            let x0 = SIMD16<Float>(repeating: pa0[0])
            c0l = c0l.addingProduct(x0, l); c0r = c0r.addingProduct(x0, r)
            let x1 = SIMD16<Float>(repeating: pa0[1])
            c1l = c1l.addingProduct(x1, l); c1r = c1r.addingProduct(x1, r)
            let x2 = SIMD16<Float>(repeating: pa0[2])
            c2l = c2l.addingProduct(x2, l); c2r = c2r.addingProduct(x2, r)
            let x3 = SIMD16<Float>(repeating: pa0[3])
            c3l = c3l.addingProduct(x3, l); c3r = c3r.addingProduct(x3, r)
            let x4 = SIMD16<Float>(repeating: pa0[4])
            c4l = c4l.addingProduct(x4, l); c4r = c4r.addingProduct(x4, r)
            let x5 = SIMD16<Float>(repeating: pa0[5])
            c5l = c5l.addingProduct(x5, l); c5r = c5r.addingProduct(x5, r)
            let x6 = SIMD16<Float>(repeating: pa1[0])
            c6l = c6l.addingProduct(x6, l); c6r = c6r.addingProduct(x6, r)
            let x7 = SIMD16<Float>(repeating: pa1[1])
            c7l = c7l.addingProduct(x7, l); c7r = c7r.addingProduct(x7, r)
            pa0 += mr; pa1 += mr; pb0 += nr; pb1 += nr
        }
        let biasRight = bias.map { $0 + 16 }
        put16(c0l, c + 0 * ldc, add, bias); put16(c0r, c + 0 * ldc + 16, add, biasRight)
        put16(c1l, c + 1 * ldc, add, bias); put16(c1r, c + 1 * ldc + 16, add, biasRight)
        put16(c2l, c + 2 * ldc, add, bias); put16(c2r, c + 2 * ldc + 16, add, biasRight)
        put16(c3l, c + 3 * ldc, add, bias); put16(c3r, c + 3 * ldc + 16, add, biasRight)
        put16(c4l, c + 4 * ldc, add, bias); put16(c4r, c + 4 * ldc + 16, add, biasRight)
        put16(c5l, c + 5 * ldc, add, bias); put16(c5r, c + 5 * ldc + 16, add, biasRight)
        put16(c6l, c + 6 * ldc, add, bias); put16(c6r, c + 6 * ldc + 16, add, biasRight)
        put16(c7l, c + 7 * ldc, add, bias); put16(c7r, c + 7 * ldc + 16, add, biasRight)
    }

    /// C[0..<4, 0..<32] (+)= rows 0 ..< 4 of A panel a * [B panel b0, B panel b1].
    static func kernelWide4(_ kc: Int, _ a: UnsafePointer<Float>,
                            _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>,
                            _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ add: Bool, bias: UnsafePointer<Float>? = nil) {
        var c0l = SIMD16<Float>(), c0r = SIMD16<Float>()
        var c1l = SIMD16<Float>(), c1r = SIMD16<Float>()
        var c2l = SIMD16<Float>(), c2r = SIMD16<Float>()
        var c3l = SIMD16<Float>(), c3r = SIMD16<Float>()
        for i in 0..<4 { cs_prefetch_write(c + i * ldc); cs_prefetch_write(c + i * ldc + 31) }
        var pa = a, pb0 = b0, pb1 = b1
        for _ in 0..<kc {
            let l = UnsafeRawPointer(pb0).loadUnaligned(as: SIMD16<Float>.self)
            let r = UnsafeRawPointer(pb1).loadUnaligned(as: SIMD16<Float>.self)
            let x0 = SIMD16<Float>(repeating: pa[0])
            c0l = c0l.addingProduct(x0, l); c0r = c0r.addingProduct(x0, r)
            let x1 = SIMD16<Float>(repeating: pa[1])
            c1l = c1l.addingProduct(x1, l); c1r = c1r.addingProduct(x1, r)
            let x2 = SIMD16<Float>(repeating: pa[2])
            c2l = c2l.addingProduct(x2, l); c2r = c2r.addingProduct(x2, r)
            let x3 = SIMD16<Float>(repeating: pa[3])
            c3l = c3l.addingProduct(x3, l); c3r = c3r.addingProduct(x3, r)
            pa += mr; pb0 += nr; pb1 += nr
        }
        let biasRight = bias.map { $0 + 16 }
        put16(c0l, c + 0 * ldc, add, bias); put16(c0r, c + 0 * ldc + 16, add, biasRight)
        put16(c1l, c + 1 * ldc, add, bias); put16(c1r, c + 1 * ldc + 16, add, biasRight)
        put16(c2l, c + 2 * ldc, add, bias); put16(c2r, c + 2 * ldc + 16, add, biasRight)
        put16(c3l, c + 3 * ldc, add, bias); put16(c3r, c + 3 * ldc + 16, add, biasRight)
    }
}
#endif
