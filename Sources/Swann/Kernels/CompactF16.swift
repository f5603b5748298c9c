import CSupport

// The f16 layer: binary16 weights widened to float (exact) and summed in float32,
// in one fixed order for every row and CPU:
//
//   a[l] = fma(w[j, i], x[r, i], a[l]) for i = l, l + 8, l + 16, ... (l = 0...7), the
//   tail past the last multiple of 8 going to lanes 0, 1, ... in turn; then
//   s = ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)),  z[r, j] = s + b[j].
//
// One row runs eight weight rows together (eight independent chains, the same order
// each); batches run tiles of `f16RowTile` rows by four weight rows, each weight vector
// widened once for all the tile's rows (the widening, not the fma, bounded a batch).

extension Compact {
    /// Rows of a batch tile: 4 x 4 chains in 16 of AVX-512's 32 vector registers, 2 x 4
    /// in AVX2's 16 (and NEON's 32 holding SIMD8 as pairs). 1 on the baseline level, which
    /// has no fma instruction (each is a call to fmaf): no tiles and no eight-row blocks
    /// there, one chain at a time (1.5 KB of code instead of 11.6; 1.02-1.09x the time).
    #if SWANN_LEVEL_AVX512
    static let f16RowTile = 4
    #elseif SWANN_LEVEL_BASELINE
    static let f16RowTile = 1
    #else
    static let f16RowTile = 2
    #endif

    /// Z = X W^T + bias for `rows` rows of `inputs` floats, W binary16 [outputs, inputs].
    static func f16Layer(x: UnsafePointer<Float>, rows: Int, inputs: Int, outputs: Int,
                         w: UnsafePointer<Float16>, bias: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>) {
        var first = 0
        while f16RowTile > 1 && first + f16RowTile <= rows {
            f16Tile(f16RowTile, x: x + first * inputs, inputs: inputs, outputs: outputs, w: w, bias: bias,
                    z: z + first * outputs)
            first += f16RowTile
        }
        for r in first..<rows {
            let xr = x + r * inputs
            let zr = z + r * outputs
            var j = 0
            // Eight weight rows at a time: eight independent fma chains (one would
            // wait on its own latency), each in the order above. Not on the baseline
            // level (f16RowTile 1).
            while f16RowTile > 1 && j + 8 <= outputs {
                let w0 = w + j * inputs
                var a = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(),
                         SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                var i = 0
                while i + 8 <= inputs {
                    let xv = load8(xr + i)
                    a.0 = a.0.addingProduct(half8(w0, i), xv)
                    a.1 = a.1.addingProduct(half8(w0 + inputs, i), xv)
                    a.2 = a.2.addingProduct(half8(w0 + 2 * inputs, i), xv)
                    a.3 = a.3.addingProduct(half8(w0 + 3 * inputs, i), xv)
                    a.4 = a.4.addingProduct(half8(w0 + 4 * inputs, i), xv)
                    a.5 = a.5.addingProduct(half8(w0 + 5 * inputs, i), xv)
                    a.6 = a.6.addingProduct(half8(w0 + 6 * inputs, i), xv)
                    a.7 = a.7.addingProduct(half8(w0 + 7 * inputs, i), xv)
                    i += 8
                }
                zr[j] = reduce(tail(a.0, w0, xr, from: i, inputs)) + bias[j]
                zr[j + 1] = reduce(tail(a.1, w0 + inputs, xr, from: i, inputs)) + bias[j + 1]
                zr[j + 2] = reduce(tail(a.2, w0 + 2 * inputs, xr, from: i, inputs)) + bias[j + 2]
                zr[j + 3] = reduce(tail(a.3, w0 + 3 * inputs, xr, from: i, inputs)) + bias[j + 3]
                zr[j + 4] = reduce(tail(a.4, w0 + 4 * inputs, xr, from: i, inputs)) + bias[j + 4]
                zr[j + 5] = reduce(tail(a.5, w0 + 5 * inputs, xr, from: i, inputs)) + bias[j + 5]
                zr[j + 6] = reduce(tail(a.6, w0 + 6 * inputs, xr, from: i, inputs)) + bias[j + 6]
                zr[j + 7] = reduce(tail(a.7, w0 + 7 * inputs, xr, from: i, inputs)) + bias[j + 7]
                j += 8
            }
            while j < outputs {
                let wj = w + j * inputs
                var a = SIMD8<Float>()
                var i = 0
                while i + 8 <= inputs {
                    a = a.addingProduct(half8(wj, i), load8(xr + i))
                    i += 8
                }
                zr[j] = reduce(tail(a, wj, xr, from: i, inputs)) + bias[j]
                j += 1
            }
        }
    }

