// The int8 layer with AVX512_VNNI's vpdpbusd (u8 x s8, four products per Int32 lane,
// 64 per instruction) over the packed layout of CompactInt8Pack.swift. Compiled only
// into the VNNI level's object (the Makefile's kernels-avx512vnni.o, cascadelake):
// Swift reaches the instruction through the Builtin module's binding of the LLVM
// intrinsic (-enable-builtin-module for that object only). LLVM does not select
// vpdpbusd from plain SIMD code outside whole-vector reductions, and a
// @_silgen_name("llvm.x86.avx512.vpdpbusd.512") declaration fails LLVM's verifier
// (the Swift calling convention passes a SIMD16<Int32> as four <4 x i32>).
//
// Same bits as Compact.int8Layer: the rows are quantized as quantizeRow does
// (quantizeRowBiased, CompactInt8VNNIRows.swift, which also writes the stores); each
// lane sums (q + 128) * w in Int32 without saturation (the bound is
// Compact.packedMaxInputs), the column's 128 * sum w is subtracted, leaving the exact
// sum_i q_i * w[j, i]; the float steps after it are the same three in the same order.
#if SWANN_LEVEL_AVX512VNNI
import Builtin

extension Compact {
    /// acc + the 16 lanes' four-byte products of a (unsigned) and b (signed), wrapping.
    @inline(__always)
    static func dpbusd(_ acc: SIMD16<Int32>, _ a: SIMD16<Int32>, _ b: SIMD16<Int32>) -> SIMD16<Int32> {
        var r = acc
        r._storage._value = Builtin.int_x86_avx512_vpdpbusd_512(acc._storage._value, a._storage._value,
                                                                 b._storage._value)
        return r
    }

    /// Input bytes 4g ..< 4g + 4 of a row already stored as q + 128 (see int8PackedLayer),
    /// in every lane: one vpbroadcastd from memory (flipping the sign bits here instead
    /// cost a scalar load, xor and register move per row and group, 20 % of the loop).
    @inline(__always)
    static func broadcast4(_ q: UnsafePointer<Int8>, _ g: Int) -> SIMD16<Int32> {
        SIMD16<Int32>(repeating: UnsafeRawPointer(q + 4 * g).loadUnaligned(as: Int32.self))
    }

    @inline(__always)
    static func group(_ p: UnsafeRawPointer, _ g: Int) -> SIMD16<Int32> {
        (p + 64 * g).loadUnaligned(as: SIMD16<Int32>.self)
    }

