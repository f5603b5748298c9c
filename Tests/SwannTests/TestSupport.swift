import Foundation
import XCTest
@testable import Swann

// Shared helpers: a deterministic test RNG, a net created through the C ABI,
// and a Double-precision reference of the lecture's forward pass and losses.

/// Small deterministic generator for test data (independent of the library's).
struct TestRNG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &+ 0x1234_5678_9ABC_DEF1 }
    mutating func next() -> UInt64 {
        // xorshift64*
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
    mutating func floats(_ n: Int, _ lo: Double = -1, _ hi: Double = 1) -> [Float] {
        (0..<n).map { _ in Float(uniform(lo, hi)) }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
}

/// The thread's last error text.
func lastError() -> String { String(cString: swann_last_error()) }

/// A net created with `swann_create` (library-owned arena), destroyed on deinit.
final class CNet {
    let handle: UnsafeMutableRawPointer

    init(_ spec: String, maxBatch: Int = 8) throws {
        var out: UnsafeMutableRawPointer? = nil
        let s = swann_create(spec, UInt(maxBatch), nil, 0, &out)
        guard s == 0, let out else {
            throw TestFailure(description: "swann_create failed with \(s): \(lastError())\nspec: \(spec)")
        }
        handle = out
    }

    deinit { swann_destroy(handle) }

    var net: Net { Net(base: handle) }
    var header: UnsafeMutablePointer<NetHeader> { net.header }

    var inputSize: Int { Int(swann_input_size(handle)) }
    var outputSize: Int { Int(swann_output_size(handle)) }
    var paramCount: Int { Int(swann_param_count(handle)) }

    var params: UnsafeMutableBufferPointer<Float> {
        var p: UnsafeMutablePointer<Float>? = nil
        var n: UInt = 0
        precondition(swann_params(handle, &p, &n) == 0)
        return UnsafeMutableBufferPointer(start: p, count: Int(n))
    }

    var grads: UnsafeMutableBufferPointer<Float> {
        var p: UnsafeMutablePointer<Float>? = nil
        var n: UInt = 0
        precondition(swann_grads(handle, &p, &n) == 0)
        return UnsafeMutableBufferPointer(start: p, count: Int(n))
    }

    /// Forward `batch` rows; returns the status and the output rows.
    @discardableResult
    func forward(_ x: [Float], batch: Int) -> (status: Int32, y: [Float]) {
        var y = [Float](repeating: .nan, count: batch * outputSize)
        let s = x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                swann_forward(handle, xp.baseAddress, UInt(batch), yp.baseAddress)
            }
        }
        return (s, y)
    }

    /// Backward with targets; returns the status, mean loss and dx.
    @discardableResult
    func backward(_ target: [Float], rows: Int) -> (status: Int32, loss: Float, dx: [Float]) {
        var loss: Float = .nan
        var dx = [Float](repeating: .nan, count: rows * inputSize)
        let s = target.withUnsafeBufferPointer { tp in
            dx.withUnsafeMutableBufferPointer { dp in
                swann_backward(handle, tp.baseAddress, &loss, dp.baseAddress)
            }
        }
        return (s, loss, dx)
    }

    /// Backward with the host's grad_Y; returns the status and dx.
    @discardableResult
    func backwardGrad(_ dy: [Float], rows: Int) -> (status: Int32, dx: [Float]) {
        var dx = [Float](repeating: .nan, count: rows * inputSize)
        let s = dy.withUnsafeBufferPointer { dp in
            dx.withUnsafeMutableBufferPointer { xp in
                swann_backward_grad(handle, dp.baseAddress, xp.baseAddress)
            }
        }
        return (s, dx)
    }

    func step() -> Int32 { swann_step(handle) }
    func zeroGrad() -> Int32 { swann_zero_grad(handle) }

    /// The canonical spec text.
    func specJSON() -> String {
        var needed: UInt = 0
        _ = swann_spec_json(handle, nil, 0, &needed)
        var buf = [CChar](repeating: 0, count: Int(needed))
        let s = buf.withUnsafeMutableBufferPointer { swann_spec_json(handle, $0.baseAddress, needed, &needed) }
        precondition(s == 0)
        return String(cString: buf)
    }
}

// MARK: - Spec text

/// One layer of a test spec.
struct L {
    var units: Int
    var activation: String
    var alpha: Double? = nil

    init(_ units: Int, _ activation: String, alpha: Double? = nil) {
        self.units = units
        self.activation = activation
        self.alpha = alpha
    }

    var json: String {
        var s = "{\"units\": \(units), \"activation\": \"\(activation)\""
        if let alpha { s += ", \"alpha\": \(alpha)" }
        return s + "}"
    }
}

func makeSpec(input: Int, _ layers: [L], loss: String, optimizer: String? = nil,
              initKind: String? = nil, seed: UInt64? = 7) -> String {
    var s = "{\"input\": \(input), \"layers\": [" + layers.map(\.json).joined(separator: ", ") + "], \"loss\": \"\(loss)\""
    if let optimizer { s += ", \"optimizer\": \(optimizer)" }
    if let initKind { s += ", \"init\": \"\(initKind)\"" }
    if let seed { s += ", \"seed\": \(seed)" }
    return s + "}"
}

let allActivations = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu", "softmax"]

// MARK: - Double reference of the lecture's math

enum Ref {
    static let geluC = (2.0 / Double.pi).squareRoot()
    static let geluA = 0.044715

    static func defaultAlpha(_ act: String) -> Double {
        switch act {
        case "leaky_relu": return 0.01
        case "elu": return 1.0
        default: return 0
        }
    }

