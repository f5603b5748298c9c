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
