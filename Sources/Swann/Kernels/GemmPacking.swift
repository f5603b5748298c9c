import CSupport

/// Packing of op(A) and op(B) into the contiguous panels the micro-kernel reads.
extension Gemm {
    /// Packs op(A)[row0 ..< row0+m, col0 ..< col0+k] into panels of mr rows:
    /// panel r holds, for each p, the mr values of column p (zero-padded).
    @inline(__always)
    static func packA(m: Int, k: Int, a: UnsafePointer<Float>, lda: Int, trans: Bool,
                      row0: Int, col0: Int, into dst: UnsafeMutablePointer<Float>) {
        var ir = 0
        while ir < m {
            let rows = min(mr, m - ir)
            let panel = dst + ir * k
            if trans && rows == mr {
                // op(A)(i, p) = a[p * lda + i]: each p needs six consecutive floats. Eight
                // are moved, the two extra overwritten by the next p; read past the six,
                // they lie in the matrix (at worst the next row's first two) for every p
                // but the last. (One scalar copy per float was 4 % of W1's step.)
                let src = a + col0 * lda + row0 + ir
                var p = 0
                while p < k - 1 {
                    store8(load8(src + p * lda), panel + p * mr)
                    p += 1
                }
                while p < k {
                    for r in 0..<mr { panel[p * mr + r] = src[p * lda + r] }
                    p += 1
                }
            } else if trans {
                // op(A)(i, p) = a[p * lda + i]: each p reads `rows` consecutive floats.
                for p in 0..<k {
                    let src = a + (col0 + p) * lda + row0 + ir
                    let d = panel + p * mr
                    for r in 0..<rows { d[r] = src[r] }
                    for r in rows..<mr { d[r] = 0 }
                }
            } else if rows == mr {
                // Eight columns of the six rows at a time, transposed in registers.
                let src = a + (row0 + ir) * lda + col0
                var p = 0
                while p + 8 <= k {
                    packA6x8(src + p, lda, panel + p * mr)
                    p += 8
                }
                while p < k {
                    for r in 0..<mr { panel[p * mr + r] = src[r * lda + p] }
                    p += 1
                }
            } else {
                for r in 0..<mr {
                    if r < rows {
                        let src = a + (row0 + ir + r) * lda + col0
                        for p in 0..<k { panel[p * mr + r] = src[p] }
                    } else {
                        for p in 0..<k { panel[p * mr + r] = 0 }
                    }
                }
            }
            ir += mr
        }
    }

    /// Packs op(B)[row0 ..< row0+k, col0 ..< col0+n] into panels of nr columns:
    /// panel j holds, for each p, the nr values of row p (zero-padded).
    @inline(__always)
    static func packB(k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int, trans: Bool,
                      row0: Int, col0: Int, into dst: UnsafeMutablePointer<Float>) {
        var jr = 0
        if !trans && n >= nr && k * ldb >= 1 << 18 {
            // Whole panels row by row, each source row read once, in order, where the rows
            // span a megabyte or more. Panel by panel, every panel read 64 bytes of each of
            // the kc rows (dX = dZ W packs all of W, 80 MB a W4 step, rows 16 KB apart): W4
            // 0.978x the time at one thread, W1 (spans of 0.5 MB or less) unchanged either
            // way on the Xeon; row by row was slower on Zen 4 before the wide tiles (W1's
            // backward 17 %), so W1's shapes keep the panels.
            let full = n / nr
            for p in 0..<k {
                let src = b + (row0 + p) * ldb + col0
                let d = dst + p * nr
                for j in 0..<full { copyFloats(d + j * nr * k, src + j * nr, nr) }
            }
            jr = full * nr
        }
        while jr < n {
            let cols = min(nr, n - jr)
            let panel = dst + jr * k
            if trans {
                // op(B)(p, j) = b[j * ldb + p]: column j of op(B) is contiguous.
                // Full panels go 8 x 8 blocks at a time through registers.
                var p0 = 0
                if cols == nr {
                    let r0 = b + (col0 + jr) * ldb + row0
                    while p0 + 8 <= k {
                        transpose8(r0 + p0, ldb, panel + p0 * nr, nr)
                        transpose8(r0 + 8 * ldb + p0, ldb, panel + p0 * nr + 8, nr)
                        p0 += 8
                    }
                }
                // The rest (and edge panels, zero-padded) one value at a time.
                for j in 0..<nr {
                    if j < cols {
                        let src = b + (col0 + jr + j) * ldb + row0
                        for p in p0..<k { panel[p * nr + j] = src[p] }
                    } else {
                        for p in p0..<k { panel[p * nr + j] = 0 }
                    }
                }
            } else {
                for p in 0..<k {
                    let src = b + (row0 + p) * ldb + col0 + jr
                    let d = panel + p * nr
                    if cols == nr {
                        copyFloats(d, src, nr)
                    } else {
                        for j in 0..<cols { d[j] = src[j] }
                        for j in cols..<nr { d[j] = 0 }
                    }
                }
            }
            jr += nr
        }
    }

