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
        // Tiles of four rows by two weight rows: each load feeds two or four products.
        while r + 4 <= rows {
            let xr = qx + r * inputs
            var j = 0
            while j + 2 <= outputs {
                let (d0, d1) = tile4x2(w + j * inputs, xr, inputs)
                for t in 0..<4 {
                    z[(r + t) * outputs + j] = Float(d0[t]) * (rowScales[r + t] * scales[j]) + bias[j]
                    z[(r + t) * outputs + j + 1] = Float(d1[t]) * (rowScales[r + t] * scales[j + 1]) + bias[j + 1]
                }
                j += 2
            }
            if j < outputs {
                let d = dot4(w + j * inputs, xr, stride: inputs, inputs)
                for t in 0..<4 {
                    z[(r + t) * outputs + j] = Float(d[t]) * (rowScales[r + t] * scales[j]) + bias[j]
                }
            }
            r += 4
        }
        // The last rows alone: four weight rows at a time against each.
        while r < rows {
            let xr = qx + r * inputs
            var j = 0
            while j + 4 <= outputs {
                let d = dot4(xr, w + j * inputs, stride: inputs, inputs)
                for t in 0..<4 {
                    z[r * outputs + j + t] = Float(d[t]) * (rowScales[r] * scales[j + t]) + bias[j + t]
                }
                j += 4
            }
            while j < outputs {
                let d = dot(w + j * inputs, xr, inputs)
                z[r * outputs + j] = Float(d) * (rowScales[r] * scales[j]) + bias[j]
                j += 1
            }
            r += 1
        }
    }

    /// 16 int8 values, sign-extended to Int16 (lane by lane: the generic SIMD
    /// conversion is not specialized in Embedded Swift, and this is one vpmovsxbw).
    @inline(__always)
    static func load16(_ p: UnsafePointer<Int8>, _ i: Int) -> SIMD16<Int16> {
        let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Int8>.self)
        return SIMD16<Int16>(Int16(v[0]), Int16(v[1]), Int16(v[2]), Int16(v[3]), Int16(v[4]), Int16(v[5]),
                             Int16(v[6]), Int16(v[7]), Int16(v[8]), Int16(v[9]), Int16(v[10]), Int16(v[11]),
                             Int16(v[12]), Int16(v[13]), Int16(v[14]), Int16(v[15]))
    }

    /// Sign extension of 8 Int16 lanes (lane by lane: one vpmovsxwd).
    @inline(__always)
    static func widen(_ h: SIMD8<Int16>) -> SIMD8<Int32> {
        SIMD8<Int32>(Int32(h[0]), Int32(h[1]), Int32(h[2]), Int32(h[3]), Int32(h[4]), Int32(h[5]),
                     Int32(h[6]), Int32(h[7]))
    }

    /// The 16 products of two int8 vectors summed in adjacent pairs into 8 Int32
    /// lanes: each |pair| <= 2 * 127 * 127, exact (vpmaddwd's shape; it cannot
    /// saturate here, and no saturating instruction such as vpmaddubsw is involved).
    @inline(__always)
    static func pairs(_ a: SIMD16<Int16>, _ b: SIMD16<Int16>) -> SIMD8<Int32> {
        let p = SIMD16<Int32>(lowHalf: widen(a.lowHalf), highHalf: widen(a.highHalf))
            &* SIMD16<Int32>(lowHalf: widen(b.lowHalf), highHalf: widen(b.highHalf))
        return p.evenHalf &+ p.oddHalf
    }

    /// sum a[i] * b[i], exact.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Int8>, _ b: UnsafePointer<Int8>, _ n: Int) -> Int32 {
        var acc = SIMD8<Int32>()
        var i = 0
        while i + 16 <= n {
            acc &+= pairs(load16(a, i), load16(b, i))
            i += 16
        }
        var s = acc.wrappedSum()
        while i < n {
            s &+= Int32(a[i]) &* Int32(b[i])
            i += 1
        }
        return s
    }

    /// The sums of weight rows w and w + n with the four rows x + t * n, exact.
    @inline(__always)
    static func tile4x2(_ w: UnsafePointer<Int8>, _ x: UnsafePointer<Int8>, _ n: Int)
        -> (SIMD4<Int32>, SIMD4<Int32>) {
        var a0 = SIMD8<Int32>(), a1 = SIMD8<Int32>(), a2 = SIMD8<Int32>(), a3 = SIMD8<Int32>()
        var b0 = SIMD8<Int32>(), b1 = SIMD8<Int32>(), b2 = SIMD8<Int32>(), b3 = SIMD8<Int32>()
        var i = 0
        while i + 16 <= n {
            let w0 = load16(w, i), w1 = load16(w + n, i)
            var xv = load16(x, i)
            a0 &+= pairs(w0, xv); b0 &+= pairs(w1, xv)
            xv = load16(x + n, i)
            a1 &+= pairs(w0, xv); b1 &+= pairs(w1, xv)
            xv = load16(x + 2 * n, i)
            a2 &+= pairs(w0, xv); b2 &+= pairs(w1, xv)
            xv = load16(x + 3 * n, i)
            a3 &+= pairs(w0, xv); b3 &+= pairs(w1, xv)
            i += 16
        }
        var r0 = SIMD4<Int32>(a0.wrappedSum(), a1.wrappedSum(), a2.wrappedSum(), a3.wrappedSum())
        var r1 = SIMD4<Int32>(b0.wrappedSum(), b1.wrappedSum(), b2.wrappedSum(), b3.wrappedSum())
        while i < n {
            let v0 = Int32(w[i]), v1 = Int32(w[n + i])
            let xi = SIMD4<Int32>(Int32(x[i]), Int32(x[n + i]), Int32(x[2 * n + i]), Int32(x[3 * n + i]))
            r0 &+= xi &* v0
            r1 &+= xi &* v1
            i += 1
        }
        return (r0, r1)
    }

    /// sum shared[i] * v_t[i] for the four vectors v_t at v + t * stride, exact: four
    /// weight rows against one input row, or one weight row against four input rows.
    @inline(__always)
    static func dot4(_ shared: UnsafePointer<Int8>, _ v: UnsafePointer<Int8>, stride: Int, _ n: Int) -> SIMD4<Int32> {
        var a0 = SIMD8<Int32>(), a1 = SIMD8<Int32>(), a2 = SIMD8<Int32>(), a3 = SIMD8<Int32>()
        var i = 0
        while i + 16 <= n {
            let s = load16(shared, i)
            a0 &+= pairs(s, load16(v, i))
            a1 &+= pairs(s, load16(v + stride, i))
            a2 &+= pairs(s, load16(v + 2 * stride, i))
            a3 &+= pairs(s, load16(v + 3 * stride, i))
            i += 16
        }
        var r = SIMD4<Int32>(a0.wrappedSum(), a1.wrappedSum(), a2.wrappedSum(), a3.wrappedSum())
        while i < n {
            let si = Int32(shared[i])
            r &+= SIMD4<Int32>(si &* Int32(v[i]), si &* Int32(v[stride + i]), si &* Int32(v[2 * stride + i]),
                               si &* Int32(v[3 * stride + i]))
            i += 1
        }
        return r
    }
}
