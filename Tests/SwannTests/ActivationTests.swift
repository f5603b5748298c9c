import Foundation
import XCTest
@testable import Swann

/// Activations.forward against each formula (in Double), and Activations.backward
/// (diagonal Jacobians and softmax's full one) against derivatives and central
/// finite differences of the forward.
final class ActivationTests: XCTestCase {
    /// (name, enum, alpha) for every activation, with non-default alphas too.
    static let scalarCases: [(String, Activation, Float)] = [
        ("identity", .identity, 0), ("sigmoid", .sigmoid, 0), ("tanh", .tanh, 0), ("relu", .relu, 0),
        ("leaky_relu", .leakyRelu, 0.01), ("leaky_relu", .leakyRelu, 0.2), ("elu", .elu, 1.0), ("elu", .elu, 0.5),
        ("softplus", .softplus, 0), ("gelu", .gelu, 0),
    ]

    static let extremes: [Float] = [100, -100, 1e30, -1e30, 88, -88, 89, -89, 50, -50, 20, -20,
                                    Float.greatestFiniteMagnitude, -Float.greatestFiniteMagnitude]

    static var points: [Float] {
        var p: [Float] = [0, 1e-3, -1e-3, 1e-30, -1e-30]
        var z: Float = -8
        while z <= 8 { p.append(z); z += 0.37 }
        return p + extremes
    }

    func forward(_ act: Activation, alpha: Float, _ z: [Float], rows: Int = 1) -> [Float] {
        var y = [Float](repeating: .nan, count: z.count)
        z.withUnsafeBufferPointer { zp in
            y.withUnsafeMutableBufferPointer { yp in
                Activations.forward(act, alpha: alpha, z: zp.baseAddress!, y: yp.baseAddress!,
                                    rows: rows, cols: z.count / rows)
            }
        }
        return y
    }

    func backward(_ act: Activation, alpha: Float, z: [Float], y: [Float], d: [Float], rows: Int = 1) -> [Float] {
        var g = d
        z.withUnsafeBufferPointer { zp in
            y.withUnsafeBufferPointer { yp in
                g.withUnsafeMutableBufferPointer { gp in
                    Activations.backward(act, alpha: alpha, z: zp.baseAddress!, y: yp.baseAddress!,
                                         d: gp.baseAddress!, rows: rows, cols: z.count / rows)
                }
            }
        }
        return g
    }

    // MARK: forward

    func testScalarForwardMatchesFormulas() {
        let z = ActivationTests.points
        for (name, act, alpha) in ActivationTests.scalarCases {
            let y = forward(act, alpha: alpha, z)
            for i in 0..<z.count {
                let ref = Ref.scalar(name, Double(z[i]), alpha: Double(alpha))
                let refF = Float(ref)
                if refF.isFinite {
                    XCTAssertTrue(y[i].isFinite, "\(name)(\(z[i])) = \(y[i]) should be finite (\(ref))")
                }
                // A few ulps of the correctly rounded value; gelu's 1 + tanh cancels for
                // negative inputs in float (as in PyTorch), so allow 1e-6 absolute there.
                let tol = 4 * Double(refF.ulp) + (name == "gelu" ? 1e-6 : 0)
                XCTAssertLessThanOrEqual(abs(Double(y[i]) - ref), tol,
                                         "\(name)(alpha \(alpha)) at \(z[i]): \(y[i]) vs \(ref)")
            }
        }
    }

