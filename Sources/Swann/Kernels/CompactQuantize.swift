import CSupport

/// Compact weights: symmetric int8 with one float scale per row, and IEEE binary16.
/// Raw pointers and sizes in (the kernel layer's vocabulary); every float step in
/// one fixed order, so the bits are the same on every CPU.
enum Compact {
    /// The widest int8 layer. A layer's sum over `inputs` products of two int8 values
    /// in -127...127 is at most 127 * 127 * inputs = 16129 * inputs in magnitude; it fits
    /// an Int32 (and so every partial sum in any order does too) iff inputs <=
    /// Int32.max / 16129 = 133144. Quantize and load refuse wider int8 layers.
    static let int8MaxInputs = Int(Int32.max) / (127 * 127)

    /// Below this a row's largest magnitude counts as zero: 127 / max would overflow.
    static let smallestRange: Float = 1e-30

    /// q[i] = round(x[i] * (127 / m)) for the row's largest magnitude m, clamped to
    /// -127...127 (never -128: the bound above needs it); returns the row's scale
    /// m / 127 (x ~ q * scale). A row under `smallestRange` gives q = 0 and scale 0;
    /// a row with an infinity gives q = 0 and scale NaN (its sums are then NaN, as
    /// a float32 product would be).
    static func quantizeRow(_ x: UnsafePointer<Float>, stride: Int, count n: Int,
                            into q: UnsafeMutablePointer<Int8>) -> Float {
        var m: Float = 0
        if stride == 1 {
            // |x| by clearing the sign bit; max by compare and select (pointwiseMax and
            // abs are generic calls in Embedded Swift).
            var v = SIMD8<UInt32>()
            let magnitude = SIMD8<UInt32>(repeating: 0x7FFF_FFFF)
            var i = 0
            while i + 8 <= n {
                let a = unsafeBitCast(load8(x + i), to: SIMD8<UInt32>.self) & magnitude
                // Finite non-negative floats order as their bit patterns (and Inf above them all).
                v.replace(with: a, where: a .> v)
                i += 8
            }
            for l in 0..<8 { m = largest(m, Float(bitPattern: v[l])) }
            while i < n { m = largest(m, abs(x[i])); i += 1 }
        } else {
            for i in 0..<n { m = largest(m, abs(x[i * stride])) }
        }
        guard m.isFinite, m >= smallestRange else {
            for i in 0..<n { q[i] = 0 }
            return m.isFinite ? 0 : .nan
        }
        let inv = 127 / m
        var i = 0
        if stride == 1 {
            let lo = SIMD8<Float>(repeating: -127), hi = SIMD8<Float>(repeating: 127)
            let magic = SIMD8<Float>(repeating: 12582912)  // 1.5 * 2^23
            while i + 8 <= n {
                var r = (load8(x + i) * inv).rounded(.toNearestOrEven)
                r.replace(with: lo, where: r .< lo)
                r.replace(with: hi, where: r .> hi)
                // A whole number in -127...127 plus 1.5 * 2^23 is exact, and its low
                // bits are the number in two's complement: the conversion without
                // Int8(Float)'s range checks (they would run lane by lane).
                let k = unsafeBitCast(r + magic, to: SIMD8<Int32>.self)
                let b = SIMD8<Int8>(Int8(truncatingIfNeeded: k[0]), Int8(truncatingIfNeeded: k[1]),
                                    Int8(truncatingIfNeeded: k[2]), Int8(truncatingIfNeeded: k[3]),
                                    Int8(truncatingIfNeeded: k[4]), Int8(truncatingIfNeeded: k[5]),
                                    Int8(truncatingIfNeeded: k[6]), Int8(truncatingIfNeeded: k[7]))
                UnsafeMutableRawPointer(q + i).storeBytes(of: b, as: SIMD8<Int8>.self)
                i += 8
            }
        }
        while i < n {
            let r = min(max((x[i * stride] * inv).rounded(.toNearestOrEven), -127), 127)
            q[i] = Int8(r)
            i += 1
        }
        return m / 127
    }

    /// The larger of two magnitudes, NaN if either is (Swift's max drops a NaN, and
    /// a NaN row must not reach the int8 conversion, which traps on it). Once m is
    /// NaN it stays NaN whatever follows (`a <= m ? m : a` let a later number
    /// replace it: a hidden layer's [NaN, 5] then quantized the NaN and trapped).
    @inline(__always)
    static func largest(_ m: Float, _ a: Float) -> Float { a > m ? a : (m >= a ? m : .nan) }

    /// A weight matrix [rows, cols] (element (r, c) at w[r * rowStride + c * colStride])
    /// as int8 rows and their scales. A zero row (under `smallestRange`) gets scale 1.
    static func quantizeInt8(_ w: UnsafePointer<Float>, rows: Int, cols: Int, rowStride: Int, colStride: Int,
                             into q: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let s = quantizeRow(w + r * rowStride, stride: colStride, count: cols, into: q + r * cols)
            scales[r] = s > 0 ? s : 1
        }
    }

    /// The same matrix as binary16, rounded to nearest even, [rows, cols]; false
    /// when a value is beyond binary16's range (65504: it would become infinite).
    static func toHalf(_ w: UnsafePointer<Float>, rows: Int, cols: Int, rowStride: Int, colStride: Int,
                       into h: UnsafeMutablePointer<Float16>) -> Bool {
        for r in 0..<rows {
            for c in 0..<cols {
                let v = Float16(w[r * rowStride + c * colStride])
                guard v.isFinite else { return false }
                h[r * cols + c] = v
            }
        }
        return true
    }

    /// The first int8 value below -127 (the bound above needs -127...127), or -1.
    static func firstOutOfRange(_ q: UnsafePointer<Int8>, _ n: Int) -> Int {
        for i in 0..<n where q[i] == -128 { return i }
        return -1
    }

    /// The first binary16 value that is infinite or NaN (exponent bits all ones), or -1.
    static func firstNonFinite(_ h: UnsafeRawPointer, _ n: Int) -> Int {
        for i in 0..<n where h.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) & 0x7C00 == 0x7C00 { return i }
        return -1
    }
}
