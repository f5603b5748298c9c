import Foundation
import XCTest
@testable import Swann
import CSupport

/// parseSpec and the canonical spec: what is accepted, what is rejected (and how
/// the message names the culprit), the defaults, and the canonical round trip.
final class SpecTests: XCTestCase {
    func parse(_ text: String) -> Result<NetSpec, SwannError> {
        text.withCString { p in
            do throws(SwannError) {
                return .success(try parseSpec(p))
            } catch {
                return .failure(error)
            }
        }
    }

    /// Asserts `text` is rejected with `.spec` and a message naming `key`.
    func assertRejected(_ text: String, naming key: String, file: StaticString = #filePath, line: UInt = #line) {
        switch parse(text) {
        case .success:
            XCTFail("accepted: \(text)", file: file, line: line)
        case .failure(let e):
            XCTAssertEqual(e.status, .spec, "status for \(text)", file: file, line: line)
            let message = String(cString: e.message)
            XCTAssertTrue(message.hasPrefix("spec"), "message \"\(message)\"", file: file, line: line)
            XCTAssertTrue(message.contains(key), "message \"\(message)\" should name \(key) (spec \(text))",
                          file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "one-line message", file: file, line: line)
        }
        // The C entry point agrees.
        var out: UnsafeMutableRawPointer? = UnsafeMutableRawPointer(bitPattern: 0x40)
        XCTAssertEqual(swann_create(text, 4, nil, 0, &out), Status.spec.rawValue, text, file: file, line: line)
        XCTAssertNil(out, "out is NULL after a failed create", file: file, line: line)
        XCTAssertTrue(lastError().contains(key), "swann_create message \"\(lastError())\"", file: file, line: line)
    }

    let good = #"{"input": 4, "layers": [{"units": 3, "activation": "relu"}], "loss": "mse"}"#

    // MARK: accepted