    static func scalar(_ act: String, _ z: Double, alpha: Double) -> Double {
        switch act {
        case "identity": return z
        case "sigmoid": return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
        case "tanh": return tanh(z)
        case "relu": return max(z, 0)
        case "leaky_relu": return z > 0 ? z : alpha * z
        case "elu": return z > 0 ? z : alpha * expm1(z)
        case "softplus": return max(z, 0) + log1p(exp(-abs(z)))
        case "gelu": return 0.5 * z * (1 + tanh(geluC * (z + geluA * z * z * z)))
        default: fatalError("not scalar: \(act)")
        }
    }

    /// f'(z), analytic.
    static func derivative(_ act: String, _ z: Double, alpha: Double) -> Double {
        switch act {
        case "identity": return 1
        case "sigmoid": let s = scalar("sigmoid", z, alpha: 0); return s * (1 - s)
        case "tanh": let t = tanh(z); return 1 - t * t
        case "relu": return z > 0 ? 1 : 0
        case "leaky_relu": return z > 0 ? 1 : alpha
        case "elu": return z > 0 ? 1 : alpha * exp(z)
        case "softplus": return scalar("sigmoid", z, alpha: 0)
        case "gelu":
            let t = tanh(geluC * (z + geluA * z * z * z))
            return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * geluC * (1 + 3 * geluA * z * z)
        default: fatalError("not scalar: \(act)")
        }
    }

    static func softmax(_ z: [Double]) -> [Double] {
        let m = z.max()!
        let e = z.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    static func activate(_ act: String, _ z: [Double], alpha: Double) -> [Double] {
        act == "softmax" ? softmax(z) : z.map { scalar(act, $0, alpha: alpha) }
    }

    /// Div(Y, d) for one row.
    static func div(_ loss: String, _ y: [Double], _ d: [Double]) -> Double {
        var s = 0.0
        for i in 0..<y.count {
            switch loss {
            case "mse": s += 0.5 * (y[i] - d[i]) * (y[i] - d[i])
            case "cross_entropy": if d[i] != 0 { s -= d[i] * log(y[i]) }
            case "binary_cross_entropy": s -= d[i] * log(y[i]) + (1 - d[i]) * log(1 - y[i])
            default: fatalError("no divergence for \(loss)")
            }
        }
        return s
    }
}

/// A Double-precision model of a net built from the same layer list, reading
/// the flat parameter vector (layer by layer, W [out, in] row-major, then b).
struct RefNet {
    let input: Int
    let layers: [L]

    var paramCount: Int {
        var n = 0, fanIn = input
        for l in layers { n += l.units * fanIn + l.units; fanIn = l.units }
        return n
    }

    /// Y for one row x.
    func forward(_ p: [Double], _ x: [Double]) -> [Double] {
        var y = x
        var off = 0
        for l in layers {
            let fanIn = y.count
            var z = [Double](repeating: 0, count: l.units)
            for i in 0..<l.units {
                var s = p[off + l.units * fanIn + i]
                for j in 0..<fanIn { s += p[off + i * fanIn + j] * y[j] }
                z[i] = s
            }
            off += l.units * fanIn + l.units
            y = Ref.activate(l.activation, z, alpha: l.alpha ?? Ref.defaultAlpha(l.activation))
        }
        return y
    }

    /// The per-row objective: Div for a loss, or dy . Y for "none" (host gradient dy).
    func objective(_ loss: String, _ p: [Double], _ x: [Double], _ d: [Double]) -> Double {
        let y = forward(p, x)
        if loss == "none" { return zip(y, d).reduce(0) { $0 + $1.0 * $1.1 } }
        return Ref.div(loss, y, d)
    }

    /// Sum over rows of the objective.
    func total(_ loss: String, _ p: [Double], _ xs: [[Double]], _ ds: [[Double]]) -> Double {
        var s = 0.0
        for t in 0..<xs.count { s += objective(loss, p, xs[t], ds[t]) }
        return s
    }
}

/// Splits a flat batch into rows of Doubles.
func splitRows(_ a: [Float], _ width: Int) -> [[Double]] {
    stride(from: 0, to: a.count, by: width).map { a[$0..<$0 + width].map(Double.init) }
}

/// Asserts |actual - expected| <= atol + rtol * |expected| element-wise; reports the worst entry.
func assertClose(_ actual: [Double], _ expected: [Double], atol: Double, rtol: Double,
                 _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "length " + message(), file: file, line: line)
    var worst = -1
    var worstExcess = 0.0
    for i in 0..<min(actual.count, expected.count) {
        let err = abs(actual[i] - expected[i])
        let tol = atol + rtol * abs(expected[i])
        if !(err <= tol) {
            let excess = err.isNaN ? .infinity : err / tol
            if worst < 0 || excess > worstExcess { worst = i; worstExcess = excess }
        }
    }
    if worst >= 0 {
        XCTFail("\(message()): entry \(worst) is \(actual[worst]), expected \(expected[worst]) (atol \(atol), rtol \(rtol))",
                file: file, line: line)
    }
}

func assertClose(_ actual: [Float], _ expected: [Double], atol: Double, rtol: Double,
                 _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    assertClose(actual.map(Double.init), expected, atol: atol, rtol: rtol, message(), file: file, line: line)
}

func assertClose(_ actual: [Float], _ expected: [Float], atol: Double, rtol: Double,
                 _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    assertClose(actual.map(Double.init), expected.map(Double.init), atol: atol, rtol: rtol, message(),
                file: file, line: line)
}

/// Bit patterns, for exact comparisons that treat NaN payloads as values.
func bits(_ a: some Collection<Float>) -> [UInt32] { a.map(\.bitPattern) }