    /// Transposes the 8 x 8 block held in r0 ... r7 (row t becomes column t): three
    /// rounds of even/odd deinterleaving of row pairs.
    @inline(__always)
    static func transposeInRegisters(_ r0: inout SIMD8<Float>, _ r1: inout SIMD8<Float>, _ r2: inout SIMD8<Float>,
                                     _ r3: inout SIMD8<Float>, _ r4: inout SIMD8<Float>, _ r5: inout SIMD8<Float>,
                                     _ r6: inout SIMD8<Float>, _ r7: inout SIMD8<Float>) {
        for _ in 0..<3 {
            let e0 = SIMD8(lowHalf: r0.evenHalf, highHalf: r1.evenHalf), o0 = SIMD8(lowHalf: r0.oddHalf, highHalf: r1.oddHalf)
            let e1 = SIMD8(lowHalf: r2.evenHalf, highHalf: r3.evenHalf), o1 = SIMD8(lowHalf: r2.oddHalf, highHalf: r3.oddHalf)
            let e2 = SIMD8(lowHalf: r4.evenHalf, highHalf: r5.evenHalf), o2 = SIMD8(lowHalf: r4.oddHalf, highHalf: r5.oddHalf)
            let e3 = SIMD8(lowHalf: r6.evenHalf, highHalf: r7.evenHalf), o3 = SIMD8(lowHalf: r6.oddHalf, highHalf: r7.oddHalf)
            r0 = e0; r1 = e1; r2 = e2; r3 = e3; r4 = o0; r5 = o1; r6 = o2; r7 = o3
        }
    }

    /// The same transpose from in-lane shuffles: the 4 x 4 blocks of each 128-bit lane
    /// (`transposeLanes`), then the lanes swapped into place. 28 shuffles, 4 of them
    /// across lanes, where `transposeInRegisters` takes 24 of each: half the time of
    /// the one-row forward product (`fewRows`). Written this way LLVM emits vshufps
    /// on whole registers; other spellings (element-wise initializers, 128-bit
    /// halves) came out as 128-bit pieces and were slower.
    @inline(__always)
    static func transposeByLanes(_ r0: inout SIMD8<Float>, _ r1: inout SIMD8<Float>, _ r2: inout SIMD8<Float>,
                                 _ r3: inout SIMD8<Float>, _ r4: inout SIMD8<Float>, _ r5: inout SIMD8<Float>,
                                 _ r6: inout SIMD8<Float>, _ r7: inout SIMD8<Float>) {
        transposeLanes(&r0, &r1, &r2, &r3)
        transposeLanes(&r4, &r5, &r6, &r7)
        // r_t holds column t of rows 0-3 in its low lane and column t + 4 in its high lane.
        let c0 = SIMD8(lowHalf: r0.lowHalf, highHalf: r4.lowHalf), c4 = SIMD8(lowHalf: r0.highHalf, highHalf: r4.highHalf)
        let c1 = SIMD8(lowHalf: r1.lowHalf, highHalf: r5.lowHalf), c5 = SIMD8(lowHalf: r1.highHalf, highHalf: r5.highHalf)
        let c2 = SIMD8(lowHalf: r2.lowHalf, highHalf: r6.lowHalf), c6 = SIMD8(lowHalf: r2.highHalf, highHalf: r6.highHalf)
        let c3 = SIMD8(lowHalf: r3.lowHalf, highHalf: r7.lowHalf), c7 = SIMD8(lowHalf: r3.highHalf, highHalf: r7.highHalf)
        r0 = c0; r1 = c1; r2 = c2; r3 = c3; r4 = c4; r5 = c5; r6 = c6; r7 = c7
    }

