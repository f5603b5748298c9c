// The rows in and out of the VNNI int8 kernel (CompactInt8VNNI.swift), 16 lanes at a
// time: a row quantized straight into the kernel's biased bytes (q + 128), and a tile's
// sums scaled into z with the bias and, when asked, relu. Each lane runs exactly the
// float steps of the scalar reference (Compact.quantizeRow, Compact.int8Layer, the
// relu of Activations.forward), so the bits do not change.
#if SWANN_LEVEL_AVX512VNNI

extension Compact {
    /// quantizeRow(x, stride: 1, count: n) written as q + 128 (unsigned bytes) into
    /// q[0 ..< stride], the padding beyond n as 0 + 128; returns the row's scale.
    /// The largest magnitude is an integer max over the bit patterns (order-free),
    /// folded to quantizeRow's 8 lanes and then combined in its order, so m, and with
    /// it every quotient, is quantizeRow's even for rows with a NaN.
    static func quantizeRowBiased(_ x: UnsafePointer<Float>, count n: Int, stride: Int,
                                  into q: UnsafeMutablePointer<Int8>) -> Float {
        let magnitude = SIMD16<UInt32>(repeating: 0x7FFF_FFFF)
        var v16 = SIMD16<UInt32>(), w16 = SIMD16<UInt32>()
        var i = 0
        // Two chains, 32 floats a step (n counts floats in memory: &+ cannot wrap).
        while i &+ 32 <= n {
            let a = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<UInt32>.self) & magnitude
            let b = UnsafeRawPointer(x + (i &+ 16)).loadUnaligned(as: SIMD16<UInt32>.self) & magnitude
            v16.replace(with: a, where: a .> v16)
            w16.replace(with: b, where: b .> w16)
            i &+= 32
        }
        v16.replace(with: w16, where: w16 .> v16)
        if i &+ 16 <= n {
            let a = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<UInt32>.self) & magnitude
            v16.replace(with: a, where: a .> v16)
            i &+= 16
        }
        var v = v16.lowHalf
        v.replace(with: v16.highHalf, where: v16.highHalf .> v)
        if i + 8 <= n {
            let a = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<UInt32>.self) & magnitude.lowHalf
            v.replace(with: a, where: a .> v)
            i += 8
        }
        var m: Float = 0
        for l in 0..<8 { m = largest(m, Float(bitPattern: v[l])) }
        while i < n { m = largest(m, abs(x[i])); i += 1 }
        let biased = UnsafeMutableRawPointer(q).assumingMemoryBound(to: UInt8.self)
        guard m.isFinite, m >= smallestRange else {
            for k in 0..<stride { biased[k] = 0x80 }
            return m.isFinite ? 0 : .nan
        }
        let inv = 127 / m
        // quantizeRow's q + 128 in two float steps. No clamp: |x| <= m, so |x * inv| <=
        // fl(m * fl(127 / m)) <= 127 (1 + 2^-23) rounds to at most 127, as quantizeRow's
        // clamp leaves it. No separate rounding: v + (1.5 * 2^23 + 128) lies in [2^23, 2^24),
        // where floats are the integers, so the sum is that even constant plus v rounded to
        // nearest, ties to even (quantizeRow's rounding), and its low byte, the constant's
        // being 128, is q + 128: 3 vector steps a block of 16 where there were 7 (W1i int8, Intel Xeon).
        let magic = SIMD16<Float>(repeating: 12583040)
        i = 0
        while i &+ 16 <= n {
            let k = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) * inv + magic
            UnsafeMutableRawPointer(biased + i).storeBytes(of: bytes(unsafeBitCast(k, to: SIMD16<UInt32>.self)),
                                                           as: SIMD16<UInt8>.self)
            i &+= 16
        }
        while i < n {
            let r = min(max((x[i] * inv).rounded(.toNearestOrEven), -127), 127)
            biased[i] = UInt8(truncatingIfNeeded: (r + 12582912).bitPattern) ^ 0x80
            i += 1
        }
        while i < stride { biased[i] = 0x80; i += 1 }
        return m / 127
    }

    /// The low byte of each lane (lane by lane: one vpmovdb).
    @inline(__always)
    static func bytes(_ k: SIMD16<UInt32>) -> SIMD16<UInt8> {
        SIMD16<UInt8>(UInt8(truncatingIfNeeded: k[0]), UInt8(truncatingIfNeeded: k[1]),
                      UInt8(truncatingIfNeeded: k[2]), UInt8(truncatingIfNeeded: k[3]),
                      UInt8(truncatingIfNeeded: k[4]), UInt8(truncatingIfNeeded: k[5]),
                      UInt8(truncatingIfNeeded: k[6]), UInt8(truncatingIfNeeded: k[7]),
                      UInt8(truncatingIfNeeded: k[8]), UInt8(truncatingIfNeeded: k[9]),
                      UInt8(truncatingIfNeeded: k[10]), UInt8(truncatingIfNeeded: k[11]),
                      UInt8(truncatingIfNeeded: k[12]), UInt8(truncatingIfNeeded: k[13]),
                      UInt8(truncatingIfNeeded: k[14]), UInt8(truncatingIfNeeded: k[15]))
    }

    /// Lane by lane Float(d) (one vcvtdq2ps, rounding to nearest as Float(Int32) does).
    @inline(__always)
    static func floats(_ d: SIMD16<Int32>) -> SIMD16<Float> {
        SIMD16<Float>(Float(d[0]), Float(d[1]), Float(d[2]), Float(d[3]), Float(d[4]), Float(d[5]), Float(d[6]),
                      Float(d[7]), Float(d[8]), Float(d[9]), Float(d[10]), Float(d[11]), Float(d[12]),
                      Float(d[13]), Float(d[14]), Float(d[15]))
    }

    /// z for one row and one block's columns below `outputs`: the exact sum (the lane less
    /// its column's 128 * sum w) times (row scale * column scale), plus the bias, as
    /// Compact.int8Layer computes it; then max(z, 0) if c.relu (Activations.forward's
    /// relu: 0 >= z ? 0 : z, so a NaN stays and -0 becomes 0).
    @inline(__always)
    static func store(_ acc: SIMD16<Int32>, _ c: Int8PackedCall, _ terms: UnsafePointer<Int32>, row: Int, block: Int) {
        let j0 = block * 16, n = min(16, c.outputs - j0)
        let s = c.rowScales[row], z = c.z + row * c.outputs
        if n == 16 {
            let t = UnsafeRawPointer(terms + j0).loadUnaligned(as: SIMD16<Int32>.self)
            let k = SIMD16<Float>(repeating: s) * UnsafeRawPointer(c.scales + j0).loadUnaligned(as: SIMD16<Float>.self)
            var y = floats(acc &- t) * k + UnsafeRawPointer(c.bias + j0).loadUnaligned(as: SIMD16<Float>.self)
            if c.relu { y.replace(with: SIMD16<Float>(), where: y .<= SIMD16<Float>()) }
            UnsafeMutableRawPointer(z + j0).storeBytes(of: y, as: SIMD16<Float>.self)
            return
        }
        storePart(acc, c, terms, row: row, block: block)
    }

    /// store for the last block of a layer whose outputs are not a multiple of 16, out of
    /// line: inlined into each of the tiles' 16 stores it was a third of the VNNI object.
    @inline(never)
    static func storePart(_ acc: SIMD16<Int32>, _ c: Int8PackedCall, _ terms: UnsafePointer<Int32>, row: Int,
                          block: Int) {
        let j0 = block * 16, n = min(16, c.outputs - j0)
        let s = c.rowScales[row], z = c.z + row * c.outputs
        for l in 0..<n {
            let j = j0 + l
            let y = Float(acc[l] &- terms[j]) * (s * c.scales[j]) + c.bias[j]
            z[j] = c.relu ? max(y, 0) : y
        }
    }
}
#endif
