import Foundation
import XCTest
@testable import Swann

/// Losses.gradient: values and gradients against the formulas and finite
/// differences, the fused paths against the general ones, extreme logits, and allFinite.
final class LossTests: XCTestCase {
    struct Result {
        var total: Double
        var g: [Float]
    }

    func gradient(_ loss: Loss, fused: Bool, z: [Float], y: [Float], d: [Float], rows: Int) -> Result {
        var g = [Float](repeating: .nan, count: y.count)
        let total = z.withUnsafeBufferPointer { zp in
            y.withUnsafeBufferPointer { yp in
                d.withUnsafeBufferPointer { dp in
                    g.withUnsafeMutableBufferPointer { gp in
                        Losses.gradient(loss, fused: fused, z: zp.baseAddress!, y: yp.baseAddress!,
                                        target: dp.baseAddress!, g: gp.baseAddress!, rows: rows, cols: y.count / rows)
                    }
                }
            }
        }
        return Result(total: total, g: g)
    }

    func activate(_ act: Activation, _ z: [Float], rows: Int) -> [Float] {
        var y = z
        z.withUnsafeBufferPointer { zp in
            y.withUnsafeMutableBufferPointer { yp in
                Activations.forward(act, alpha: 0, z: zp.baseAddress!, y: yp.baseAddress!, rows: rows,
                                    cols: z.count / rows)
            }
        }
        return y
    }

    /// grad_Y J_Y(z) with the library's activation backward.
    func throughActivation(_ act: Activation, z: [Float], y: [Float], gY: [Float], rows: Int) -> [Float] {
        var g = gY
        z.withUnsafeBufferPointer { zp in
            y.withUnsafeBufferPointer { yp in
                g.withUnsafeMutableBufferPointer { gp in
                    Activations.backward(act, alpha: 0, z: zp.baseAddress!, y: yp.baseAddress!, d: gp.baseAddress!,
                                         rows: rows, cols: z.count / rows)
                }
            }
        }
        return g
    }

    /// Sum over rows of the reference divergence.
    func refTotal(_ loss: String, _ y: [Float], _ d: [Float], cols: Int) -> Double {
        zip(splitRows(y, cols), splitRows(d, cols)).reduce(0) { $0 + Ref.div(loss, $1.0, $1.1) }
    }

    /// Soft labels per row, summing to `sum`.
    func softLabels(_ rng: inout TestRNG, rows: Int, cols: Int, sum: Double) -> [Float] {
        var d: [Float] = []
        for _ in 0..<rows {
            let r = (0..<cols).map { _ in rng.uniform(0, 1) }
            let s = r.reduce(0, +)
            d += r.map { Float($0 / s * sum) }
        }
        return d
    }

    // MARK: mse

    func testMSEValueAndGradient() {
        var rng = TestRNG(21)
        let rows = 3, cols = 4
        let y = rng.floats(rows * cols, -2, 2), d = rng.floats(rows * cols, -2, 2)
        let r = gradient(.mse, fused: false, z: y, y: y, d: d, rows: rows)
        XCTAssertEqual(r.total, refTotal("mse", y, d, cols: cols), accuracy: 1e-5)
        XCTAssertEqual(r.g, zip(y, d).map { $0 - $1 }, "grad_Y mse = Y - d")
        // Central differences of the library's own value in Y.
        let h: Float = 1e-2
        for i in 0..<y.count {
            var yp = y, ym = y
            yp[i] += h; ym[i] -= h
            let fd = (gradient(.mse, fused: false, z: yp, y: yp, d: d, rows: rows).total
                - gradient(.mse, fused: false, z: ym, y: ym, d: d, rows: rows).total) / (Double(yp[i]) - Double(ym[i]))
            XCTAssertEqual(Double(r.g[i]), fd, accuracy: 1e-3 * max(1, abs(fd)), "mse grad[\(i)]")
        }
    }

    // MARK: cross entropy

    func testCrossEntropyGeneralValueAndGradient() {
        var rng = TestRNG(22)
        let rows = 3, cols = 5
        let y = rng.floats(rows * cols, 0.05, 1)
        let d = softLabels(&rng, rows: rows, cols: cols, sum: 1)
        let r = gradient(.crossEntropy, fused: false, z: y, y: y, d: d, rows: rows)
        XCTAssertEqual(r.total, refTotal("cross_entropy", y, d, cols: cols), accuracy: 1e-5 * abs(r.total))
        assertClose(r.g, zip(y, d).map { -Double($1) / Double($0) }, atol: 1e-6, rtol: 1e-6, "grad_Y ce = -d / Y")
        let h: Float = 1e-3
        for i in 0..<y.count {
            var yp = y, ym = y
            yp[i] += h; ym[i] -= h
            let fd = (gradient(.crossEntropy, fused: false, z: yp, y: yp, d: d, rows: rows).total
                - gradient(.crossEntropy, fused: false, z: ym, y: ym, d: d, rows: rows).total)
                / (Double(yp[i]) - Double(ym[i]))
            XCTAssertEqual(Double(r.g[i]), fd, accuracy: 3e-3 * max(1, abs(fd)), "ce grad[\(i)]")
        }
    }

