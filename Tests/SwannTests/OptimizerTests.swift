import Foundation
import XCTest
@testable import Swann

/// The step swann_step runs, against PyTorch's torch.optim.SGD algorithm, and the step rules
/// of the C API: (1/T) averaging, refusal of non-finite gradients, accumulation.
final class OptimizerTests: XCTestCase {
    /// torch.optim.SGD, as documented (maximize = False):
    ///   g = grad + weight_decay * p
    ///   if momentum != 0:
    ///       b = g                                        on the first step
    ///       b = momentum * b + (1 - dampening) * g       afterwards
    ///       g = g + momentum * b  if nesterov  else  b
    ///   p = p - lr * g
    struct TorchSGD {
        var lr = 0.01, momentum = 0.0, dampening = 0.0, weightDecay = 0.0
        var nesterov = false
        var buf: [Double]? = nil

        mutating func step(_ p: inout [Double], _ grad: [Double]) {
            var g = zip(grad, p).map { $0 + weightDecay * $1 }
            if momentum != 0 {
                if let b = buf {
                    buf = zip(b, g).map { momentum * $0 + (1 - dampening) * $1 }
                } else {
                    buf = g
                }
                g = nesterov ? zip(g, buf!).map { $0 + momentum * $1 } : buf!
            }
            p = zip(p, g).map { $0 - lr * $1 }
        }
    }

    /// The spec's optimizer object for the reference's settings.
    func optimizerJSON(_ t: TorchSGD) -> String {
        #"{"type": "sgd", "lr": \#(t.lr), "momentum": \#(t.momentum), "dampening": \#(t.dampening), "#
            + #""nesterov": \#(t.nesterov), "weight_decay": \#(t.weightDecay)}"#
    }

    /// A net whose `count` parameters are one identity layer's weights and bias,
    /// so that the step the C ABI runs can be driven on chosen values: the
    /// parameters and gradients are written through swann_params / swann_grads.
    func stepNet(_ optimizer: String, count: Int) throws -> CNet {
        try CNet(makeSpec(input: count - 1, [L(1, "identity")], loss: "none", optimizer: optimizer), maxBatch: 1)
    }

    /// Runs `steps` updates through swann_step_rows (gradients summed over `rows`) and the reference.
    func compare(_ torch: TorchSGD, rows: Int, steps: Int = 6, count: Int = 37, label: String,
                 file: StaticString = #filePath, line: UInt = #line) throws {
        var reference = torch
        var rng = TestRNG(UInt64(rows * 100 + steps))
        let net = try stepNet(optimizerJSON(torch), count: count)
        let params = net.params, grads = net.grads
        let start = rng.floats(count, -1, 1)
        for i in 0..<count { params[i] = start[i] }
        var p = start.map(Double.init)
        for s in 0..<steps {
            let mean = rng.floats(count, -2, 2)
            // The summed gradient over `rows` rows; mean * rows exactly for powers of two.
            let summed = mean.map { $0 * Float(rows) }
            for i in 0..<count { grads[i] = summed[i] }
            XCTAssertEqual(swann_step_rows(net.handle, UInt(rows)), 0, "\(label), step \(s): \(lastError())",
                           file: file, line: line)
            reference.step(&p, summed.map { Double($0) / Double(rows) })
            assertClose(Array(params), p, atol: 1e-6, rtol: 1e-5, "\(label), step \(s)", file: file, line: line)
        }
    }

    func testPlainSGD() throws {
        try compare(TorchSGD(lr: 0.1), rows: 1, label: "sgd")
        try compare(TorchSGD(lr: 0.5), rows: 4, label: "sgd, T = 4")
        try compare(TorchSGD(lr: 0.5), rows: 3, label: "sgd, T = 3")
    }

    func testMomentum() throws {
        try compare(TorchSGD(lr: 0.1, momentum: 0.9), rows: 2, label: "momentum")
        try compare(TorchSGD(lr: 0.05, momentum: 0.5), rows: 7, steps: 10, label: "momentum, T = 7")
    }

