import CSupport

/// grad_z = grad_y f'(z) and grad_b += the column sums of grad_z in one pass over
/// grad_z (issue #15's backward epilogue): each element is loaded once for both,
/// where `Activations.backward` then `addRows` loaded it twice. The same float
/// operations in the same order (row by row), so the same bits as those two passes.
extension Activations {
    /// `backward` on `d` (rows x cols), then `addRows(d, into: gb)`; returns what
    /// addRows returns (the largest |grad_z|, meaningful when all are finite).
    @inline(never)  // compiled on its own, its loops vectorize (as `backward`'s)
    static func backwardAddingRows(_ act: Activation, alpha: Float, z: UnsafePointer<Float>, y: UnsafePointer<Float>,
                                   d: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                                   into gb: UnsafeMutablePointer<Float>) -> Float {
        #if arch(arm)
        // 32-bit ARM (Cortex-M): the two passes. With no SIMD unit and no cache to save
        // a load from, the fused 8-lane loops below were 5.6 KB of scalar code there.
        backward(act, alpha: alpha, z: z, y: y, d: d, rows: rows, cols: cols)
        return addRows(d, count: rows, cols: cols, into: gb)
        #else
        switch act {
        case .identity:
            return addRows(d, count: rows, cols: cols, into: gb)
        case .sigmoid:
            return scaledRowSums(SigmoidDerivative.self, alpha, z, y, d, rows, cols, gb)
        case .tanh:
            return scaledRowSums(TanhDerivative.self, alpha, z, y, d, rows, cols, gb)
        case .relu:
            return scaledRowSums(ReluDerivative.self, alpha, z, y, d, rows, cols, gb)
        case .leakyRelu:
            return scaledRowSums(LeakyReluDerivative.self, alpha, z, y, d, rows, cols, gb)
        case .elu:
            return scaledRowSums(EluDerivative.self, alpha, z, y, d, rows, cols, gb)
        case .softplus, .gelu, .softmax:
            // A libm call per element (softplus, gelu) or a dot before the row (softmax):
            // the row's derivative, then its sum while the row is still in L1.
            var m: Float = 0
            for r in 0..<rows {
                let o = r * cols
                backward(act, alpha: alpha, z: z + o, y: y + o, d: d + o, rows: 1, cols: cols)
                m = max(m, addRows(d + o, count: 1, cols: cols, into: gb))
            }
            return m
        }
        #endif
    }

    /// d *= f'(z) and gb += d, row by row, for a diagonal f' of a few float operations.
    @inline(__always)
    private static func scaledRowSums<F: DiagonalDerivative>(
        _: F.Type, _ alpha: Float, _ z: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
        _ d: UnsafeMutablePointer<Float>, _ rows: Int, _ cols: Int, _ gb: UnsafeMutablePointer<Float>
    ) -> Float {
        var m0 = SIMD8<Float>()
        var m: Float = 0
        for r in 0..<rows {
            let o = r * cols
            let zr = z + o, yr = y + o, dr = d + o
            var j = 0
            while j + 8 <= cols {
                let g = F.times(load8(dr + j), z: load8(zr + j), y: load8(yr + j), alpha: alpha)
                store8(g, dr + j)
                store8(load8(gb + j) + g, gb + j)
                let g2 = g * g
                m0.replace(with: g2, where: g2 .> m0)
                j += 8
            }
            while j < cols {
                let g = F.times(dr[j], z: zr[j], y: yr[j], alpha: alpha)
                dr[j] = g
                gb[j] += g
                m = max(m, g * g)
                j += 1
            }
        }
        for l in 0..<8 where m0[l] > m { m = m0[l] }
        return m.squareRoot()
    }
}

/// d f'(z) of a scalar activation, as `Activations.backward` computes it (the same
/// operations, so the same bits), for eight lanes and for one.
private protocol DiagonalDerivative {
    static func times(_ d: SIMD8<Float>, z: SIMD8<Float>, y: SIMD8<Float>, alpha: Float) -> SIMD8<Float>
    static func times(_ d: Float, z: Float, y: Float, alpha: Float) -> Float
}

private enum SigmoidDerivative: DiagonalDerivative {
    @inline(__always)
    static func times(_ d: SIMD8<Float>, z: SIMD8<Float>, y: SIMD8<Float>, alpha: Float) -> SIMD8<Float> {
        d * (y * (1 - y))
    }
    @inline(__always)
    static func times(_ d: Float, z: Float, y: Float, alpha: Float) -> Float { d * (y * (1 - y)) }
}

private enum TanhDerivative: DiagonalDerivative {
    @inline(__always)
    static func times(_ d: SIMD8<Float>, z: SIMD8<Float>, y: SIMD8<Float>, alpha: Float) -> SIMD8<Float> {
        d * (1 - y * y)
    }
    @inline(__always)
    static func times(_ d: Float, z: Float, y: Float, alpha: Float) -> Float { d * (1 - y * y) }
}

/// d where z > 0, else +0 (not d * 0: a NaN or Inf d still gives 0, as `backward`).
private enum ReluDerivative: DiagonalDerivative {
    @inline(__always)
    static func times(_ d: SIMD8<Float>, z: SIMD8<Float>, y: SIMD8<Float>, alpha: Float) -> SIMD8<Float> {
        SIMD8<Float>().replacing(with: d, where: z .> 0)
    }
    @inline(__always)
    static func times(_ d: Float, z: Float, y: Float, alpha: Float) -> Float { z > 0 ? d : 0 }
}

private enum LeakyReluDerivative: DiagonalDerivative {
    @inline(__always)
    static func times(_ d: SIMD8<Float>, z: SIMD8<Float>, y: SIMD8<Float>, alpha: Float) -> SIMD8<Float> {
        d * SIMD8<Float>(repeating: alpha).replacing(with: 1, where: z .> 0)
    }
    @inline(__always)
    static func times(_ d: Float, z: Float, y: Float, alpha: Float) -> Float { d * (z > 0 ? 1 : alpha) }
}

/// f'(z) = alpha e^z = y + alpha for z <= 0.
private enum EluDerivative: DiagonalDerivative {
    @inline(__always)
    static func times(_ d: SIMD8<Float>, z: SIMD8<Float>, y: SIMD8<Float>, alpha: Float) -> SIMD8<Float> {
        d * (y + alpha).replacing(with: 1, where: z .> 0)
    }
    @inline(__always)
    static func times(_ d: Float, z: Float, y: Float, alpha: Float) -> Float { d * (z > 0 ? 1 : y + alpha) }
}
