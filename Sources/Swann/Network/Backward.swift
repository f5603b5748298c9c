import CSupport

/// The lecture's backward pass: Div against the targets (or the host's grad_Y Div),
/// then the recursion down to grad_x Div, the gradients accumulated all or nothing.
/// Nothing here allocates: every buffer is a pointer into the net's arena.
extension Net {
    /// True when the output layer's gradient comes fused from the loss.
    var outputFused: Bool {
        let h = header.pointee
        let act = layers[h.layerCount - 1].activation
        return (h.loss == .crossEntropy && act == .softmax) || (h.loss == .binaryCrossEntropy && act == .sigmoid)
    }

    /// Backward pass with the loss: grad_Y Div from the targets, then the recursion.
    func backward(target: UnsafePointer<Float>, loss: UnsafeMutablePointer<Float>?,
                  dx: UnsafeMutablePointer<Float>?) throws(SwannError) {
        restoreRows()
        let h = header.pointee
        let batch = h.lastBatch
        let cols = h.outputSize
        if let i = Losses.firstTargetOutside(h.loss, target, count: batch * cols) {
            throw Failure("backward: target row ").int(i / cols).text(", column ").int(i % cols)
                .text(" is ").number(Double(target[i]))
                .text(h.loss == .crossEntropy ? "; cross_entropy needs targets >= 0" as StaticString
                                              : "; binary_cross_entropy needs targets in [0, 1]")
                .text("; nothing accumulated").error(.arg)
        }
        let last = layers[h.layerCount - 1]
        let g = floats(h.scratch0)
        let fused = outputFused
        let total = kernels.lossGradient(h.loss, fused: fused, z: floats(last.z), y: floats(last.y),
                                         target: target, g: g, rows: batch, cols: cols)
        let mean = Float(total / Double(batch))
        guard mean.isFinite, kernels.allFinite(g, batch * cols) else {
            throw Failure("backward: the loss is ").number(Double(mean))
                .text(" (non-finite loss or gradient; check targets and outputs); nothing accumulated").error(.numeric)
        }
        try propagate("backward", outputIsZ: fused, dx: dx) {
            _ = kernels.lossGradient(h.loss, fused: fused, z: floats(last.z), y: floats(last.y),
                                     target: target, g: g, rows: batch, cols: cols)
        }
        loss?.pointee = mean
    }

    /// Backward pass with the host's grad_Y Div.
    func backward(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?) throws(SwannError) {
        restoreRows()
        let h = header.pointee
        let n = h.lastBatch * h.outputSize
        guard kernels.allFinite(dy, n) else {
            throw Failure("backward_grad: dy has NaN or Inf values; nothing accumulated").error(.numeric)
        }
        let g = floats(h.scratch0)
        copyFloats(g, dy, n)
        try propagate("backward_grad", outputIsZ: false, dx: dx) { copyFloats(g, dy, n) }
    }

