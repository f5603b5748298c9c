// The f16 layer over the packed layout of CompactF16Pack.swift, for the FMA levels
// (AVX2 and AVX-512 tables; the baseline and single-level builds run Compact.f16Layer).
//
// Same bits as Compact.f16Layer: column j's sum is eight fma chains, chain t over the
// inputs i = t, t + 8, t + 16, ... in increasing order (f16Layer's lane t, its tail
// included: the tail's element i goes to lane i mod 8 there too), then the tree
// ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)), then + bias. Here the eight
// chains are eight accumulators of 16 (AVX-512) or 8 (AVX2) columns each, so every
// column's arithmetic is f16Layer's, lane by lane; binary16 -> float is exact.
#if SWANN_LEVEL_AVX512 || SWANN_LEVEL_AVX2

extension Compact {
    static func f16PackedLayer(_ c: F16PackedCall) {
        let n = c.inputs, blocks = roundUp16(c.outputs) / 16
        let w = c.packed.assumingMemoryBound(to: UInt16.self)
        for b in 0..<blocks {
            let wb = w + b * n * 16, j0 = b * 16, count = min(16, c.outputs - j0)
            var r = 0
            #if SWANN_LEVEL_AVX512
            // Two rows share each converted weight vector: 16 accumulators of 32 registers.
            while r + 2 <= c.rows {
                f16Block2(wb, c.x + r * n, c.x + (r + 1) * n, n, c.bias + j0, c.z + r * c.outputs + j0,
                          c.z + (r + 1) * c.outputs + j0, count)
                r += 2
            }
            #endif
            while r < c.rows {
                f16Block(wb, c.x + r * n, n, c.bias + j0, c.z + r * c.outputs + j0, count)
                r += 1
            }
        }
    }

