import XCTest
@testable import Swann

/// `Gemm.multiply` against a naive Double triple loop, over shapes that cross
/// the micro-tile (6 x 16), the MC (96), KC (256) and NC (2048) block edges,
/// with padded leading dimensions and guard zones after every buffer.
final class GemmTests: XCTestCase {
    static let guardCount = 64
    static let sentinel = Float(bitPattern: 0x7FC0_BEEF)  // a NaN with a recognisable payload

    /// Runs one product and checks it; returns false on the first failure (to keep logs short).
    @discardableResult
    func check(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, accumulate: Bool,
               padA: Int = 0, padB: Int = 0, padC: Int = 0, seed: UInt64 = 1, packCols: Int = Gemm.nc,
               file: StaticString = #filePath, line: UInt = #line) -> Bool {
        var rng = TestRNG(seed &+ UInt64(m * 1_000_003 + n * 1009 + k) &+ (transA ? 7 : 0) &+ (transB ? 13 : 0))
        let label = "m=\(m) n=\(n) k=\(k) transA=\(transA) transB=\(transB) accumulate=\(accumulate) pads=\(padA),\(padB),\(padC)"

        // op(A) is m x k: stored m x k (row-major) or, transposed, k x m.
        let aRows = transA ? k : m, aCols = transA ? m : k
        let lda = max(aCols, 1) + padA
        // op(B) is k x n: stored k x n or, transposed, n x k.
        let bRows = transB ? n : k, bCols = transB ? k : n
        let ldb = max(bCols, 1) + padB
        let ldc = max(n, 1) + padC

        // Padding columns hold NaN: reading them into a valid lane would poison C.
        var a = [Float](repeating: .nan, count: aRows * lda + 1)
        for r in 0..<aRows { for c in 0..<aCols { a[r * lda + c] = Float(rng.uniform(-1, 1)) } }
        var b = [Float](repeating: .nan, count: bRows * ldb + 1)
        for r in 0..<bRows { for c in 0..<bCols { b[r * ldb + c] = Float(rng.uniform(-1, 1)) } }

        let g = GemmTests.guardCount, sentinel = GemmTests.sentinel
        var cBuf = [Float](repeating: sentinel, count: m * ldc + g)
        for i in 0..<m {
            for j in 0..<n {
                // Without accumulate C must be overwritten, never read: start it at NaN.
                cBuf[i * ldc + j] = accumulate ? Float(rng.uniform(-1, 1)) : .nan
            }
        }
        let c0 = cBuf

        let sizes = Gemm.packSizes(maxM: m, maxN: n, maxK: k, cols: packCols)
        var packA = [Float](repeating: sentinel, count: sizes.a + g)
        var packB = [Float](repeating: sentinel, count: sizes.b + g)
        var tile = [Float](repeating: sentinel, count: Gemm.mr * Gemm.nr + g)

        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                cBuf.withUnsafeMutableBufferPointer { cp in
                    packA.withUnsafeMutableBufferPointer { pa in
                        packB.withUnsafeMutableBufferPointer { pb in
                            tile.withUnsafeMutableBufferPointer { tp in
                                let work = Gemm.Workspace(packA: pa.baseAddress!, packB: pb.baseAddress!,
                                                          tile: tp.baseAddress!,
                                                          packCols: Gemm.roundUp(max(packCols, Gemm.nr), Gemm.nr))
                                Gemm.multiply(m: m, n: n, k: k,
                                              a: ap.baseAddress!, lda: lda, transA: transA,
                                              b: bp.baseAddress!, ldb: ldb, transB: transB,
                                              c: cp.baseAddress!, ldc: ldc, accumulate: accumulate, work: work)
                            }
                        }
                    }
                }
            }
        }

        // Guard zones untouched.
        let guards: [(String, ArraySlice<Float>)] = [
            ("after C", cBuf[(m * ldc)...]),
            ("after packA", packA[sizes.a...]),
            ("after packB", packB[sizes.b...]),
            ("after tile", tile[(Gemm.mr * Gemm.nr)...]),
        ]
        for (name, slice) in guards where slice.contains(where: { $0.bitPattern != sentinel.bitPattern }) {
            XCTFail("\(label): wrote past the end (\(name))", file: file, line: line)
            return false
        }

        // Reference, in Double, with the rigorous float accumulation bound:
        // op(A) as m x k and op(B)^T as n x k, both dense, so the inner loop is contiguous.
        var opA = [Double](repeating: 0, count: m * k), opBT = [Double](repeating: 0, count: n * k)
        for i in 0..<m { for p in 0..<k { opA[i * k + p] = Double(transA ? a[p * lda + i] : a[i * lda + p]) } }
        for j in 0..<n { for p in 0..<k { opBT[j * k + p] = Double(transB ? b[j * ldb + p] : b[p * ldb + j]) } }
        let eps = Double(Float.ulpOfOne)
        var bad: String? = nil
        opA.withUnsafeBufferPointer { ra in
            opBT.withUnsafeBufferPointer { rb in
                cBuf.withUnsafeBufferPointer { cp in
                    c0.withUnsafeBufferPointer { c0p in
                        for i in 0..<m where bad == nil {
                            let ar = ra.baseAddress! + i * k
                            for j in 0..<n {
                                let br = rb.baseAddress! + j * k
                                var s = 0.0, mag = 0.0
                                for p in 0..<k {
                                    let t = ar[p] * br[p]
                                    s += t
                                    mag += t < 0 ? -t : t
                                }
                                if accumulate {
                                    let c = Double(c0p[i * ldc + j])
                                    s += c
                                    mag += Swift.abs(c)
                                }
                                let got = Double(cp[i * ldc + j])
                                if !(Swift.abs(got - s) <= Double(k + 2) * eps * mag + 1e-30) {
                                    bad = "C[\(i)][\(j)] = \(got), expected \(s)"
                                    break
                                }
                            }
                            // Padding columns of C untouched.
                            for j in n..<ldc where cp[i * ldc + j].bitPattern != sentinel.bitPattern {
                                bad = "wrote C padding column \(j) of row \(i)"
                            }
                        }
                    }
                }
            }
        }
        if let bad {
            XCTFail("\(label): \(bad)", file: file, line: line)
            return false
        }
        return true
    }

    static let flags = [(false, false), (false, true), (true, false), (true, true)]

    func testSmallShapesAllTransposesAndModes() {
        let sizes = [1, 5, 6, 7, 15, 16, 17]
        var failures = 0
        for m in sizes {
            for n in sizes {
                for k in sizes {
                    for (ta, tb) in GemmTests.flags {
                        for acc in [false, true] {
                            let pad = (m + n + k) % 3  // vary leading dimensions too
                            if !check(m: m, n: n, k: k, transA: ta, transB: tb, accumulate: acc,
                                      padA: pad, padB: 2 - pad, padC: pad + 1) {
                                failures += 1
                                if failures > 5 { return }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Few rows (m <= 4) or a short inner dimension (k <= 4) and their neighbours:
    /// whatever path the engine takes for them (streamed or packed) must agree.
    func testFewRowsAndShortInner() {
        var failures = 0
        for m in [1, 2, 3, 4, 5, 13] {
            for k in [1, 2, 3, 4, 5, 8, 9, 17] {
                for n in [1, 3, 4, 5, 16, 17, 33] {
                    for (ta, tb) in GemmTests.flags {
                        for acc in [false, true] {
                            let pad = (m + k + n) % 4
                            if !check(m: m, n: n, k: k, transA: ta, transB: tb, accumulate: acc,
                                      padA: pad, padB: 3 - pad, padC: pad % 2) {
                                failures += 1
                                if failures > 5 { return }
                            }
                        }
                    }
                }
            }
        }
        // Large sides with a small one.
        for (m, n, k) in [(4, 300, 257), (3, 2049, 9), (300, 257, 4), (97, 300, 1), (2, 17, 300)] {
            for (ta, tb) in GemmTests.flags {
                check(m: m, n: n, k: k, transA: ta, transB: tb, accumulate: ta == tb, padA: 1, padB: 2, padC: 3)
            }
        }
    }

    /// Shapes crossing MC = 96 (m), KC = 256 (k), and the ragged edges in n.
    func testBlockBoundaries() {
        let shapes: [(Int, Int, Int)] = [
            (95, 97, 255), (97, 95, 257), (96, 16, 256), (97, 17, 257),
            (300, 17, 300), (17, 300, 257), (255, 7, 300), (257, 6, 1),
            (1, 257, 300), (300, 1, 5), (193, 33, 513),
        ]
        for (m, n, k) in shapes {
            for (ta, tb) in GemmTests.flags {
                // Both accumulate modes per shape, alternating over the transposes (keeps the run short).
                check(m: m, n: n, k: k, transA: ta, transB: tb, accumulate: ta != tb, padA: 3, padB: 5, padC: 2)
            }
        }
    }

    /// Large products in the two layouts a layer uses most: forward (Y W^T) and gradient (dZ^T Y).
    func testLargeProduct() {
        check(m: 300, n: 257, k: 300, transA: false, transB: true, accumulate: true, padA: 1, padB: 0, padC: 3)
        check(m: 257, n: 300, k: 300, transA: true, transB: false, accumulate: false, padA: 0, padB: 2, padC: 0)
    }

    /// n beyond NC = 2048: a second column block.
    func testColumnBlockBoundary() {
        for (ta, tb) in GemmTests.flags {
            check(m: 7, n: 2049, k: 5, transA: ta, transB: tb, accumulate: false, padA: 1, padB: 1, padC: 1)
            check(m: 6, n: 2050, k: 257, transA: ta, transB: tb, accumulate: true, padA: 0, padB: 2, padC: 0)
        }
    }

    /// Large leading dimensions (a sub-matrix of a wider one).
    func testWideLeadingDimensions() {
        for (ta, tb) in GemmTests.flags {
            check(m: 17, n: 33, k: 19, transA: ta, transB: tb, accumulate: false, padA: 40, padB: 29, padC: 31)
            check(m: 6, n: 16, k: 1, transA: ta, transB: tb, accumulate: true, padA: 100, padB: 100, padC: 100)
        }
    }

    /// k = 0: C = 0 without accumulate, unchanged with it; m = 0 or n = 0 touch nothing.
    func testDegenerateSizes() {
        var dummy = [Float](repeating: 1, count: 8)
        var packA = [Float](repeating: 0, count: 8), packB = [Float](repeating: 0, count: 8)
        var tile = [Float](repeating: 0, count: Gemm.mr * Gemm.nr)
        let s = GemmTests.sentinel
        func run(m: Int, n: Int, k: Int, acc: Bool, c: inout [Float], ldc: Int) {
            dummy.withUnsafeMutableBufferPointer { dp in
                packA.withUnsafeMutableBufferPointer { pa in
                    packB.withUnsafeMutableBufferPointer { pb in
                        tile.withUnsafeMutableBufferPointer { tp in
                            c.withUnsafeMutableBufferPointer { cp in
                                Gemm.multiply(m: m, n: n, k: k, a: dp.baseAddress!, lda: 1, transA: false,
                                              b: dp.baseAddress!, ldb: 1, transB: false,
                                              c: cp.baseAddress!, ldc: ldc, accumulate: acc,
                                              work: Gemm.Workspace(packA: pa.baseAddress!, packB: pb.baseAddress!,
                                                                   tile: tp.baseAddress!))
                            }
                        }
                    }
                }
            }
        }
        // 3 x 2 block with ldc 4: the last two columns of each row are padding.
        var c = [Float](repeating: s, count: 12)
        for i in 0..<3 { c[i * 4] = 5; c[i * 4 + 1] = -2 }
        run(m: 3, n: 2, k: 0, acc: true, c: &c, ldc: 4)
        XCTAssertEqual(c.enumerated().filter { $0.offset % 4 < 2 }.map(\.element), [5, -2, 5, -2, 5, -2])
        run(m: 3, n: 2, k: 0, acc: false, c: &c, ldc: 4)
        XCTAssertEqual(c.enumerated().filter { $0.offset % 4 < 2 }.map(\.element), [0, 0, 0, 0, 0, 0])
        XCTAssertTrue(c.enumerated().filter { $0.offset % 4 >= 2 }.allSatisfy { $0.element.bitPattern == s.bitPattern },
                      "k = 0 wrote the padding of C")

        var untouched = [Float](repeating: s, count: 12)
        run(m: 0, n: 2, k: 3, acc: false, c: &untouched, ldc: 4)
        run(m: 3, n: 0, k: 3, acc: false, c: &untouched, ldc: 4)
        XCTAssertTrue(untouched.allSatisfy { $0.bitPattern == s.bitPattern }, "m = 0 or n = 0 wrote C")
    }

    func testPackSizesCoverBlocks() {
        // Panels are padded to whole micro-tiles and capped at one block.
        let small = Gemm.packSizes(maxM: 7, maxN: 17, maxK: 3, cols: Gemm.nc)
        XCTAssertEqual(small.a, 12 * 3)
        XCTAssertEqual(small.b, 32 * 3)
        let big = Gemm.packSizes(maxM: 10_000, maxN: 10_000, maxK: 10_000, cols: Gemm.nc)
        XCTAssertEqual(big.a, Gemm.mc * Gemm.kc)
        XCTAssertEqual(big.b, Gemm.kc * Gemm.nc)
        // A smaller column capacity (a session's) is rounded up to whole panels.
        XCTAssertEqual(Gemm.packSizes(maxM: 1, maxN: 4096, maxK: 4096, cols: 50).b, Gemm.kc * 64)
        XCTAssertEqual(Gemm.packSizes(maxM: 1, maxN: 4096, maxK: 4096, cols: 0).b, Gemm.kc * Gemm.nr)
        XCTAssertEqual(Gemm.mc % Gemm.mr, 0)
        XCTAssertEqual(Gemm.nc % Gemm.nr, 0)
    }

    /// A small packB column capacity only changes how often B is packed.
    func testSmallPackCapacity() {
        for (m, n, k) in [(1, 130, 321), (5, 70, 17), (13, 130, 641), (130, 33, 9)] {
            for cols in [16, 48] {
                check(m: m, n: n, k: k, transA: false, transB: true, accumulate: true, packCols: cols)
                check(m: m, n: n, k: k, transA: false, transB: false, accumulate: false, packCols: cols)
            }
        }
    }

    /// Batch invariance of the forward product (C = bias + A B^T): every row of C
    /// has the same bits whatever the rows around it, for 1 ... 5 rows (`fewRows`)
    /// and the packed product of 13, at every start row, and both equal an explicit
    /// reference of the one order: per kc block s = fma chain in p order, C += s.
    func testForwardRowsSumInOneOrder() {
        let rows = 13
        for k in [1, 3, 7, 8, 9, 319, 320, 321, 641] {
            for n in [1, 5, 16, 17, 33, 130] {
                var rng = TestRNG(UInt64(k * 1000 + n))
                let a = (0..<rows * k).map { i in Float(rng.uniform(-1, 1)) * (i % 3 == 0 ? 9.7 : 1) }
                let w = (0..<n * k).map { _ in Float(rng.uniform(-1, 1)) }
                let bias = (0..<n).map { _ in Float(rng.uniform(-1, 1)) }
                // The reference, element by element.
                var ref = [Float](repeating: 0, count: rows * n)
                for i in 0..<rows {
                    for j in 0..<n {
                        var c = bias[j]
                        var pc = 0
                        while pc < k {
                            var s: Float = 0
                            for p in pc..<min(pc + Gemm.kc, k) { s = s.addingProduct(a[i * k + p], w[j * k + p]) }
                            c = c + s
                            pc += Gemm.kc
                        }
                        ref[i * n + j] = c
                    }
                }
                // W^T ([k, n]), as a model stores it: B row-major, the same sums.
                var wt = [Float](repeating: 0, count: n * k)
                for j in 0..<n { for p in 0..<k { wt[p * n + j] = w[j * k + p] } }
                func product(_ start: Int, _ m: Int, transposed: Bool = false) -> [Float] {
                    var c = [Float](repeating: 0, count: m * n)
                    for i in 0..<m { for j in 0..<n { c[i * n + j] = bias[j] } }
                    let sizes = Gemm.packSizes(maxM: m, maxN: n, maxK: k, cols: Gemm.nc)
                    var pa = [Float](repeating: 0, count: sizes.a), pb = [Float](repeating: 0, count: sizes.b)
                    var tile = [Float](repeating: 0, count: Gemm.mr * Gemm.nr)
                    pa.withUnsafeMutableBufferPointer { pa in
                        pb.withUnsafeMutableBufferPointer { pb in
                            tile.withUnsafeMutableBufferPointer { tp in
                                a.withUnsafeBufferPointer { ap in
                                    (transposed ? wt : w).withUnsafeBufferPointer { wp in
                                        c.withUnsafeMutableBufferPointer { cp in
                                            let work = Gemm.Workspace(packA: pa.baseAddress!, packB: pb.baseAddress!,
                                                                      tile: tp.baseAddress!)
                                            Gemm.multiply(m: m, n: n, k: k, a: ap.baseAddress! + start * k, lda: k,
                                                          transA: false, b: wp.baseAddress!,
                                                          ldb: transposed ? n : k, transB: !transposed,
                                                          c: cp.baseAddress!, ldc: n, accumulate: true, work: work)
                                        }
                                    }
                                }
                            }
                        }
                    }
                    return c
                }
                var differ = 0
                for m in [1, 2, 3, 4, 5, rows] {
                    for start in 0...(rows - m) {
                        for transposed in [false, true] {
                            let c = product(start, m, transposed: transposed)
                            for i in 0..<m * n where c[i].bitPattern != ref[start * n + i].bitPattern { differ += 1 }
                        }
                    }
                }
                XCTAssertEqual(differ, 0, "k=\(k) n=\(n): elements that differ from the one order")
            }
        }
    }
}