    /// The recursion, for k = N down to 1, starting from the gradient in the first
    /// scratch buffer (grad_Y Div, or grad_z Div of the last layer when `outputIsZ`):
    ///   grad_z_k   = grad_y_k J_{y_k}(z_k)
    ///   grad_W_k  += grad_z_k^T y_{k-1}     (summed over rows)
    ///   grad_b_k  += sum over rows of grad_z_k
    ///   grad_y_{k-1} = grad_z_k W_k          (skipped for k = 1 unless dx is wanted)
    ///
    /// All or nothing: when a sum or dx would not be finite, the gradients and T
    /// stay as they were. While the buffer counts as zero (after a step or
    /// zero_grad, or before the first backward, unless the host holds its
    /// address) the sums are written over it and checked on the way; a failure
    /// leaves it counting as zero. Sums added to ones that must survive are
    /// first proven finite: from bounds (`sumsProvenFinite`), or, where none
    /// holds, by a walk that writes nothing (`reload` then puts the starting
    /// gradient back in the scratch buffer that walk used).
    private func propagate(_ function: StaticString, outputIsZ: Bool, dx: UnsafeMutablePointer<Float>?,
                           reload: () -> Void) throws(SwannError) {
        let h = header.pointee
        var bound = Double.infinity  // on |every gradient value| after this call (gradientBound)
        if !h.gradsShared && (h.gradsStale || h.accumulated == 0) {
            do throws(SwannError) {
                bound = try walk(function, .overwrite, outputIsZ: outputIsZ, dx: dx, exact: nil)
            } catch {
                header.pointee.gradsStale = true
                throw error
            }
        } else if let proven = sumsProvenFinite(outputIsZ: outputIsZ, dx: dx != nil) {
            try walk(function, .add, outputIsZ: outputIsZ, dx: dx, exact: nil)
            bound = proven
        } else {
            // Layers whose sums no bound proves finite: checked, then added, one by one.
            var exact = LayerList<Bool>(filler: false)
            for _ in 0..<h.layerCount { exact.append(false) }
            try walk(function, .verify, outputIsZ: outputIsZ, dx: dx, exact: &exact)
            reload()
            try walk(function, .add, outputIsZ: outputIsZ, dx: dx, exact: &exact)
        }
        header.pointee.accumulated += h.lastBatch
        header.pointee.gradsStale = false
        header.pointee.gradientBound = bound
    }

    /// A bound on |every gradient value| after the walk adds its sums, when every
    /// sum, and dx, is provably finite from the largest magnitudes of what it reads
    /// (the starting gradient, the accumulated sums, each layer's input and weights)
    /// and bounds on the activations' derivatives: passes over those, no products.
    /// nil when a bound fails or a value read is not finite (then `Walk.verify`
    /// decides, the long way).
    private func sumsProvenFinite(outputIsZ: Bool, dx: Bool) -> Double? {
        let h = header.pointee
        let batch = h.lastBatch
        let top = layers[h.layerCount - 1]
        guard let g = kernels.finiteMaxMagnitude(floats(h.scratch0), batch * h.outputSize) else { return nil }
        var bound = Double(g)  // on max |grad_z| of layer k
        if !outputIsZ {
            guard kernels.finiteMaxMagnitude(floats(top.y), batch * top.fanOut) != nil else { return nil }
            bound *= Activations.derivativeBound(top.activation, alpha: top.alpha)
        }
        var sums = 0.0  // the bound on every layer's sums so far
        var k = h.layerCount - 1
        while k >= 0 {
            let l = layers[k]
            let prev = UnsafePointer(k == 0 ? floats(h.input) : floats(layers[k - 1].y))
            // Finite y_{k-1} also keeps the derivative bound of layer k - 1 valid.
            guard let old = kernels.finiteMaxMagnitude(floats(l.gradWeight),
                                                       l.fanOut * l.fanIn + l.fanOut),
                  let y = kernels.finiteMaxMagnitude(prev, batch * l.fanIn) else { return nil }
            let layerSums = sumBound(old: Double(old), count: batch, x: bound, y: Double(max(y, 1)))
            guard sumBoundFits(layerSums) else { return nil }
            sums = max(sums, layerSums)
            if k > 0 || dx {
                guard let w = kernels.finiteMaxMagnitude(floats(l.weight), l.fanOut * l.fanIn) else { return nil }
                // |grad_y_{k-1}| <= fanOut max |grad_z_k| max |W_k|, times e^2.01 < 8 for the roundings.
                bound = 8 * Double(l.fanOut) * bound * Double(w)
                if k == 0 { return bound * 16 <= Double(Float.greatestFiniteMagnitude) ? sums : nil }  // dx
                bound *= Activations.derivativeBound(layers[k - 1].activation, alpha: layers[k - 1].alpha)
            }
            k -= 1
        }
        return sums
    }

    /// What a walk of the recursion does with the sums.
    private enum Walk {
        case overwrite  // write them over the buffer, checking them
        case verify     // write nothing: prove that adding them gives finite values
        case add        // add them (after `verify`)
    }

