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
        while true {
            let u = 2 * unit() - 1
            let v = 2 * unit() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                return u * (-2 * portableLog(s) / s).squareRoot()
            }
        }
    }
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
