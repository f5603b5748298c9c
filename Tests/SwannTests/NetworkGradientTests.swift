import Foundation
import XCTest
@testable import Swann

/// Whole nets built through the C ABI: after one backward, `swann_grads` holds
/// grad_params of the SUM of Div over the rows (the reported loss is the MEAN),
/// and dx holds grad_x Div per row. Both are checked against central finite
/// differences of a Double-precision model of the same net and parameters.
final class NetworkGradientTests: XCTestCase {
    let maxBatch = 4

    func targets(_ loss: String, rows: Int, cols: Int, rng: inout TestRNG) -> [Float] {
        switch loss {
        case "cross_entropy":
            var d: [Float] = []
            for _ in 0..<rows {
                let r = (0..<cols).map { _ in rng.uniform(0, 1) }
                let s = r.reduce(0, +)
                d += r.map { Float($0 / s) }
            }
            return d
        case "binary_cross_entropy":
            return rng.floats(rows * cols, 0, 1)
        default:  // mse targets, or the host's dy for "none"
            return rng.floats(rows * cols, -1, 1)
        }
    }

    struct Outcome {
        var grads: [Float]
        var dx: [Float]
        var loss: Float
    }

    /// Builds the net, runs forward + backward on `batch` rows and checks Y, the loss,
    /// the gradients and dx against the reference. Returns what the net computed.
    @discardableResult
    func checkNet(input: Int = 4, _ layers: [L], loss: String, batch: Int = 3, seed: UInt64 = 1,
                  file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        let label = "\(layers.map { "\($0.units) \($0.activation)" }.joined(separator: ", ")) / \(loss)"
        let net = try CNet(makeSpec(input: input, layers, loss: loss, seed: seed), maxBatch: maxBatch)
        let ref = RefNet(input: input, layers: layers)
        XCTAssertEqual(net.paramCount, ref.paramCount, label, file: file, line: line)
        var rng = TestRNG(seed &* 31 &+ UInt64(layers.count))
        let out = layers.last!.units
        let x = rng.floats(batch * input, -1, 1)
        let d = targets(loss, rows: batch, cols: out, rng: &rng)
        let p = net.params.map(Double.init)
        let xs = splitRows(x, input), ds = splitRows(d, out)

        // Forward output.
        let (fs, y) = net.forward(x, batch: batch)
        XCTAssertEqual(fs, 0, "\(label): forward: \(lastError())", file: file, line: line)
        let yRef = xs.flatMap { ref.forward(p, $0) }
        assertClose(y, yRef, atol: 1e-5, rtol: 1e-4, "\(label): Y", file: file, line: line)

        // Backward.
        var lossValue: Float = .nan
        var dx: [Float]
        if loss == "none" {
            let r = net.backwardGrad(d, rows: batch)
            XCTAssertEqual(r.status, 0, "\(label): backward_grad: \(lastError())", file: file, line: line)
            dx = r.dx
        } else {
            let r = net.backward(d, rows: batch)
            XCTAssertEqual(r.status, 0, "\(label): backward: \(lastError())", file: file, line: line)
            dx = r.dx
            lossValue = r.loss
            // The reported loss is the mean of Div over the rows.
            let mean = ref.total(loss, p, xs, ds) / Double(batch)
            XCTAssertEqual(Double(r.loss), mean, accuracy: 1e-5 * max(1, abs(mean)), "\(label): loss",
                           file: file, line: line)
        }
        XCTAssertEqual(net.header.pointee.accumulated, batch, "\(label): T", file: file, line: line)
        let grads = Array(net.grads)

        // grad of SUM over rows, by central differences in Double.
        let h = 1e-6
        var fd = [Double](repeating: 0, count: p.count)
        for i in 0..<p.count {
            var pp = p, pm = p
            pp[i] += h; pm[i] -= h
            fd[i] = (ref.total(loss, pp, xs, ds) - ref.total(loss, pm, xs, ds)) / (2 * h)
        }
        let scale = max(1, fd.map(abs).max()!)
        assertClose(grads, fd, atol: 1e-4 * scale, rtol: 1e-3, "\(label): grads", file: file, line: line)

        // dx: grad_x Div of each row.
        var fdx = [Double](repeating: 0, count: x.count)
        for t in 0..<batch {
            for i in 0..<input {
                var xp = xs[t], xm = xs[t]
                xp[i] += h; xm[i] -= h
                fdx[t * input + i] = (ref.objective(loss, p, xp, ds[t]) - ref.objective(loss, p, xm, ds[t])) / (2 * h)
            }
        }
        let xscale = max(1, fdx.map(abs).max()!)
        assertClose(dx, fdx, atol: 1e-4 * xscale, rtol: 1e-3, "\(label): dx", file: file, line: line)
        return Outcome(grads: grads, dx: dx, loss: lossValue)
    }