    /// The recursion in `mode`. Returns, for `.overwrite`, a bound on |every gradient
    /// value| it wrote (from the bounds or the checks that prove them finite); else infinity.
    @discardableResult
    private func walk(_ function: StaticString, _ mode: Walk, outputIsZ: Bool, dx: UnsafeMutablePointer<Float>?,
                      exact: UnsafeMutablePointer<LayerList<Bool>>?) throws(SwannError) -> Double {
        let h = header.pointee
        var written = mode == .overwrite ? 0.0 : Double.infinity
        let batch = h.lastBatch
        var cur = floats(h.scratch0), other = floats(h.scratch1)
        let work = engine
        var k = h.layerCount - 1
        while k >= 0 {
            let l = layers[k]
            // The top layer's grad_z came from the loss when `outputIsZ`: no derivative there.
            let act = outputIsZ && k == h.layerCount - 1 ? Activation.identity : l.activation
            let zk = floats(l.z), yk = floats(l.y)
            let prev = UnsafePointer(k == 0 ? floats(h.input) : floats(layers[k - 1].y))
            let gW = floats(l.gradWeight)
            let gb = floats(l.gradBias)
            switch mode {
            case .overwrite:
                // grad_z = grad_y f'(z) and grad_b = its column sums, one pass over grad_z.
                zeroFloats(gb, l.fanOut)
                let largest = kernels.activationBackwardAddingRows(act, alpha: l.alpha, z: zk, y: yk, d: cur,
                                                                    rows: batch, cols: l.fanOut, into: gb)
                // grad_b is finite exactly when every grad_z is (and its sums are).
                guard kernels.allFinite(gb, l.fanOut) else { throw refused(function, k, "grad_z is NaN or Inf") }
                kernels.multiply(m: l.fanOut, n: l.fanIn, k: batch,
                                 a: cur, lda: l.fanOut, transA: true,
                                 b: prev, ldb: l.fanIn, transB: false,
                                 c: gW, ldc: l.fanIn, accumulate: false, engine: work)
                // grad_W: proven finite from max |grad_z| and max |y_{k-1}| when that
                // pass (batch x fanIn) is the shorter one, else checked value by value.
                // Either way the layer's sums (grad_b's too) get a bound for the step.
                var proven = false
                if batch < l.fanOut, let y = kernels.finiteMaxMagnitude(prev, batch * l.fanIn) {
                    let sums = sumBound(old: 0, count: batch, x: Double(largest), y: Double(max(y, 1)))
                    proven = sumBoundFits(sums)
                    if proven { written = max(written, sums) }
                }
                if !proven {
                    if h.optimizer.provesUpdateFromGradient {
                        // grad_b follows grad_W; the square root of a rounded square may be an ulp short.
                        guard let largestSum = kernels.finiteMaxMagnitude(gW, l.fanOut * l.fanIn + l.fanOut) else {
                            throw refused(function, k, "grad_W overflows float")
                        }
                        written = max(written, 2 * Double(largestSum))
                    } else {
                        // No step reads the bound: the cheaper check (XOR's Adam epoch on the
                        // Cortex-M took 2.4 % more instructions with the largest value measured).
                        guard kernels.allFinite(gW, l.fanOut * l.fanIn) else {
                            throw refused(function, k, "grad_W overflows float")
                        }
                        written = .infinity
                    }
                }
            case .verify:
                kernels.activationBackward(act, alpha: l.alpha, z: zk, y: yk, d: cur, rows: batch, cols: l.fanOut)
                guard let largest = kernels.finiteMaxMagnitude(cur, batch * l.fanOut) else {
                    throw refused(function, k, "grad_z is NaN or Inf")
                }
                // grad_W, then grad_b
                guard let old = kernels.finiteMaxMagnitude(gW, l.fanOut * l.fanIn + l.fanOut) else {
                    throw refused(function, k, "the accumulated gradient already has NaN or Inf (swann_zero_grad discards it)")
                }
                guard let y = kernels.finiteMaxMagnitude(prev, batch * l.fanIn) else {
                    throw refused(function, k, "the layer's input has NaN or Inf (the forward overflowed float)")
                }
                if !sumsBounded(old: Double(old), count: batch, x: Double(largest), y: Double(max(y, 1))) {
                    exact?.pointee[k] = true
                    guard exactSums(l, dz: cur, y: prev, batch: batch, gW: gW, gb: gb, scratch: other,
                                    commit: false) else {
                        throw refused(function, k, "grad_W or grad_b overflows float")
                    }
                }
            case .add:
                if exact?.pointee[k] == true {
                    kernels.activationBackward(act, alpha: l.alpha, z: zk, y: yk, d: cur, rows: batch, cols: l.fanOut)
                    _ = exactSums(l, dz: cur, y: prev, batch: batch, gW: gW, gb: gb, scratch: other, commit: true)
                } else {
                    _ = kernels.activationBackwardAddingRows(act, alpha: l.alpha, z: zk, y: yk, d: cur,
                                                             rows: batch, cols: l.fanOut, into: gb)
                    kernels.multiply(m: l.fanOut, n: l.fanIn, k: batch,
                                     a: cur, lda: l.fanOut, transA: true,
                                     b: prev, ldb: l.fanIn, transB: false,
                                     c: gW, ldc: l.fanIn, accumulate: true, engine: work)
                }
            }
            if k > 0 || dx != nil {
                kernels.multiply(m: batch, n: l.fanIn, k: l.fanOut,
                                 a: cur, lda: l.fanOut, transA: false,
                                 b: floats(l.weight), ldb: l.fanIn, transB: false,
                                 c: other, ldc: l.fanIn, accumulate: false, engine: work)
                swap(&cur, &other)
            }
            k -= 1
        }
        if let dx {
            let n = batch * h.inputSize
            if mode != .add && !kernels.allFinite(cur, n) {
                throw Failure(function).text(": dx (grad_x Div) overflows float; nothing accumulated").error(.numeric)
            }
            if mode != .verify { copyFloats(dx, cur, n) }
        }
        return written
    }

