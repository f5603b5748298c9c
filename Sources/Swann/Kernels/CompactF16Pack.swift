import CSupport

// The packed f16 layout of the streaming kernel (CompactF16Packed.swift), made once
// per session at create (Session.swift) from the model's [out, in] binary16 rows:
//
//   blocks of 16 output columns; in block b, input i's 16 weights (32 bytes) at
//   (b * inputs + i) * 16 halves: element j is w[16 b + j, i]
//
// zero beyond the layer's outputs. A block is one stream read front to back: each
// input is one 16-lane convert (vcvtph2ps) and one FMA with the broadcast input, the
// 16 columns' sums stay in lanes, and no sum is reduced across lanes, so the layer
// runs near the speed of reading its bytes. The kernel keeps Compact.f16Layer's
// order (eight chains by input index mod 8, then the fixed tree), so the bits are
// the same on every level with FMA.

extension Compact {
    /// Bytes of one layer's packed f16 weights: 2 * inputs * outputs rounded up to 16 columns.
    static func packedF16Bytes(inputs: Int, outputs: Int) -> Int {
        roundUp16(outputs) * inputs * MemoryLayout<UInt16>.stride
    }

    /// Packs w [outputs, inputs] (binary16 bits) into `packed` (packedF16Bytes bytes).
    static func packF16(_ w: UnsafeRawPointer, inputs: Int, outputs: Int, into packed: UnsafeMutableRawPointer) {
        let columns = roundUp16(outputs)
        let src = w.assumingMemoryBound(to: UInt16.self)
        let dst = packed.assumingMemoryBound(to: UInt16.self)
        memset(packed, 0, columns * inputs * MemoryLayout<UInt16>.stride)
        for j in 0..<outputs {
            let row = src + j * inputs
            let column = dst + (j / 16) * inputs * 16 + j % 16
            for i in 0..<inputs { column[i * 16] = row[i] }
        }
    }
}

/// The arguments of one packed f16 layer across the kernel table: `rows` rows of
/// `inputs` floats at x, the layer's packed weights (Compact.packF16) and bias, and
/// z (rows * outputs floats).
struct F16PackedCall {
    var x: UnsafePointer<Float>, rows: Int, inputs: Int, outputs: Int
    var packed: UnsafeRawPointer, bias: UnsafePointer<Float>
    var z: UnsafeMutablePointer<Float>
}
