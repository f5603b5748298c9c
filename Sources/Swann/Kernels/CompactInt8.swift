import CSupport

// The int8 layer: each input row is quantized to int8 (symmetric, one scale per
// row), multiplied with the int8 weight rows in exact Int32 sums, and scaled back:
//
//   z[r, j] = Float(sum_i qx[r, i] * qw[j, i]) * (sx[r] * sw[j]) + b[j]
//
// The sums are exact (see Compact.int8MaxInputs: no overflow for any input, no
// saturating instruction is involved), so their order, the SIMD width and the
// number of rows computed together change nothing; the float steps after them
// are the same three operations in the same order for every row. So a row's
// bits depend on nothing but its own values, on any CPU.

extension Compact {
    /// Z = (X quantized) W^T scaled, + bias, for `rows` rows of `inputs` floats; `q`
    /// (rows * inputs bytes) and `rowScales` (rows floats) are the caller's scratch.
    static func int8Layer(x: UnsafePointer<Float>, rows: Int, inputs: Int, outputs: Int,
                          w: UnsafePointer<Int8>, scales: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                          q: UnsafeMutablePointer<Int8>, rowScales: UnsafeMutablePointer<Float>,
                          z: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            rowScales[r] = quantizeRow(x + r * inputs, stride: 1, count: inputs, into: q + r * inputs)
        }
        let qx = UnsafePointer(q)
        var r = 0
        // Four rows against each weight row: the weights are read once for four.
        while r + 4 <= rows {
            for j in 0..<outputs {
                let wj = w + j * inputs
                let d = dot4(wj, qx + r * inputs, inputs)
                for t in 0..<4 {
                    z[(r + t) * outputs + j] = Float(d[t]) * (rowScales[r + t] * scales[j]) + bias[j]
                }
            }
            r += 4
        }
        while r < rows {
            let xr = qx + r * inputs
            for j in 0..<outputs {
                let d = dot(w + j * inputs, xr, inputs)
                z[r * outputs + j] = Float(d) * (rowScales[r] * scales[j]) + bias[j]
            }
            r += 1
        }
    }

    /// 16 int8 values, sign-extended to Int16.
    @inline(__always)
    static func load16(_ p: UnsafePointer<Int8>, _ i: Int) -> SIMD16<Int16> {
        SIMD16<Int16>(truncatingIfNeeded: UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Int8>.self))
    }

    /// Products of two int8 vectors (|p| <= 16129 fits Int16 exactly), widened to Int32.
    @inline(__always)
    static func products(_ a: SIMD16<Int16>, _ b: SIMD16<Int16>) -> SIMD8<Int32> {
        let p = a &* b
        return SIMD8<Int32>(truncatingIfNeeded: p.lowHalf) &+ SIMD8<Int32>(truncatingIfNeeded: p.highHalf)
    }

    /// sum a[i] * b[i], exact.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Int8>, _ b: UnsafePointer<Int8>, _ n: Int) -> Int32 {
        var acc = SIMD8<Int32>()
        var i = 0
        while i + 16 <= n {
            acc &+= products(load16(a, i), load16(b, i))
            i += 16
        }
        var s = acc.wrappedSum()
        while i < n {
            s &+= Int32(a[i]) &* Int32(b[i])
            i += 1
        }
        return s
    }

    /// sum w[i] * x_t[i] for the four rows x_t at x + t * n, exact.
    @inline(__always)
    static func dot4(_ w: UnsafePointer<Int8>, _ x: UnsafePointer<Int8>, _ n: Int) -> SIMD4<Int32> {
        var a0 = SIMD8<Int32>(), a1 = SIMD8<Int32>(), a2 = SIMD8<Int32>(), a3 = SIMD8<Int32>()
        var i = 0
        while i + 16 <= n {
            let wv = load16(w, i)
            a0 &+= products(wv, load16(x, i))
            a1 &+= products(wv, load16(x + n, i))
            a2 &+= products(wv, load16(x + 2 * n, i))
            a3 &+= products(wv, load16(x + 3 * n, i))
            i += 16
        }
        var s = SIMD4<Int32>(a0.wrappedSum(), a1.wrappedSum(), a2.wrappedSum(), a3.wrappedSum())
        while i < n {
            let wi = Int32(w[i])
            s &+= SIMD4<Int32>(wi &* Int32(x[i]), wi &* Int32(x[n + i]), wi &* Int32(x[2 * n + i]),
                               wi &* Int32(x[3 * n + i]))
            i += 1
        }
        return s
    }
}