    private func refused(_ function: StaticString, _ k: Int, _ what: StaticString) -> SwannError {
        Failure(function).text(": layers[").int(k).text("]: ").text(what).text("; nothing accumulated").error(.numeric)
    }

    /// grad_W += grad_z^T y_{k-1} and grad_b += the column sums of grad_z, for sums
    /// no bound proves finite (values near float's range): grad_W a block of rows at
    /// a time through `scratch`, then added value by value, so that a first call
    /// (`commit` false, writing nothing) tells exactly whether every sum the second
    /// call writes is finite.
    private func exactSums(_ l: LayerRecord, dz: UnsafePointer<Float>, y: UnsafePointer<Float>, batch: Int,
                           gW: UnsafeMutablePointer<Float>, gb: UnsafeMutablePointer<Float>,
                           scratch: UnsafeMutablePointer<Float>, commit: Bool) -> Bool {
        let h = header.pointee
        let width = tensors.width  // the scratch buffers hold max_batch rows of the widest layer
        let rows = max(1, min(l.fanOut, h.maxBatch * width / l.fanIn))
        var i = 0
        while i < l.fanOut {
            let m = min(rows, l.fanOut - i)
            kernels.multiply(m: m, n: l.fanIn, k: batch,
                             a: dz + i, lda: l.fanOut, transA: true,
                             b: y, ldb: l.fanIn, transB: false,
                             c: scratch, ldc: l.fanIn, accumulate: false, engine: engine)
            if commit {
                kernels.addFloats(gW + i * l.fanIn, scratch, m * l.fanIn)
            } else if !kernels.sumsFinite(gW + i * l.fanIn, scratch, m * l.fanIn) {
                return false
            }
            i += m
        }
        if commit {
            _ = kernels.addRows(dz, count: batch, cols: l.fanOut, into: gb)
            return true
        }
        // The sums addRows would write, column by column in the same order.
        for j in 0..<l.fanOut {
            var s = gb[j]
            for r in 0..<batch { s += dz[r * l.fanOut + j] }
            if !s.isFinite { return false }
        }
        return true
    }
}
