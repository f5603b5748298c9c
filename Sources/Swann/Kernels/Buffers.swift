import CSupport

// Whole-buffer operations on floats in the arena, shared by every module.

#if arch(arm)
/// True when every one of `n` floats is finite (x * 0 is NaN exactly for NaN and Inf).
/// 32-bit ARM (Cortex-M) has no SIMD unit: the eight-lane form below is 1 KB of scalar
/// code there. This is one chain of fused multiply-adds, a + x * 0, four a turn: a load
/// and a vfma an element.
func allFinite(_ p: UnsafePointer<Float>, _ n: Int) -> Bool {
    var a: Float = 0
    var i = 0
    while i + 4 <= n {
        a = a.addingProduct(p[i], 0).addingProduct(p[i + 1], 0).addingProduct(p[i + 2], 0).addingProduct(p[i + 3], 0)
        i += 4
    }
    while i < n { a = a.addingProduct(p[i], 0); i += 1 }
    return a == 0
}
#else
/// True when every one of `n` floats is finite (x * 0 is NaN exactly for NaN and Inf).
func allFinite(_ p: UnsafePointer<Float>, _ n: Int) -> Bool {
    // Four independent sums, so the adds overlap instead of waiting on each other.
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var i = 0
    while i + 32 <= n {
        a0 += load8(p + i) * 0
        a1 += load8(p + i + 8) * 0
        a2 += load8(p + i + 16) * 0
        a3 += load8(p + i + 24) * 0
        i += 32
    }
    while i + 8 <= n {
        a0 += load8(p + i) * 0
        i += 8
    }
    var tail: Float = 0
    while i < n { tail += p[i] * 0; i += 1 }
    return ((a0 + a1) + (a2 + a3)).sum() + tail == 0
}
#endif

/// memcpy of `n` floats. (`UnsafeMutablePointer.update(from:count:)` copies
/// element by element through an outlined call in Embedded mode: ten times slower.)
@inline(__always)
func copyFloats(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
    memcpy(dst, src, n * MemoryLayout<Float>.stride)
}

/// `n` floats set to `v`.
@inline(__always)
func fillFloats(_ dst: UnsafeMutablePointer<Float>, _ v: Float, _ n: Int) {
    let s = SIMD16<Float>(repeating: v)
    var i = 0
    while i + 16 <= n {
        UnsafeMutableRawPointer(dst + i).storeBytes(of: s, as: SIMD16<Float>.self)
        i += 16
    }
    while i < n {
        dst[i] = v
        i += 1
    }
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
        let a = load8(p + i), b = load8(p + i + 8)
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

/// The largest |p[i]| over `n` floats (+Inf when its square overflows), or nil
/// when any of them is NaN or Inf.
func finiteMaxMagnitude(_ p: UnsafePointer<Float>, _ n: Int) -> Float? {
    finiteMaxSquare(p, n).map { $0.squareRoot() }
}

/// dst[j] += rows[r * cols + j] for every row r in order (grad_b += column sums
/// of grad_z), returning the largest |rows[i]| as `finiteMaxMagnitude` does
/// (meaningful when all are finite).
func addRows(_ rows: UnsafePointer<Float>, count: Int, cols: Int, into dst: UnsafeMutablePointer<Float>) -> Float {
    var m0 = SIMD8<Float>()
    var m: Float = 0
    for r in 0..<count {
        let row = rows + r * cols
        var j = 0
        while j + 8 <= cols {
            let v = load8(row + j)
            store8(load8(dst + j) + v, dst + j)
            let v2 = v * v
            m0.replace(with: v2, where: v2 .> m0)
            j += 8
        }
        while j < cols { dst[j] += row[j]; m = max(m, row[j] * row[j]); j += 1 }
    }
    for l in 0..<8 where m0[l] > m { m = m0[l] }
    return m.squareRoot()
}

/// dst[i] += src[i] for `n` floats.
func addFloats(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
    for i in 0..<n { dst[i] += src[i] }
}

/// True when every a[i] + b[i] (rounded to float, as `addFloats` writes it) is finite.
func sumsFinite(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Bool {
    var z: Float = 0
    for i in 0..<n { z += (a[i] + b[i]) * 0 }
    return z == 0
}

/// True when sums of `count` products x * y with |x| <= `x` and |y| <= `y`, added
/// to a value |old| <= `old`, cannot overflow float however they are ordered and
/// rounded: each of the at most 2 * count + count / 256 + 2 roundings (count <= 2^24)
/// grows a partial sum by a factor 1 + 2^-24 at most, under e^2.01 < 16 in all.
func sumsBounded(old: Double, count: Int, x: Double, y: Double) -> Bool {
    sumBoundFits(sumBound(old: old, count: count, x: x, y: y))
}

/// A bound on |every such sum| as computed in float: e^2.01 < 8 times the exact bound.
func sumBound(old: Double, count: Int, x: Double, y: Double) -> Double {
    (old + Double(count) * x * y) * 8
}

/// True when sums under this `sumBound` cannot overflow float (with a factor 2 to spare).
func sumBoundFits(_ bound: Double) -> Bool {
    bound * 2 <= Double(Float.greatestFiniteMagnitude)
}

/// Sum over i < n of Double(g[i] * scale)^2, in a fixed order (16 lanes, then
/// the lanes added in index order, then the tail).
func sumOfSquares(_ g: UnsafePointer<Float>, _ n: Int, scale: Float) -> Double {
    var s0 = SIMD4<Double>(), s1 = SIMD4<Double>(), s2 = SIMD4<Double>(), s3 = SIMD4<Double>()
    @inline(__always) func wide(_ p: UnsafePointer<Float>) -> SIMD4<Double> {
        SIMD4<Double>(Double(p[0] * scale), Double(p[1] * scale), Double(p[2] * scale), Double(p[3] * scale))
    }
    var i = 0
    while i + 16 <= n {
        let a = wide(g + i), b = wide(g + i + 4), c = wide(g + i + 8), d = wide(g + i + 12)
        s0 = s0.addingProduct(a, a)
        s1 = s1.addingProduct(b, b)
        s2 = s2.addingProduct(c, c)
        s3 = s3.addingProduct(d, d)
        i += 16
    }
    var sum = ((s0 + s1) + (s2 + s3)).sum()
    while i < n { let x = Double(g[i] * scale); sum += x * x; i += 1 }
    return sum
}
