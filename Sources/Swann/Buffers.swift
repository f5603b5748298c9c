import CSupport

// Whole-buffer operations on floats in the arena, shared by every module.

/// True when every one of `n` floats is finite (x * 0 is NaN exactly for NaN and Inf).
func allFinite(_ p: UnsafePointer<Float>, _ n: Int) -> Bool {
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
        acc += Gemm.load8(p + i) * 0
        i += 8
    }
    var tail: Float = 0
    while i < n { tail += p[i] * 0; i += 1 }
    return (acc.sum() + tail) == 0
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