    /// Classes with d = 0 contribute nothing, even where Y = 0 (no 0 * log 0 = NaN).
    func testCrossEntropyIgnoresZeroTargets() {
        let y: [Float] = [0, 0.25, 0.75, 0]
        let d: [Float] = [0, 0, 1, 0]
        let r = gradient(.crossEntropy, fused: false, z: y, y: y, d: d, rows: 1)
        XCTAssertEqual(r.total, -log(0.75), accuracy: 1e-6)
        XCTAssertEqual(r.g[0], 0); XCTAssertEqual(r.g[1], 0); XCTAssertEqual(r.g[3], 0)
        XCTAssertEqual(r.g[2], -1 / 0.75, accuracy: 1e-6)
    }

    func testFusedSoftmaxCrossEntropyValueAndGradient() {
        var rng = TestRNG(23)
        let rows = 4, cols = 5
        let z = rng.floats(rows * cols, -3, 3)
        // Soft labels, rows not all summing to 1: grad_z = Y sum(d) - d in general.
        var d = softLabels(&rng, rows: 2, cols: cols, sum: 1)
        d += softLabels(&rng, rows: 1, cols: cols, sum: 0.7)
        d += softLabels(&rng, rows: 1, cols: cols, sum: 1.3)
        let y = activate(.softmax, z, rows: rows)
        let r = gradient(.crossEntropy, fused: true, z: z, y: y, d: d, rows: rows)
        // Value: -sum d (z - lse z), in Double.
        var ref = 0.0
        var refG: [Double] = []
        for (zr, dr) in zip(splitRows(z, cols), splitRows(d, cols)) {
            let m = zr.max()!
            let lse = m + log(zr.reduce(0) { $0 + exp($1 - m) })
            ref -= zip(zr, dr).reduce(0) { $0 + $1.1 * ($1.0 - lse) }
            let yr = Ref.softmax(zr)
            let ds = dr.reduce(0, +)
            refG += zip(yr, dr).map { $0 * ds - $1 }
        }
        XCTAssertEqual(r.total, ref, accuracy: 1e-5 * abs(ref))
        assertClose(r.g, refG, atol: 1e-6, rtol: 1e-5, "fused ce grad_z")
        // Central differences in z of the library's fused value.
        let h: Float = 1e-2
        for i in 0..<z.count {
            var zp = z, zm = z
            zp[i] += h; zm[i] -= h
            let vp = gradient(.crossEntropy, fused: true, z: zp, y: activate(.softmax, zp, rows: rows), d: d, rows: rows).total
            let vm = gradient(.crossEntropy, fused: true, z: zm, y: activate(.softmax, zm, rows: rows), d: d, rows: rows).total
            let fd = (vp - vm) / (Double(zp[i]) - Double(zm[i]))
            XCTAssertEqual(Double(r.g[i]), fd, accuracy: 1e-3, "fused ce grad_z[\(i)]")
        }
    }

    func testFusedCrossEntropyAgreesWithGeneralPath() {
        var rng = TestRNG(24)
        let rows = 5, cols = 7
        let z = rng.floats(rows * cols, -4, 4)
        let d = softLabels(&rng, rows: rows, cols: cols, sum: 1)
        let y = activate(.softmax, z, rows: rows)
        let fused = gradient(.crossEntropy, fused: true, z: z, y: y, d: d, rows: rows)
        let general = gradient(.crossEntropy, fused: false, z: z, y: y, d: d, rows: rows)
        XCTAssertEqual(fused.total, general.total, accuracy: 1e-5 * abs(general.total))
        let viaJacobian = throughActivation(.softmax, z: z, y: y, gY: general.g, rows: rows)
        assertClose(fused.g, viaJacobian, atol: 1e-5, rtol: 1e-4, "fused vs general softmax + cross_entropy")
    }

