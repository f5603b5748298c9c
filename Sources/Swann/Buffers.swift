import CSupport

// Whole-buffer operations on floats in the arena, shared by every module.

/// True when every one of `n` floats is finite (x * 0 is NaN exactly for NaN and Inf).
func allFinite(_ p: UnsafePointer<Float>, _ n: Int) -> Bool {
    // Four independent sums, so the adds overlap instead of waiting on each other.
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var i = 0
    while i + 32 <= n {
        a0 += Gemm.load8(p + i) * 0
        a1 += Gemm.load8(p + i + 8) * 0
        a2 += Gemm.load8(p + i + 16) * 0
        a3 += Gemm.load8(p + i + 24) * 0
        i += 32
    }
    while i + 8 <= n {
        a0 += Gemm.load8(p + i) * 0
        i += 8
    }
    var tail: Float = 0
    while i < n { tail += p[i] * 0; i += 1 }
    return ((a0 + a1) + (a2 + a3)).sum() + tail == 0
}

/// memcpy of `n` floats. (`UnsafeMutablePointer.update(from:count:)` copies
/// element by element through an outlined call in Embedded mode: ten times slower.)
@inline(__always)
func copyFloats(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
    memcpy(dst, src, n * MemoryLayout<Float>.stride)
}

/// memset of `n` floats to zero.
@inline(__always)
func zeroFloats(_ dst: UnsafeMutablePointer<Float>, _ n: Int) {
    memset(dst, 0, n * MemoryLayout<Float>.stride)
}

/// The largest p[i]^2 over `n` floats (+Inf when a square overflows), or nil when
/// any of them is NaN or Inf (the x * 0 test of `allFinite`, in the same pass).
func finiteMaxSquare(_ p: UnsafePointer<Float>, _ n: Int) -> Float? {
    var z0 = SIMD8<Float>(), z1 = SIMD8<Float>(), m0 = SIMD8<Float>(), m1 = SIMD8<Float>()
    var i = 0
    while i + 16 <= n {
        let a = Gemm.load8(p + i), b = Gemm.load8(p + i + 8)
        z0 += a * 0
        z1 += b * 0
        let a2 = a * a, b2 = b * b
        m0.replace(with: a2, where: a2 .> m0)
        m1.replace(with: b2, where: b2 .> m1)
        i += 16
    }
    m0.replace(with: m1, where: m1 .> m0)
    var m: Float = 0
    for l in 0..<8 where m0[l] > m { m = m0[l] }
    var tail: Float = 0
    while i < n { tail += p[i] * 0; m = max(m, p[i] * p[i]); i += 1 }
    guard (z0 + z1).sum() + tail == 0 else { return nil }
    return m
}
