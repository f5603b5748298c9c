import CSupport

#if SWANN_LEVEL_AVX512
/// The AVX-512 level's micro-kernel: a 12 x 32 tile of C in 24 SIMD16 accumulators
/// (of the 32 registers), read from two 6-row A panels and two 16-column B panels
/// exactly as the packing lays them out for `kernel`. Every element is the same fma
/// chain in p order from zero, then stored or added to C, as in the 6 x 16 kernel,
/// so the AVX2 and AVX-512 levels give the same bits; the wide tile only halves the
/// loads per fma and doubles the width (Intel's two 512-bit FMA units).
///
/// Its 8- and 4-row forms take the rows a block leaves after its 12-row tiles (a
/// batch of 128 is 10 tiles and 8 rows; 64 and 256 leave 4), which the 6 x 16 kernel
/// did as whole 6-row tiles (8 rows cost 12 rows' work): A/B W1i and W1 training at
/// one thread 0.95-0.96x the time. All three are `wideTile` with a constant row
/// count, whose unused accumulators and loads the compiler drops.
extension Gemm {
    @inline(__always)
    static func put16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ add: Bool, _ bias: UnsafePointer<Float>?) {
        let raw = UnsafeMutableRawPointer(p)
        if let bias {
            raw.storeBytes(of: UnsafeRawPointer(bias).loadUnaligned(as: SIMD16<Float>.self) + v, as: SIMD16<Float>.self)
            return
        }
        raw.storeBytes(of: add ? raw.loadUnaligned(as: SIMD16<Float>.self) + v : v, as: SIMD16<Float>.self)
    }

    /// Row `row` of a tile, its left and right 16 columns: with `bias`, bias + v (the bias of
    /// the columns, or with `perRow` the row's own: the sum a product adding to copied bias
    /// makes, so the same bits), else v stored or added to C.
    @inline(__always)
    static func putRow(_ l: SIMD16<Float>, _ r: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ add: Bool,
                       _ bias: UnsafePointer<Float>?, _ row: Int, _ perRow: Bool) {
        if let bias, perRow {
            let b = SIMD16<Float>(repeating: bias[row])
            UnsafeMutableRawPointer(p).storeBytes(of: b + l, as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(p + 16).storeBytes(of: b + r, as: SIMD16<Float>.self)
            return
        }
        put16(l, p, add, bias)
        put16(r, p + 16, add, bias.map { $0 + 16 })
    }

    /// C[0..<12, 0..<32] (+)= [A panel a0; A panel a1] (kc x 12) * [B panel b0, B panel b1] (kc x 32).
    static func kernelWide(_ kc: Int, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>,
                           _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>,
                           _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ add: Bool, bias: UnsafePointer<Float>? = nil, biasPerRow: Bool = false) {
        wideTile(12, kc, a0, a1, 1, mr, b0, b1, c, ldc, add, bias, biasPerRow: biasPerRow)
    }

    /// C[0..<8, 0..<32] (+)= [A panel a0; rows 0, 1 of A panel a1] * [B panel b0, B panel b1].
    static func kernelWide8(_ kc: Int, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>,
                            _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>,
                            _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ add: Bool, bias: UnsafePointer<Float>? = nil, biasPerRow: Bool = false) {
        wideTile(8, kc, a0, a1, 1, mr, b0, b1, c, ldc, add, bias, biasPerRow: biasPerRow)
    }

    /// C[0..<4, 0..<32] (+)= rows 0 ..< 4 of A panel a * [B panel b0, B panel b1].
    static func kernelWide4(_ kc: Int, _ a: UnsafePointer<Float>,
                            _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>,
                            _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ add: Bool, bias: UnsafePointer<Float>? = nil, biasPerRow: Bool = false) {
        wideTile(4, kc, a, a, 1, mr, b0, b1, c, ldc, add, bias, biasPerRow: biasPerRow)
    }

    /// C[0..<rows, 0..<32] (+)= A (rows 12, 8 or 4, read in place: row r at x + r * lda,
    /// kc floats each) * [B panel b0, B panel b1]: the packed forward's tiles without
    /// packing A (`packedMultiply`). The same fma chains as `wideTile`, so the same bits.
    /// `biasPerRow`: bias[r] is row r's (the turned-around forward's Z^T), not column j's.
    @inline(never)
    static func kernelWideInPlace(_ rows: Int, _ kc: Int, _ x: UnsafePointer<Float>, _ lda: Int,
                                  _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>,
                                  _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ add: Bool, _ bias: UnsafePointer<Float>?,
                                  biasPerRow: Bool) {
        switch rows {
        case 12: wideTile(12, kc, x, x + 6 * lda, lda, 1, b0, b1, c, ldc, add, bias, biasPerRow: biasPerRow)
        case 8: wideTile(8, kc, x, x + 6 * lda, lda, 1, b0, b1, c, ldc, add, bias, biasPerRow: biasPerRow)
        default: wideTile(4, kc, x, x, lda, 1, b0, b1, c, ldc, add, bias, biasPerRow: biasPerRow)
        }
    }

    /// The first `rows` (a constant at each call: 12, 8 or 4) rows of the tile: row r < 6
    /// at a0 + r * rowStride, row r >= 6 at a1 + (r - 6) * rowStride, each `step` floats
    /// further at every p. Packed A panels: rowStride 1, step mr; A in place: rowStride
    /// lda, step 1 (both constants at the packed call sites, so their loop is the panels').
    @inline(__always)
    static func wideTile(_ rows: Int, _ kc: Int, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>,
                         _ rowStride: Int, _ step: Int,
                         _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>,
                         _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ add: Bool, _ bias: UnsafePointer<Float>?,
                         biasPerRow: Bool = false) {
        let x0 = a0, x1 = x0 + rowStride, x2 = x1 + rowStride, x3 = x2 + rowStride, x4 = x3 + rowStride
        let x5 = x4 + rowStride, x6 = a1, x7 = x6 + rowStride, x8 = x7 + rowStride, x9 = x8 + rowStride
        let x10 = x9 + rowStride, x11 = x10 + rowStride
        var c0l = SIMD16<Float>(), c0r = SIMD16<Float>()
        var c1l = SIMD16<Float>(), c1r = SIMD16<Float>()
        var c2l = SIMD16<Float>(), c2r = SIMD16<Float>()
        var c3l = SIMD16<Float>(), c3r = SIMD16<Float>()
        var c4l = SIMD16<Float>(), c4r = SIMD16<Float>()
        var c5l = SIMD16<Float>(), c5r = SIMD16<Float>()
        var c6l = SIMD16<Float>(), c6r = SIMD16<Float>()
        var c7l = SIMD16<Float>(), c7r = SIMD16<Float>()
        var c8l = SIMD16<Float>(), c8r = SIMD16<Float>()
        var c9l = SIMD16<Float>(), c9r = SIMD16<Float>()
        var c10l = SIMD16<Float>(), c10r = SIMD16<Float>()
        var c11l = SIMD16<Float>(), c11r = SIMD16<Float>()
        for i in 0..<rows { cs_prefetch_write(c + i * ldc); cs_prefetch_write(c + i * ldc + 31) }
        var pb0 = b0, pb1 = b1
        for p in 0..<kc {
            let o = p &* step  // below kc * mr
            let l = UnsafeRawPointer(pb0).loadUnaligned(as: SIMD16<Float>.self)
            let r = UnsafeRawPointer(pb1).loadUnaligned(as: SIMD16<Float>.self)
            if rows > 0 { let x = SIMD16<Float>(repeating: x0[o]); c0l = c0l.addingProduct(x, l); c0r = c0r.addingProduct(x, r) }
            if rows > 1 { let x = SIMD16<Float>(repeating: x1[o]); c1l = c1l.addingProduct(x, l); c1r = c1r.addingProduct(x, r) }
            if rows > 2 { let x = SIMD16<Float>(repeating: x2[o]); c2l = c2l.addingProduct(x, l); c2r = c2r.addingProduct(x, r) }
            if rows > 3 { let x = SIMD16<Float>(repeating: x3[o]); c3l = c3l.addingProduct(x, l); c3r = c3r.addingProduct(x, r) }
            if rows > 4 { let x = SIMD16<Float>(repeating: x4[o]); c4l = c4l.addingProduct(x, l); c4r = c4r.addingProduct(x, r) }
            if rows > 5 { let x = SIMD16<Float>(repeating: x5[o]); c5l = c5l.addingProduct(x, l); c5r = c5r.addingProduct(x, r) }
            if rows > 6 { let x = SIMD16<Float>(repeating: x6[o]); c6l = c6l.addingProduct(x, l); c6r = c6r.addingProduct(x, r) }
            if rows > 7 { let x = SIMD16<Float>(repeating: x7[o]); c7l = c7l.addingProduct(x, l); c7r = c7r.addingProduct(x, r) }
            if rows > 8 { let x = SIMD16<Float>(repeating: x8[o]); c8l = c8l.addingProduct(x, l); c8r = c8r.addingProduct(x, r) }
            if rows > 9 { let x = SIMD16<Float>(repeating: x9[o]); c9l = c9l.addingProduct(x, l); c9r = c9r.addingProduct(x, r) }
            if rows > 10 { let x = SIMD16<Float>(repeating: x10[o]); c10l = c10l.addingProduct(x, l); c10r = c10r.addingProduct(x, r) }
            if rows > 11 { let x = SIMD16<Float>(repeating: x11[o]); c11l = c11l.addingProduct(x, l); c11r = c11r.addingProduct(x, r) }
            pb0 += nr; pb1 += nr
        }
        if rows > 0 { putRow(c0l, c0r, c + 0 * ldc, add, bias, 0, biasPerRow) }
        if rows > 1 { putRow(c1l, c1r, c + 1 * ldc, add, bias, 1, biasPerRow) }
        if rows > 2 { putRow(c2l, c2r, c + 2 * ldc, add, bias, 2, biasPerRow) }
        if rows > 3 { putRow(c3l, c3r, c + 3 * ldc, add, bias, 3, biasPerRow) }
        if rows > 4 { putRow(c4l, c4r, c + 4 * ldc, add, bias, 4, biasPerRow) }
        if rows > 5 { putRow(c5l, c5r, c + 5 * ldc, add, bias, 5, biasPerRow) }
        if rows > 6 { putRow(c6l, c6r, c + 6 * ldc, add, bias, 6, biasPerRow) }
        if rows > 7 { putRow(c7l, c7r, c + 7 * ldc, add, bias, 7, biasPerRow) }
        if rows > 8 { putRow(c8l, c8r, c + 8 * ldc, add, bias, 8, biasPerRow) }
        if rows > 9 { putRow(c9l, c9r, c + 9 * ldc, add, bias, 9, biasPerRow) }
        if rows > 10 { putRow(c10l, c10r, c + 10 * ldc, add, bias, 10, biasPerRow) }
        if rows > 11 { putRow(c11l, c11r, c + 11 * ldc, add, bias, 11, biasPerRow) }
    }
}
#endif
