import CSupport

// The f16 layer: binary16 weights widened to float (exact) and summed in float32,
// in one fixed order for every row and CPU:
//
//   a[l] = fma(w[j, i], x[r, i], a[l]) for i = l, l + 8, l + 16, ... (l = 0...7), the
//   tail past the last multiple of 8 going to lanes 0, 1, ... in turn; then
//   s = ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)),  z[r, j] = s + b[j].
//
// Eight weight rows run together (eight independent chains, the same order each).

extension Compact {
    /// Z = X W^T + bias for `rows` rows of `inputs` floats, W binary16 [outputs, inputs].
    static func f16Layer(x: UnsafePointer<Float>, rows: Int, inputs: Int, outputs: Int,
                         w: UnsafePointer<Float16>, bias: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * inputs
            let zr = z + r * outputs
            var j = 0
            // Eight weight rows at a time: eight independent fma chains (one would
            // wait on its own latency), each in the order above.
            while j + 8 <= outputs {
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