    static func int8PackedLayer(_ c: Int8PackedCall) {
        let stride = roundUp4(c.inputs), groups = stride / 4, blocks = roundUp16(c.outputs) / 16
        let blockBytes = groups * 64
        let terms = (c.packed + blocks * blockBytes).assumingMemoryBound(to: Int32.self)
        for r in 0..<c.rows {
            let q = c.q + r * stride
            // q + 128 as an unsigned byte (the sign bit flipped), once per row and layer.
            c.rowScales[r] = quantizeRowBiased(c.x + r * c.inputs, count: c.inputs, stride: stride, into: q)
        }
        let q = UnsafePointer(c.q)
        // Whole tiles of eight rows first, in strips of two blocks (32 columns): 16
        // accumulators, each group of four inputs two weight loads and eight broadcasts.
        // A strip of the 784-input layer is 25 KB, so it stays in L1 for every tile of
        // the batch, where four-row tiles of four blocks (below) stream their 50 KB from
        // L2 for every four rows. The sums are exact integers: any tiling gives the same bits.
        let rows8 = c.rows / 8 * 8
        var b = 0
        while rows8 > 0 && b + 2 <= blocks {
            let w0 = c.packed + b * blockBytes, w1 = w0 + blockBytes
            var r = 0
            while r < rows8 {
                let q0 = q + r * stride, q1 = q0 + stride, q2 = q1 + stride, q3 = q2 + stride
                let q4 = q3 + stride, q5 = q4 + stride, q6 = q5 + stride, q7 = q6 + stride
                var a00 = SIMD16<Int32>(), a01 = SIMD16<Int32>(), a10 = SIMD16<Int32>(), a11 = SIMD16<Int32>()
                var a20 = SIMD16<Int32>(), a21 = SIMD16<Int32>(), a30 = SIMD16<Int32>(), a31 = SIMD16<Int32>()
                var a40 = SIMD16<Int32>(), a41 = SIMD16<Int32>(), a50 = SIMD16<Int32>(), a51 = SIMD16<Int32>()
                var a60 = SIMD16<Int32>(), a61 = SIMD16<Int32>(), a70 = SIMD16<Int32>(), a71 = SIMD16<Int32>()
                for g in 0..<groups {
                    let v0 = group(w0, g), v1 = group(w1, g)
                    var x = broadcast4(q0, g); a00 = dpbusd(a00, x, v0); a01 = dpbusd(a01, x, v1)
                    x = broadcast4(q1, g); a10 = dpbusd(a10, x, v0); a11 = dpbusd(a11, x, v1)
                    x = broadcast4(q2, g); a20 = dpbusd(a20, x, v0); a21 = dpbusd(a21, x, v1)
                    x = broadcast4(q3, g); a30 = dpbusd(a30, x, v0); a31 = dpbusd(a31, x, v1)
                    x = broadcast4(q4, g); a40 = dpbusd(a40, x, v0); a41 = dpbusd(a41, x, v1)
                    x = broadcast4(q5, g); a50 = dpbusd(a50, x, v0); a51 = dpbusd(a51, x, v1)
                    x = broadcast4(q6, g); a60 = dpbusd(a60, x, v0); a61 = dpbusd(a61, x, v1)
                    x = broadcast4(q7, g); a70 = dpbusd(a70, x, v0); a71 = dpbusd(a71, x, v1)
                }
                store(a00, c, terms, row: r, block: b); store(a01, c, terms, row: r, block: b + 1)
                store(a10, c, terms, row: r + 1, block: b); store(a11, c, terms, row: r + 1, block: b + 1)
                store(a20, c, terms, row: r + 2, block: b); store(a21, c, terms, row: r + 2, block: b + 1)
                store(a30, c, terms, row: r + 3, block: b); store(a31, c, terms, row: r + 3, block: b + 1)
                store(a40, c, terms, row: r + 4, block: b); store(a41, c, terms, row: r + 4, block: b + 1)
                store(a50, c, terms, row: r + 5, block: b); store(a51, c, terms, row: r + 5, block: b + 1)
                store(a60, c, terms, row: r + 6, block: b); store(a61, c, terms, row: r + 6, block: b + 1)
                store(a70, c, terms, row: r + 7, block: b); store(a71, c, terms, row: r + 7, block: b + 1)
                r += 8
            }
            b += 2
        }
        // Those rows' last block (an odd count, such as an output layer's under 16 columns).
        var r = 0
        while b < blocks && r < rows8 {
            fourRowsOneBlock(c, terms, q + r * stride, row: r, block: b, blockBytes: blockBytes)
            r += 4
        }
        r = rows8
        // The rows after them (fewer than eight), every block: four rows by four blocks,
        // then by one, then one row at a time (one-row calls take oneRow alone).
        while r + 4 <= c.rows {
            let q0 = q + r * stride, q1 = q0 + stride, q2 = q1 + stride, q3 = q2 + stride
            var b = 0
            while b + 4 <= blocks {
                let w0 = c.packed + b * blockBytes, w1 = w0 + blockBytes, w2 = w1 + blockBytes, w3 = w2 + blockBytes
                var a00 = SIMD16<Int32>(), a01 = SIMD16<Int32>(), a02 = SIMD16<Int32>(), a03 = SIMD16<Int32>()
                var a10 = SIMD16<Int32>(), a11 = SIMD16<Int32>(), a12 = SIMD16<Int32>(), a13 = SIMD16<Int32>()
                var a20 = SIMD16<Int32>(), a21 = SIMD16<Int32>(), a22 = SIMD16<Int32>(), a23 = SIMD16<Int32>()
                var a30 = SIMD16<Int32>(), a31 = SIMD16<Int32>(), a32 = SIMD16<Int32>(), a33 = SIMD16<Int32>()
                for g in 0..<groups {
                    let v0 = group(w0, g), v1 = group(w1, g), v2 = group(w2, g), v3 = group(w3, g)
                    var x = broadcast4(q0, g)
                    a00 = dpbusd(a00, x, v0); a01 = dpbusd(a01, x, v1); a02 = dpbusd(a02, x, v2); a03 = dpbusd(a03, x, v3)
                    x = broadcast4(q1, g)
                    a10 = dpbusd(a10, x, v0); a11 = dpbusd(a11, x, v1); a12 = dpbusd(a12, x, v2); a13 = dpbusd(a13, x, v3)
                    x = broadcast4(q2, g)
                    a20 = dpbusd(a20, x, v0); a21 = dpbusd(a21, x, v1); a22 = dpbusd(a22, x, v2); a23 = dpbusd(a23, x, v3)
                    x = broadcast4(q3, g)
                    a30 = dpbusd(a30, x, v0); a31 = dpbusd(a31, x, v1); a32 = dpbusd(a32, x, v2); a33 = dpbusd(a33, x, v3)
                }
                store(a00, c, terms, row: r, block: b); store(a01, c, terms, row: r, block: b + 1)
                store(a02, c, terms, row: r, block: b + 2); store(a03, c, terms, row: r, block: b + 3)
                store(a10, c, terms, row: r + 1, block: b); store(a11, c, terms, row: r + 1, block: b + 1)
                store(a12, c, terms, row: r + 1, block: b + 2); store(a13, c, terms, row: r + 1, block: b + 3)
                store(a20, c, terms, row: r + 2, block: b); store(a21, c, terms, row: r + 2, block: b + 1)
                store(a22, c, terms, row: r + 2, block: b + 2); store(a23, c, terms, row: r + 2, block: b + 3)
                store(a30, c, terms, row: r + 3, block: b); store(a31, c, terms, row: r + 3, block: b + 1)
                store(a32, c, terms, row: r + 3, block: b + 2); store(a33, c, terms, row: r + 3, block: b + 3)
                b += 4
            }
            while b < blocks {
                fourRowsOneBlock(c, terms, q0, row: r, block: b, blockBytes: blockBytes)
                b += 1
            }
            r += 4
        }
        while r < c.rows {
            oneRow(c, terms, row: r, from: 0, blocks: blocks, blockBytes: blockBytes)
            r += 1
        }
    }

