import CSupport

/// The lecture's forward pass over a batch. Nothing here allocates: every
/// buffer is a pointer into the net's arena.
extension Net {
    /// Forward pass for `batch` rows of `x`:  z_k = W_k y_{k-1} + b_k,  y_k = f_k(z_k),
    /// computed for all rows at once as Z_k = Y_{k-1} W_k^T + b_k.
    func forward(_ x: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>?) throws(SwannError) {
        let h = header.pointee
        guard allFinite(x, batch * h.inputSize) else {
            throw Failure("forward: input has NaN or Inf values").error(.numeric)
        }
        let y0 = floats(h.input)
        copyFloats(y0, x, batch * h.inputSize)
        var prev = UnsafePointer(y0)
        let work = engine
        for k in 0..<h.layerCount {
            let l = layers[k]
            let z = floats(l.z), y = floats(l.y)
            let b = floats(l.bias)
            for r in 0..<batch { copyFloats(z + r * l.fanOut, b, l.fanOut) }
            Gemm.multiply(m: batch, n: l.fanOut, k: l.fanIn,
                          a: prev, lda: l.fanIn, transA: false,
                          b: floats(l.weight), ldb: l.fanIn, transB: true,
                          c: z, ldc: l.fanOut, accumulate: true, engine: work)
            Activations.forward(l.activation, alpha: l.alpha, z: z, y: y, rows: batch, cols: l.fanOut)
            prev = UnsafePointer(y)
        }
        if let output { copyFloats(output, prev, batch * h.outputSize) }
        header.pointee.lastBatch = batch
    }
}