    /// Logits far apart: the fused loss is finite and exact, its gradient Y - d.
    func testFusedCrossEntropyExtremeLogits() {
        let z: [Float] = [1000, -1000, 0, 500,
                          1e30, -1e30, 0, 3,
                          -1e30, -1e30, -1e30, -1e30]
        let d: [Float] = [0, 1, 0, 0,
                          0, 1, 0, 0,
                          0.25, 0.25, 0.25, 0.25]
        let y = activate(.softmax, z, rows: 3)
        let r = gradient(.crossEntropy, fused: true, z: z, y: y, d: d, rows: 3)
        XCTAssertTrue(r.total.isFinite, "fused cross entropy at extreme logits: \(r.total)")
        XCTAssertTrue(r.g.allSatisfy(\.isFinite), "fused gradient at extreme logits: \(r.g)")
        // Row 0: -(-1000 - 1000) = 2000; row 1: 2e30; row 2: uniform, log 4.
        XCTAssertEqual(r.total, 2000 + 2e30 + log(4.0), accuracy: 1e24)
        let row0 = gradient(.crossEntropy, fused: true, z: Array(z[0..<4]), y: Array(y[0..<4]),
                            d: Array(d[0..<4]), rows: 1)
        XCTAssertEqual(row0.total, 2000, accuracy: 1e-3)
        XCTAssertEqual(r.g[0..<4].map { $0 }, [1, -1, 0, 0])
        XCTAssertEqual(r.g[4..<8].map { $0 }, [1, -1, 0, 0])
        assertClose(Array(r.g[8..<12]), [0, 0, 0, 0] as [Double], atol: 1e-7, rtol: 0, "uniform row")
        let row2 = gradient(.crossEntropy, fused: true, z: Array(z[8..<12]), y: Array(y[8..<12]),
                            d: Array(d[8..<12]), rows: 1)
        XCTAssertEqual(row2.total, log(4.0), accuracy: 1e-6)
    }

    /// Cross entropy depends on z only through differences: shifting a row by a
    /// constant (exactly representable here) must not change the loss.
    func testFusedCrossEntropyShiftInvariant() {
        let base: [Float] = [0, 1, 2, -3]
        let d: [Float] = [0.5, 0, 0.5, 0]
        let ref = gradient(.crossEntropy, fused: true, z: base, y: activate(.softmax, base, rows: 1), d: d, rows: 1)
        for c in [1024, 65536, 1_048_576, 8_388_608, -8_388_608] as [Float] {
            let z = base.map { $0 + c }
            XCTAssertEqual(z.map { $0 - c }, base, "inputs exactly representable")
            let r = gradient(.crossEntropy, fused: true, z: z, y: activate(.softmax, z, rows: 1), d: d, rows: 1)
            XCTAssertEqual(r.total, ref.total, accuracy: 1e-5 * abs(ref.total), "cross entropy of z + \(c)")
            XCTAssertEqual(r.g, ref.g, "gradient of z + \(c)")
        }
    }

    // MARK: binary cross entropy

    func testBinaryCrossEntropyGeneralValueAndGradient() {
        var rng = TestRNG(25)
        let rows = 3, cols = 4
        let y = rng.floats(rows * cols, 0.05, 0.95), d = rng.floats(rows * cols, 0, 1)
        let r = gradient(.binaryCrossEntropy, fused: false, z: y, y: y, d: d, rows: rows)
        XCTAssertEqual(r.total, refTotal("binary_cross_entropy", y, d, cols: cols), accuracy: 1e-5 * abs(r.total))
        let expected: [Double] = zip(y, d).map { (yv: Float, dv: Float) -> Double in
            let p = Double(yv)
            return (p - Double(dv)) / (p * (1 - p))
        }
        assertClose(r.g, expected, atol: 1e-6, rtol: 1e-5, "grad_Y bce")
        let h: Float = 1e-3
        for i in 0..<y.count {
            var yp = y, ym = y
            yp[i] += h; ym[i] -= h
            let fd = (gradient(.binaryCrossEntropy, fused: false, z: yp, y: yp, d: d, rows: rows).total
                - gradient(.binaryCrossEntropy, fused: false, z: ym, y: ym, d: d, rows: rows).total)
                / (Double(yp[i]) - Double(ym[i]))
            XCTAssertEqual(Double(r.g[i]), fd, accuracy: 3e-3 * max(1, abs(fd)), "bce grad[\(i)]")
        }
    }

    /// As PyTorch's BCELoss: log terms clamped at -100 so Y = 0 or 1 stays finite.
    func testBinaryCrossEntropyClampsLikePyTorch() {
        let y: [Float] = [0, 1, 0, 1]
        let d: [Float] = [1, 0, 0, 1]
        let r = gradient(.binaryCrossEntropy, fused: false, z: y, y: y, d: d, rows: 1)
        XCTAssertEqual(r.total, 200, accuracy: 1e-4)
        XCTAssertTrue(r.g.allSatisfy(\.isFinite), "\(r.g)")
    }