    func testStableAtExtremes() {
        // The values themselves, where they are known exactly.
        let s = forward(.sigmoid, alpha: 0, [1e30, -1e30, 100, -100])
        XCTAssertEqual(s[0], 1); XCTAssertEqual(s[1], 0); XCTAssertEqual(s[2], 1)
        XCTAssertEqual(Double(s[3]), exp(-100.0), accuracy: 1e-45)
        let t = forward(.tanh, alpha: 0, [1e30, -1e30])
        XCTAssertEqual(t, [1, -1])
        let sp = forward(.softplus, alpha: 0, [1e30, -1e30, 100, -100])
        XCTAssertEqual(sp[0], 1e30); XCTAssertEqual(sp[1], 0); XCTAssertEqual(sp[2], 100)
        XCTAssertEqual(Double(sp[3]), exp(-100.0), accuracy: 1e-45)
        let e = forward(.elu, alpha: 0.5, [1e30, -1e30, -100])
        XCTAssertEqual(e, [1e30, -0.5, -0.5])
        let g = forward(.gelu, alpha: 0, [1e30, -1e30, 100, -100])
        XCTAssertEqual(g[0], 1e30); XCTAssertEqual(g[1], 0); XCTAssertEqual(g[2], 100); XCTAssertEqual(g[3], 0)
        let lr = forward(.leakyRelu, alpha: 0.01, [1e30, -1e30])
        XCTAssertEqual(lr, [1e30, -1e28])
    }

    /// gelu is the tanh approximation (PyTorch approximate="tanh"), not the erf form.
    func testGeluIsTanhApproximation() {
        let z: [Float] = [-3, -1.5, -1, -0.5, 0.5, 1, 1.5, 2, 3]
        let y = forward(.gelu, alpha: 0, z)
        for i in 0..<z.count {
            let x = Double(z[i])
            let tanhForm = 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
            let erfForm = 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
            XCTAssertEqual(Double(y[i]), tanhForm, accuracy: 3e-7, "gelu(\(x))")
            if abs(tanhForm - erfForm) > 1e-5 {
                XCTAssertGreaterThan(abs(Double(y[i]) - erfForm), 1e-5, "gelu(\(x)) looks like the erf form")
            }
        }
        // PyTorch reference value: gelu(1, approximate="tanh") = 0.8411920071
        XCTAssertEqual(y[5], 0.8411920071, accuracy: 1e-6)
    }

