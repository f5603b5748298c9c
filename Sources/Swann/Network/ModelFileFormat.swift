import CSupport

// Model files: safetensors.
//
//   8 bytes   little-endian u64 N, the header length
//   N bytes   JSON header, padded with spaces to a multiple of 8:
//             {"__metadata__": {"format": "swann", "swann.version": ..., "swann.spec": ...},
//              "<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}
//   data      the tensors' bytes, little-endian, each at [begin, end) of this section
//
// Tensors: layers.{k}.weight [out, in] and layers.{k}.bias [out]; optimizer state as
// optimizer.step (I64, shape []) and optimizer.{k}.{weight|bias}.{slot}. swann
// writes the file tensors of its table (`TensorTable`) in table order, back to
// back; it reads any order and any padding, but nothing that is not exactly right.
//
// Compact models (f16 / int8 weights) add "swann.weights": "f16" | "int8" to the
// metadata; their layers.{k}.weight are F16 or I8 [out, in], and int8 adds
// layers.{k}.weight_scale (F32 [out]). Tensors are written by decreasing dtype size
// (I64, F32, F16, I8; table order within a size), so each lies aligned to its dtype
// and can be used in place. A float32 file's order is the table's, as before.

/// The largest header swann reads (a 256-layer spec needs well under 1 MiB).
let maxHeaderBytes = 64 << 20

/// The largest model-file bytes swann_load_buffer takes (2^48: any offset in them
/// fits an Int; a size above is a host mistake, such as a negative length cast).
let maxModelBytes = Int(clamping: Int64(1) << 48)  // 32-bit targets: Int.max, the address space

/// A bound on a model file's header length: the escaped spec (6 bytes per
/// character at most) and 256 bytes per tensor (a name under 100, numbers under 20 digits).
func headerCapacity<Source: ModelFileSource>(_ source: Source) -> Int {
    256 + 6 * source.fileSpecLength + 256 * source.fileTable.fileTensorCount
}

/// The safetensors header of a net or a model (see the format note at the top).
func writeHeader<Source: ModelFileSource>(_ t: inout TextBuffer, _ source: Source) {
    let optimizer = source.fileOptimizer
    t.text("{\"__metadata__\":{\"format\":\"swann\",\"swann.version\":")
    t.quoted(cString(swannVersion))
    t.text(",\"swann.spec\":")
    t.quoted(source.fileSpecText)
    let weights = source.fileTable.weights
    if weights != .f32 {
        t.text(",\"swann.weights\":\"")
        t.text(weights.name)
        t.text("\"")
    }
    t.text("}")
    var offset = 0
    var size = 8  // I64, F32, F16, I8
    while size > 0 {
        for tensor in source.fileTable where tensor.dtype.size == size && source.writes(tensor) {
            t.text(",")
            tensor.withName(optimizer) { name in t.quoted(name) }  // names need no escapes; quoted() is exact anyway
            t.text(":{\"dtype\":\"")
            t.text(tensor.dtype.name)
            t.text("\",\"shape\":[")
            if tensor.rank >= 1 { t.number(tensor.rows) }
            if tensor.rank == 2 { t.text(","); t.number(tensor.cols) }
            t.text("],\"data_offsets\":[")
            t.number(offset)
            t.text(",")
            t.number(offset + tensor.bytes)
            t.text("]}")
            offset += tensor.bytes
        }
        size /= 2
    }
    t.text("}")
}
