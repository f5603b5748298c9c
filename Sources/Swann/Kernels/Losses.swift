import CSupport

/// The divergence `Div(Y, d)` per sample.
enum Loss: Int32 {
    case mse, crossEntropy, binaryCrossEntropy, none
}

/// The divergences `Div(Y, d)` of one row and their gradients.
enum Losses {
    /// The index of the first of `n` targets outside the loss's domain, or nil:
    /// binary_cross_entropy takes targets in [0, 1], cross_entropy targets >= 0
    /// (outside, Div has no minimum and training runs away). NaN and Inf are left
    /// to the finite checks of the gradient, which report them as numeric.
    static func firstTargetOutside(_ loss: Loss, _ d: UnsafePointer<Float>, count n: Int) -> Int? {
        switch loss {
        case .binaryCrossEntropy:
            for i in 0..<n where d[i].isFinite && (d[i] < 0 || d[i] > 1) { return i }
        case .crossEntropy:
            for i in 0..<n where d[i].isFinite && d[i] < 0 { return i }
        case .mse, .none:
            break
        }
        return nil
    }

    /// Writes the gradient for `rows x cols` outputs into `g` and returns the sum of
    /// `Div` over the rows. When `fused` (softmax + cross_entropy, sigmoid +
    /// binary_cross_entropy) `g` receives grad_z Div directly, and the loss is
    /// computed from `z` (log-sum-exp, softplus) so it stays finite for any finite z.
    /// Otherwise `g` receives grad_Y Div.
    static func gradient(_ loss: Loss, fused: Bool, z: UnsafePointer<Float>, y: UnsafePointer<Float>,
                         target d: UnsafePointer<Float>, g: UnsafeMutablePointer<Float>,
                         rows: Int, cols: Int) -> Double {
        var total = 0.0
        switch loss {
        case .mse:
            // Div = 1/2 sum (Y - d)^2, grad_Y = Y - d.
            for r in 0..<rows {
                var s: Float = 0
                for j in 0..<cols {
                    let i = r * cols + j
                    let e = y[i] - d[i]
                    g[i] = e
                    s += e * e
                }
                total += Double(0.5 * s)
            }
        case .crossEntropy:
            if fused {
                // log Y_i = z_i - logsumexp(z); grad_z = Y sum(d) - d.
                for r in 0..<rows {
                    let zr = z + r * cols, yr = y + r * cols, dr = d + r * cols, gr = g + r * cols
                    var m = zr[0]
                    for j in 1..<max(cols, 1) { m = max(m, zr[j]) }
                    var s: Float = 0
                    for j in 0..<cols { s += expf(zr[j] - m) }
                    // log Y_j = (z_j - m) - log s; subtracting m first keeps log s
                    // from being rounded away when |m| is large.
                    let logS = logf(s)
                    var div: Float = 0, dsum: Float = 0
                    for j in 0..<cols {
                        if dr[j] != 0 { div -= dr[j] * ((zr[j] - m) - logS) }
                        dsum += dr[j]
                    }
                    for j in 0..<cols { gr[j] = yr[j] * dsum - dr[j] }
                    total += Double(div)
                }
            } else {
                // Div = -sum d log Y, grad_Y = -d / Y (terms with d = 0 contribute nothing).
                for r in 0..<rows {
                    var div: Float = 0
                    for j in 0..<cols {
                        let i = r * cols + j
                        if d[i] != 0 {
                            div -= d[i] * logf(y[i])
                            g[i] = -d[i] / y[i]
                        } else {
                            g[i] = 0
                        }
                    }
                    total += Double(div)
                }
            }
        case .binaryCrossEntropy:
            if fused {
                // log Y = -softplus(-z), log(1 - Y) = -softplus(z); grad_z = Y - d.
                for r in 0..<rows {
                    var div: Float = 0
                    for j in 0..<cols {
                        let i = r * cols + j
                        div += d[i] * Activations.softplus(-z[i]) + (1 - d[i]) * Activations.softplus(z[i])
                        g[i] = y[i] - d[i]
                    }
                    total += Double(div)
                }
            } else {
                // As PyTorch's BCELoss: logs clamped at -100, gradient denominator at 1e-12.
                for r in 0..<rows {
                    var div: Float = 0
                    for j in 0..<cols {
                        let i = r * cols + j
                        let p = y[i]
                        let lp = max(logf(p), -100), lq = max(logf(1 - p), -100)
                        div -= d[i] * lp + (1 - d[i]) * lq
                        g[i] = (p - d[i]) / max(p * (1 - p), 1e-12)
                    }
                    total += Double(div)
                }
            }
        case .none:
            break
        }
        return total
    }
}