    /// Z's rows 0..<R (R <= 4, a constant: the unused chains drop out) for the R rows of
    /// `x`, four weight rows at a time, each chain in the order above.
    @inline(__always)
    static func f16Tile(_ R: Int, x: UnsafePointer<Float>, inputs: Int, outputs: Int, w: UnsafePointer<Float16>,
                        bias: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>) {
        let x0 = x, x1 = x + inputs, x2 = x + 2 * inputs, x3 = x + 3 * inputs
        var j = 0
        while j + 4 <= outputs {
            let w0 = w + j * inputs, w1 = w0 + inputs, w2 = w1 + inputs, w3 = w2 + inputs
            var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>(), a03 = SIMD8<Float>()
            var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>(), a13 = SIMD8<Float>()
            var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>(), a23 = SIMD8<Float>()
            var a30 = SIMD8<Float>(), a31 = SIMD8<Float>(), a32 = SIMD8<Float>(), a33 = SIMD8<Float>()
            var i = 0
            while i + 8 <= inputs {
                let v0 = half8(w0, i), v1 = half8(w1, i), v2 = half8(w2, i), v3 = half8(w3, i)
                let y0 = load8(x0 + i)
                a00 = a00.addingProduct(v0, y0); a01 = a01.addingProduct(v1, y0)
                a02 = a02.addingProduct(v2, y0); a03 = a03.addingProduct(v3, y0)
                if R > 1 {
                    let y1 = load8(x1 + i)
                    a10 = a10.addingProduct(v0, y1); a11 = a11.addingProduct(v1, y1)
                    a12 = a12.addingProduct(v2, y1); a13 = a13.addingProduct(v3, y1)
                }
                if R > 2 {
                    let y2 = load8(x2 + i)
                    a20 = a20.addingProduct(v0, y2); a21 = a21.addingProduct(v1, y2)
                    a22 = a22.addingProduct(v2, y2); a23 = a23.addingProduct(v3, y2)
                }
                if R > 3 {
                    let y3 = load8(x3 + i)
                    a30 = a30.addingProduct(v0, y3); a31 = a31.addingProduct(v1, y3)
                    a32 = a32.addingProduct(v2, y3); a33 = a33.addingProduct(v3, y3)
                }
                i += 8
            }
            store4(z, j, bias, a00, a01, a02, a03, w0, inputs, x0, from: i)
            if R > 1 { store4(z + outputs, j, bias, a10, a11, a12, a13, w0, inputs, x1, from: i) }
            if R > 2 { store4(z + 2 * outputs, j, bias, a20, a21, a22, a23, w0, inputs, x2, from: i) }
            if R > 3 { store4(z + 3 * outputs, j, bias, a30, a31, a32, a33, w0, inputs, x3, from: i) }
            j += 4
        }
        // The last outputs % 4 weight rows, one chain per row of the tile.
        while j < outputs {
            let wj = w + j * inputs
            for r in 0..<R {
                let xr = x + r * inputs
                var a = SIMD8<Float>()
                var i = 0
                while i + 8 <= inputs {
                    a = a.addingProduct(half8(wj, i), load8(xr + i))
                    i += 8
                }
                z[r * outputs + j] = finish(a, wj, xr, from: i, inputs) + bias[j]
            }
            j += 1
        }
    }

    /// z[j ..< j + 4] from the four chains of weight rows j ..< j + 4 (w0: row j's) and
    /// input row x, their tails from `start` added as the one-row path adds them.
    @inline(__always)
    static func store4(_ z: UnsafeMutablePointer<Float>, _ j: Int, _ bias: UnsafePointer<Float>,
                       _ a0: SIMD8<Float>, _ a1: SIMD8<Float>, _ a2: SIMD8<Float>, _ a3: SIMD8<Float>,
                       _ w0: UnsafePointer<Float16>, _ inputs: Int, _ x: UnsafePointer<Float>, from start: Int) {
        z[j] = finish(a0, w0, x, from: start, inputs) + bias[j]
        z[j + 1] = finish(a1, w0 + inputs, x, from: start, inputs) + bias[j + 1]
        z[j + 2] = finish(a2, w0 + 2 * inputs, x, from: start, inputs) + bias[j + 2]
        z[j + 3] = finish(a3, w0 + 3 * inputs, x, from: start, inputs) + bias[j + 3]
    }

    /// reduce(tail(...)), the tail out of line: inlined at each of a tile's 16 chains, its
    /// lane-by-lane loop was most of the tile's code, for layers whose inputs are rarely
    /// not a multiple of 8.
    @inline(__always)
    static func finish(_ a: SIMD8<Float>, _ w: UnsafePointer<Float16>, _ x: UnsafePointer<Float>,
                       from start: Int, _ n: Int) -> Float {
        start == n ? reduce(a) : finishTail(a, w, x, from: start, n)
    }

    @inline(never)
    static func finishTail(_ a: SIMD8<Float>, _ w: UnsafePointer<Float16>, _ x: UnsafePointer<Float>,
                           from start: Int, _ n: Int) -> Float {
        reduce(tail(a, w, x, from: start, n))
    }

    /// 8 binary16 values widened to float (exact).
    @inline(__always)
    static func half8(_ p: UnsafePointer<Float16>, _ i: Int) -> SIMD8<Float> {
        SIMD8<Float>(UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float16>.self))
    }

    /// The elements past the last multiple of 8, into lanes 0, 1, ...
    @inline(__always)
    static func tail(_ acc: SIMD8<Float>, _ w: UnsafePointer<Float16>, _ x: UnsafePointer<Float>,
                     from start: Int, _ n: Int) -> SIMD8<Float> {
        var a = acc
        var i = start
        while i < n {
            a[i - start] = a[i - start].addingProduct(Float(w[i]), x[i])
            i += 1
        }
        return a
    }

    @inline(__always)
    static func reduce(_ a: SIMD8<Float>) -> Float {
        ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
    }
}
