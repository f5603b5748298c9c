#if arch(arm)
/// The compact layers on a 32-bit ARM core (Cortex-M4F/M7), as GemmScalar.swift is for
/// the product: the core has no SIMD unit, so the f16 and int8 kernels' 8- and 16-lane
/// vectors (CompactF16.swift, CompactInt8.swift, CompactQuantize.swift) become 13 KB of
/// scalar code there, slower than these loops. Same bits as those kernels:
///
/// - f16: lane l of their eight fma chains takes the inputs i with i % 8 == l in order
///   (the tail past the last multiple of 8 goes to lanes 0, 1, ... in turn, which is
///   i % 8 again), then the same pairwise sum of the lanes and the bias;
/// - int8: the same row quantization (the largest magnitude found as they find it, the
///   same rounding, clamp and conversion), exact Int32 sums (any order gives the same
///   integer), then the same three float operations.
extension Compact {
    /// Compact.f16Layer's result, one weight row at a time in eight fma chains.
    static func f16LayerScalar(x: UnsafePointer<Float>, rows: Int, inputs: Int, outputs: Int,
                               w: UnsafePointer<Float16>, bias: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>) {
        let whole = inputs & ~7
        for r in 0..<rows {
            let xr = x + r * inputs
            for j in 0..<outputs {
                let wj = w + j * inputs
                var a0: Float = 0, a1: Float = 0, a2: Float = 0, a3: Float = 0
                var a4: Float = 0, a5: Float = 0, a6: Float = 0, a7: Float = 0
                var i = 0
                while i < whole {
                    a0 = a0.addingProduct(Float(wj[i]), xr[i])
                    a1 = a1.addingProduct(Float(wj[i + 1]), xr[i + 1])
                    a2 = a2.addingProduct(Float(wj[i + 2]), xr[i + 2])
                    a3 = a3.addingProduct(Float(wj[i + 3]), xr[i + 3])
                    a4 = a4.addingProduct(Float(wj[i + 4]), xr[i + 4])
                    a5 = a5.addingProduct(Float(wj[i + 5]), xr[i + 5])
                    a6 = a6.addingProduct(Float(wj[i + 6]), xr[i + 6])
                    a7 = a7.addingProduct(Float(wj[i + 7]), xr[i + 7])
                    i += 8
                }
                // The tail (at most 7) into lanes 0, 1, ...
                if i < inputs { a0 = a0.addingProduct(Float(wj[i]), xr[i]); i += 1 }
                if i < inputs { a1 = a1.addingProduct(Float(wj[i]), xr[i]); i += 1 }
                if i < inputs { a2 = a2.addingProduct(Float(wj[i]), xr[i]); i += 1 }
                if i < inputs { a3 = a3.addingProduct(Float(wj[i]), xr[i]); i += 1 }
                if i < inputs { a4 = a4.addingProduct(Float(wj[i]), xr[i]); i += 1 }
                if i < inputs { a5 = a5.addingProduct(Float(wj[i]), xr[i]); i += 1 }
                if i < inputs { a6 = a6.addingProduct(Float(wj[i]), xr[i]) }
                z[r * outputs + j] = (((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))) + bias[j]
            }
        }
    }