    func testSoftmaxForward() {
        let rows: [[Float]] = [
            [0.5, -1, 2, 0, 3],
            [1e30, -1e30, 0, 5, -5],
            [1000, 1000, 1000, 1000, 1000],
            [-1000, -999, -1001, -1000, -2000],
            [88, 89, 90, -90, 0],
        ]
        let z = rows.flatMap { $0 }
        let y = forward(.softmax, alpha: 0, z, rows: rows.count)
        for r in 0..<rows.count {
            let got = Array(y[(r * 5)..<(r * 5 + 5)])
            XCTAssertTrue(got.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 }, "softmax row \(r): \(got)")
            XCTAssertEqual(Double(got.reduce(0, +)), 1, accuracy: 1e-6, "softmax row \(r) sums to 1")
            assertClose(got, Ref.softmax(rows[r].map(Double.init)), atol: 1e-7, rtol: 1e-6, "softmax row \(r)")
        }
        XCTAssertEqual(Array(y[5..<10]), [1, 0, 0, 0, 0])
        XCTAssertEqual(Array(y[10..<15]), [0.2, 0.2, 0.2, 0.2, 0.2])
    }

    func testForwardInPlace() {
        var rng = TestRNG(5)
        let z = rng.floats(24, -4, 4)
        for (_, act, alpha) in ActivationTests.scalarCases + [("softmax", .softmax, 0)] {
            let expected = forward(act, alpha: alpha, z, rows: 4)
            var buf = z
            buf.withUnsafeMutableBufferPointer { p in
                Activations.forward(act, alpha: alpha, z: UnsafePointer(p.baseAddress!), y: p.baseAddress!,
                                    rows: 4, cols: 6)
            }
            XCTAssertEqual(bits(buf), bits(expected), "\(act) in place")
        }
    }

    // MARK: backward, diagonal

    func testScalarBackwardMatchesDerivative() {
        var rng = TestRNG(11)
        // Up to |z| = 100 here; the far ends have their own test below.
        let z = ActivationTests.points.filter { abs($0) <= 100 }
        let d = rng.floats(z.count, -2, 2)
        for (name, act, alpha) in ActivationTests.scalarCases {
            let y = forward(act, alpha: alpha, z)
            let g = backward(act, alpha: alpha, z: z, y: y, d: d)
            for i in 0..<z.count {
                let expected = Double(d[i]) * Ref.derivative(name, Double(z[i]), alpha: Double(alpha))
                XCTAssertTrue(g[i].isFinite, "\(name)'(\(z[i])) gives \(g[i]); the derivative is \(expected)")
                // Derivatives taken from y in float (sigmoid, tanh) lose ~1e-7 absolute.
                XCTAssertLessThanOrEqual(abs(Double(g[i]) - expected), 1e-6 + 1e-5 * abs(expected),
                                         "\(name)(alpha \(alpha)) backward at z = \(z[i]): \(g[i]) vs \(expected)")
            }
        }
    }

    /// The derivative at the far ends: 1 or 0 (or alpha), never NaN.
    func testBackwardFiniteAtExtremes() {
        let z: [Float] = [1e30, -1e30, 1e20, -1e20, 100, -100]
        let d = [Float](repeating: 1, count: z.count)
        let expected: [String: [Float]] = [
            "identity": [1, 1, 1, 1, 1, 1],
            "sigmoid": [0, 0, 0, 0, 0, 0],
            "tanh": [0, 0, 0, 0, 0, 0],
            "relu": [1, 0, 1, 0, 1, 0],
            "leaky_relu": [1, 0.01, 1, 0.01, 1, 0.01],
            "elu": [1, 0, 1, 0, 1, 0],
            "softplus": [1, 0, 1, 0, 1, 0],
            "gelu": [1, 0, 1, 0, 1, 0],
        ]
        for (name, act, alpha) in ActivationTests.scalarCases where alpha == 0 || alpha == 0.01 || alpha == 1 {
            let y = forward(act, alpha: alpha, z)
            let g = backward(act, alpha: alpha, z: z, y: y, d: d)
            for i in 0..<z.count {
                XCTAssertEqual(Double(g[i]), Double(expected[name]![i]), accuracy: 1e-30,
                               "\(name)'(\(z[i])) = \(g[i])")
            }
        }
    }

    func testScalarBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(12)
        var z = rng.floats(40, -6, 6)
        z += [-0.3, 0.3, 2.5, -2.5]
        let d = rng.floats(z.count, -1, 1)
        let h: Float = 1e-2
        for (name, act, alpha) in ActivationTests.scalarCases {
            let y = forward(act, alpha: alpha, z)
            let g = backward(act, alpha: alpha, z: z, y: y, d: d)
            let zp = z.map { $0 + h }, zm = z.map { $0 - h }
            let yp = forward(act, alpha: alpha, zp), ym = forward(act, alpha: alpha, zm)
            for i in 0..<z.count {
                // Skip the kinks of relu, leaky_relu and elu (alpha != 1).
                if ["relu", "leaky_relu", "elu"].contains(name) && abs(z[i]) < 2 * h { continue }
                let fd = Double(d[i]) * (Double(yp[i]) - Double(ym[i])) / (Double(zp[i]) - Double(zm[i]))
                XCTAssertEqual(Double(g[i]), fd, accuracy: 1e-3 + 1e-3 * abs(fd),
                               "\(name)(alpha \(alpha)) backward vs finite difference at \(z[i])")
            }
        }
    }

    // MARK: backward, softmax (full Jacobian)

    func testSoftmaxBackwardMatchesJacobian() {
        var rng = TestRNG(13)
        let rows = 4, cols = 5
        var z = rng.floats(rows * cols, -3, 3)
        // One row with extreme logits: its Jacobian is (numerically) zero.
        z.replaceSubrange(15..<20, with: [1e30, -1e30, 0, 5, -5] as [Float])
        let d = rng.floats(rows * cols, -2, 2)
        let y = forward(.softmax, alpha: 0, z, rows: rows)
        let g = backward(.softmax, alpha: 0, z: z, y: y, d: d, rows: rows)
        XCTAssertTrue(g.allSatisfy(\.isFinite))
        for r in 0..<rows {
            let yr = Ref.softmax(z[(r * cols)..<(r * cols + cols)].map(Double.init))
            let dr = d[(r * cols)..<(r * cols + cols)].map(Double.init)
            // grad_z_j = sum_i d_i J_ij with J_ij = y_i (delta_ij - y_j).
            var expected = [Double](repeating: 0, count: cols)
            for j in 0..<cols {
                for i in 0..<cols { expected[j] += dr[i] * yr[i] * ((i == j ? 1 : 0) - yr[j]) }
            }
            assertClose(Array(g[(r * cols)..<(r * cols + cols)]), expected, atol: 1e-6, rtol: 1e-5,
                        "softmax backward row \(r)")
        }
    }

    func testSoftmaxBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(14)
        let rows = 3, cols = 6
        let z = rng.floats(rows * cols, -2, 2)
        let d = rng.floats(rows * cols, -1, 1)
        let y = forward(.softmax, alpha: 0, z, rows: rows)
        let g = backward(.softmax, alpha: 0, z: z, y: y, d: d, rows: rows)
        // L(z) = sum_i d_i y_i(z); dL/dz_j by central differences of the float forward.
        let h: Float = 1e-2
        var fd = [Double](repeating: 0, count: z.count)
        for j in 0..<z.count {
            var zp = z, zm = z
            zp[j] += h; zm[j] -= h
            let yp = forward(.softmax, alpha: 0, zp, rows: rows), ym = forward(.softmax, alpha: 0, zm, rows: rows)
            var lp = 0.0, lm = 0.0
            for i in 0..<z.count { lp += Double(d[i]) * Double(yp[i]); lm += Double(d[i]) * Double(ym[i]) }
            fd[j] = (lp - lm) / (Double(zp[j]) - Double(zm[j]))
        }
        assertClose(g, fd, atol: 2e-4, rtol: 2e-3, "softmax backward vs finite differences")
        // It is not the diagonal approximation y_j (1 - y_j) d_j.
        let diag = (0..<z.count).map { Double(d[$0]) * Double(y[$0]) * (1 - Double(y[$0])) }
        XCTAssertGreaterThan(zip(g, diag).map { abs(Double($0) - $1) }.max()!, 1e-2)
    }
    /// derivativeBound, which backward's overflow proof relies on: |grad_z| stays
    /// within it times max |grad_y| for every z whose y is finite (+-Inf included)
    /// and grad_y up to 1e30, whatever the signs; alphas up to 1e6 and negative.
    func testBackwardWithinDerivativeBound() {
        let cases = Self.scalarCases + [("leaky_relu", .leakyRelu, 1e6), ("elu", .elu, -3), ("elu", .elu, 1e6)]
        let zs = Self.points + [.infinity, -.infinity]
        for (name, act, alpha) in cases {
            for z in zs {
                let y = forward(act, alpha: alpha, [z])
                guard y[0].isFinite else { continue }
                for d: Float in [1, -1, 1e30, -1e30, 3e-39] {
                    let g = backward(act, alpha: alpha, z: [z], y: y, d: [d])[0]
                    let limit = Activations.derivativeBound(act, alpha: alpha) * Double(Swift.abs(d))
                    XCTAssertTrue(g.isFinite && Double(Swift.abs(g)) <= limit, "\(name)(\(alpha)) z \(z) d \(d): \(g)")
                }
            }
        }
        // softmax, rows of 1 to 64 units with mixed grad_y up to 1e30
        var rng = TestRNG(5)
        for n in [1, 2, 3, 10, 64] {
            for _ in 0..<50 {
                var z = rng.floats(n, -30, 30)
                if n > 1 { z[0] = -.infinity }
                let d = rng.floats(n, -1e30, 1e30)
                let y = forward(.softmax, alpha: 0, z)
                let g = backward(.softmax, alpha: 0, z: z, y: y, d: d)
                let limit = Activations.derivativeBound(.softmax, alpha: 0) * Double(d.map { Swift.abs($0) }.max()!)
                XCTAssertTrue(g.allSatisfy { $0.isFinite && Double(Swift.abs($0)) <= limit }, "softmax of \(n)")
            }
        }
    }
}