    // MARK: every activation

    func testEveryActivationAsHidden() throws {
        for (n, act) in allActivations.enumerated() {
            try checkNet([L(6, act), L(5, act), L(3, "identity")], loss: "mse", seed: UInt64(10 + n))
        }
        // Non-default alphas.
        try checkNet([L(6, "leaky_relu", alpha: 0.2), L(5, "elu", alpha: 0.5), L(3, "identity")], loss: "mse")
        try checkNet([L(6, "elu", alpha: 2.0), L(5, "leaky_relu", alpha: -0.3), L(3, "tanh")], loss: "mse")
    }

    func testEveryActivationAsOutputWithMSE() throws {
        for (n, act) in allActivations.enumerated() {
            try checkNet([L(5, "tanh"), L(4, act)], loss: "mse", seed: UInt64(20 + n))
        }
    }

    func testEveryActivationAsOutputWithHostGradient() throws {
        for (n, act) in allActivations.enumerated() {
            try checkNet([L(5, "gelu"), L(4, act)], loss: "none", seed: UInt64(30 + n))
        }
    }

    // MARK: every loss

    func testCrossEntropy() throws {
        try checkNet([L(6, "relu"), L(4, "softmax")], loss: "cross_entropy")             // fused
        try checkNet([L(6, "gelu"), L(5, "tanh"), L(4, "softmax")], loss: "cross_entropy", batch: 4)
        try checkNet([L(6, "tanh"), L(4, "sigmoid")], loss: "cross_entropy")             // general path
        try checkNet([L(6, "elu"), L(4, "softplus")], loss: "cross_entropy")
    }

    func testBinaryCrossEntropy() throws {
        try checkNet([L(6, "relu"), L(4, "sigmoid")], loss: "binary_cross_entropy")      // fused
        try checkNet([L(6, "softplus"), L(5, "leaky_relu"), L(3, "sigmoid")], loss: "binary_cross_entropy", batch: 4)
        try checkNet([L(6, "tanh"), L(4, "softmax")], loss: "binary_cross_entropy")      // general path
    }

    func testSingleLayerAndSingleRow() throws {
        try checkNet(input: 1, [L(1, "sigmoid")], loss: "binary_cross_entropy", batch: 1)
        try checkNet(input: 7, [L(1, "identity")], loss: "mse", batch: 4)
        try checkNet(input: 3, [L(2, "softmax")], loss: "cross_entropy", batch: 1)
    }

    /// A wider net, so the GEMMs inside run over several micro-tiles.
    func testWiderNet() throws {
        try checkNet(input: 9, [L(20, "tanh"), L(17, "gelu"), L(7, "softmax")], loss: "cross_entropy", batch: 4)
    }

    // MARK: fused == general

