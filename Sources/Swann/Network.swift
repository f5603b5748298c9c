import CSupport

/// The lecture's forward and backward passes over a batch, and the update.
/// Nothing here allocates: every buffer is a pointer into the net's arena.
extension Net {
    /// Forward pass for `batch` rows of `x`:  z_k = W_k y_{k-1} + b_k,  y_k = f_k(z_k),
    /// computed for all rows at once as Z_k = Y_{k-1} W_k^T + b_k.
    func forward(_ x: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>?) -> Status {
        let h = header.pointee
        guard allFinite(x, batch * h.inputSize) else {
            return Failure("forward: input has NaN or Inf values").status(.numeric)
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
        return .ok
    }

    /// True when the output layer's gradient comes fused from the loss.
    var outputFused: Bool {
        let h = header.pointee
        guard h.fuseOutput else { return false }
        let act = layers[h.layerCount - 1].activation
        return (h.loss == .crossEntropy && act == .softmax) || (h.loss == .binaryCrossEntropy && act == .sigmoid)
    }

    /// Backward pass with the loss: grad_Y Div from the targets, then the recursion.
    func backward(target: UnsafePointer<Float>, loss: UnsafeMutablePointer<Float>?,
                  dx: UnsafeMutablePointer<Float>?) -> Status {
        let h = header.pointee
        let batch = h.lastBatch
        let last = layers[h.layerCount - 1]
        let g = floats(h.scratch0)
        let fused = outputFused
        let total = Losses.gradient(h.loss, fused: fused, z: floats(last.z), y: floats(last.y),
                                    target: target, g: g, rows: batch, cols: h.outputSize)
        let mean = Float(total / Double(batch))
        guard mean.isFinite, allFinite(g, batch * h.outputSize) else {
            let f = Failure("backward: the loss is ").number(Double(mean))
            return f.text(" (non-finite loss or gradient; check targets and outputs); nothing accumulated").status(.numeric)
        }
        propagate(outputIsZ: fused, dx: dx)
        loss?.pointee = mean
        return .ok
    }

    /// Backward pass with the host's grad_Y Div.
    func backward(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?) -> Status {
        let h = header.pointee
        let n = h.lastBatch * h.outputSize
        guard allFinite(dy, n) else {
            return Failure("backward_grad: dy has NaN or Inf values; nothing accumulated").status(.numeric)
        }
        copyFloats(floats(h.scratch0), dy, n)
        propagate(outputIsZ: false, dx: dx)
        return .ok
    }

    /// The recursion, for k = N down to 1, starting from the gradient in the first
    /// scratch buffer (grad_Y Div, or grad_z Div of the last layer when `outputIsZ`):
    ///   grad_z_k   = grad_y_k J_{y_k}(z_k)
    ///   grad_W_k  += grad_z_k^T y_{k-1}     (summed over rows)
    ///   grad_b_k  += sum over rows of grad_z_k
    ///   grad_y_{k-1} = grad_z_k W_k          (skipped for k = 1 unless dx is wanted)
    private func propagate(outputIsZ: Bool, dx: UnsafeMutablePointer<Float>?) {
        let h = header.pointee
        let batch = h.lastBatch
        var cur = floats(h.scratch0), other = floats(h.scratch1)
        let work = engine
        let gw = grads
        var k = h.layerCount - 1
        while k >= 0 {
            let l = layers[k]
            if !(outputIsZ && k == h.layerCount - 1) {
                Activations.backward(l.activation, alpha: l.alpha, z: floats(l.z), y: floats(l.y),
                                     d: cur, rows: batch, cols: l.fanOut)
            }
            let prev = UnsafePointer(k == 0 ? floats(h.input) : floats(layers[k - 1].y))
            let gW = gw + (l.weight - h.params) / MemoryLayout<Float>.stride
            Gemm.multiply(m: l.fanOut, n: l.fanIn, k: batch,
                          a: cur, lda: l.fanOut, transA: true,
                          b: prev, ldb: l.fanIn, transB: false,
                          c: gW, ldc: l.fanIn, accumulate: true, engine: work)
            let gb = gw + (l.bias - h.params) / MemoryLayout<Float>.stride
            for r in 0..<batch {
                let row = cur + r * l.fanOut
                for j in 0..<l.fanOut { gb[j] += row[j] }
            }
            if k > 0 || dx != nil {
                Gemm.multiply(m: batch, n: l.fanIn, k: l.fanOut,
                              a: cur, lda: l.fanOut, transA: false,
                              b: floats(l.weight), ldb: l.fanIn, transB: false,
                              c: other, ldc: l.fanIn, accumulate: false, engine: work)
                swap(&cur, &other)
            }
            k -= 1
        }
        if let dx { copyFloats(dx, cur, batch * h.inputSize) }
        header.pointee.accumulated += batch
    }

    /// The update: the optimizer applied to grad Err / T, then gradients and T zeroed.
    /// `rows` overrides T with a global count (data-parallel steps).
    func step(rows: Int? = nil) -> Status {
        let h = header.pointee
        let t = rows ?? h.accumulated
        guard t > 0 else {
            return Failure("step: no gradients accumulated (call swann_backward first)").status(.state)
        }
        guard allFinite(grads, h.paramCount) else {
            return Failure("step: the accumulated gradient has NaN or Inf values; parameters unchanged")
                .text(" (discard it with swann_zero_grad)").status(.numeric)
        }
        // A dry run first: an update that would overflow a parameter or a state
        // value (a huge learning rate or weight decay) is refused, nothing changed.
        guard optimizerStep(h.optimizer, params: params, grad: grads, slots: slots, count: h.paramCount,
                            t: t, stepIndex: h.steps, commit: false) else {
            return Failure("step: the update would make parameters or optimizer state NaN or Inf")
                .text(" (learning rate or weight decay too large?); parameters unchanged").status(.numeric)
        }
        _ = optimizerStep(h.optimizer, params: params, grad: grads, slots: slots, count: h.paramCount,
                          t: t, stepIndex: h.steps, commit: true)
        zeroGrad()
        // The count saturates at 2^53, the largest step a model file may hold.
        if h.steps < 1 << 53 { header.pointee.steps += 1 }
        return .ok
    }

    func zeroGrad() {
        zeroFloats(grads, header.pointee.paramCount)
        header.pointee.accumulated = 0
    }
}
