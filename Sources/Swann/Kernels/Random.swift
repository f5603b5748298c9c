/// Deterministic random numbers for parameter initialisation.
///
/// The same spec and seed must give bit-identical parameters on every machine,
/// so nothing here calls libm (whose `log`/`cos` may differ by an ulp between
/// versions): only integer arithmetic and correctly rounded IEEE operations
/// (+, -, *, /, sqrt) on Double, rounded to Float at the end.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64, stream: UInt64) {
        // Separate streams per layer: mix the stream index into the seed.
        var s = SplitMix64(rawState: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        state = s.next()
    }

    private init(rawState: UInt64) { state = rawState }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    mutating func unit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * unit()
    }

    /// Standard normal, by Marsaglia's polar method.
    mutating func normal() -> Double {
        let (u, s) = polarPair()
        return u * (-2 * portableLog(s) / s).squareRoot()
    }

    /// The polar method's draws: u and s = u^2 + v^2 of the first pair inside the
    /// unit circle (but its centre).
    mutating func polarPair() -> (u: Double, s: Double) {
        while true {
            let u = 2 * unit() - 1
            let v = 2 * unit() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 { return (u, s) }
        }
    }

    /// out[i] = Float(scale * normal()) for i < count: the same draws and bits as
    /// `count` calls, eight lanes at a time. Only the draws are serial; the log (20
    /// divisions a number, in a chain) is where the time went: 1.85 s to create
    /// 1024-4096-4096-1024 with relu (He) layers. Each lane runs portableLog's IEEE
    /// operations in its order, so the bits cannot differ (RandomTests).
    mutating func fillNormal(_ out: UnsafeMutablePointer<Float>, count: Int, scale: Double) {
        #if arch(arm)
        // soft double on a Cortex-M: eight lanes would only be more code
        for i in 0..<max(count, 0) { out[i] = Float(scale * normal()) }
        #else
        var done = 0
        while done < count {
            let lanes = min(8, count - done)
            var u = SIMD8<Double>(repeating: 0), s = SIMD8<Double>(repeating: 0.5)
            for j in 0..<lanes { (u[j], s[j]) = polarPair() }
            let y = SIMD8<Float>(scale * (u * (-2 * portableLog8(s) / s).squareRoot()))
            for j in 0..<lanes { out[done + j] = y[j] }
            done += lanes
        }
        #endif
    }
}

/// portableLog of eight numbers in [2^-1022, 1) (s of the polar method), lane by
/// lane the same operations in the same order.
@inline(__always)
func portableLog8(_ x: SIMD8<Double>) -> SIMD8<Double> {
    let bits = unsafeBitCast(x, to: SIMD8<UInt64>.self)
    var e = SIMD8<Double>(SIMD8<Int64>(truncatingIfNeeded: (bits &>> 52) & 0x7FF) &- 1023)  // x.exponent
    var m = unsafeBitCast((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000, to: SIMD8<Double>.self)  // x.significand
    let high = m .> 1.4142135623730951
    m.replace(with: m / 2, where: high)
    e.replace(with: e + 1, where: high)
    let r = (m - 1) / (m + 1)
    let r2 = r * r
    var term = r
    var sum = SIMD8<Double>(repeating: 0)
    var k = 1.0
    for _ in 0..<20 {
        sum += term / k
        term *= r2
        k += 2
    }
    return e * 0.6931471805599453 + 2 * sum
}

/// Natural logarithm for x > 0 from IEEE arithmetic alone (bit-reproducible):
/// x = m * 2^e with m in [sqrt(1/2), sqrt(2)), log x = e ln 2 + 2 atanh((m-1)/(m+1)).
func portableLog(_ x: Double) -> Double {
    guard x > 0 && x.isFinite else { return 0 }  // callers pass s in (0, 1)
    var e = Int(x.exponent)
    var m = x.significand  // [1, 2)
    if m > 1.4142135623730951 {
        m /= 2
        e += 1
    }
    let r = (m - 1) / (m + 1)  // |r| < 0.1716
    let r2 = r * r
    // atanh(r) = r (1 + r^2/3 + r^4/5 + ...): 20 terms reach double precision for |r| < 0.18.
    var term = r
    var sum = 0.0
    var k = 1.0
    for _ in 0..<20 {
        sum += term / k
        term *= r2
        k += 2
    }
    return Double(e) * 0.6931471805599453 + 2 * sum
}