    #if SWANN_LEVEL_AVX512
    @inline(__always)
    static func halves16(_ p: UnsafePointer<UInt16>) -> SIMD16<Float> {
        // Two 8-lane conversions: the 16-lane one is a generic call; LLVM joins these into
        // one vcvtph2ps.
        SIMD16<Float>(lowHalf: SIMD8<Float>(UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float16>.self)),
                      highHalf: SIMD8<Float>(UnsafeRawPointer(p + 8).loadUnaligned(as: SIMD8<Float16>.self)))
    }

    @inline(__always)
    static func fmaHalves(_ a: SIMD16<Float>, _ p: UnsafePointer<UInt16>, _ x: Float) -> SIMD16<Float> {
        a.addingProduct(halves16(p), SIMD16<Float>(repeating: x))
    }

    /// One row's 16 columns of one block: the eight chains, the tree, the bias.
    @inline(__always)
    static func f16Block(_ w: UnsafePointer<UInt16>, _ x: UnsafePointer<Float>, _ n: Int, _ bias: UnsafePointer<Float>,
                         _ z: UnsafeMutablePointer<Float>, _ count: Int) {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>()
        var i = 0
        while i + 8 <= n {
            let p = w + i * 16
            a0 = fmaHalves(a0, p, x[i]); a1 = fmaHalves(a1, p + 16, x[i + 1])
            a2 = fmaHalves(a2, p + 32, x[i + 2]); a3 = fmaHalves(a3, p + 48, x[i + 3])
            a4 = fmaHalves(a4, p + 64, x[i + 4]); a5 = fmaHalves(a5, p + 80, x[i + 5])
            a6 = fmaHalves(a6, p + 96, x[i + 6]); a7 = fmaHalves(a7, p + 112, x[i + 7])
            i += 8
        }
        let t = n - i, p = w + i * 16
        if t > 0 { a0 = fmaHalves(a0, p, x[i]) }
        if t > 1 { a1 = fmaHalves(a1, p + 16, x[i + 1]) }
        if t > 2 { a2 = fmaHalves(a2, p + 32, x[i + 2]) }
        if t > 3 { a3 = fmaHalves(a3, p + 48, x[i + 3]) }
        if t > 4 { a4 = fmaHalves(a4, p + 64, x[i + 4]) }
        if t > 5 { a5 = fmaHalves(a5, p + 80, x[i + 5]) }
        if t > 6 { a6 = fmaHalves(a6, p + 96, x[i + 6]) }
        store16(((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)), bias, z, count)
    }

    /// f16Block for two rows, each weight vector converted once.
    @inline(__always)
    static func f16Block2(_ w: UnsafePointer<UInt16>, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int,
                          _ bias: UnsafePointer<Float>, _ zx: UnsafeMutablePointer<Float>,
                          _ zy: UnsafeMutablePointer<Float>, _ count: Int) {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>()
        var b0 = SIMD16<Float>(), b1 = SIMD16<Float>(), b2 = SIMD16<Float>(), b3 = SIMD16<Float>()
        var b4 = SIMD16<Float>(), b5 = SIMD16<Float>(), b6 = SIMD16<Float>(), b7 = SIMD16<Float>()
        var i = 0
        while i + 8 <= n {
            let p = w + i * 16
            var v = halves16(p)
            a0 = a0.addingProduct(v, SIMD16(repeating: x[i])); b0 = b0.addingProduct(v, SIMD16(repeating: y[i]))
            v = halves16(p + 16)
            a1 = a1.addingProduct(v, SIMD16(repeating: x[i + 1])); b1 = b1.addingProduct(v, SIMD16(repeating: y[i + 1]))
            v = halves16(p + 32)
            a2 = a2.addingProduct(v, SIMD16(repeating: x[i + 2])); b2 = b2.addingProduct(v, SIMD16(repeating: y[i + 2]))
            v = halves16(p + 48)
            a3 = a3.addingProduct(v, SIMD16(repeating: x[i + 3])); b3 = b3.addingProduct(v, SIMD16(repeating: y[i + 3]))
            v = halves16(p + 64)
            a4 = a4.addingProduct(v, SIMD16(repeating: x[i + 4])); b4 = b4.addingProduct(v, SIMD16(repeating: y[i + 4]))
            v = halves16(p + 80)
            a5 = a5.addingProduct(v, SIMD16(repeating: x[i + 5])); b5 = b5.addingProduct(v, SIMD16(repeating: y[i + 5]))
            v = halves16(p + 96)
            a6 = a6.addingProduct(v, SIMD16(repeating: x[i + 6])); b6 = b6.addingProduct(v, SIMD16(repeating: y[i + 6]))
            v = halves16(p + 112)
            a7 = a7.addingProduct(v, SIMD16(repeating: x[i + 7])); b7 = b7.addingProduct(v, SIMD16(repeating: y[i + 7]))
            i += 8
        }
        let t = n - i, p = w + i * 16
        if t > 0 { a0 = fmaHalves(a0, p, x[i]); b0 = fmaHalves(b0, p, y[i]) }
        if t > 1 { a1 = fmaHalves(a1, p + 16, x[i + 1]); b1 = fmaHalves(b1, p + 16, y[i + 1]) }
        if t > 2 { a2 = fmaHalves(a2, p + 32, x[i + 2]); b2 = fmaHalves(b2, p + 32, y[i + 2]) }
        if t > 3 { a3 = fmaHalves(a3, p + 48, x[i + 3]); b3 = fmaHalves(b3, p + 48, y[i + 3]) }
        if t > 4 { a4 = fmaHalves(a4, p + 64, x[i + 4]); b4 = fmaHalves(b4, p + 64, y[i + 4]) }
        if t > 5 { a5 = fmaHalves(a5, p + 80, x[i + 5]); b5 = fmaHalves(b5, p + 80, y[i + 5]) }
        if t > 6 { a6 = fmaHalves(a6, p + 96, x[i + 6]); b6 = fmaHalves(b6, p + 96, y[i + 6]) }
        store16(((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)), bias, zx, count)
        store16(((b0 + b4) + (b2 + b6)) + ((b1 + b5) + (b3 + b7)), bias, zy, count)
    }

    /// z[l] = s[l] + bias[l] for the block's first `count` columns.
    @inline(__always)
    static func store16(_ s: SIMD16<Float>, _ bias: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>,
                        _ count: Int) {
        if count == 16 {
            UnsafeMutableRawPointer(z).storeBytes(
                of: s + UnsafeRawPointer(bias).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
        } else {
            for l in 0..<count { z[l] = s[l] + bias[l] }
        }
    }
    #else
    /// AVX2: each block as two halves of 8 columns (16 accumulators of 16 registers would
    /// spill), one row at a time; the same arithmetic per column.
    @inline(__always)
    static func f16Block(_ w: UnsafePointer<UInt16>, _ x: UnsafePointer<Float>, _ n: Int, _ bias: UnsafePointer<Float>,
                         _ z: UnsafeMutablePointer<Float>, _ count: Int) {
        f16Half(w, x, n, bias, z, min(count, 8))
        if count > 8 { f16Half(w + 8, x, n, bias + 8, z + 8, count - 8) }
    }

    @inline(__always)
    static func fmaHalves(_ a: SIMD8<Float>, _ p: UnsafePointer<UInt16>, _ x: Float) -> SIMD8<Float> {
        a.addingProduct(SIMD8<Float>(UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float16>.self)),
                        SIMD8<Float>(repeating: x))
    }

    /// Eight columns (every 16th half from w): the eight chains, the tree, the bias.
    static func f16Half(_ w: UnsafePointer<UInt16>, _ x: UnsafePointer<Float>, _ n: Int, _ bias: UnsafePointer<Float>,
                        _ z: UnsafeMutablePointer<Float>, _ count: Int) {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            let p = w + i * 16
            a0 = fmaHalves(a0, p, x[i]); a1 = fmaHalves(a1, p + 16, x[i + 1])
            a2 = fmaHalves(a2, p + 32, x[i + 2]); a3 = fmaHalves(a3, p + 48, x[i + 3])
            a4 = fmaHalves(a4, p + 64, x[i + 4]); a5 = fmaHalves(a5, p + 80, x[i + 5])
            a6 = fmaHalves(a6, p + 96, x[i + 6]); a7 = fmaHalves(a7, p + 112, x[i + 7])
            i += 8
        }
        let t = n - i, p = w + i * 16
        if t > 0 { a0 = fmaHalves(a0, p, x[i]) }
        if t > 1 { a1 = fmaHalves(a1, p + 16, x[i + 1]) }
        if t > 2 { a2 = fmaHalves(a2, p + 32, x[i + 2]) }
        if t > 3 { a3 = fmaHalves(a3, p + 48, x[i + 3]) }
        if t > 4 { a4 = fmaHalves(a4, p + 64, x[i + 4]) }
        if t > 5 { a5 = fmaHalves(a5, p + 80, x[i + 5]) }
        if t > 6 { a6 = fmaHalves(a6, p + 96, x[i + 6]) }
        let s = ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))
        if count == 8 {
            store8(s + load8(bias), z)
        } else {
            for l in 0..<count { z[l] = s[l] + bias[l] }
        }
    }
    #endif
}
#endif