    func testDampening() throws {
        try compare(TorchSGD(lr: 0.1, momentum: 0.9, dampening: 0.3), rows: 2, label: "dampening")
        try compare(TorchSGD(lr: 0.1, momentum: 0.8, dampening: 1), rows: 1, label: "dampening 1")
    }

    func testNesterov() throws {
        try compare(TorchSGD(lr: 0.1, momentum: 0.9, nesterov: true), rows: 4, label: "nesterov")
    }

    func testWeightDecay() throws {
        try compare(TorchSGD(lr: 0.1, weightDecay: 0.01), rows: 2, label: "weight decay")
        try compare(TorchSGD(lr: 0.1, momentum: 0.9, weightDecay: 0.05, nesterov: true), rows: 3, label: "all")
        try compare(TorchSGD(lr: 0.2, momentum: 0.7, dampening: 0.2, weightDecay: 0.1), rows: 5, label: "wd + dampening")
    }

    /// The first step sets the buffer to the gradient itself (no dampening), exactly.
    func testMomentumBufferStartsAsFirstGradient() throws {
        let net = try stepNet(#"{"type": "sgd", "lr": 0.5, "momentum": 0.9, "dampening": 0.5}"#, count: 3)
        let params = net.params, grads = net.grads
        let buffer = net.net.slots  // stale contents must be ignored on the first step
        for (i, v) in [Float(1), 2, 3].enumerated() { params[i] = v; buffer[i] = 100 }
        for (i, v) in [Float(4), -8, 2].enumerated() { grads[i] = v }
        XCTAssertEqual(swann_step_rows(net.handle, 2), 0)
        XCTAssertEqual([buffer[0], buffer[1], buffer[2]], [2, -4, 1])
        XCTAssertEqual(Array(params), [0, 4, 2.5])
    }

    // MARK: through the C API

    let data: (x: [Float], d: [Float]) = {
        var rng = TestRNG(42)
        return (rng.floats(8 * 5, -1, 1), rng.floats(8 * 3, -1, 1))
    }()

    func makeNet(_ optimizer: String, seed: UInt64 = 4) throws -> CNet {
        try CNet(makeSpec(input: 5, [L(6, "tanh"), L(3, "identity")], loss: "mse", optimizer: optimizer, seed: seed),
                 maxBatch: 8)
    }

    /// Plain SGD: W -= (lr / T) * grad Err, then grads and T are zero.
    func testStepAveragesOverRows() throws {
        let net = try makeNet(#"{"type": "sgd", "lr": 0.25}"#)
        XCTAssertEqual(net.forward(data.x, batch: 8).status, 0)
        XCTAssertEqual(net.backward(data.d, rows: 8).status, 0)
        let before = Array(net.params), g = Array(net.grads)
        XCTAssertEqual(net.step(), 0)
        assertClose(Array(net.params), zip(before, g).map { Double($0) - 0.25 / 8 * Double($1) },
                    atol: 1e-7, rtol: 1e-6, "W -= lr/T grad")
        XCTAssertTrue(net.grads.allSatisfy { $0 == 0 }, "grads zeroed by step")
        XCTAssertEqual(net.header.pointee.accumulated, 0)
        XCTAssertEqual(net.header.pointee.steps, 1)
        XCTAssertEqual(net.step(), Status.state.rawValue, "nothing accumulated after a step")
        // Backward after a step uses the same rows again.
        XCTAssertEqual(net.backward(data.d, rows: 8).status, 0)
        XCTAssertEqual(net.header.pointee.accumulated, 8)
    }

    /// Several steps of a momentum net through the C API against the reference.
    func testStepsMatchReferenceThroughCAPI() throws {
        let net = try makeNet(#"{"type": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": true, "weight_decay": 0.01}"#)
        var torch = TorchSGD(lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true)
        var p = net.params.map(Double.init)
        for s in 0..<4 {
            let rows = s % 2 == 0 ? 8 : 3
            XCTAssertEqual(net.forward(data.x, batch: rows).status, 0)
            XCTAssertEqual(net.backward(Array(data.d[0..<(rows * 3)]), rows: rows).status, 0)
            let g = net.grads.map { Double($0) / Double(rows) }
            XCTAssertEqual(net.step(), 0)
            torch.step(&p, g)
            assertClose(Array(net.params), p, atol: 1e-6, rtol: 1e-5, "step \(s)")
        }
    }

    /// A refused step leaves parameters, optimizer state, gradients and T unchanged.
    func testStepRefusesNonFiniteGradients() throws {
        let net = try makeNet(#"{"type": "sgd", "lr": 0.1, "momentum": 0.9}"#)
        XCTAssertEqual(net.forward(data.x, batch: 8).status, 0)
        XCTAssertEqual(net.backward(data.d, rows: 8).status, 0)
        XCTAssertEqual(net.step(), 0)   // the momentum buffer is now in use
        XCTAssertEqual(net.backward(data.d, rows: 8).status, 0)
        let n = net.paramCount
        for (i, bad) in [(3, Float.nan), (n - 1, .infinity), (0, -.infinity)] {
            let keep = net.grads[i]
            net.grads[i] = bad
            let params = bits(net.params), grads = bits(net.grads)
            let slots = bits(UnsafeBufferPointer(start: net.net.slots, count: n))
            let t = net.header.pointee.accumulated, steps = net.header.pointee.steps
            XCTAssertEqual(net.step(), Status.numeric.rawValue, "\(bad) at \(i)")
            XCTAssertTrue(lastError().contains("step"), lastError())
            XCTAssertEqual(bits(net.params), params, "params changed by a refused step")
            XCTAssertEqual(bits(net.grads), grads, "grads changed by a refused step")
            XCTAssertEqual(bits(UnsafeBufferPointer(start: net.net.slots, count: n)), slots, "optimizer state changed")
            XCTAssertEqual(net.header.pointee.accumulated, t)
            XCTAssertEqual(net.header.pointee.steps, steps)
            net.grads[i] = keep
        }
        // Repaired, the step goes through; discarding with zero_grad leaves nothing to step.
        XCTAssertEqual(net.step(), 0)
        XCTAssertEqual(net.backward(data.d, rows: 8).status, 0)
        net.grads[2] = .nan
        XCTAssertEqual(net.step(), Status.numeric.rawValue)
        XCTAssertEqual(net.zeroGrad(), 0)
        XCTAssertEqual(net.step(), Status.state.rawValue)
    }

    /// Two half batches accumulated, then one step == one step on the whole batch.
    func testHalfBatchesEqualWholeBatch() throws {
        for optimizer in [#"{"type": "sgd", "lr": 0.3}"#, #"{"type": "sgd", "lr": 0.3, "momentum": 0.9, "weight_decay": 0.1}"#] {
            let whole = try makeNet(optimizer), halves = try makeNet(optimizer)
            XCTAssertEqual(bits(whole.params), bits(halves.params))
            for _ in 0..<3 {
                XCTAssertEqual(whole.forward(data.x, batch: 8).status, 0)
                let lw = whole.backward(data.d, rows: 8)
                XCTAssertEqual(lw.status, 0)

                XCTAssertEqual(halves.forward(Array(data.x[0..<20]), batch: 4).status, 0)
                let l1 = halves.backward(Array(data.d[0..<12]), rows: 4)
                XCTAssertEqual(halves.forward(Array(data.x[20..<40]), batch: 4).status, 0)
                let l2 = halves.backward(Array(data.d[12..<24]), rows: 4)
                XCTAssertEqual(halves.header.pointee.accumulated, 8)
                XCTAssertEqual(lw.loss, (l1.loss + l2.loss) / 2, accuracy: 1e-5, "mean loss")
                let scale = Double(whole.grads.map(abs).max()!)
                assertClose(Array(halves.grads), Array(whole.grads), atol: 1e-6 * max(1, scale), rtol: 1e-5,
                            "accumulated grads")

                XCTAssertEqual(whole.step(), 0)
                XCTAssertEqual(halves.step(), 0)
                assertClose(Array(halves.params), Array(whole.params), atol: 1e-6, rtol: 1e-5, "params after step")
            }
        }
    }

    /// The trained net actually learns: the loss falls over a few steps.
    func testLossDecreases() throws {
        let net = try makeNet(#"{"type": "sgd", "lr": 0.2, "momentum": 0.5}"#)
        var first: Float = 0, last: Float = 0
        for s in 0..<30 {
            XCTAssertEqual(net.forward(data.x, batch: 8).status, 0)
            let r = net.backward(data.d, rows: 8)
            XCTAssertEqual(r.status, 0)
            if s == 0 { first = r.loss }
            last = r.loss
            XCTAssertEqual(net.step(), 0)
        }
        XCTAssertLessThan(last, 0.7 * first)
    }

    /// A step that would overflow a parameter is refused with parameters unchanged
    /// (its dry run writes nothing).
    func testUpdateThatWouldOverflowIsRefused() {
        // Through the C ABI: the step is refused and the parameters stay as they were.
        let spec = #"{"input": 1, "layers": [{"units": 1, "activation": "identity"}], "loss": "none", "optimizer": {"type": "sgd", "lr": 1, "weight_decay": 10}}"#
        var out: UnsafeMutableRawPointer? = nil
        XCTAssertEqual(swann_create(spec, 1, nil, 0, &out), 0)
        var data: UnsafeMutablePointer<Float>? = nil
        var count: UInt = 0
        XCTAssertEqual(swann_params(out, &data, &count), 0)
        data![0] = 3e38
        var x: Float = 1, dy: Float = 1e-3
        XCTAssertEqual(swann_forward(out, &x, 1, nil), 0)
        XCTAssertEqual(swann_backward_grad(out, &dy, nil), 0)
        XCTAssertEqual(swann_step(out), Status.numeric.rawValue)
        XCTAssertEqual(data![0], 3e38, "parameters unchanged")
        XCTAssertTrue(String(cString: swann_last_error()).contains("NaN or Inf"))
        swann_destroy(out)
    }

    /// Applies `rule` to n = one block + 13 parameters (lanes, a tail and a second block),
    /// check-only then committed, and compares parameters and state with `scalar` (the
    /// rule in float steps, torch.optim's order, one parameter at a time) bit for bit;
    /// a NaN parameter in a lane and in the tail must fail the check-only pass.
    func checkLanes(_ rule: UpdateRule, slots ranges: [(Double, Double)], _ label: String,
                    scalar: (_ i: Int, _ n: Int, _ g: Float, _ p: inout [Float], _ slots: inout [Float]) -> Void) {
        let n = UpdateRule.block + 13, scale: Float = 0.25
        // a seed from the label (FNV-1a: hashValue differs per process)
        var rng = TestRNG(label.utf8.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 })
        var p = rng.floats(n, -1, 1), grad = rng.floats(n, -3, 3)
        for i in stride(from: 0, to: n, by: 11) { grad[i] = 0 }  // zero gradients too
        var slots: [Float] = []
        for (lo, hi) in ranges { slots += rng.floats(n, lo, hi) }
        var want = p, wantSlots = slots
        for i in 0..<n { scalar(i, n, grad[i] * scale, &want, &wantSlots) }
        func run(_ s: inout [Float], commit: Bool) -> (update: Bool, grad: Bool) { run(&p, &grad, &s, commit: commit) }
        func run(_ p: inout [Float], _ grad: inout [Float], _ s: inout [Float], commit: Bool) -> (update: Bool, grad: Bool) {
            p.withUnsafeMutableBufferPointer { pp in
                grad.withUnsafeMutableBufferPointer { gp in
                    s.withUnsafeMutableBufferPointer { sp in
                        rule.apply(params: pp.baseAddress!, grad: gp.baseAddress!, slots: sp.baseAddress!, stride: n,
                                   from: 0, to: n, scale: scale, commit: commit, zeroGrad: false, checkGrad: !commit)
                    }
                }
            }
        }
        let checked = run(&slots, commit: false)
        XCTAssertTrue(checked.update && checked.grad, label)
        for at in [5, n - 1] {
            // a gradient and first state that every rule updates p[at] with (Rprop skips
            // a parameter whose gradient changed sign)
            var q = p, h = grad, s = slots
            q[at] = .nan
            h[at] = 1
            s[at] = 0.005
            XCTAssertFalse(run(&q, &h, &s, commit: false).update, "\(label), NaN at \(at)")
        }
        _ = run(&slots, commit: true)
        XCTAssertEqual(p.map(\.bitPattern), want.map(\.bitPattern), label)
        XCTAssertEqual(slots.map(\.bitPattern), wantSlots.map(\.bitPattern), label)
    }

    /// Adam and AdamW, eight parameters at a time, are the scalar rule bit for bit.
    func testAdamLanesAreTheScalarRule() {
        for kind in [OptimizerKind.adam, .adamw] {
            for (wd, amsgrad) in [(Float(0), false), (0, true), (0.1, false), (0.1, true)] {
                var r = UpdateRule()
                r.kind = kind
                r.weightDecay = wd
                r.amsgrad = amsgrad
                r.lr = 0.01
                r.beta2 = 0.999
                r.oneMinusBeta1 = 1 - 0.9
                r.oneMinusBeta2 = 1 - 0.999
                r.eps = 1e-8
                r.stepSize = 0.01 / (1 - 0.9 * 0.9)
                r.bias2Sqrt = (1 - 0.999 * 0.999 as Float).squareRoot()
                r.shrink = 1 - 0.01 * wd
                let label = "\(kind) weight_decay \(wd) amsgrad \(amsgrad)"
                checkLanes(r, slots: [(-0.1, 0.1), (0, 0.01), (0, 0.01)], label) { i, n, g0, p, slots in
                    var g = g0, w = p[i]
                    if kind == .adamw { w *= r.shrink } else { g += wd * w }
                    let m = slots[i] + r.oneMinusBeta1 * (g - slots[i])
                    let v = slots[n + i] * r.beta2 + r.oneMinusBeta2 * g * g
                    let vhat = amsgrad ? max(slots[2 * n + i], v) : v
                    slots[i] = m
                    slots[n + i] = v
                    if amsgrad { slots[2 * n + i] = vhat }
                    p[i] = w - r.stepSize * (m / (vhat.squareRoot() / r.bias2Sqrt + r.eps))
                }
            }
        }
    }

    /// SGD with momentum, eight parameters at a time, is the scalar rule bit for bit (the
    /// first step, later ones, nesterov, weight decay).
    func testMomentumLanesAreTheScalarRule() {
        for first in [true, false] {
            for nesterov in [false, true] {
                for wd in [Float(0), 0.1] {
                    var r = UpdateRule()
                    r.kind = .sgd
                    r.lr = 0.1
                    r.momentum = 0.9
                    r.damping = 1 - 0.25
                    r.weightDecay = wd
                    r.nesterov = nesterov
                    r.first = first
                    checkLanes(r, slots: [(-0.1, 0.1)], "sgd first \(first) nesterov \(nesterov) weight_decay \(wd)") {
                        i, _, g0, p, slots in
                        var g = g0
                        g += wd * p[i]
                        let b = first ? g : r.momentum * slots[i] + r.damping * g
                        slots[i] = b
                        p[i] = p[i] - r.lr * (nesterov ? g + r.momentum * b : b)
                    }
                }
            }
        }
    }

    /// Rprop, eight parameters at a time, is the scalar rule bit for bit: growing, shrinking
    /// (the update skipped), clamped step sizes, zero gradients, the first step.
    func testRpropLanesAreTheScalarRule() {
        for first in [true, false] {
            var r = UpdateRule()
            r.kind = .rprop
            r.etaPlus = 1.2
            r.etaMinus = 0.5
            r.stepMin = 0.004
            r.stepMax = 0.006
            r.initialStep = 0.005
            r.first = first
            checkLanes(r, slots: [(-1, 1), (0.003, 0.007)], "rprop first \(first)") { i, n, g0, p, slots in
                var g = g0
                let sign = g * (first ? 0 : slots[i])
                let factor: Float = sign > 0 ? r.etaPlus : (sign < 0 ? r.etaMinus : 1)
                let st = min(max((first ? r.initialStep : slots[n + i]) * factor, r.stepMin), r.stepMax)
                slots[n + i] = st
                if sign < 0 { g = 0 }
                if g > 0 { p[i] = p[i] - st } else if g < 0 { p[i] = p[i] + st }
                slots[i] = g
            }
        }
    }

    /// RMSprop, eight parameters at a time, is the scalar rule bit for bit (centered, with
    /// momentum, with weight decay, and each alone).
    func testRMSpropLanesAreTheScalarRule() {
        for wd in [Float(0), 0.1] {
            for centered in [false, true] {
                for mu in [Float(0), 0.9] {
                    var r = UpdateRule()
                    r.kind = .rmsprop
                    r.weightDecay = wd
                    r.centered = centered
                    r.momentum = mu
                    r.lr = 0.01
                    r.alpha = 0.99
                    r.oneMinusAlpha = 1 - 0.99
                    r.eps = 1e-8
                    // square, then the momentum buffer, then the mean gradient (which can
                    // exceed sqrt(square): the clamp at 0)
                    let ranges = [(0, 0.01)] + (mu != 0 ? [(-0.1, 0.1)] : []) + (centered ? [(-0.2, 0.2)] : [])
                    checkLanes(r, slots: ranges, "rmsprop weight_decay \(wd) centered \(centered) momentum \(mu)") {
                        i, n, g0, p, slots in
                        var g = g0
                        g += wd * p[i]
                        let sq = slots[i] * r.alpha + r.oneMinusAlpha * g * g
                        slots[i] = sq
                        var avg = sq.squareRoot() + r.eps
                        if centered {
                            let k = (mu != 0 ? 2 : 1) * n + i
                            let ga = slots[k] + r.oneMinusAlpha * (g - slots[k])
                            slots[k] = ga
                            avg = max(sq - ga * ga, 0).squareRoot() + r.eps
                        }
                        if mu != 0 {
                            let b = slots[n + i] * mu + g / avg
                            slots[n + i] = b
                            p[i] = p[i] - r.lr * b
                        } else {
                            p[i] = p[i] - r.lr * (g / avg)
                        }
                    }
                }
            }
        }
    }

    /// A base rate of 0 stays 0 under every schedule, and the rate is never NaN:
    /// 0 * 1e6^52 was NaN from step 52 of a step schedule with gamma 1e6.
    func testScheduledRateNeverNaN() {
        var c = OptimizerConfig(kind: .sgd)
        c.schedule = .step
        c.stepSize = 1
        c.gamma = 1e6
        c.lr = 0
        for t in [0, 1, 51, 52, 1000, 1 << 40] { XCTAssertEqual(c.learningRate(afterSteps: t), 0, "step \(t)") }
        c.lr = 0.01
        XCTAssertEqual(c.learningRate(afterSteps: 1000), .infinity, "grows to +Inf, not NaN")
        c.warmupSteps = 10
        c.warmupStartFactor = 0
        XCTAssertEqual(c.learningRate(afterSteps: 0), 0)
        XCTAssertEqual(c.learningRate(afterSteps: 1000), .infinity)
        c = OptimizerConfig(kind: .adam)
        c.schedule = .cosine
        c.tMax = 10
        c.etaMin = 0.5
        c.lr = 0
        for t in 0..<20 { XCTAssertEqual(c.learningRate(afterSteps: t), 0, "cosine, step \(t)") }
    }
}
