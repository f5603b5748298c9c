#if SWANN_LEVEL_AVX2 || SWANN_LEVEL_AVX512 || SWANN_LEVEL_AVX512VNNI
import Builtin  // the wide levels' objects only (the Makefile's -enable-builtin-module)
#endif

/// Unaligned 8-float loads and stores, the SIMD access every kernel shares.
/// (`SIMD8<Float>` is 16-byte aligned in Swift; arena buffers are 64-byte
/// aligned, but rows inside them are not, so every access is unaligned.)
@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// acc + a b: one fused multiply-add per lane where the CPU level has FMA. The
/// baseline level (x86-64, no FMA) multiplies, then adds: a fused multiply-add there
/// is a call to fmaf for every lane, about 100x slower. Its products therefore round
/// once more, which makes it the one level whose bits may differ (KernelTable.swift).
@inline(__always)
func fma8(_ acc: SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    #if SWANN_LEVEL_BASELINE
    return acc + a * b
    #else
    return acc.addingProduct(a, b)
    #endif
}

/// fma8 for one float.
@inline(__always)
func fma1(_ acc: Float, _ a: Float, _ b: Float) -> Float {
    #if SWANN_LEVEL_BASELINE
    return acc + a * b
    #else
    return acc.addingProduct(a, b)
    #endif
}

/// The square root of each lane, correctly rounded as Float.squareRoot() is. The
/// standard library's SIMD8 squareRoot() is eight scalar square roots and inserts
/// (LLVM does not join them); the wide levels reach LLVM's vector sqrt (one vsqrtps).
@inline(__always)
func squareRoot8(_ v: SIMD8<Float>) -> SIMD8<Float> {
    #if SWANN_LEVEL_AVX2 || SWANN_LEVEL_AVX512 || SWANN_LEVEL_AVX512VNNI
    var r = v
    r._storage._value = Builtin.int_sqrt_Vec8xFPIEEE32(v._storage._value)
    return r
    #else
    return v.squareRoot()
    #endif
}
