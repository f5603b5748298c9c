import Foundation
import XCTest
@testable import Swann
import CSupport

/// swann's JSON reader (`JSONDocument`, `JSONValue`): every kind of valid text and
/// what it reads as, and every refusal with its `problem` and `offset`. The same
/// reader is checked differentially against json-c in Tests/reliability/json_oracle.c.
final class JSONTests: XCTestCase {
    // MARK: - helpers

    /// Parses `bytes` (exactly those, no terminator counted), hands the document
    /// to `body`, then releases it.
    func withDocument<R>(_ bytes: [UInt8], maxValues: Int = 1 << 20,
                         _ body: (JSONDocument) throws -> R) rethrows -> R {
        // One spare NUL after the text: the reader must never look at it.
        var storage = bytes + [0]
        return try storage.withUnsafeMutableBufferPointer { buf in
            let text = UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self)
            var doc = JSONDocument(text, length: bytes.count, maxValues: maxValues)
            defer { doc.release() }
            return try body(doc)
        }
    }

    func withDocument<R>(_ text: String, maxValues: Int = 1 << 20, _ body: (JSONDocument) throws -> R) rethrows -> R {
        try withDocument(Array(text.utf8), maxValues: maxValues, body)
    }

    /// The root of a text that must parse.
    func withRoot(_ text: String, file: StaticString = #filePath, line: UInt = #line,
                  _ body: (JSONValue) throws -> Void) rethrows {
        try withDocument(text) { doc in
            guard let root = doc.root else {
                XCTFail("refused \(text.debugDescription): \(String(describing: doc.problem)) at \(doc.offset) "
                        + "\(doc.detail)", file: file, line: line)
                return
            }
            XCTAssertNil(doc.problem, file: file, line: line)
            try body(root)
        }
    }

    func accepts(_ bytes: [UInt8], maxValues: Int = 1 << 20) -> Bool {
        withDocument(bytes, maxValues: maxValues) { $0.root != nil }
    }

    func accepts(_ text: String, maxValues: Int = 1 << 20) -> Bool {
        accepts(Array(text.utf8), maxValues: maxValues)
    }

    /// Asserts the text is refused with `problem` at `offset` (and, when given, that detail).
    func assertRefused(_ bytes: [UInt8], _ problem: JSONDocument.Problem, at offset: Int, detail: String? = nil,
                       maxValues: Int = 1 << 20, file: StaticString = #filePath, line: UInt = #line) {
        withDocument(bytes, maxValues: maxValues) { doc in
            let shown = String(decoding: bytes.prefix(120), as: UTF8.self).debugDescription
            XCTAssertNil(doc.root, "accepted \(shown)", file: file, line: line)
            XCTAssertEqual(doc.problem, problem, "problem for \(shown)", file: file, line: line)
            XCTAssertEqual(doc.offset, offset, "offset for \(shown) (\(doc.detail))", file: file, line: line)
            XCTAssertTrue(doc.offset >= 0 && doc.offset <= bytes.count, "offset inside the text", file: file, line: line)
            if let detail {
                XCTAssertEqual("\(doc.detail)", detail, "detail for \(shown)", file: file, line: line)
            }
        }
    }

    func assertRefused(_ text: String, _ problem: JSONDocument.Problem, at offset: Int, detail: String? = nil,
                       maxValues: Int = 1 << 20, file: StaticString = #filePath, line: UInt = #line) {
        assertRefused(Array(text.utf8), problem, at: offset, detail: detail, maxValues: maxValues,
                      file: file, line: line)
    }

    /// The bytes of a string value (without its NUL).
    func bytes(_ v: JSONValue?) -> [UInt8]? {
        guard let p = v?.string else { return nil }
        return Array(UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self),
                                         count: strlen(p)))
    }

    func text(_ v: JSONValue?) -> String? { bytes(v).map { String(decoding: $0, as: UTF8.self) } }

    func nested(_ open: String, _ count: Int, _ inner: String, _ close: String) -> String {
        String(repeating: open, count: count) + inner + String(repeating: close, count: count)
    }

    // MARK: - scalars

    func testLiterals() {
        withRoot("null") { XCTAssertEqual($0.kind, .null); XCTAssertNil($0.boolean); XCTAssertNil($0.integer) }
        withRoot("true") { XCTAssertEqual($0.kind, .boolean); XCTAssertEqual($0.boolean, true) }
        withRoot("false") { XCTAssertEqual($0.kind, .boolean); XCTAssertEqual($0.boolean, false) }
        withRoot(" \t\r\n true \n") { XCTAssertEqual($0.boolean, true) }
        for v in ["null", "true", "false"] {
            withRoot(v) { r in
                XCTAssertNil(r.double)
                XCTAssertNil(r.string)
                XCTAssertEqual(r.count, 0)
                XCTAssertNil(r.element(0))
                XCTAssertNil(r.member("a"))
            }
        }
    }

    func testIntegers() {
        let cases: [(String, Int64)] = [
            ("0", 0), ("-0", 0), ("7", 7), ("-7", -7), ("42", 42), ("1234567890", 1_234_567_890),
            ("9007199254740993", 9_007_199_254_740_993),  // beyond 2^53: exact as an integer
            ("9223372036854775807", Int64.max), ("-9223372036854775808", Int64.min),
        ]
        for (t, want) in cases {
            withRoot(t) { r in
                XCTAssertEqual(r.kind, .integer, t)
                XCTAssertEqual(r.integer, want, t)
                XCTAssertEqual(r.double, Double(want), t)
                XCTAssertNil(r.string, t)
                XCTAssertNil(r.boolean, t)
            }
        }
    }

    func testIntegersBeyondInt64Clamp() {
        // Literals beyond Int64 clamp to its minimum or maximum (every range check refuses those).
        let cases: [(String, Int64)] = [
            ("9223372036854775808", Int64.max), ("99999999999999999999999999", Int64.max),
            ("-9223372036854775809", Int64.min), ("-123456789012345678901234567890", Int64.min),
            ("18446744073709551616", Int64.max),
        ]
        for (t, want) in cases {
            withRoot(t) { r in
                XCTAssertEqual(r.kind, .integer, t)
                XCTAssertEqual(r.integer, want, t)
                // As a number, the literal keeps its value (1e20 written out is 1e20).
                XCTAssertEqual(r.double, strtod(t, nil), t)
            }
        }
        withRoot("9223372036854775807") { r in XCTAssertEqual(r.double, 9223372036854775807.0) }
        withRoot("[9223372036854775808, 1]") { r in
            XCTAssertEqual(r.element(0)?.integer, Int64.max)
            XCTAssertEqual(r.element(1)?.integer, 1, "clamping one literal leaves the next alone")
        }
    }

    func testDoubles() {
        let cases: [(String, Double)] = [
            ("0.1", 0.1), ("1e-7", 1e-7), ("1E-7", 1e-7), ("1e308", 1e308), ("-1.5", -1.5), ("2.5e-3", 0.0025),
            ("1E+2", 100), ("1e2", 100), ("0.0", 0), ("0e0", 0), ("1e05", 1e5), ("3.141592653589793", Double.pi),
            ("1.7976931348623157e308", Double.greatestFiniteMagnitude), ("4.9e-324", Double.leastNonzeroMagnitude),
            ("2.2250738585072014e-308", 2.2250738585072014e-308), ("0.30000000000000004", 0.30000000000000004),
            ("-0.000001", -1e-6), ("123456789012345678901234567890.5", Double("123456789012345678901234567890.5")!),
            ("0.1000000000000000055511151231257827", 0.1), ("9007199254740993.0", 9007199254740992),
        ]
        for (t, want) in cases {
            withRoot(t) { r in
                XCTAssertEqual(r.kind, .number, t)
                XCTAssertNil(r.integer, "\(t) has a fraction or exponent: not an integer")
                XCTAssertEqual(r.double, want, t)
                XCTAssertEqual(r.double?.bitPattern, want.bitPattern, "\(t): correctly rounded")
                XCTAssertEqual(r.double?.bitPattern, Double(t)?.bitPattern, "\(t): as Swift reads it")
            }
        }
        withRoot("-0.0") { r in
            XCTAssertEqual(r.kind, .number)
            XCTAssertEqual(r.double, 0)
            XCTAssertEqual(r.double?.sign, .minus, "-0.0 keeps its sign")
        }
        withRoot("-0e0") { XCTAssertEqual($0.double?.sign, .minus) }
        // Beyond the double range: strtod's infinity (the spec's range checks refuse it).
        withRoot("1e400") { XCTAssertEqual($0.double, .infinity) }
        withRoot("-1e400") { XCTAssertEqual($0.double, -.infinity) }
        withRoot("1e-400") { XCTAssertEqual($0.double, 0) }
    }

    func testDoublesIgnoreTheLocale() {
        // cs_parse_double reads in the C locale: "0.5" is 0.5 whatever the host's decimal point.
        withRoot("[0.5, 1.25e1]") { r in
            XCTAssertEqual(r.element(0)?.double, 0.5)
            XCTAssertEqual(r.element(1)?.double, 12.5)
        }
    }

    // MARK: - strings

    func testStrings() {
        withRoot(#""""#) { r in
            XCTAssertEqual(r.kind, .string)
            XCTAssertEqual(bytes(r), [])
        }
        withRoot(#""abc def""#) { XCTAssertEqual(text($0), "abc def") }
        withRoot(#""\"\\\/\b\f\n\r\t""#) { XCTAssertEqual(bytes($0), [0x22, 0x5c, 0x2f, 0x08, 0x0c, 0x0a, 0x0d, 0x09]) }
        withRoot(#""\u0041\u00e9\u00E9\u20AC\uFFFF""#) {
            XCTAssertEqual(bytes($0), [0x41, 0xc3, 0xa9, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xef, 0xbf, 0xbf])
        }
        withRoot(#""\u0001\u001f\u007f\u0080\u07ff\u0800""#) {
            XCTAssertEqual(bytes($0), [0x01, 0x1f, 0x7f, 0xc2, 0x80, 0xdf, 0xbf, 0xe0, 0xa0, 0x80])
        }
        // Surrogate pairs become one 4-byte UTF-8 sequence.
        withRoot(#""\ud83d\ude00""#) { XCTAssertEqual(bytes($0), [0xf0, 0x9f, 0x98, 0x80]) }
        withRoot(#""\uD800\uDC00""#) { XCTAssertEqual(bytes($0), [0xf0, 0x90, 0x80, 0x80]) }
        withRoot(#""\uDBFF\uDFFF""#) { XCTAssertEqual(bytes($0), [0xf4, 0x8f, 0xbf, 0xbf]) }
        withRoot(#""a\ud83d\ude00b\ud83d\ude00""#) { XCTAssertEqual(text($0), "a😀b😀") }
        // Raw UTF-8 passes through unchanged; so does DEL (not a control character in JSON).
        withRoot("\"é€😀\u{10FFFF}\u{7f}\"") { XCTAssertEqual(text($0), "é€😀\u{10FFFF}\u{7f}") }
        // Valid UTF-8 at the edges of each range.
        let edges: [[UInt8]] = [[0xc2, 0x80], [0xdf, 0xbf], [0xe0, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xee, 0x80, 0x80],
                                [0xef, 0xbf, 0xbf], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf]]
        for e in edges {
            withDocument([0x22] + e + [0x22]) { doc in
                XCTAssertEqual(bytes(doc.root), e, "\(e)")
            }
        }
    }

    // MARK: - containers

    func testEmptyContainers() {
        withRoot("[]") { r in
            XCTAssertEqual(r.kind, .array)
            XCTAssertEqual(r.count, 0)
            XCTAssertNil(r.element(0))
        }
        withRoot("{}") { r in
            XCTAssertEqual(r.kind, .object)
            XCTAssertEqual(r.count, 0)
            XCTAssertNil(r.member("a"))
        }
        withRoot(" [ ] ") { XCTAssertEqual($0.count, 0) }
        withRoot("{ \n\t\r }") { XCTAssertEqual($0.count, 0) }
        withRoot("[[],{},[[]],{\"a\":{}}]") { r in
            XCTAssertEqual(r.count, 4)
            XCTAssertEqual(r.element(0)?.kind, .array)
            XCTAssertEqual(r.element(0)?.count, 0)
            XCTAssertEqual(r.element(1)?.kind, .object)
            XCTAssertEqual(r.element(2)?.count, 1)
            XCTAssertEqual(r.element(2)?.element(0)?.count, 0)
            XCTAssertEqual(r.element(3)?.member("a")?.kind, .object)
        }
    }

    func testNestingAndAccessors() throws {
        let t = """
             { "input" : 4 , "layers" : [ { "units" : 3 , "activation" : "relu" } , [ 1 , [ 2 , [ ] ] , { } ] , null ] ,
              "x": {"y": {"z": [true, false, -1.5e1]}}, "s": "t" }
            """
        try withRoot(t) { r in
            XCTAssertEqual(r.kind, .object)
            XCTAssertEqual(r.count, 4)
            XCTAssertEqual(r.member("input")?.integer, 4)
            let layers = try XCTUnwrap(r.member("layers"))
            XCTAssertEqual(layers.kind, .array)
            XCTAssertEqual(layers.count, 3)
            XCTAssertEqual(layers.element(0)?.member("units")?.integer, 3)
            XCTAssertEqual(text(layers.element(0)?.member("activation")), "relu")
            let inner = try XCTUnwrap(layers.element(1))
            XCTAssertEqual(inner.count, 3)
            XCTAssertEqual(inner.element(0)?.integer, 1)
            XCTAssertEqual(inner.element(1)?.element(0)?.integer, 2)
            XCTAssertEqual(inner.element(1)?.element(1)?.count, 0)
            XCTAssertEqual(inner.element(2)?.kind, .object)
            XCTAssertEqual(layers.element(2)?.kind, .null)
            XCTAssertNil(layers.element(3))
            XCTAssertNil(layers.element(-1))
            XCTAssertEqual(r.member("x")?.member("y")?.member("z")?.element(2)?.double, -15)
            XCTAssertEqual(r.member("x")?.member("y")?.member("z")?.element(1)?.boolean, false)
            XCTAssertEqual(text(r.member("s")), "t")
            XCTAssertNil(r.member("missing"))
            XCTAssertNil(r.member("inpu"), "no prefix matches")
            XCTAssertNil(layers.member("input"), "member of an array")
            // element(k) of an object is its k-th member.
            XCTAssertEqual(r.element(0)?.integer, 4)
            XCTAssertEqual(text(r.element(3)), "t")
            XCTAssertNil(r.element(4))
        }
    }

    func testForEach() throws {
        try withRoot(#"{"b": 1, "a": [10, 20, 30], "\u0063": "x", "": null}"#) { r in
            var keys: [String] = []
            var kinds: [JSONKind] = []
            try r.forEachMember { key, value in
                keys.append(String(cString: key))
                kinds.append(value.kind)
            }
            XCTAssertEqual(keys, ["b", "a", "c", ""], "document order, escapes decoded")
            XCTAssertEqual(kinds, [.integer, .array, .string, .null])
            var seen: [(Int, Int64)] = []
            try r.member("a")!.forEachElement { k, v in seen.append((k, v.integer ?? -1)) }
            XCTAssertEqual(seen.map { $0.0 }, [0, 1, 2])
            XCTAssertEqual(seen.map { $0.1 }, [10, 20, 30])
            // forEachMember on an array and forEachElement on an object do nothing.
            var calls = 0
            try r.member("a")!.forEachMember { _, _ in calls += 1 }
            try r.forEachElement { _, _ in calls += 1 }
            try r.member("b")!.forEachElement { _, _ in calls += 1 }
            XCTAssertEqual(calls, 0)
        }
        // An error thrown by the body comes out of forEachMember, and stops it.
        withRoot(#"{"a": 1, "b": 2, "c": 3}"#) { r in
            var visited = 0
            do throws(SwannError) {
                try r.forEachMember { (key, _) throws(SwannError) in
                    visited += 1
                    if strcmp(key, "b") == 0 { throw Failure("b").error(.spec) }
                }
                XCTFail("no error")
            } catch {
                XCTAssertEqual(error.status, .spec)
            }
            XCTAssertEqual(visited, 2)
        }
    }

    func testSameKeysInDifferentObjectsAreFine() {
        withRoot(#"{"a": {"a": {"a": 1}}, "b": {"a": 2, "b": 3}}"#) { r in
            XCTAssertEqual(r.member("a")?.member("a")?.member("a")?.integer, 1)
            XCTAssertEqual(r.member("b")?.member("b")?.integer, 3)
        }
        withRoot(#"[{"a": 1, "b": 2}, {"a": 3, "b": 4}, {"b": 5, "a": 6}]"#) { r in
            XCTAssertEqual(r.element(2)?.member("a")?.integer, 6)
        }
        // Same key text as a string value elsewhere, and keys that are prefixes of each other.
        XCTAssertTrue(accepts(#"{"a": "a", "ab": 1, "abc": {"ab": 2, "a": 3}, "b": ["a", "a"]}"#))
        // Many objects with the same keys, one after another and nested (one scratch serves every object).
        let many = "[" + (0..<500).map { #"{"k\#($0 % 7)": {"x": 1, "y": 2}, "z": [{"x": 1}]}"# }.joined(separator: ",") + "]"
        XCTAssertTrue(accepts(many))
    }

    func testManyKeysNoDuplicate() {
        let n = 5000
        let big = "{" + (0..<n).map { "\"key\($0)\": \($0)" }.joined(separator: ", ") + "}"
        withRoot(big) { r in
            XCTAssertEqual(r.count, n)
            XCTAssertEqual(r.element(n - 1)?.integer, Int64(n - 1))
        }
    }

    // MARK: - cost of the duplicate-key check (issue #13)

    /// 32-bit FNV-1a, the unseeded hash the reader's duplicate-key table used before issue #13.
    func fnv1a(_ key: [UInt8]) -> UInt32 {
        var h: UInt32 = 2166136261
        for b in key { h = (h ^ UInt32(b)) &* 16777619 }
        return h
    }

    /// `n` distinct keys ("k" and base-36 digits) whose FNV-1a hashes all land in the first
    /// `window` slots of the table that reader sized for an object of `n` members (the
    /// smallest power of two >= 2n): each insertion probed past every key before it.
    func collidingKeys(_ n: Int, window: Int) -> [[UInt8]] {
        var size = 1
        while size < 2 * n { size *= 2 }
        let digits = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)
        var keys: [[UInt8]] = []
        var i = 0
        while keys.count < n {
            var key: [UInt8] = []
            var v = i
            repeat { key.append(digits[v % 36]); v /= 36 } while v > 0
            key.append(0x6b)  // "k"
            key.reverse()
            if Int(fnv1a(key)) & (size - 1) < window { keys.append(key) }
            i += 1
        }
        return keys
    }

    /// Random distinct keys of the same lengths as `like`.
    func randomKeys(like: [[UInt8]], seed: UInt64) -> [[UInt8]] {
        var rng = TestRNG(seed)
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        var seen = Set<[UInt8]>()
        return like.map { model in
            while true {
                let key = [0x6b] + (1..<model.count).map { _ in letters[Int(rng.next() % 36)] }
                if seen.insert(key).inserted { return key }
            }
        }
    }

    /// The duplicate-key check's work (JSONDocument.keyComparisons) for one object with these keys;
    /// nil when the object is refused.
    func keyWork(_ keys: [[UInt8]]) -> Int? {
        var text: [UInt8] = [0x7b]
        for (k, key) in keys.enumerated() {
            if k > 0 { text.append(0x2c) }
            text += [0x22] + key + Array("\":0".utf8)
        }
        text.append(0x7d)
        return withDocument(text) { $0.root == nil ? nil : $0.keyComparisons }
    }

    func testDuplicateCheckCostDoesNotDependOnTheKeys() throws {
        // Before issue #13, keys crafted against the reader's fixed hash made the check
        // quadratic: 2,048 such keys cost about 2,000,000 probes against about 3,000 for
        // random keys. Whatever the keys, the check now costs at most a merge sort's
        // comparisons and a pass over neighbours: n ceil(log2 n) + n.
        let n = 2048
        let colliding = collidingKeys(n, window: 32)
        let random = randomKeys(like: colliding, seed: 13)
        // One long shared prefix: every comparison of equal lengths reads 100 bytes before it decides.
        let prefixed = random.map { Array(repeating: UInt8(0x70), count: 100) + $0 }
        let ordered = (0..<n).map { Array("layers.\($0).weight".utf8) }  // document order is sorted order
        let workRandom = try XCTUnwrap(keyWork(random))
        let workColliding = try XCTUnwrap(keyWork(colliding))
        let workPrefixed = try XCTUnwrap(keyWork(prefixed))
        let workOrdered = try XCTUnwrap(keyWork(ordered))
        let bound = n * 11 + n  // n = 2^11
        XCTAssertLessThan(Double(workColliding), 2 * Double(workRandom),
                          "colliding keys \(workColliding) vs random keys \(workRandom)")
        for (name, work) in [("random", workRandom), ("colliding", workColliding), ("prefixed", workPrefixed),
                             ("ordered", workOrdered)] {
            XCTAssertLessThanOrEqual(work, bound, "\(name) keys: \(work) comparisons for \(n) keys")
        }
        // The check still finds a duplicate hidden among them.
        var twice = colliding
        twice.insert(colliding[n / 2], at: n / 3)
        XCTAssertNil(keyWork(twice))
        XCTAssertNil(keyWork(prefixed + [prefixed[0]]))
    }

    func testValueLimit() {
        // "[1,2,3]" is four values: the array and its elements.
        XCTAssertTrue(accepts("[1,2,3]", maxValues: 4))
        assertRefused("[1,2,3]", .tooManyValues, at: 5, maxValues: 3)
        XCTAssertTrue(accepts("1", maxValues: 1))
        XCTAssertTrue(accepts("[]", maxValues: 1))
        assertRefused("[1]", .tooManyValues, at: 1, maxValues: 1)
        XCTAssertTrue(accepts(#"{"a": {"b": null}}"#, maxValues: 3))
        assertRefused(#"{"a": {"b": null}}"#, .tooManyValues, at: 12, maxValues: 2)
        // parseSpec's limit: 65 536 values.
        let limit = 1 << 16
        let atLimit = "[" + Array(repeating: "0", count: limit - 1).joined(separator: ",") + "]"
        XCTAssertTrue(accepts(atLimit, maxValues: limit))
        let over = "[" + Array(repeating: "0", count: limit).joined(separator: ",") + "]"
        assertRefused(over, .tooManyValues, at: 1 + 2 * (limit - 1), maxValues: limit)
    }

    func testReleaseAndReuse() {
        let bytes = Array(#"{"a": [1, "x"]}"#.utf8) + [0]
        bytes.withUnsafeBufferPointer { buf in
            let p = UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self)
            var doc = JSONDocument(p, length: bytes.count - 1)
            XCTAssertNotNil(doc.root)
            doc.release()
            XCTAssertNil(doc.root)
            doc.release()  // twice is harmless
            var refused = JSONDocument(p, length: 3)
            XCTAssertNil(refused.root)
            XCTAssertNotNil(refused.problem)
            refused.release()
        }
    }

    // MARK: - depth

    func testDepthBoundary() {
        // maxDepth 64 counts containers: a container at depth d (the root's is 0) needs d < 64.
        XCTAssertEqual(JSONDocument.maxDepth, 64)
        XCTAssertTrue(accepts(nested("[", 64, "", "]")), "64 nested arrays")
        XCTAssertTrue(accepts(nested("[", 64, "1", "]")), "a scalar inside the 64th array")
        XCTAssertTrue(accepts(nested("[", 63, "{}", "]")))
        assertRefused(nested("[", 65, "", "]"), .depth, at: 64)
        assertRefused(nested("[", 64, "{}", "]"), .depth, at: 64)
        assertRefused(nested("[", 200, "", "]"), .depth, at: 64)
        // Objects count the same; the offset is the refused container's first byte.
        XCTAssertTrue(accepts(nested(#"{"a":"#, 63, "{}", "}")))
        XCTAssertTrue(accepts(nested(#"{"a":"#, 64, "1", "}")))
        assertRefused(nested(#"{"a":"#, 64, "{}", "}"), .depth, at: 64 * 5)
        assertRefused(nested(#"{"a": "#, 65, "1", "}"), .depth, at: 64 * 6)
        // Mixed, and deep in a later sibling.
        let mixed = nested(#"[{"k":"#, 32, "[]", "}]")  // 65 containers
        assertRefused(mixed, .depth, at: 32 * 6)
        XCTAssertTrue(accepts("[" + nested("[", 62, "", "]") + "," + nested("[", 63, "0", "]") + "]"))
        assertRefused("[" + nested("[", 63, "", "]") + "," + nested("[", 64, "0", "]") + "]", .depth, at: 1 + 126 + 1 + 63)
    }

    // MARK: - refusals

    func testNumberRefusals() {
        assertRefused("01", .trailing, at: 1)
        assertRefused("-01", .trailing, at: 2)
        assertRefused("[01]", .syntax, at: 2, detail: "expected ',' or ']'")
        assertRefused("00", .trailing, at: 1)
        assertRefused("1.", .syntax, at: 2, detail: "a number needs a digit after '.'")
        assertRefused("[1.]", .syntax, at: 3, detail: "a number needs a digit after '.'")
        assertRefused("1.e5", .syntax, at: 2, detail: "a number needs a digit after '.'")
        assertRefused(".5", .syntax, at: 0, detail: "unexpected character")
        assertRefused("-.5", .syntax, at: 1, detail: "a number needs a digit here")
        assertRefused("+1", .syntax, at: 0, detail: "unexpected character")
        assertRefused("-", .syntax, at: 1, detail: "a number needs a digit here")
        assertRefused("--1", .syntax, at: 1, detail: "a number needs a digit here")
        assertRefused("1e", .syntax, at: 2, detail: "a number needs a digit in its exponent")
        assertRefused("1e+", .syntax, at: 3, detail: "a number needs a digit in its exponent")
        assertRefused("1E-x", .syntax, at: 3, detail: "a number needs a digit in its exponent")
        assertRefused("0x10", .trailing, at: 1)
        assertRefused("1_000", .trailing, at: 1)
        assertRefused("NaN", .syntax, at: 0)
        assertRefused("Infinity", .syntax, at: 0)
        assertRefused("-Infinity", .syntax, at: 1, detail: "a number needs a digit here")
        assertRefused("[1, 2.5.5]", .syntax, at: 7)
    }

    func testStructureRefusals() {
        assertRefused("", .syntax, at: 0, detail: "unexpected end of text")
        assertRefused("   ", .syntax, at: 3, detail: "unexpected end of text")
        assertRefused("[1,]", .syntax, at: 3, detail: "unexpected character")
        assertRefused("[,1]", .syntax, at: 1)
        assertRefused("[1,,2]", .syntax, at: 3)
        assertRefused("[1 2]", .syntax, at: 3, detail: "expected ',' or ']'")
        assertRefused(#"{"a":1,}"#, .syntax, at: 7, detail: "expected a string key")
        assertRefused(#"{,}"#, .syntax, at: 1, detail: "expected a string key")
        assertRefused(#"{"a" 1}"#, .syntax, at: 5, detail: "expected ':' after a key")
        assertRefused(#"{"a"}"#, .syntax, at: 4, detail: "expected ':' after a key")
        assertRefused(#"{"a":1 "b":2}"#, .syntax, at: 7, detail: "expected ',' or '}'")
        assertRefused(#"{a:1}"#, .syntax, at: 1, detail: "expected a string key")
        assertRefused(#"{1:1}"#, .syntax, at: 1, detail: "expected a string key")
        assertRefused("[1", .syntax, at: 2, detail: "unexpected end of text")
        assertRefused(#"{"a":"#, .syntax, at: 5, detail: "unexpected end of text")
        assertRefused(#"{"a""#, .syntax, at: 4, detail: "expected ':' after a key")
        assertRefused("{", .syntax, at: 1, detail: "unexpected end of text")
        assertRefused(#""abc"#, .syntax, at: 4, detail: "unterminated string")
        assertRefused(#""abc\"#, .syntax, at: 4, detail: "unterminated string")
        assertRefused("]", .syntax, at: 0, detail: "unexpected character")
        assertRefused("tru", .syntax, at: 0)
        assertRefused("True", .syntax, at: 0)
        assertRefused("nul", .syntax, at: 0)
        assertRefused("nulll", .trailing, at: 4)
        assertRefused("[true false]", .syntax, at: 6)
        assertRefused("/* c */ 1", .syntax, at: 0)
        assertRefused("1 // c", .trailing, at: 2)
        // Only space, tab, CR and LF are whitespace.
        assertRefused("\u{0c}1", .syntax, at: 0)
        assertRefused("[1,\u{0b}2]", .syntax, at: 3)
        assertRefused("1\u{a0}", .trailing, at: 1)
    }

    func testTrailingText() {
        assertRefused("1 x", .trailing, at: 2)
        assertRefused("{}{}", .trailing, at: 2)
        assertRefused("[1]]", .trailing, at: 3)
        assertRefused(#"{"a":1} ,"#, .trailing, at: 8)
        XCTAssertTrue(accepts("[1] \n\t\r "))
        XCTAssertTrue(accepts(" \n{}"))
    }

    func testQuotesAndControlCharacters() {
        assertRefused("'a'", .singleQuote, at: 0)
        assertRefused("{'a': 1}", .singleQuote, at: 1)
        assertRefused(#"{"a": 'b'}"#, .singleQuote, at: 6)
        assertRefused(#"["a", 'b']"#, .singleQuote, at: 6)
        assertRefused("\"a\u{01}b\"", .controlCharacter, at: 2)
        assertRefused("\"\t\"", .controlCharacter, at: 1)
        assertRefused("\"a\nb\"", .controlCharacter, at: 2)
        assertRefused("\"\u{1f}\"", .controlCharacter, at: 1)
        assertRefused("{\"k\u{0d}\": 1}", .controlCharacter, at: 3)
    }

    func testEscapeRefusals() {
        assertRefused(#""\u0000""#, .nulEscape, at: 1)
        assertRefused(#"["ok", "ab\u0000"]"#, .nulEscape, at: 10)
        assertRefused(#"{"\u0000": 1}"#, .nulEscape, at: 2)
        assertRefused(#""\ud800""#, .badEscape, at: 1, detail: "a high surrogate without its low half")
        assertRefused(#""\uDBFF x""#, .badEscape, at: 1, detail: "a high surrogate without its low half")
        assertRefused(#""\udc00""#, .badEscape, at: 1, detail: "a lone low surrogate")
        assertRefused(#""x\udfff\ud800""#, .badEscape, at: 2, detail: "a lone low surrogate")
        assertRefused(#""x\ud800\u0041""#, .badEscape, at: 2, detail: "a high surrogate without its low half")
        assertRefused(#""\ud800\ud800""#, .badEscape, at: 1, detail: "a high surrogate without its low half")
        assertRefused(#""\ud800\n""#, .badEscape, at: 1, detail: "a high surrogate without its low half")
        assertRefused(#""\ud800\u12""#, .badEscape, at: 1, detail: "a high surrogate without its low half")
        assertRefused(#""\ud800"#, .badEscape, at: 1, detail: "a high surrogate without its low half")
        assertRefused(#""\x""#, .badEscape, at: 1, detail: "unknown escape")
        assertRefused(#""\U0041""#, .badEscape, at: 1, detail: "unknown escape")
        assertRefused(#""\'""#, .badEscape, at: 1, detail: "unknown escape")
        assertRefused(#""\0""#, .badEscape, at: 1, detail: "unknown escape")
        assertRefused(#""ab\u12""#, .badEscape, at: 3, detail: "\\u needs four hex digits")
        assertRefused(#""\u12G4""#, .badEscape, at: 1, detail: "\\u needs four hex digits")
        assertRefused(#""\u""#, .badEscape, at: 1, detail: "\\u needs four hex digits")
        assertRefused(#""\u004"#, .badEscape, at: 1, detail: "\\u needs four hex digits")
        assertRefused("\"\\u00\u{e9}9\"", .badEscape, at: 1, detail: "\\u needs four hex digits")
    }

    func testInvalidUTF8() {
        let bad: [[UInt8]] = [
            [0x80], [0xbf],                          // a continuation byte alone
            [0xc0, 0x80], [0xc1, 0xbf],              // overlong 2-byte
            [0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf],  // overlong 3-byte
            [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf],  // UTF-16 surrogates
            [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x8f, 0xbf, 0xbf],  // overlong 4-byte
            [0xf4, 0x90, 0x80, 0x80],                // above U+10FFFF
            [0xf5, 0x80, 0x80, 0x80], [0xf7, 0xbf, 0xbf, 0xbf], [0xf8, 0x88, 0x80, 0x80, 0x80],
            [0xfe], [0xff],
            [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98],  // truncated by the closing quote
            [0xc3, 0x28], [0xe2, 0x28, 0xa1], [0xf0, 0x9f, 0x98, 0x28],  // a non-continuation inside
        ]
        for b in bad {
            assertRefused([0x22] + b + [0x22], .badUTF8, at: 1)
            assertRefused(Array(#"{"k": "ab"#.utf8) + b + [0x22, 0x7d], .badUTF8, at: 9)
        }
        // Truncated by the end of the text.
        assertRefused([0x22, 0xe2, 0x82], .badUTF8, at: 1)
        // Outside strings any byte >= 0x80 is a syntax error; a BOM too.
        assertRefused([0xef, 0xbb, 0xbf] + Array("{}".utf8), .syntax, at: 0, detail: "unexpected character")
        assertRefused(Array("[1,".utf8) + [0xc3, 0xa9] + Array("]".utf8), .syntax, at: 3)
    }

    func testDuplicateKeys() {
        assertRefused(#"{"a":1,"a":2}"#, .duplicateKey, at: 0, detail: "in the object that starts here")
        assertRefused(#"{"a":1,"b":2,"a":3}"#, .duplicateKey, at: 0)
        assertRefused(#"{"x": {"a": 1, "b": 2, "a": 3}}"#, .duplicateKey, at: 6)
        assertRefused(#"[1, {"a": 1}, {"b": 1, "b": 1}]"#, .duplicateKey, at: 14)
        // Keys are compared decoded: an escape is the same key.
        assertRefused(#"{"a":1,"\u0061":2}"#, .duplicateKey, at: 0)
        assertRefused(#"{"é":1,"\u00e9":2}"#, .duplicateKey, at: 0)
        assertRefused(#"{"":1,"":2}"#, .duplicateKey, at: 0)
        // The inner object is complete (and fine) before the outer one is checked.
        assertRefused(#"{"a": {"a": 1}, "a": 2}"#, .duplicateKey, at: 0)
        // Far apart in a big object.
        let n = 3000
        let far = "{" + (0..<n).map { "\"k\($0)\": \($0)" }.joined(separator: ", ") + #", "k0": 0}"#
        assertRefused(far, .duplicateKey, at: 0)
        let far2 = #"{"pad": 0, "deep": "# + "{" + (0..<n).map { "\"k\($0)\": [\($0)]" }.joined(separator: ",")
            + #", "k\#(n - 1)": null}}"#
        assertRefused(far2, .duplicateKey, at: 19)
        // Many duplicates-free objects first, then one with a duplicate.
        let later = "[" + Array(repeating: #"{"a":1,"b":2}"#, count: 100).joined(separator: ",") + #",{"b":1,"b":2}]"#
        assertRefused(later, .duplicateKey, at: 1 + 100 * 14)
    }

    func testDuplicateKeysAroundTheCachedHead() {
        // Keys are sorted by length, then by their first 8 bytes (kept as an integer), then by the rest.
        XCTAssertTrue(accepts(#"{"abcdefgh": 1, "abcdefgi": 2, "abcdefghX": 3, "abcdefghY": 4, "abcdefg": 5, "#
                              + #""abcdefgh\u0001": 6, "abcdefghijklmnoX": 7, "abcdefghijklmnoY": 8, "": 9}"#))
        XCTAssertTrue(accepts("{\"\u{e9}\": 1, \"e\": 2, \"\u{ff}\u{ff}\": 3, \"\u{fe}\u{ff}\": 4, \"\u{7f}\": 5}"))
        assertRefused(#"{"abcdefgh": 1, "x": 2, "abcdefgh": 3}"#, .duplicateKey, at: 0)
        assertRefused(#"{"abcdefghijk": 1, "abcdefghijj": 2, "abcdefghijk": 3}"#, .duplicateKey, at: 0)
        assertRefused(#"{"abcdefghijklmnopq": 1, "abcdefghijklmnopr": 2, "abcdefghijklmnopq": 3}"#, .duplicateKey, at: 0)
        assertRefused("{\"\u{ff}\u{ff}x\": 1, \"\u{ff}\u{ff}y\": 2, \"\u{ff}\u{ff}x\": 3}", .duplicateKey, at: 0)
        // Every position of the duplicate in an object of 9 keys (merge runs of odd sizes).
        let keys = (0..<9).map { "\"k\($0)\": \($0)" }
        for at in 0...9 {
            var members = keys
            members.insert(#""k4": 0"#, at: at)
            assertRefused("{" + members.joined(separator: ",") + "}", .duplicateKey, at: 0)
        }
    }

    func testEmbeddedNULInsideLength() {
        // The reader takes a length, not a C string: a NUL byte is just a byte.
        assertRefused([0x5b, 0x31, 0x5d, 0x00], .trailing, at: 3)
        assertRefused([0x31, 0x00], .trailing, at: 1)
        assertRefused([0x00, 0x31], .syntax, at: 0)
        assertRefused([0x22, 0x61, 0x00, 0x62, 0x22], .controlCharacter, at: 2)
        assertRefused([0x5b, 0x31, 0x2c, 0x00, 0x32, 0x5d], .syntax, at: 3)
        // And a text shorter than its buffer ends where length says.
        let bytes = Array("[1] garbage".utf8) + [0]
        bytes.withUnsafeBufferPointer { buf in
            let p = UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self)
            var doc = JSONDocument(p, length: 3)
            XCTAssertEqual(doc.root?.element(0)?.integer, 1)
            doc.release()
            var cut = JSONDocument(p, length: 2)
            XCTAssertEqual(cut.problem, .syntax)
            XCTAssertEqual(cut.offset, 2)
            cut.release()
        }
    }

    func testOffsetsStayInsideTheText() {
        // Every prefix of a valid text is refused (but the ones that are complete values),
        // at an offset within the prefix.
        let full = Array(#"{"a": [1, -2.5e3, "x\u00e9\ud83d\ude00", true, null, {"b": false}], "c": "é"}"#.utf8)
        for k in 0..<full.count {
            let prefix = Array(full.prefix(k))
            withDocument(prefix) { doc in
                XCTAssertNil(doc.root, "prefix \(k) accepted")
                XCTAssertTrue(doc.offset >= 0 && doc.offset <= k, "prefix \(k): offset \(doc.offset)")
            }
        }
        XCTAssertTrue(accepts(full))
    }
}