    /// The fused output gradient (grad_z from the loss, softmax + cross_entropy and
    /// sigmoid + binary_cross_entropy) against the general recursion: the same net
    /// with loss "none", fed grad_Y Div (-d / Y, or (Y - d) / (Y (1 - Y))) through
    /// swann_backward_grad, which goes through the activation's Jacobian.
    func testFusedAndGeneralPathsAgree() throws {
        for (act, loss) in [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy")] {
            let net = try CNet(makeSpec(input: 5, [L(7, "tanh"), L(4, act)], loss: loss, seed: 3), maxBatch: 4)
            let general = try CNet(makeSpec(input: 5, [L(7, "tanh"), L(4, act)], loss: "none", seed: 3), maxBatch: 4)
            var rng = TestRNG(99)
            let x = rng.floats(4 * 5, -2, 2)
            let d = targets(loss, rows: 4, cols: 4, rng: &rng)
            XCTAssertEqual(net.forward(x, batch: 4).status, 0)
            XCTAssertTrue(net.net.outputFused, "\(act) + \(loss) should take the fused path")
            let fused = net.backward(d, rows: 4)
            XCTAssertEqual(fused.status, 0)
            let (status, y) = general.forward(x, batch: 4)
            XCTAssertEqual(status, 0)
            XCTAssertFalse(general.net.outputFused)
            let dy = loss == "cross_entropy" ? zip(y, d).map { -$1 / $0 } : zip(y, d).map { ($0 - $1) / ($0 * (1 - $0)) }
            let viaJacobian = general.backwardGrad(dy, rows: 4)
            XCTAssertEqual(viaJacobian.status, 0)
            let gFused = Array(net.grads)
            let scale = Double(gFused.map(abs).max()!)
            assertClose(Array(general.grads), gFused, atol: 1e-5 * max(1, scale), rtol: 1e-4, "\(act) + \(loss) grads")
            assertClose(viaJacobian.dx, fused.dx, atol: 1e-5, rtol: 1e-4, "\(act) + \(loss) dx")
        }
    }

    /// swann_backward_grad with dy = grad_Y Div (here Y - d for mse) equals swann_backward.
    func testHostGradientEqualsLossGradient() throws {
        let net = try CNet(makeSpec(input: 4, [L(6, "elu"), L(3, "sigmoid")], loss: "mse", seed: 5), maxBatch: 4)
        var rng = TestRNG(7)
        let x = rng.floats(12, -1, 1), d = rng.floats(9, 0, 1)
        let (_, y) = net.forward(x, batch: 3)
        let r = net.backward(d, rows: 3)
        XCTAssertEqual(r.status, 0)
        let g1 = Array(net.grads)
        XCTAssertEqual(net.zeroGrad(), 0)
        let r2 = net.backwardGrad(zip(y, d).map { $0 - $1 }, rows: 3)
        XCTAssertEqual(r2.status, 0)
        assertClose(Array(net.grads), g1, atol: 1e-7, rtol: 1e-6, "grads")
        assertClose(r2.dx, r.dx, atol: 1e-7, rtol: 1e-6, "dx")
    }

    /// Black-box: central differences of the net's own float forward.
    func testAgainstFiniteDifferencesOfTheNetItself() throws {
        let layers = [L(5, "tanh"), L(4, "softplus"), L(3, "identity")]
        let net = try CNet(makeSpec(input: 3, layers, loss: "mse", seed: 8), maxBatch: 4)
        var rng = TestRNG(8)
        let x = rng.floats(4 * 3, -1, 1), d = rng.floats(4 * 3, -1, 1)
        func sumDiv() -> Double {
            let (s, y) = net.forward(x, batch: 4)
            XCTAssertEqual(s, 0)
            return zip(splitRows(y, 3), splitRows(d, 3)).reduce(0) { $0 + Ref.div("mse", $1.0, $1.1) }
        }
        let total = sumDiv()
        let r = net.backward(d, rows: 4)
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(Double(r.loss), total / 4, accuracy: 1e-5, "loss is the mean of Div")
        let g = Array(net.grads)
        let params = net.params
        var fd = [Double](repeating: 0, count: params.count)
        let h: Float = 1e-2
        for i in 0..<params.count {
            let keep = params[i]
            params[i] = keep + h
            let up = sumDiv()
            let pUp = Double(params[i])
            params[i] = keep - h
            let down = sumDiv()
            let pDown = Double(params[i])
            params[i] = keep
            fd[i] = (up - down) / (pUp - pDown)
        }
        assertClose(g, fd, atol: 2e-3 * max(1, fd.map(abs).max()!), rtol: 1e-2, "grads vs float finite differences")
    }

    // MARK: accumulation and failure rules

    func testBackwardAccumulatesAndCanRepeat() throws {
        let net = try CNet(makeSpec(input: 3, [L(4, "relu"), L(2, "identity")], loss: "mse"), maxBatch: 4)
        var rng = TestRNG(1)
        let x = rng.floats(9), d = rng.floats(6)
        XCTAssertEqual(net.forward(x, batch: 3).status, 0)
        XCTAssertEqual(net.backward(d, rows: 3).status, 0)
        let once = Array(net.grads)
        XCTAssertEqual(net.backward(d, rows: 3).status, 0, "backward twice is allowed")
        XCTAssertEqual(net.header.pointee.accumulated, 6)
        assertClose(Array(net.grads), once.map { 2 * $0 }, atol: 1e-7, rtol: 1e-6, "accumulated twice")
        XCTAssertEqual(net.zeroGrad(), 0)
        XCTAssertEqual(net.header.pointee.accumulated, 0)
        XCTAssertTrue(net.grads.allSatisfy { $0 == 0 })
    }

