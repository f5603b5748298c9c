import CSupport

// The packed int8 layout of the VNNI kernel (CompactInt8VNNI.swift), made once per
// session at create (Session.swift) from the model's [out, in] rows:
//
//   blocks of 16 output columns; in block b, for each group g of 4 inputs, 64 bytes
//   at (b * groups + g) * 64: byte j * 4 + t is w[16 b + j, 4 g + t]
//
// zero beyond the layer's outputs and inputs. One vpdpbusd multiplies such a 64-byte
// group by 4 broadcast input bytes and adds 16 columns' partial sums in place, so a
// tile of outputs stays in registers and no sum is reduced across lanes. Beside the
// blocks, 128 * sum_i w[j, i] per column (Int32): the term the kernel subtracts
// because it feeds q + 128 (unsigned) for the signed q.

extension Compact {
    /// The widest int8 layer the packed kernel takes. It sums u * w with u = q + 128 in
    /// 1...255 and |w| <= 127 in Int32 lanes that wrap (vpdpbusd does not saturate), so
    /// every partial sum stays below 255 * 127 * n = 32385 * n in magnitude, which fits
    /// an Int32 iff n <= Int32.max / 32385 = 66311. Then 128 * sum_i w[j, i] (at most
    /// 128 * 127 * n in magnitude) fits too, and the difference is sum_i q_i * w[j, i]
    /// exactly: the sum of every other path. Wider layers run Compact.int8Layer.
    static let packedMaxInputs = Int(Int32.max) / (255 * 127)

    /// Bytes of one layer's packed weights and column terms (0 when too wide).
    static func packedBytes(inputs: Int, outputs: Int) -> Int {
        guard inputs <= packedMaxInputs else { return 0 }
        let columns = roundUp16(outputs)
        return columns * roundUp4(inputs) + columns * MemoryLayout<Int32>.stride
    }

    @inline(__always) static func roundUp4(_ n: Int) -> Int { (n + 3) & ~3 }
    @inline(__always) static func roundUp16(_ n: Int) -> Int { (n + 15) & ~15 }

    /// Packs w [outputs, inputs] into `packed` (packedBytes(inputs:outputs:) bytes):
    /// the blocks, then the column terms.
    static func packInt8(_ w: UnsafePointer<Int8>, inputs: Int, outputs: Int, into packed: UnsafeMutableRawPointer) {
        let groups = roundUp4(inputs) / 4, columns = roundUp16(outputs)
        let p = packed.assumingMemoryBound(to: Int8.self)
        let terms = (packed + columns * groups * 4).assumingMemoryBound(to: Int32.self)
        memset(packed, 0, columns * groups * 4)
        for j in 0..<columns {
            var sum: Int32 = 0
            if j < outputs {
                let row = w + j * inputs
                let block = p + (j / 16) * groups * 64 + (j % 16) * 4
                for i in 0..<inputs {
                    block[(i / 4) * 64 + i % 4] = row[i]
                    sum &+= Int32(row[i])
                }
            }
            terms[j] = 128 &* sum
        }
    }
}

/// The arguments of one packed int8 layer across the kernel table: `rows` rows of
/// `inputs` floats at x; the layer's packed weights (Compact.packInt8), its scales and
/// bias; the caller's scratch q (rows * roundUp4(inputs) bytes) and rowScales (rows
/// floats); z (rows * outputs floats), with relu applied when `relu` (the layer's
/// activation fused into the stores).
struct Int8PackedCall {
    var x: UnsafePointer<Float>, rows: Int, inputs: Int, outputs: Int
    var packed: UnsafeRawPointer, scales: UnsafePointer<Float>, bias: UnsafePointer<Float>
    var q: UnsafeMutablePointer<Int8>, rowScales: UnsafeMutablePointer<Float>
    var z: UnsafeMutablePointer<Float>
    var relu: Bool
}
