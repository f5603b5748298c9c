import CSupport

#if SWANN_LEVEL_AVX512
/// The few-row forward product on W rows a multiple of 4 KB apart (`rowsAlias`: 1024 or
/// 4096 inputs). `fewRows` transposes 64 W rows a visit, a line of each; such rows all
/// start in one L1 set, so the lines the prefetcher brings for the next visit are gone
/// before it: a 1024-256 layer's one-row forward took 1.84-2.06x a 1016-256 one's time
/// per weight, 4096-256 1.95-2.03x (Zen 4, benchmarks/row_stride.c). Here 8 rows at a
/// time walk the whole kc block (8 lines a set, each read whole before the next) into
/// the workspace's packed panels, which `panelRows` then reads as a net's packed copy:
/// 1.24-1.28x and 1.16-1.23x. The same bits: per kc block each sum from zero in p
/// order, then added to C.
/// AVX-512 level only, like the tiles that read rows in place (GemmKernelWide.swift):
/// the other levels keep `fewRows`, and the library its size.
extension Gemm {
    /// Whether this level takes `fewRowsAliased` for a few-row product with these shapes.
    /// Up to 4 rows: each row reads the packed block (80 KB) from L2 where fewRows' rows
    /// share a 4 KB block in L1, and at 5 rows a 1024-256 forward took 80-83 us against
    /// fewRows' 68-71 (1 row 42-44 against 63-69, 2 rows 51-52 against 60-73, 4 rows 71
    /// against 73-92; row_stride.c's cases at those rows, Zen 4).
    @inline(__always)
    static func fewRowsAlias(m: Int, n: Int, k: Int, ldb: Int) -> Bool {
        m <= 4 && rowsAlias(ldb) && k % 8 == 0 && n % nr == 0
    }

    /// C[0..<m, 0..<n] (+)= A B^T for m < mr rows, B n x k (row j at b + j * ldb), 64
    /// columns at a time: each kc block of those columns packed, then summed.
    @inline(never)
    static func fewRowsAliased(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                               b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                               accumulate: Bool, work: Workspace) {
        var jc = 0
        while jc < n {
            // 64 columns (kc x 64 floats, 80 KB): eight chains for one row, in L2.
            let ncur = min(fewCols, work.packCols, n - jc)
            var pc = 0
            while pc < k {
                let kcur = min(kc, k - pc)
                var jr = 0
                while jr < ncur {
                    packAliasedPanel(b + (jc + jr) * ldb + pc, ldb, kcur, into: work.packB + jr * kcur)
                    jr += nr
                }
                panelRows(m: m, n: ncur, k: kcur, a: a + pc, lda: lda, packed: UnsafePointer(work.packB),
                          c: c + jc, ldc: ldc, accumulate: accumulate || pc > 0)
                pc += kc
            }
            jc += ncur
        }
    }

    /// One panel of op(B) = W^T (kcur x nr, `packB`'s layout) from 16 W rows: rows 0-7
    /// over every 8 values of p in turn, so each line is read whole before the next,
    /// then rows 8-15. (`packB` takes all 16 rows 8 values at a time: 16 lines in one
    /// 8-way set, each gone before its second half.) kcur is a multiple of 8.
    @inline(never)
    static func packAliasedPanel(_ w: UnsafePointer<Float>, _ ldb: Int, _ kcur: Int,
                                 into panel: UnsafeMutablePointer<Float>) {
        var i = 0  // one loop over both halves: one transpose8 in the code
        while i < 2 * kcur {
            let half = i < kcur ? 0 : 8, p0 = i < kcur ? i : i - kcur
            transpose8(w + half * ldb + p0, ldb, panel + p0 * nr + half, nr)
            i += 8
        }
    }
}
#endif
