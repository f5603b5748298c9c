import CSupport

/// Activation functions `f_k` of a layer. All but `softmax` act on each unit
/// alone (diagonal Jacobian); `softmax` acts on the whole layer (full Jacobian).
enum Activation: Int32 {
    case identity, sigmoid, tanh, relu, leakyRelu, elu, softplus, gelu, softmax
}

/// The activation functions `y = f(z)` and their backward step
/// `grad_z Div = grad_y Div J_y(z)`, over `rows x cols` row-major blocks.
enum Activations {
    // MARK: scalar functions (numerically stable for any finite input)

    @inline(__always)
    static func sigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + expf(-x)) }
        let e = expf(x)
        return e / (1 + e)
    }

    /// log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
    @inline(__always)
    static func softplus(_ x: Float) -> Float {
        max(x, 0) + log1pf(expf(-abs(x)))
    }

    static let geluC: Float = 0.7978845608028654  // sqrt(2 / pi)
    static let geluA: Float = 0.044715

    /// PyTorch's gelu(approximate="tanh").
    @inline(__always)
    static func gelu(_ x: Float) -> Float {
        0.5 * x * (1 + tanhf(geluC * (x + geluA * x * x * x)))
    }

    @inline(__always)
    static func geluDerivative(_ x: Float) -> Float {
        // Beyond |x| = 10, tanh is exactly +-1 in Float and x^2 may overflow (inf * 0).
        if abs(x) > 10 { return x > 0 ? 1 : 0 }
        let t = tanhf(geluC * (x + geluA * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * geluC * (1 + 3 * geluA * x * x)
    }

    @inline(__always)
    static func elu(_ x: Float, _ alpha: Float) -> Float {
        x > 0 ? x : alpha * expm1f(x)
    }

    // MARK: forward

    /// y = f(z). `y` may equal `z` (in place). One copy, called by the pass and the
    /// strided form below.
    @inline(never)
    static func forward(_ act: Activation, alpha: Float, z: UnsafePointer<Float>,
                        y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        let n = rows * cols
        switch act {
        case .identity:
            if UnsafePointer(y) != z { copyFloats(y, z, n) }
        case .sigmoid:
            for i in 0..<n { y[i] = sigmoid(z[i]) }
        case .tanh:
            for i in 0..<n { y[i] = tanhf(z[i]) }
        case .relu:
            for i in 0..<n { y[i] = max(z[i], 0) }
        case .leakyRelu:
            for i in 0..<n { let v = z[i]; y[i] = v > 0 ? v : alpha * v }
        case .elu:
            for i in 0..<n { y[i] = elu(z[i], alpha) }
        case .softplus:
            for i in 0..<n { y[i] = softplus(z[i]) }
        case .gelu:
            for i in 0..<n { y[i] = gelu(z[i]) }
        case .softmax:
            for r in 0..<rows { softmaxRow(z + r * cols, y + r * cols, cols) }
        }
    }

    /// y = f(z) over `rows` rows of `cols` elements, `ld` apart in both (a block of
    /// columns of Z, as the turned-around forward finishes them): `forward` row by row,
    /// so every element has the bits of the one pass. Elementwise activations only.
    static func forward(_ act: Activation, alpha: Float, z: UnsafePointer<Float>,
                        y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int) {
        for r in 0..<rows { forward(act, alpha: alpha, z: z + r * ld, y: y + r * ld, rows: 1, cols: cols) }
    }

    /// y = exp(z - max z) / sum(exp(z - max z)) for one row.
    @inline(__always)
    static func softmaxRow(_ z: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = z[0]
        for i in 1..<max(n, 1) { m = max(m, z[i]) }
        var s: Float = 0
        for i in 0..<n { let e = expf(z[i] - m); y[i] = e; s += e }
        let inv = 1 / s
        for i in 0..<n { y[i] *= inv }
    }

    // MARK: backward

    /// A bound on |grad_z| / max |grad_y| of `backward` for any finite grad_y,
    /// given a finite y (then z may be +-Inf only where the result stays finite),
    /// with room to spare for rounding: sigmoid, tanh, relu and softplus scale by
    /// at most 1; leaky_relu by |alpha|; elu by |y + alpha| <= 2 |alpha|; gelu's
    /// derivative stays below 59 (0 or 1 beyond |z| = 10); softmax's
    /// y_i (d_i - sum_j d_j y_j) below 60 max |d| with float's sums.
    static func derivativeBound(_ act: Activation, alpha: Float) -> Double {
        let a = Double(Swift.abs(alpha))
        switch act {
        case .identity: return 1
        case .sigmoid, .tanh, .relu, .softplus: return 2
        case .leakyRelu: return 2 * max(1, a)
        case .elu: return 2 * max(1, 2 * a)
        case .gelu, .softmax: return 128
        }
    }

    /// On entry `d` holds grad_y Div; on exit grad_z Div = grad_y Div J_y(z).
    /// Scalar activations have a diagonal Jacobian (d_i *= f'(z_i)); softmax's is
    /// full: J_ij = y_i (delta_ij - y_j), so grad_z_i = y_i (d_i - sum_j d_j y_j).
    @inline(never)  // compiled on its own, its loops vectorize (inlined into Net.walk they did not)
    static func backward(_ act: Activation, alpha: Float, z: UnsafePointer<Float>, y: UnsafePointer<Float>,
                         d: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        let n = rows * cols
        switch act {
        case .identity:
            break
        case .sigmoid:
            for i in 0..<n { let s = y[i]; d[i] *= s * (1 - s) }
        case .tanh:
            for i in 0..<n { let t = y[i]; d[i] *= 1 - t * t }
        case .relu:
            for i in 0..<n { d[i] = z[i] > 0 ? d[i] : 0 }
        case .leakyRelu:
            for i in 0..<n { d[i] *= z[i] > 0 ? 1 : alpha }
        case .elu:
            // f'(z) = alpha e^z = y + alpha for z <= 0.
            for i in 0..<n { d[i] *= z[i] > 0 ? 1 : y[i] + alpha }
        case .softplus:
            for i in 0..<n { d[i] *= sigmoid(z[i]) }
        case .gelu:
            for i in 0..<n { d[i] *= geluDerivative(z[i]) }
        case .softmax:
            for r in 0..<rows {
                let yr = y + r * cols, dr = d + r * cols
                var dot: Float = 0
                for j in 0..<cols { dot += dr[j] * yr[j] }
                for j in 0..<cols { dr[j] = yr[j] * (dr[j] - dot) }
            }
        }
    }
}
