import Foundation
import XCTest
@testable import Swann

/// portableLog, SplitMix64 and the parameter initialisation built on them.
final class RandomTests: XCTestCase {
    /// Vigna's splitmix64.c, written out independently.
    struct RefSplitMix {
        var s: UInt64
        mutating func next() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    // MARK: portableLog

    /// Error of portableLog(x) in units of the last place of log x. log x is computed as
    /// e ln2 + log m with one rounded ln2 (no hi/lo split), so where the two terms cancel
    /// (x just below 1/sqrt(2) ... 1) the error is a couple of ulps of the larger term.
    func logError(_ x: Double) -> (err: Double, tol: Double) {
        let got = portableLog(x), want = Foundation.log(x)
        let eLn2 = abs(Double(Int(x.exponent) + (x.significand > 1.4142135623730951 ? 1 : 0)) * 0.6931471805599453)
        let tol = 4 * (want == 0 ? Double.leastNonzeroMagnitude : want.ulp) + 2 * eLn2.ulp
        return (abs(got - want), tol)
    }

    func assertLog(_ x: Double, file: StaticString = #filePath, line: UInt = #line) {
        let (err, tol) = logError(x)
        XCTAssertLessThanOrEqual(err, tol, "portableLog(\(x)) = \(portableLog(x)), log = \(Foundation.log(x))",
                                 file: file, line: line)
    }

    func testPortableLogMatchesFoundation() {
        var rng = TestRNG(1)
        var worstUlps = 0.0
        for _ in 0..<20_000 {
            // Log-uniform over most of the double range, and uniform in (0, 1) as the polar method uses it.
            let x = exp(rng.uniform(-690, 690))
            let u = rng.uniform(0, 1)
            for v in [x, u] where v > 0 {
                assertLog(v)
                worstUlps = max(worstUlps, abs(portableLog(v) - Foundation.log(v)) / Foundation.log(v).ulp)
            }
        }
        // Near 1, where log x is tiny and relative accuracy matters.
        for k in 1...200 {
            let d = Double(k) * 1e-9
            assertLog(1 + d); assertLog(1 - d)
            assertLog(1 + Double(k) * Double.ulpOfOne); assertLog(1 - Double(k) * Double.ulpOfOne / 2)
        }
        // Around the sqrt(2) switch point and exact powers of two.
        for m in [1.4142135623730950, 1.4142135623730951, 1.4142135623730954, 0.7071067811865475, 0.7071067811865476] {
            for e in -20...20 { assertLog(m * pow(2, Double(e))) }
        }
        for e in -1000...1000 { assertLog(pow(2, Double(e))) }
        XCTAssertEqual(portableLog(1), 0)
        XCTAssertEqual(portableLog(2), 0.6931471805599453)
        XCTAssertLessThanOrEqual(worstUlps, 6, "worst error \(worstUlps) ulps of log x")
    }

    func testPortableLogExtremeInputs() {
        assertLog(Double.leastNormalMagnitude)
        assertLog(Double.greatestFiniteMagnitude)
        assertLog(Double.leastNonzeroMagnitude)
        assertLog(Double.leastNormalMagnitude / 3)
        // Outside its domain it returns 0 rather than trapping.
        for x in [0, -1, -0.0, .infinity, .nan] as [Double] {
            XCTAssertEqual(portableLog(x), 0, "portableLog(\(x))")
        }
    }

    // MARK: SplitMix64

    func testReferenceSplitMixKnownAnswer() {
        var r = RefSplitMix(s: 0)
        XCTAssertEqual(r.next(), 0xE220_A839_7B1D_CDAF)  // splitmix64.c from state 0
    }

