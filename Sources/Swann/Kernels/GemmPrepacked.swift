import CSupport

/// B kept packed between products: a net's forward weights (B = W^T), which stay
/// the same from one forward to the next until a step changes them. Packing W^T
/// (a transpose) is about a sixth of a forward at batch 128 (W1), and for one row
/// the transpose on the fly (`fewRows`) is most of the product; a copy kept in the
/// packed-panel order removes both. The copy is laid out as `packB` writes it for
/// the whole of B: kc block pc at pc * nPad (nPad = n rounded up to nr), inside it
/// the nr-column panel of column j at j * kcur, each row p of the panel nr floats.
/// Every product reads the same panels it would have packed, in the same order:
/// the bits do not change.
enum PackedState: Int32 {
    /// The copy does not hold this B, and the product leaves it alone (weights that
    /// change at every step: a training loop).
    case stale
    /// The copy does not hold this B yet, but the weights stayed the same over a
    /// forward (inference): pack B into it, then read it.
    case build
    /// The copy holds this B.
    case fresh
}

extension Gemm {
    /// Offset of kc block `pc`'s panels from column `col` (a multiple of nr) on.
    @inline(__always)
    static func packedPanels(pc: Int, nPad: Int, col: Int, kcur: Int) -> Int { pc * nPad + col * kcur }

    /// Floats the packed copy of an n-column, k-row B takes.
    static func packedSize(k: Int, n: Int) -> Int { roundUp(n, nr) * k }

    /// Where packWhole put op(B)(p, j) = b[j * ldb + p] (W[j, p] of a weight [out, in]).
    @inline(__always)
    static func packedIndex(p: Int, j: Int, k: Int, n: Int) -> Int {
        let pc = p / kc * kc
        return packedPanels(pc: pc, nPad: roundUp(n, nr), col: j / nr * nr, kcur: min(kc, k - pc))
            + (p - pc) * nr + j % nr
    }

    /// Packs all of op(B) (B n x k, transposed: a weight [out, in]) into `dst`.
    @inline(never)
    static func packWhole(k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int, into dst: UnsafeMutablePointer<Float>) {
        let nPad = roundUp(n, nr)
        var pc = 0
        while pc < k {
            let kcur = min(kc, k - pc)
            packB(k: kcur, n: n, b: b, ldb: ldb, trans: true, row0: pc, col0: 0,
                  into: dst + packedPanels(pc: pc, nPad: nPad, col: 0, kcur: kcur))
            pc += kc
        }
    }

    /// C[0..<m, 0..<n] (+)= A B^T for few rows from the packed copy, in the
    /// micro-kernel's order (per kc block, each element summed from zero in p
    /// order, then added to C): 64 columns (four panels, eight chains) at a time,
    /// then one panel at a time. The same bits as `fewRows` and `kernel`.
    @inline(never)
    static func panelRows(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, packed: UnsafePointer<Float>,
                          c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        let nPad = roundUp(n, nr)
        var pc = 0
        while pc < k {
            let kcur = min(kc, k - pc)
            let add = accumulate || pc > 0
            let block = packed + pc * nPad
            for i in 0..<m {
                let x = a + i * lda + pc
                let row = c + i * ldc
                @inline(__always) func put(_ s: SIMD8<Float>, _ j: Int) {
                    store8(add ? load8(row + j) + s : s, row + j)
                }
                var j = 0
                while j + 64 <= n {
                    let q0 = block + j * kcur, q1 = q0 + nr * kcur, q2 = q1 + nr * kcur, q3 = q2 + nr * kcur
                    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
                    var s4 = SIMD8<Float>(), s5 = SIMD8<Float>(), s6 = SIMD8<Float>(), s7 = SIMD8<Float>()
                    for p in 0..<kcur {
                        let v = SIMD8<Float>(repeating: x[p])
                        let o = p * nr
                        s0 = fma8(s0, v, load8(q0 + o)); s1 = fma8(s1, v, load8(q0 + o + 8))
                        s2 = fma8(s2, v, load8(q1 + o)); s3 = fma8(s3, v, load8(q1 + o + 8))
                        s4 = fma8(s4, v, load8(q2 + o)); s5 = fma8(s5, v, load8(q2 + o + 8))
                        s6 = fma8(s6, v, load8(q3 + o)); s7 = fma8(s7, v, load8(q3 + o + 8))
                    }
                    put(s0, j); put(s1, j + 8); put(s2, j + 16); put(s3, j + 24)
                    put(s4, j + 32); put(s5, j + 40); put(s6, j + 48); put(s7, j + 56)
                    j += 64
                }
                while j < n {
                    // One panel (zero-padded past n): its first `cols` sums are kept.
                    let q = block + j * kcur
                    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
                    for p in 0..<kcur {
                        let v = SIMD8<Float>(repeating: x[p])
                        s0 = fma8(s0, v, load8(q + p * nr)); s1 = fma8(s1, v, load8(q + p * nr + 8))
                    }
                    let cols = min(nr, n - j)
                    for t in 0..<cols {
                        let s = t < 8 ? s0[t] : s1[t - 8]
                        row[j + t] = add ? row[j + t] + s : s
                    }
                    j += nr
                }
            }
            pc += kc
        }
    }
}