    func testBackwardIsAllOrNothing() throws {
        for (act, loss) in [("identity", "mse"), ("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"),
                            ("softmax", "binary_cross_entropy")] {
            let net = try CNet(makeSpec(input: 3, [L(4, "tanh"), L(3, act)], loss: loss), maxBatch: 4)
            var rng = TestRNG(2)
            let x = rng.floats(6)
            XCTAssertEqual(net.forward(x, batch: 2).status, 0)
            var d = targets(loss, rows: 2, cols: 3, rng: &rng)
            XCTAssertEqual(net.backward(d, rows: 2).status, 0)
            let before = bits(net.grads)
            for bad in [Float.nan, .infinity] {
                d[4] = bad
                let r = net.backward(d, rows: 2)
                XCTAssertEqual(r.status, Status.numeric.rawValue, "\(act) + \(loss), target \(bad)")
                XCTAssertEqual(bits(net.grads), before, "\(act) + \(loss): grads touched by a failed backward")
                XCTAssertEqual(net.header.pointee.accumulated, 2, "\(act) + \(loss): T changed by a failed backward")
                XCTAssertFalse(lastError().isEmpty)
            }
        }
        let net = try CNet(makeSpec(input: 3, [L(2, "tanh")], loss: "none"), maxBatch: 4)
        XCTAssertEqual(net.forward([0.1, 0.2, 0.3], batch: 1).status, 0)
        XCTAssertEqual(net.backwardGrad([.nan, 1], rows: 1).status, Status.numeric.rawValue)
        XCTAssertTrue(net.grads.allSatisfy { $0 == 0 })
        XCTAssertEqual(net.header.pointee.accumulated, 0)
    }

    /// A failed forward does not replace the rows of the last successful one.
    func testFailedForwardKeepsLastRows() throws {
        let net = try CNet(makeSpec(input: 3, [L(4, "gelu"), L(2, "identity")], loss: "mse"), maxBatch: 4)
        var rng = TestRNG(3)
        let x = rng.floats(6), d = rng.floats(4)
        XCTAssertEqual(net.forward(x, batch: 2).status, 0)
        XCTAssertEqual(net.backward(d, rows: 2).status, 0)
        let expected = bits(net.grads)
        XCTAssertEqual(net.zeroGrad(), 0)
        XCTAssertEqual(net.forward([1, 2, .infinity, 4, 5, 6, 7, 8, 9], batch: 3).status, Status.numeric.rawValue)
        XCTAssertEqual(net.forward(x, batch: 5).status, Status.shape.rawValue)
        XCTAssertEqual(net.header.pointee.lastBatch, 2)
        XCTAssertEqual(net.backward(d, rows: 2).status, 0)
        XCTAssertEqual(bits(net.grads), expected)
    }

    func testCallOrderErrors() throws {
        let net = try CNet(makeSpec(input: 2, [L(2, "tanh")], loss: "mse"), maxBatch: 2)
        XCTAssertEqual(net.backward([0, 0], rows: 1).status, Status.state.rawValue, "backward before forward")
        XCTAssertTrue(lastError().contains("forward"), lastError())
        XCTAssertEqual(net.step(), Status.state.rawValue, "step with nothing accumulated")
        XCTAssertEqual(net.forward([1, 2, 3, 4, 5, 6], batch: 3).status, Status.shape.rawValue)
        XCTAssertTrue(lastError().contains("max_batch"), lastError())
        XCTAssertEqual(net.forward([1, .nan], batch: 1).status, Status.numeric.rawValue)

        let none = try CNet(makeSpec(input: 2, [L(2, "tanh")], loss: "none"), maxBatch: 2)
        XCTAssertEqual(none.forward([1, 2], batch: 1).status, 0)
        XCTAssertEqual(none.backward([0, 0], rows: 1).status, Status.state.rawValue, "backward on loss none")
    }
}