    /// Transposes the 4 x 4 block in each 128-bit lane of r0 ... r3 (in each lane,
    /// row t becomes column t): two rounds of even/odd deinterleaving within lanes.
    @inline(__always)
    static func transposeLanes(_ r0: inout SIMD8<Float>, _ r1: inout SIMD8<Float>,
                               _ r2: inout SIMD8<Float>, _ r3: inout SIMD8<Float>) {
        @inline(__always) func even(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
            SIMD8(lowHalf: SIMD8(lowHalf: a.lowHalf, highHalf: b.lowHalf).evenHalf,
                  highHalf: SIMD8(lowHalf: a.highHalf, highHalf: b.highHalf).evenHalf)
        }
        @inline(__always) func odd(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
            SIMD8(lowHalf: SIMD8(lowHalf: a.lowHalf, highHalf: b.lowHalf).oddHalf,
                  highHalf: SIMD8(lowHalf: a.highHalf, highHalf: b.highHalf).oddHalf)
        }
        for _ in 0..<2 {
            let e0 = even(r0, r1), o0 = odd(r0, r1), e1 = even(r2, r3), o1 = odd(r2, r3)
            r0 = e0; r1 = e1; r2 = o0; r3 = o1
        }
    }

    /// dst[t * ldd + r] = src[r * lds + t] for r, t in 0..<8: an 8 x 8 transpose in
    /// registers (`transposeInRegisters`).
    @inline(__always)
    static func transpose8(_ src: UnsafePointer<Float>, _ lds: Int, _ dst: UnsafeMutablePointer<Float>, _ ldd: Int) {
        var r0 = load8(src), r1 = load8(src + lds), r2 = load8(src + 2 * lds), r3 = load8(src + 3 * lds)
        var r4 = load8(src + 4 * lds), r5 = load8(src + 5 * lds), r6 = load8(src + 6 * lds), r7 = load8(src + 7 * lds)
        transposeInRegisters(&r0, &r1, &r2, &r3, &r4, &r5, &r6, &r7)
        store8(r0, dst); store8(r1, dst + ldd); store8(r2, dst + 2 * ldd); store8(r3, dst + 3 * ldd)
        store8(r4, dst + 4 * ldd); store8(r5, dst + 5 * ldd); store8(r6, dst + 6 * ldd); store8(r7, dst + 7 * ldd)
    }

    /// dst[t * 6 + r] = src[r * lds + t] for r in 0..<6, t in 0..<8: six rows of
    /// eight values into eight packed columns of A, transposed as in `transpose8`
    /// with two zero rows. Writes exactly dst[0 ..< 48].
    @inline(__always)
    static func packA6x8(_ src: UnsafePointer<Float>, _ lds: Int, _ dst: UnsafeMutablePointer<Float>) {
        var r0 = load8(src), r1 = load8(src + lds), r2 = load8(src + 2 * lds), r3 = load8(src + 3 * lds)
        var r4 = load8(src + 4 * lds), r5 = load8(src + 5 * lds), r6 = SIMD8<Float>(), r7 = SIMD8<Float>()
        transposeInRegisters(&r0, &r1, &r2, &r3, &r4, &r5, &r6, &r7)
        // Column t is r_t (values 0..<6 wanted): each 8-wide store spills two
        // values that the next store overwrites; the last stores six.
        store8(r0, dst); store8(r1, dst + 6); store8(r2, dst + 12); store8(r3, dst + 18)
        store8(r4, dst + 24); store8(r5, dst + 30); store8(r6, dst + 36)
        UnsafeMutableRawPointer(dst + 42).storeBytes(of: r7.lowHalf, as: SIMD4<Float>.self)
        dst[46] = r7[4]
        dst[47] = r7[5]
    }
    /// dst[p * rows + j] = src[j * cols + p]: a rows x cols matrix transposed
    /// (8 x 8 blocks through registers, the edges one value at a time). A model
    /// stores its weights this way ([in, out]) so that few rows stream W^T's rows.
    static func transposeMatrix(_ src: UnsafePointer<Float>, rows: Int, cols: Int,
                                into dst: UnsafeMutablePointer<Float>) {
        #if arch(arm)
        scalarTranspose(src, rows: rows, cols: cols, into: dst)
        #else
        var j = 0
        while j + 8 <= rows {
            var p = 0
            while p + 8 <= cols {
                transpose8(src + j * cols + p, cols, dst + p * rows + j, rows)
                p += 8
            }
            while p < cols {
                for r in 0..<8 { dst[p * rows + j + r] = src[(j + r) * cols + p] }
                p += 1
            }
            j += 8
        }
        while j < rows {
            for p in 0..<cols { dst[p * rows + j] = src[j * cols + p] }
            j += 1
        }
        #endif
    }
}
