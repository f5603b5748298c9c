import CSupport

// The f16 layer: binary16 weights widened to float (exact) and summed in float32,
// in one fixed order for every row and CPU:
//
//   a[l] = fma(w[j, i], x[r, i], a[l]) for i = l, l + 8, l + 16, ... (l = 0...7), the
//   tail past the last multiple of 8 going to lanes 0, 1, ... in turn; then
//   s = ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)),  z[r, j] = s + b[j].
//
// Four weight rows run together (four independent chains, the same order each).

extension Compact {
    /// Z = X W^T + bias for `rows` rows of `inputs` floats, W binary16 [outputs, inputs].
    static func f16Layer(x: UnsafePointer<Float>, rows: Int, inputs: Int, outputs: Int,
                         w: UnsafePointer<Float16>, bias: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * inputs
            let zr = z + r * outputs
            var j = 0
            while j + 4 <= outputs {
                let w0 = w + j * inputs
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                var i = 0
                while i + 8 <= inputs {
                    let xv = load8(xr + i)
                    a0 = a0.addingProduct(half8(w0, i), xv)
                    a1 = a1.addingProduct(half8(w0 + inputs, i), xv)
                    a2 = a2.addingProduct(half8(w0 + 2 * inputs, i), xv)
                    a3 = a3.addingProduct(half8(w0 + 3 * inputs, i), xv)
                    i += 8
                }
                a0 = tail(a0, w0, xr, from: i, inputs)
                a1 = tail(a1, w0 + inputs, xr, from: i, inputs)
                a2 = tail(a2, w0 + 2 * inputs, xr, from: i, inputs)
                a3 = tail(a3, w0 + 3 * inputs, xr, from: i, inputs)
                zr[j] = reduce(a0) + bias[j]
                zr[j + 1] = reduce(a1) + bias[j + 1]
                zr[j + 2] = reduce(a2) + bias[j + 2]
                zr[j + 3] = reduce(a3) + bias[j + 3]
                j += 4
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