    func testAcceptsValidSpecs() throws {
        let s = try parse(#"""
        {"input": 784,
         "layers": [{"units": 256, "activation": "relu"},
                    {"units": 128, "activation": "leaky_relu", "alpha": 0.02},
                    {"units": 10, "activation": "softmax"}],
         "loss": "cross_entropy",
         "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": true, "weight_decay": 1e-4},
         "init": "xavier",
         "seed": 42}
        """#).get()
        XCTAssertEqual(s.input, 784)
        XCTAssertEqual(s.layers.map(\.units), [256, 128, 10])
        XCTAssertEqual(s.layers.map(\.activation), [.relu, .leakyRelu, .softmax])
        XCTAssertEqual(s.layers[1].alpha, 0.02)
        XCTAssertEqual(s.layers[s.layers.count - 1].units, 10)
        XCTAssertEqual(s.loss, .crossEntropy)
        XCTAssertEqual(s.optimizer.kind, .sgd)
        XCTAssertEqual(s.optimizer.lr, 0.05)
        XCTAssertEqual(s.optimizer.momentum, 0.9)
        XCTAssertTrue(s.optimizer.nesterov)
        XCTAssertEqual(s.optimizer.weightDecay, 1e-4)
        XCTAssertEqual(s.initKind, .xavier)
        XCTAssertEqual(s.seed, 42)

        for act in allActivations {
            XCTAssertNoThrow(try parse(makeSpec(input: 2, [L(3, act)], loss: "mse")).get(), act)
        }
        for loss in ["mse", "cross_entropy", "binary_cross_entropy", "none"] {
            XCTAssertNoThrow(try parse(makeSpec(input: 2, [L(3, "sigmoid")], loss: loss)).get(), loss)
        }
        for initKind in ["he", "xavier", "zeros"] {
            XCTAssertNoThrow(try parse(makeSpec(input: 2, [L(3, "tanh")], loss: "mse", initKind: initKind)).get())
        }
        // White space around the value, integers for numbers, the whole seed range (0 ... 2^53).
        XCTAssertNoThrow(try parse("  \n" + good + " \n\t").get())
        XCTAssertNoThrow(try parse(#"{"input": 1, "layers": [{"units": 1, "activation": "elu", "alpha": 2}], "loss": "mse", "optimizer": {"type": "sgd", "lr": 1}}"#).get())
        let big = try parse(#"{"input": 1, "layers": [{"units": 1, "activation": "tanh"}], "loss": "mse", "seed": 9007199254740992}"#).get()
        XCTAssertEqual(big.seed, 1 << 53)
    }

    // MARK: defaults

    func testDefaults() throws {
        let s = try parse(#"{"input": 3, "layers": [{"units": 4, "activation": "leaky_relu"}, {"units": 4, "activation": "elu"}, {"units": 2, "activation": "tanh"}], "loss": "mse"}"#).get()
        XCTAssertEqual(s.layers[0].alpha, 0.01, "leaky_relu alpha default")
        XCTAssertEqual(s.layers[1].alpha, 1.0, "elu alpha default")
        XCTAssertEqual(s.optimizer.kind, .sgd)
        XCTAssertEqual(s.optimizer.lr, 0.01, "optimizer default lr")
        XCTAssertEqual(s.optimizer.momentum, 0)
        XCTAssertEqual(s.optimizer.dampening, 0)
        XCTAssertFalse(s.optimizer.nesterov)
        XCTAssertEqual(s.optimizer.weightDecay, 0)
        XCTAssertEqual(s.seed, 0, "seed default")
        XCTAssertEqual(s.initKind, .automatic)
        // init auto: he for relu, leaky_relu, elu; xavier otherwise.
        for act in allActivations {
            guard let a = Activation.named(act) else { return XCTFail(act) }
            let expected: InitKind = ["relu", "leaky_relu", "elu"].contains(act) ? .he : .xavier
            XCTAssertEqual(InitKind.automatic.resolved(for: a), expected, act)
            XCTAssertEqual(InitKind.zeros.resolved(for: a), .zeros)
            XCTAssertEqual(InitKind.xavier.resolved(for: a), .xavier)
        }
        // An optimizer object with only its type gets the defaults too.
        let o = try parse(#"{"input": 1, "layers": [{"units": 1, "activation": "tanh"}], "loss": "mse", "optimizer": {"type": "sgd"}}"#).get()
        XCTAssertEqual(o.optimizer.lr, 0.01)
    }

    /// The defaults show in the created net: the canonical text and the initial weights.
    func testDefaultsInCreatedNet() throws {
        let net = try CNet(#"{"input": 50, "layers": [{"units": 40, "activation": "relu"}, {"units": 40, "activation": "tanh"}], "loss": "mse"}"#)
        let canonical = net.specJSON()
        XCTAssertTrue(canonical.contains(#""lr":0.01"#), canonical)
        XCTAssertTrue(canonical.contains(#""type":"sgd""#), canonical)
        XCTAssertTrue(canonical.contains(#""seed":0"#), canonical)
        let h = net.header.pointee
        XCTAssertEqual(h.optimizer.lr, 0.01)
        // Layer 0 (relu) is he: normal, so some |w| beyond the xavier bound sqrt(6/90) = 0.258
        // is all but certain among 2000 draws with std 0.2; layer 1 (tanh) is xavier: all within sqrt(6/80).
        let p = net.params
        let w0 = p[0..<2000], w1 = p[2040..<3640]
        XCTAssertTrue(w0.contains { abs($0) > 0.3 }, "relu layer not he")
        XCTAssertTrue(w1.allSatisfy { abs(Double($0)) <= (6.0 / 80).squareRoot() }, "tanh layer not xavier")
    }

    // MARK: rejected

    func testRejectsMalformedSpecs() {
        let layer = #"[{"units": 3, "activation": "relu"}]"#
        let cases: [(String, String)] = [
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "typo": 1}"#, "typo"),
            (#"{"layers": \#(layer), "loss": "mse"}"#, "input"),
            (#"{"input": 4, "loss": "mse"}"#, "layers"),
            (#"{"input": 4, "layers": \#(layer)}"#, "loss"),
            (#"{"input": 0, "layers": \#(layer), "loss": "mse"}"#, "input"),
            (#"{"input": -3, "layers": \#(layer), "loss": "mse"}"#, "input"),
            (#"{"input": 2.5, "layers": \#(layer), "loss": "mse"}"#, "input"),
            (#"{"input": "4", "layers": \#(layer), "loss": "mse"}"#, "input"),
            (#"{"input": 99999999999, "layers": \#(layer), "loss": "mse"}"#, "input"),
            (#"{"input": 4, "layers": [], "loss": "mse"}"#, "layers"),
            (#"{"input": 4, "layers": {"units": 3}, "loss": "mse"}"#, "layers"),
            (#"{"input": 4, "layers": [3], "loss": "mse"}"#, "layers[0]"),
            (#"{"input": 4, "layers": [{"activation": "relu"}], "loss": "mse"}"#, "units"),
            (#"{"input": 4, "layers": [{"units": 0, "activation": "relu"}], "loss": "mse"}"#, "units"),
            (#"{"input": 4, "layers": [{"units": 3}], "loss": "mse"}"#, "activation"),
            (#"{"input": 4, "layers": [{"units": 3, "activation": "swish"}], "loss": "mse"}"#, "activation"),
            (#"{"input": 4, "layers": [{"units": 3, "activation": "relu", "alpha": 0.1}], "loss": "mse"}"#, "alpha"),
            (#"{"input": 4, "layers": [{"units": 3, "activation": "elu", "alpha": "x"}], "loss": "mse"}"#, "alpha"),
            (#"{"input": 4, "layers": [{"units": 3, "activation": "relu", "unit": 3}], "loss": "mse"}"#, "unit"),
            (#"{"input": 4, "layers": [{"units": 3, "activation": "relu"}, {"units": 2, "activation": "bogus"}], "loss": "mse"}"#, "layers[1]"),
            (#"{"input": 4, "layers": \#(layer), "loss": "hinge"}"#, "loss"),
            (#"{"input": 4, "layers": \#(layer), "loss": 3}"#, "loss"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "init": "glorot"}"#, "init"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "seed": -1}"#, "seed"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "seed": "1"}"#, "seed"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "seed": 1.5}"#, "seed"),
            // Beyond 2^53, and beyond uint64 (which json-c would clamp silently).
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "seed": 9007199254740993}"#, "seed"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "seed": 18446744073709551616}"#, "seed"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "optimizer": "sgd"}"#, "optimizer"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "optimizer": {"lr": 0.1}}"#, "type"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "optimizer": {"type": "sgdd"}}"#, "type"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "optimizer": {"type": "sgd", "lr": -0.1}}"#, "lr"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "optimizer": {"type": "sgd", "lr": "fast"}}"#, "lr"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "optimizer": {"type": "sgd", "momentum": 1.5}}"#, "momentum"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "optimizer": {"type": "sgd", "dampening": -1}}"#, "dampening"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "optimizer": {"type": "sgd", "nesterov": 1}}"#, "nesterov"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "optimizer": {"type": "sgd", "nesterov": true}}"#, "nesterov"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "optimizer": {"type": "sgd", "momentum": 0.9, "dampening": 0.1, "nesterov": true}}"#, "nesterov"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "optimizer": {"type": "sgd", "weight_decay": -1}}"#, "weight_decay"),
            (#"{"input": 4, "layers": \#(layer), "loss": "mse", "optimizer": {"type": "sgd", "betas": [0.9, 0.99]}}"#, "betas"),
        ]
        for (text, key) in cases { assertRejected(text, naming: key) }
    }

    /// Values the update divides by, or whose being non-zero decides what the
    /// optimizer keeps, must not become 0 (or a subnormal) in float32.
    func testRejectsValuesFloatHoldsAsZero() throws {
        let head = #"{"input": 4, "layers": [{"units": 3, "activation": "relu"}], "loss": "mse", "optimizer": "#
        let cases: [(String, String)] = [
            (#"{"type": "adam", "eps": 1e-50}"#, #""eps" is 1e-50"#),
            (#"{"type": "adamw", "eps": 1e-39}"#, #""eps" is 1e-39"#),
            (#"{"type": "rmsprop", "eps": 1e-46}"#, #""eps""#),
            (#"{"type": "sgd", "momentum": 1e-45}"#, #""momentum""#),
            (#"{"type": "rmsprop", "momentum": 1e-300}"#, #""momentum""#),
            (#"{"type": "rprop", "eta_minus": 1e-50}"#, #""eta_minus""#),
            (#"{"type": "rprop", "step_min": 0, "step_max": 1e-50}"#, #""step_max""#),
        ]
        for (opt, key) in cases {
            assertRejected(head + opt + "}", naming: key)
            XCTAssertTrue(lastError().contains("float32"), lastError())
        }
        // The smallest normal float and zero (where allowed) are fine.
        for opt in [#"{"type": "adam", "eps": 1.1754944e-38}"#, #"{"type": "sgd", "momentum": 0}"#,
                    #"{"type": "rprop", "step_min": 0, "step_max": 1e-30, "eta_minus": 1e-30}"#] {
            _ = try parse(head + opt + "}").get()
        }
    }

    func testRejectsBadJSON() {
        let cases = [
            "", "   ", "{", "[]", "42", "null", #""text""#,
            #"{"input": 4, "layers": [{"units": 3, "activation": "relu"}], "loss": "mse"} x"#,
            #"{"input": 4, "layers": [{"units": 3, "activation": "relu"}], "loss": "mse"}{}"#,
            #"{"input": 4, "layers": [{"units": 3, "activation": "relu"},], "loss": "mse"}"#,
            #"{'input': 4}"#,
            #"{"input": 4 "layers": []}"#,
            #"{"input": 4, "layers": [{"units": 3, "activation": "relu"}], "loss": "mse", }"#,
            #"{"input": NaN, "layers": [{"units": 3, "activation": "relu"}], "loss": "mse"}"#,
        ]
        for text in cases {
            switch parse(text) {
            case .success: XCTFail("accepted \(text.debugDescription)")
            case .failure(let e):
                XCTAssertEqual(e.status, .spec, text)
                XCTAssertTrue(String(cString: e.message).hasPrefix("spec: "), String(cString: e.message))
            }
            var out: UnsafeMutableRawPointer? = nil
            XCTAssertEqual(swann_create(text, 4, nil, 0, &out), Status.spec.rawValue, text)
            XCTAssertNil(out)
        }
        if case .failure(let e) = parse("{\"input\": 4,") {
            XCTAssertTrue(String(cString: e.message).contains("offset"), String(cString: e.message))
        } else {
            XCTFail("accepted a cut text")
        }
    }

    func testNullSpecIsArgumentError() {
        do throws(SwannError) {
            _ = try parseSpec(nil)
            XCTFail("NULL accepted")
        } catch {
            XCTAssertEqual(error.status, .arg)
        }
        var out: UnsafeMutableRawPointer? = nil
        XCTAssertEqual(swann_create(nil, 4, nil, 0, &out), Status.arg.rawValue)
        var bytes: UInt = 0
        XCTAssertEqual(swann_arena_size(nil, 4, &bytes), Status.arg.rawValue)
    }

    /// Control characters in a bad key do not break the one-line message.
    func testMessageStaysOneLine() {
        assertRejected(#"{"input": 4, "bad\nkey": 1, "layers": [{"units": 3, "activation": "relu"}], "loss": "mse"}"#,
                       naming: "bad?key")
    }

    /// Successful calls leave the last error as it was (like errno).
    func testSuccessLeavesLastError() throws {
        assertRejected(#"{"input": 4, "layers": [{"units": 3, "activation": "relu"}], "loss": "mse", "zzz": 1}"#,
                       naming: "zzz")
        let before = lastError()
        XCTAssertNoThrow(try parse(good).get())
        let net = try CNet(good)
        XCTAssertEqual(net.forward([1, 2, 3, 4], batch: 1).status, 0)
        XCTAssertEqual(lastError(), before)
    }

    // MARK: canonical text

    func testCanonicalSpecRoundTrip() throws {
        let specs = [
            makeSpec(input: 5, [L(7, "leaky_relu", alpha: 0.125), L(6, "elu"), L(4, "softmax")], loss: "cross_entropy",
                     optimizer: #"{"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": true, "weight_decay": 0.001}"#,
                     seed: 123),
            makeSpec(input: 3, [L(8, "gelu"), L(2, "sigmoid")], loss: "binary_cross_entropy", initKind: "he", seed: nil),
            makeSpec(input: 2, [L(3, "relu"), L(3, "softplus"), L(1, "identity")], loss: "mse",
                     optimizer: #"{"type": "sgd", "lr": 0.3, "momentum": 0.5, "dampening": 0.25}"#, initKind: "xavier",
                     seed: 9_007_199_254_740_992),
            makeSpec(input: 4, [L(4, "tanh")], loss: "none", initKind: "zeros"),
        ]
        for spec in specs {
            let a = try CNet(spec)
            let canonical = a.specJSON()
            let b = try CNet(canonical)
            XCTAssertEqual(b.specJSON(), canonical, "canonical text is a fixed point")
            XCTAssertEqual(bits(b.params), bits(a.params), "same parameters from the canonical spec: \(canonical)")
            let pa = try parse(spec).get(), pb = try parse(canonical).get()
            XCTAssertEqual(pb.input, pa.input)
            XCTAssertEqual(pb.layers.map(\.units), pa.layers.map(\.units))
            XCTAssertEqual(pb.layers.map(\.activation), pa.layers.map(\.activation))
            XCTAssertEqual(pb.layers.map(\.alpha), pa.layers.map(\.alpha))
            XCTAssertEqual(pb.loss, pa.loss)
            XCTAssertEqual(pb.initKind, pa.initKind)
            XCTAssertEqual(pb.seed, pa.seed)
            XCTAssertEqual(pb.optimizer.kind, pa.optimizer.kind)
            XCTAssertEqual(pb.optimizer.lr, pa.optimizer.lr)
            XCTAssertEqual(pb.optimizer.momentum, pa.optimizer.momentum)
            XCTAssertEqual(pb.optimizer.dampening, pa.optimizer.dampening)
            XCTAssertEqual(pb.optimizer.nesterov, pa.optimizer.nesterov)
            XCTAssertEqual(pb.optimizer.weightDecay, pa.optimizer.weightDecay)
            // Valid JSON to any parser.
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(canonical.utf8)), canonical)
        }
    }

    func testCanonicalTextKeepsShortNumbers() throws {
        let net = try CNet(makeSpec(input: 2, [L(2, "leaky_relu", alpha: 0.1)], loss: "mse",
                                    optimizer: #"{"type": "sgd", "lr": 0.05}"#))
        let text = net.specJSON()
        XCTAssertTrue(text.contains(#""lr":0.05"#), text)
        XCTAssertTrue(text.contains(#""alpha":0.1"#), text)
        XCTAssertFalse(text.contains("0.05000"), text)
    }

    /// swann_spec_json follows snprintf: *needed counts the NUL; too small a buffer is ARG and untouched.
    func testSpecJSONBufferRules() throws {
        let net = try CNet(good)
        var needed: UInt = 0
        XCTAssertEqual(swann_spec_json(net.handle, nil, 0, &needed), Status.arg.rawValue)
        let text = net.specJSON()
        XCTAssertEqual(Int(needed), text.utf8.count + 1)
        var small = [CChar](repeating: 0x55, count: Int(needed))
        XCTAssertEqual(small.withUnsafeMutableBufferPointer { swann_spec_json(net.handle, $0.baseAddress, needed - 1, nil) },
                       Status.arg.rawValue)
        XCTAssertTrue(small.allSatisfy { $0 == 0x55 }, "a too-small buffer was written")
        XCTAssertEqual(small.withUnsafeMutableBufferPointer { swann_spec_json(net.handle, $0.baseAddress, needed, nil) }, 0)
        XCTAssertEqual(String(cString: small), text)
    }

    // MARK: plan and arena

    func testArenaSizeAndHostArena() throws {
        var bytes: UInt = 0
        XCTAssertEqual(swann_arena_size(good, 16, &bytes), 0)
        XCTAssertGreaterThan(bytes, 0)
        XCTAssertEqual(bytes % 64, 0)
        var bigger: UInt = 0
        XCTAssertEqual(swann_arena_size(good, 32, &bigger), 0)
        XCTAssertGreaterThan(bigger, bytes, "more rows need more arena")

        let arena = UnsafeMutableRawPointer.allocate(byteCount: Int(bytes) + 128, alignment: 64)
        defer { arena.deallocate() }
        var out: UnsafeMutableRawPointer? = nil
        XCTAssertEqual(swann_create(good, 16, arena, bytes - 1, &out), Status.arena.rawValue)
        XCTAssertNil(out)
        XCTAssertEqual(swann_create(good, 16, arena + 4, bytes, &out), Status.arena.rawValue, "misaligned")
        XCTAssertEqual(swann_create(good, 16, arena, bytes, &out), 0)
        XCTAssertEqual(out, arena)
        XCTAssertEqual(swann_input_size(out), 4)
        XCTAssertEqual(swann_output_size(out), 3)
        XCTAssertEqual(swann_param_count(out), 15)
        XCTAssertEqual(swann_max_batch(out), 16)
        // The same plan: every region lies inside the arena.
        let h = Net(base: out!).header.pointee
        XCTAssertEqual(h.arenaBytes, Int(bytes))
        let work = Net(base: out!).workspaces[0]
        let base = Int(bitPattern: out!)
        let packs = [work.packA, work.packB, work.tile].map { Int(bitPattern: $0) - base }
        for region in [h.layers, h.spec, h.params, h.grads, h.slots, h.input, h.scratch0, h.scratch1,
                       h.workspaces, h.pool] + packs {
            XCTAssertEqual(region % 64, 0)
            XCTAssertLessThanOrEqual(region, Int(bytes))
        }
        swann_destroy(out)
        XCTAssertEqual(swann_input_size(out), 0, "a destroyed net reads as not live")
        XCTAssertEqual(swann_max_batch(nil), 0)

        XCTAssertEqual(swann_arena_size(good, 0, &bytes), Status.arg.rawValue)
        XCTAssertEqual(swann_arena_size(good, UInt.max, &bytes), Status.arg.rawValue)
        XCTAssertEqual(swann_arena_size(good, 4, nil), Status.arg.rawValue)
    }

    func testPlanMatchesArenaSize() throws {
        let spec = makeSpec(input: 30, [L(100, "relu"), L(17, "softmax")], loss: "cross_entropy",
                            optimizer: #"{"type": "sgd", "momentum": 0.9}"#)
        var parsed = try parse(spec).get()
        let plan = try Plan(spec: &parsed, maxBatch: 64, specLength: 200)
        XCTAssertEqual(plan.header.paramCount, 30 * 100 + 100 + 100 * 17 + 17)
        XCTAssertEqual(plan.header.slotCount, 1, "momentum keeps one buffer")
        // The records a net gets (buildNet lays them from the spec, as the plan sized them).
        var records = [LayerRecord](repeating: LayerRecord(), count: 2)
        let laid = withUnsafePointer(to: parsed) { s in
            records.withUnsafeMutableBufferPointer { r in
                Plan.layTensors(SpecShapes(s), into: r.baseAddress, slotCount: plan.header.slotCount, maxBatch: 64,
                                start: plan.tensorStart)
            }
        }
        XCTAssertEqual(laid.params, plan.header.paramCount)
        XCTAssertEqual(laid.input, plan.header.input)
        XCTAssertEqual(records.map(\.fanIn), [30, 100])
        XCTAssertEqual(records.map(\.fanOut), [100, 17])
        XCTAssertEqual(records[0].weight, plan.header.params)
        // Regions do not overlap: each starts after the previous one's size.
        let f = MemoryLayout<Float>.stride
        XCTAssertGreaterThanOrEqual(plan.header.grads - plan.header.params, plan.header.paramCount * f)
        XCTAssertGreaterThanOrEqual(plan.header.slots - plan.header.grads, plan.header.paramCount * f)
        XCTAssertGreaterThanOrEqual(plan.header.input - plan.header.slots, plan.header.paramCount * f)
        XCTAssertGreaterThanOrEqual(records[0].z - plan.header.input, 64 * 30 * f)
        // The last region is the worker pool, after every thread's packing buffers.
        XCTAssertEqual(plan.workspaceOffsets.count, 1, "one thread: one workspace")
        if let last = plan.workspaceOffsets.last {
            XCTAssertGreaterThanOrEqual(plan.header.pool - last.2, Gemm.mr * Gemm.nr * f)
        }
        XCTAssertGreaterThanOrEqual(plan.bytes - plan.header.pool, MemoryLayout<cs_pool>.stride)
    }

    func testTooLargeIsRejectedNotTrapped() {
        // 2^24 x 2^24 weights per layer: beyond the parameter limit.
        let huge = makeSpec(input: 1 << 24, [L(1 << 24, "relu"), L(1 << 24, "relu"), L(1 << 24, "relu")], loss: "mse")
        var bytes: UInt = 0
        XCTAssertNotEqual(swann_arena_size(huge, 1, &bytes), 0)
        // Big but legal spec with huge max_batch: the arena limit.
        let wide = makeSpec(input: 1 << 16, [L(1 << 16, "tanh")], loss: "mse")
        XCTAssertNotEqual(swann_arena_size(wide, 1 << 24, &bytes), 0)
        XCTAssertFalse(lastError().isEmpty)
    }
}