    /// Rows row ..< row + 4 (their bytes from q0 on) of one block: four accumulators, one
    /// weight load for four products, where one row at a time would wait on one chain.
    @inline(__always)
    static func fourRowsOneBlock(_ c: Int8PackedCall, _ terms: UnsafePointer<Int32>, _ q0: UnsafePointer<Int8>,
                                 row r: Int, block b: Int, blockBytes: Int) {
        let groups = blockBytes / 64, stride = groups * 4
        let q1 = q0 + stride, q2 = q1 + stride, q3 = q2 + stride
        let w0 = c.packed + b * blockBytes
        var a0 = SIMD16<Int32>(), a1 = SIMD16<Int32>(), a2 = SIMD16<Int32>(), a3 = SIMD16<Int32>()
        for g in 0..<groups {
            let v = group(w0, g)
            a0 = dpbusd(a0, broadcast4(q0, g), v); a1 = dpbusd(a1, broadcast4(q1, g), v)
            a2 = dpbusd(a2, broadcast4(q2, g), v); a3 = dpbusd(a3, broadcast4(q3, g), v)
        }
        store(a0, c, terms, row: r, block: b); store(a1, c, terms, row: r + 1, block: b)
        store(a2, c, terms, row: r + 2, block: b); store(a3, c, terms, row: r + 3, block: b)
    }

    /// Row `row`'s columns from block `from` on: four blocks at a time, then one.
    @inline(__always)
    static func oneRow(_ c: Int8PackedCall, _ terms: UnsafePointer<Int32>, row: Int, from: Int, blocks: Int,
                       blockBytes: Int) {
        let groups = blockBytes / 64
        let q = UnsafePointer(c.q) + row * groups * 4
        var b = from
        while b + 4 <= blocks {
            let w0 = c.packed + b * blockBytes, w1 = w0 + blockBytes, w2 = w1 + blockBytes, w3 = w2 + blockBytes
            var a0 = SIMD16<Int32>(), a1 = SIMD16<Int32>(), a2 = SIMD16<Int32>(), a3 = SIMD16<Int32>()
            for g in 0..<groups {
                let x = broadcast4(q, g)
                a0 = dpbusd(a0, x, group(w0, g)); a1 = dpbusd(a1, x, group(w1, g))
                a2 = dpbusd(a2, x, group(w2, g)); a3 = dpbusd(a3, x, group(w3, g))
            }
            store(a0, c, terms, row: row, block: b); store(a1, c, terms, row: row, block: b + 1)
            store(a2, c, terms, row: row, block: b + 2); store(a3, c, terms, row: row, block: b + 3)
            b += 4
        }
        while b < blocks {
            let w0 = c.packed + b * blockBytes
            // Two accumulators over alternate groups: the sums are exact, so their split changes nothing.
            var a0 = SIMD16<Int32>(), a1 = SIMD16<Int32>()
            var g = 0
            while g + 2 <= groups {
                a0 = dpbusd(a0, broadcast4(q, g), group(w0, g))
                a1 = dpbusd(a1, broadcast4(q, g + 1), group(w0, g + 1))
                g += 2
            }
            if g < groups { a0 = dpbusd(a0, broadcast4(q, g), group(w0, g)) }
            store(a0 &+ a1, c, terms, row: row, block: b)
            b += 1
        }
    }
}
#endif