    func testSplitMixIsTheStandardSequence() {
        for (seed, stream) in [(0, 0), (42, 0), (42, 1), (42, 7), (UInt64.max, 3)] as [(UInt64, UInt64)] {
            var lib = SplitMix64(seed: seed, stream: stream)
            var raw = RefSplitMix(s: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
            var ref = RefSplitMix(s: raw.next())
            XCTAssertEqual(lib.state, ref.s)
            for _ in 0..<100 { XCTAssertEqual(lib.next(), ref.next()) }
        }
    }

    func testSplitMixDeterministicAndStreamsDiffer() {
        var a = SplitMix64(seed: 9, stream: 2), b = SplitMix64(seed: 9, stream: 2)
        let sa = (0..<1000).map { _ in a.next() }, sb = (0..<1000).map { _ in b.next() }
        XCTAssertEqual(sa, sb)
        var c = SplitMix64(seed: 9, stream: 3), d = SplitMix64(seed: 10, stream: 2)
        let sc = (0..<1000).map { _ in c.next() }, sd = (0..<1000).map { _ in d.next() }
        XCTAssertNotEqual(sa, sc)
        XCTAssertNotEqual(sa, sd)
        XCTAssertTrue(Set(sa).isDisjoint(with: sc), "streams 2 and 3 overlap")
        var n1 = SplitMix64(seed: 5, stream: 0), n2 = SplitMix64(seed: 5, stream: 0)
        XCTAssertEqual((0..<100).map { _ in n1.normal().bitPattern }, (0..<100).map { _ in n2.normal().bitPattern })
    }

    func testUnitAndUniformRanges() {
        var r = SplitMix64(seed: 1, stream: 0)
        var lo = 1.0, hi = 0.0, sum = 0.0
        for _ in 0..<100_000 {
            let u = r.unit()
            XCTAssert(u >= 0 && u < 1)
            lo = min(lo, u); hi = max(hi, u); sum += u
        }
        XCTAssertLessThan(lo, 1e-3); XCTAssertGreaterThan(hi, 1 - 1e-3)
        XCTAssertEqual(sum / 100_000, 0.5, accuracy: 0.005)
        for _ in 0..<10_000 {
            let v = r.uniform(-3, 2)
            XCTAssert(v >= -3 && v < 2)
        }
    }

    func testNormalStatistics() {
        var r = SplitMix64(seed: 2024, stream: 5)
        let n = 100_000
        var s1 = 0.0, s2 = 0.0, s4 = 0.0, within1 = 0, within2 = 0
        for _ in 0..<n {
            let x = r.normal()
            XCTAssert(x.isFinite)
            s1 += x; s2 += x * x; s4 += x * x * x * x
            if abs(x) < 1 { within1 += 1 }
            if abs(x) < 2 { within2 += 1 }
        }
        let mean = s1 / Double(n), variance = s2 / Double(n) - mean * mean
        XCTAssertEqual(mean, 0, accuracy: 0.015)              // ~5 standard errors
        XCTAssertEqual(variance.squareRoot(), 1, accuracy: 0.012)
        XCTAssertEqual(s4 / Double(n), 3, accuracy: 0.08)      // kurtosis of a normal
        XCTAssertEqual(Double(within1) / Double(n), 0.6827, accuracy: 0.008)
        XCTAssertEqual(Double(within2) / Double(n), 0.9545, accuracy: 0.005)
    }

    /// portableLog8 is portableLog lane by lane, to the bit (a Float result would
    /// hide a one-ulp slip): the polar method's s over its range, the split at
    /// sqrt(2) and powers of two.
    func testPortableLog8IsPortableLog() {
        var r = SplitMix64(seed: 9, stream: 1)
        var xs: [Double] = [(1.0).nextDown, 0.5, (0.5).nextUp, (0.5).nextDown, 0.25, 0x1p-106, 0x1p-1022,
                            1.4142135623730951 / 2, (1.4142135623730951 / 2).nextUp, (1.4142135623730951 / 2).nextDown]
        for _ in 0..<40_000 { xs.append(r.polarPair().s) }
        for _ in 0..<4_000 { xs.append(Double(sign: .plus, exponent: -Int(r.next() % 1000) - 1, significand: 1 + r.unit())) }
        while xs.count % 8 != 0 { xs.append(0.75) }
        var differ = 0
        for i in stride(from: 0, to: xs.count, by: 8) {
            var x = SIMD8<Double>()
            for j in 0..<8 { x[j] = xs[i + j] }
            let got = portableLog8(x)
            for j in 0..<8 where got[j].bitPattern != portableLog(xs[i + j]).bitPattern { differ += 1 }
        }
        XCTAssertEqual(differ, 0, "of \(xs.count) numbers")
    }

    /// fillNormal, eight lanes at a time, gives the bits of one normal() after
    /// another, and leaves the generator where they would.
    func testFillNormalIsNormalOneByOne() {
        for (seed, count) in [(1, 0), (2, 1), (3, 7), (4, 8), (5, 9), (6, 1000), (7, 100_003)] as [(UInt64, Int)] {
            let scale = (2.0 / Double(count + 3)).squareRoot()
            var a = SplitMix64(seed: seed, stream: 3), b = a
            var got = [Float](repeating: .nan, count: count + 1)
            got.withUnsafeMutableBufferPointer { a.fillNormal($0.baseAddress!, count: count, scale: scale) }
            var differ = 0
            for i in 0..<count where got[i].bitPattern != Float(scale * b.normal()).bitPattern { differ += 1 }
            XCTAssertEqual(differ, 0, "seed \(seed), \(count) numbers")
            XCTAssertTrue(got[count].isNaN, "wrote past count \(count)")
            XCTAssertEqual(a.state, b.state, "the generator's state after \(count) numbers")
        }
    }

    // MARK: initialisation

    func testCreateIsDeterministic() throws {
        let spec = makeSpec(input: 13, [L(11, "relu"), L(9, "tanh"), L(5, "softmax")], loss: "cross_entropy", seed: 77)
        let a = try CNet(spec), b = try CNet(spec)
        XCTAssertEqual(bits(a.params), bits(b.params))
        let c = try CNet(makeSpec(input: 13, [L(11, "relu"), L(9, "tanh"), L(5, "softmax")], loss: "cross_entropy", seed: 78))
        XCTAssertNotEqual(bits(a.params), bits(c.params))
        // max_batch does not change the parameters.
        let d = try CNet(spec, maxBatch: 100)
        XCTAssertEqual(bits(a.params), bits(d.params))
        // Layers of the same shape draw from different streams.
        let e = try CNet(makeSpec(input: 6, [L(6, "tanh"), L(6, "tanh")], loss: "mse", seed: 1))
        XCTAssertNotEqual(bits(e.params[0..<36]), bits(e.params[42..<78]))
    }

    /// The parameters are exactly the documented recipe: layer k draws from
    /// SplitMix64(seed, stream k); he = Float(sqrt(2/fan_in) * normal), xavier =
    /// Float(uniform(-b, b)), b = sqrt(6/(fan_in+fan_out)); biases zero.
    func testInitialValuesFollowTheRecipe() throws {
        let layers = [L(7, "relu"), L(5, "sigmoid"), L(3, "leaky_relu")]
        for initKind in [nil, "he", "xavier", "zeros"] as [String?] {
            let net = try CNet(makeSpec(input: 4, layers, loss: "mse", initKind: initKind, seed: 31337))
            var expected: [Float] = []
            var fanIn = 4
            for (k, l) in layers.enumerated() {
                var rng = SplitMix64(seed: 31337, stream: UInt64(k))
                let kind = initKind ?? (["relu", "leaky_relu", "elu"].contains(l.activation) ? "he" : "xavier")
                for _ in 0..<(l.units * fanIn) {
                    switch kind {
                    case "he": expected.append(Float((2.0 / Double(fanIn)).squareRoot() * rng.normal()))
                    case "xavier":
                        let b = (6.0 / Double(fanIn + l.units)).squareRoot()
                        expected.append(Float(rng.uniform(-b, b)))
                    default: expected.append(0)
                    }
                }
                expected += [Float](repeating: 0, count: l.units)
                fanIn = l.units
            }
            XCTAssertEqual(bits(net.params), bits(expected), "init \(initKind ?? "auto")")
        }
    }

    func moments(_ w: some Collection<Float>) -> (mean: Double, std: Double, kurtosis: Double, maxAbs: Double) {
        let n = Double(w.count)
        let mean = w.reduce(0.0) { $0 + Double($1) } / n
        var m2 = 0.0, m4 = 0.0, mx = 0.0
        for v in w {
            let d = Double(v) - mean
            m2 += d * d; m4 += d * d * d * d
            mx = max(mx, abs(Double(v)))
        }
        m2 /= n; m4 /= n
        return (mean, m2.squareRoot(), m4 / (m2 * m2), mx)
    }

    func testHeStatistics() throws {
        for act in ["relu", "leaky_relu", "elu"] {
            let net = try CNet(makeSpec(input: 400, [L(300, act)], loss: "mse", seed: 5))
            let m = moments(net.params[0..<120_000])
            let std = (2.0 / 400).squareRoot()
            XCTAssertEqual(m.mean, 0, accuracy: 4 * std / 346, act)
            XCTAssertEqual(m.std, std, accuracy: 0.01 * std, act)
            XCTAssertEqual(m.kurtosis, 3, accuracy: 0.08, "\(act): he is normal")
            XCTAssertTrue(net.params[120_000...].allSatisfy { $0 == 0 }, "biases")
        }
        // Explicit he on a tanh layer.
        let net = try CNet(makeSpec(input: 400, [L(300, "tanh")], loss: "mse", initKind: "he", seed: 6))
        XCTAssertEqual(moments(net.params[0..<120_000]).std, (2.0 / 400).squareRoot(), accuracy: 0.001)
    }

    func testXavierStatistics() throws {
        for act in ["identity", "sigmoid", "tanh", "softplus", "gelu", "softmax"] {
            let net = try CNet(makeSpec(input: 400, [L(300, act)], loss: "mse", seed: 8))
            let w = net.params[0..<120_000]
            let bound = (6.0 / 700).squareRoot()
            let m = moments(w)
            XCTAssertLessThanOrEqual(m.maxAbs, Double(Float(bound)), "\(act): beyond the xavier bound")
            XCTAssertGreaterThan(m.maxAbs, 0.999 * bound, act)
            XCTAssertEqual(m.mean, 0, accuracy: 0.002, act)
            XCTAssertEqual(m.std, bound / 3.0.squareRoot(), accuracy: 0.01 * bound / 3.0.squareRoot(), act)
            XCTAssertEqual(m.kurtosis, 1.8, accuracy: 0.05, "\(act): xavier is uniform")
            XCTAssertTrue(net.params[120_000...].allSatisfy { $0 == 0 }, "biases")
        }
        let zeros = try CNet(makeSpec(input: 40, [L(30, "relu")], loss: "mse", initKind: "zeros"))
        XCTAssertTrue(zeros.params.allSatisfy { $0 == 0 })
    }
}