    func testFusedSigmoidBinaryCrossEntropyValueAndGradient() {
        var rng = TestRNG(26)
        let rows = 3, cols = 4
        let z = rng.floats(rows * cols, -4, 4), d = rng.floats(rows * cols, 0, 1)
        let y = activate(.sigmoid, z, rows: rows)
        let r = gradient(.binaryCrossEntropy, fused: true, z: z, y: y, d: d, rows: rows)
        let ySig = z.map { Ref.scalar("sigmoid", Double($0), alpha: 0) }
        let ref = zip(ySig, d).reduce(0.0) { $0 - (Double($1.1) * log($1.0) + (1 - Double($1.1)) * log(1 - $1.0)) }
        XCTAssertEqual(r.total, ref, accuracy: 1e-5 * abs(ref))
        assertClose(r.g, zip(ySig, d).map { $0 - Double($1) }, atol: 1e-6, rtol: 1e-5, "fused bce grad_z = Y - d")
        let h: Float = 1e-2
        for i in 0..<z.count {
            var zp = z, zm = z
            zp[i] += h; zm[i] -= h
            let vp = gradient(.binaryCrossEntropy, fused: true, z: zp, y: activate(.sigmoid, zp, rows: rows), d: d,
                              rows: rows).total
            let vm = gradient(.binaryCrossEntropy, fused: true, z: zm, y: activate(.sigmoid, zm, rows: rows), d: d,
                              rows: rows).total
            let fd = (vp - vm) / (Double(zp[i]) - Double(zm[i]))
            XCTAssertEqual(Double(r.g[i]), fd, accuracy: 1e-3, "fused bce grad_z[\(i)]")
        }
    }

    func testFusedBinaryCrossEntropyAgreesWithGeneralPath() {
        var rng = TestRNG(27)
        let rows = 4, cols = 6
        let z = rng.floats(rows * cols, -5, 5), d = rng.floats(rows * cols, 0, 1)
        let y = activate(.sigmoid, z, rows: rows)
        let fused = gradient(.binaryCrossEntropy, fused: true, z: z, y: y, d: d, rows: rows)
        let general = gradient(.binaryCrossEntropy, fused: false, z: z, y: y, d: d, rows: rows)
        XCTAssertEqual(fused.total, general.total, accuracy: 1e-5 * abs(general.total))
        let viaJacobian = throughActivation(.sigmoid, z: z, y: y, gY: general.g, rows: rows)
        assertClose(fused.g, viaJacobian, atol: 1e-5, rtol: 1e-4, "fused vs general sigmoid + bce")
    }

    func testFusedBinaryCrossEntropyExtremeLogits() {
        let z: [Float] = [1000, -1000, 1e30, -1e30, 1000, -1e30]
        let d: [Float] = [0, 1, 0, 1, 1, 0]
        let y = activate(.sigmoid, z, rows: 1)
        let r = gradient(.binaryCrossEntropy, fused: true, z: z, y: y, d: d, rows: 1)
        XCTAssertTrue(r.total.isFinite, "\(r.total)")
        XCTAssertEqual(r.total, 2000 + 2e30, accuracy: 1e24)
        XCTAssertEqual(r.g, [1, -1, 1, -1, 0, 0])
    }

    func testNoneLossWritesNothing() {
        let y: [Float] = [1, 2, 3]
        let r = gradient(.none, fused: false, z: y, y: y, d: y, rows: 1)
        XCTAssertEqual(r.total, 0)
        XCTAssertTrue(r.g.allSatisfy(\.isNaN), "loss none must not write g")
    }

    // MARK: allFinite

    func testAllFinite() {
        for n in 0...21 {
            let finite: [Float] = (0..<n).map { i in
                [1, -0.0, Float.greatestFiniteMagnitude, -Float.greatestFiniteMagnitude,
                 Float.leastNonzeroMagnitude, 1e-30][i % 6]
            }
            XCTAssertTrue(finite.withUnsafeBufferPointer { allFinite($0.baseAddress ?? UnsafePointer(bitPattern: 64)!, n) },
                          "n = \(n)")
            for bad in [Float.nan, .infinity, -.infinity, Float(bitPattern: 0x7FA0_0001)] {
                for i in 0..<n {
                    var a = finite
                    a[i] = bad
                    XCTAssertFalse(a.withUnsafeBufferPointer { allFinite($0.baseAddress!, n) },
                                   "\(bad) at \(i) of \(n) not detected")
                }
            }
        }
    }
}