    /// Compact.int8Layer's result: every row quantized into `q`, then one exact sum per
    /// (row, weight row).
    static func int8LayerScalar(x: UnsafePointer<Float>, rows: Int, inputs: Int, outputs: Int,
                                w: UnsafePointer<Int8>, scales: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                q: UnsafeMutablePointer<Int8>, rowScales: UnsafeMutablePointer<Float>,
                                z: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            rowScales[r] = quantizeRowScalar(x + r * inputs, count: inputs, into: q + r * inputs)
        }
        for r in 0..<rows {
            let qr = UnsafePointer(q + r * inputs)
            let zr = z + r * outputs
            var j = 0
            // Four weight rows at a time: one load of the row's value feeds four products.
            while j + 4 <= outputs {
                let w0 = w + j * inputs, w1 = w0 + inputs, w2 = w1 + inputs, w3 = w2 + inputs
                var s0: Int32 = 0, s1: Int32 = 0, s2: Int32 = 0, s3: Int32 = 0
                for i in 0..<inputs {
                    let v = Int32(qr[i])
                    s0 &+= v &* Int32(w0[i]); s1 &+= v &* Int32(w1[i])
                    s2 &+= v &* Int32(w2[i]); s3 &+= v &* Int32(w3[i])
                }
                zr[j] = Float(s0) * (rowScales[r] * scales[j]) + bias[j]
                zr[j + 1] = Float(s1) * (rowScales[r] * scales[j + 1]) + bias[j + 1]
                zr[j + 2] = Float(s2) * (rowScales[r] * scales[j + 2]) + bias[j + 2]
                zr[j + 3] = Float(s3) * (rowScales[r] * scales[j + 3]) + bias[j + 3]
                j += 4
            }
            while j < outputs {
                let wj = w + j * inputs
                var s: Int32 = 0
                for i in 0..<inputs { s &+= Int32(qr[i]) &* Int32(wj[i]) }
                zr[j] = Float(s) * (rowScales[r] * scales[j]) + bias[j]
                j += 1
            }
        }
    }

    /// Compact.quantizeRow(x, stride: 1, ...)'s result. The largest magnitude as it finds
    /// it: per lane i % 8 of the whole blocks of 8 by bit pattern (the larger pattern of
    /// two non-negative floats is the larger float, a NaN's above Inf's), the lanes then
    /// the tail folded with `largest`. The conversion adds 1.5 * 2^23 and keeps the low
    /// byte (theirs for the whole blocks; for a whole number in -127...127 it is Int8's).
    static func quantizeRowScalar(_ x: UnsafePointer<Float>, count n: Int, into q: UnsafeMutablePointer<Int8>) -> Float {
        let whole = n & ~7
        var m: Float = 0
        let bits = UnsafeRawPointer(x).assumingMemoryBound(to: UInt32.self)
        var v0: UInt32 = 0, v1: UInt32 = 0, v2: UInt32 = 0, v3: UInt32 = 0
        var v4: UInt32 = 0, v5: UInt32 = 0, v6: UInt32 = 0, v7: UInt32 = 0
        var i = 0
        while i < whole {
            v0 = larger(v0, bits[i]); v1 = larger(v1, bits[i + 1])
            v2 = larger(v2, bits[i + 2]); v3 = larger(v3, bits[i + 3])
            v4 = larger(v4, bits[i + 4]); v5 = larger(v5, bits[i + 5])
            v6 = larger(v6, bits[i + 6]); v7 = larger(v7, bits[i + 7])
            i += 8
        }
        if whole > 0 {
            m = largest(m, Float(bitPattern: v0)); m = largest(m, Float(bitPattern: v1))
            m = largest(m, Float(bitPattern: v2)); m = largest(m, Float(bitPattern: v3))
            m = largest(m, Float(bitPattern: v4)); m = largest(m, Float(bitPattern: v5))
            m = largest(m, Float(bitPattern: v6)); m = largest(m, Float(bitPattern: v7))
        }
        for i in whole..<n { m = largest(m, abs(x[i])) }
        guard m.isFinite, m >= smallestRange else {
            for i in 0..<n { q[i] = 0 }
            return m.isFinite ? 0 : .nan
        }
        let inv = 127 / m
        for i in 0..<n {
            var r = (x[i] * inv).rounded(.toNearestOrEven)
            if r < -127 { r = -127 }
            if r > 127 { r = 127 }
            q[i] = Int8(truncatingIfNeeded: (r + 12582912).bitPattern)
        }
        return m / 127
    }

    /// The larger of a lane's pattern and x's magnitude pattern (the sign bit cleared).
    @inline(__always)
    static func larger(_ v: UInt32, _ x: UInt32) -> UInt32 {
        let a = x & 0x7FFF_FFFF
        return a > v ? a : v
    }
}
#endif
