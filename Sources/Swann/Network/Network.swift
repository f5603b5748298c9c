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
        let cols = h.outputSize
        if let i = Losses.firstTargetOutside(h.loss, target, count: batch * cols) {
            let f = Failure("backward: target row ").int(i / cols).text(", column ").int(i % cols)
            f.text(" is ").number(Double(target[i]))
            f.text(h.loss == .crossEntropy ? "; cross_entropy needs targets >= 0"
                                           : "; binary_cross_entropy needs targets in [0, 1]")
            return f.text("; nothing accumulated").status(.arg)
        }
        let last = layers[h.layerCount - 1]
        let g = floats(h.scratch0)
        let fused = outputFused
        let total = Losses.gradient(h.loss, fused: fused, z: floats(last.z), y: floats(last.y),
                                    target: target, g: g, rows: batch, cols: cols)
        let mean = Float(total / Double(batch))
        guard mean.isFinite, allFinite(g, batch * cols) else {
            let f = Failure("backward: the loss is ").number(Double(mean))
            return f.text(" (non-finite loss or gradient; check targets and outputs); nothing accumulated").status(.numeric)
        }
        let status = propagate("backward", outputIsZ: fused, dx: dx) {
            _ = Losses.gradient(h.loss, fused: fused, z: floats(last.z), y: floats(last.y),
                                target: target, g: g, rows: batch, cols: cols)
        }
        guard status == .ok else { return status }
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
        let g = floats(h.scratch0)
        copyFloats(g, dy, n)
        return propagate("backward_grad", outputIsZ: false, dx: dx) { copyFloats(g, dy, n) }
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
                           reload: () -> Void) -> Status {
        let h = header.pointee
        if !h.gradsShared && (h.gradsStale || h.accumulated == 0) {
            let status = walk(function, .overwrite, outputIsZ: outputIsZ, dx: dx, exact: nil)
            guard status == .ok else {
                header.pointee.gradsStale = true
                return status
            }
        } else if sumsProvenFinite(outputIsZ: outputIsZ, dx: dx != nil) {
            _ = walk(function, .add, outputIsZ: outputIsZ, dx: dx, exact: nil)
        } else {
            // Layers whose sums no bound proves finite: checked, then added, one by one.
            var exactStore = InlineArray<256, Bool>(repeating: false)
            let status = withUnsafeMutablePointer(to: &exactStore) { ep -> Status in
                let exact = UnsafeMutableRawPointer(ep).assumingMemoryBound(to: Bool.self)
                let checked = walk(function, .verify, outputIsZ: outputIsZ, dx: dx, exact: exact)
                guard checked == .ok else { return checked }
                reload()
                return walk(function, .add, outputIsZ: outputIsZ, dx: dx, exact: exact)
            }
            guard status == .ok else { return status }
        }
        header.pointee.accumulated += h.lastBatch
        header.pointee.gradsStale = false
        return .ok
    }

    /// True when every sum a walk would add, and dx, is provably finite from the
    /// largest magnitudes of what it reads (the starting gradient, the accumulated
    /// sums, each layer's input and weights) and bounds on the activations'
    /// derivatives: passes over those, no products. False when a bound fails or a
    /// value read is not finite (then `Walk.verify` decides, the long way).
    private func sumsProvenFinite(outputIsZ: Bool, dx: Bool) -> Bool {
        let h = header.pointee
        let batch = h.lastBatch
        let top = layers[h.layerCount - 1]
        guard let g = finiteMaxMagnitude(floats(h.scratch0), batch * h.outputSize) else { return false }
        var bound = Double(g)  // on max |grad_z| of layer k
        if !outputIsZ {
            guard finiteMaxMagnitude(floats(top.y), batch * top.fanOut) != nil else { return false }
            bound *= Activations.derivativeBound(top.activation, alpha: top.alpha)
        }
        let gw = grads
        var k = h.layerCount - 1
        while k >= 0 {
            let l = layers[k]
            let prev = UnsafePointer(k == 0 ? floats(h.input) : floats(layers[k - 1].y))
            // Finite y_{k-1} also keeps the derivative bound of layer k - 1 valid.
            guard let old = finiteMaxMagnitude(gw + (l.weight - h.params) / MemoryLayout<Float>.stride,
                                               l.fanOut * l.fanIn + l.fanOut),
                  let y = finiteMaxMagnitude(prev, batch * l.fanIn),
                  sumsBounded(old: Double(old), count: batch, x: bound, y: Double(max(y, 1))) else { return false }
            if k > 0 || dx {
                guard let w = finiteMaxMagnitude(floats(l.weight), l.fanOut * l.fanIn) else { return false }
                // |grad_y_{k-1}| <= fanOut max |grad_z_k| max |W_k|, times e^2.01 < 8 for the roundings.
                bound = 8 * Double(l.fanOut) * bound * Double(w)
                if k == 0 { return bound * 16 <= Double(Float.greatestFiniteMagnitude) }  // dx
                bound *= Activations.derivativeBound(layers[k - 1].activation, alpha: layers[k - 1].alpha)
            }
            k -= 1
        }
        return true
    }

    /// What a walk of the recursion does with the sums.
    private enum Walk {
        case overwrite  // write them over the buffer, checking them
        case verify     // write nothing: prove that adding them gives finite values
        case add        // add them (after `verify`)
    }

    private func walk(_ function: StaticString, _ mode: Walk, outputIsZ: Bool, dx: UnsafeMutablePointer<Float>?,
                      exact: UnsafeMutablePointer<Bool>?) -> Status {
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
            let gb = gw + (l.bias - h.params) / MemoryLayout<Float>.stride
            switch mode {
            case .overwrite:
                Gemm.multiply(m: l.fanOut, n: l.fanIn, k: batch,
                              a: cur, lda: l.fanOut, transA: true,
                              b: prev, ldb: l.fanIn, transB: false,
                              c: gW, ldc: l.fanIn, accumulate: false, engine: work)
                zeroFloats(gb, l.fanOut)
                let largest = addRows(cur, count: batch, cols: l.fanOut, into: gb)
                // grad_b is finite exactly when every grad_z is (and its sums are).
                guard allFinite(gb, l.fanOut) else { return refused(function, k, "grad_z is NaN or Inf") }
                // grad_W: proven finite from max |grad_z| and max |y_{k-1}| when that
                // pass (batch x fanIn) is the shorter one, else checked value by value.
                var proven = false
                if batch < l.fanOut, let y = finiteMaxMagnitude(prev, batch * l.fanIn) {
                    proven = sumsBounded(old: 0, count: batch, x: Double(largest), y: Double(max(y, 1)))
                }
                guard proven || allFinite(gW, l.fanOut * l.fanIn) else {
                    return refused(function, k, "grad_W overflows float")
                }
            case .verify:
                guard let largest = finiteMaxMagnitude(cur, batch * l.fanOut) else {
                    return refused(function, k, "grad_z is NaN or Inf")
                }
                guard let old = finiteMaxMagnitude(gW, l.fanOut * l.fanIn + l.fanOut) else {  // grad_W, then grad_b
                    return refused(function, k, "the accumulated gradient already has NaN or Inf (swann_zero_grad discards it)")
                }
                guard let y = finiteMaxMagnitude(prev, batch * l.fanIn) else {
                    return refused(function, k, "the layer's input has NaN or Inf (the forward overflowed float)")
                }
                if !sumsBounded(old: Double(old), count: batch, x: Double(largest), y: Double(max(y, 1))) {
                    exact?[k] = true
                    guard exactSums(l, dz: cur, y: prev, batch: batch, gW: gW, gb: gb, scratch: other,
                                    commit: false) else {
                        return refused(function, k, "grad_W or grad_b overflows float")
                    }
                }
            case .add:
                if exact?[k] == true {
                    _ = exactSums(l, dz: cur, y: prev, batch: batch, gW: gW, gb: gb, scratch: other, commit: true)
                } else {
                    Gemm.multiply(m: l.fanOut, n: l.fanIn, k: batch,
                                  a: cur, lda: l.fanOut, transA: true,
                                  b: prev, ldb: l.fanIn, transB: false,
                                  c: gW, ldc: l.fanIn, accumulate: true, engine: work)
                    _ = addRows(cur, count: batch, cols: l.fanOut, into: gb)
                }
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
        if let dx {
            let n = batch * h.inputSize
            if mode != .add && !allFinite(cur, n) {
                return Failure(function).text(": dx (grad_x Div) overflows float; nothing accumulated").status(.numeric)
            }
            if mode != .verify { copyFloats(dx, cur, n) }
        }
        return .ok
    }

    private func refused(_ function: StaticString, _ k: Int, _ what: StaticString) -> Status {
        Failure(function).text(": layers[").int(k).text("]: ").text(what).text("; nothing accumulated").status(.numeric)
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
        var width = h.inputSize  // the scratch buffers hold max_batch rows of the widest layer
        for k in 0..<h.layerCount { width = max(width, layers[k].fanOut) }
        let rows = max(1, min(l.fanOut, h.maxBatch * width / l.fanIn))
        var i = 0
        while i < l.fanOut {
            let m = min(rows, l.fanOut - i)
            Gemm.multiply(m: m, n: l.fanIn, k: batch,
                          a: dz + i, lda: l.fanOut, transA: true,
                          b: y, ldb: l.fanIn, transB: false,
                          c: scratch, ldc: l.fanIn, accumulate: false, engine: engine)
            if commit {
                addFloats(gW + i * l.fanIn, scratch, m * l.fanIn)
            } else if !sumsFinite(gW + i * l.fanIn, scratch, m * l.fanIn) {
                return false
            }
            i += m
        }
        if commit {
            _ = addRows(dz, count: batch, cols: l.fanOut, into: gb)
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

    /// The update: the optimizer applied to grad Err / T, then gradients and T zeroed.
    /// `rows` overrides T with a global count (data-parallel steps).
    ///
    /// Up to three passes over the parameters, each split into `StepChunks` and
    /// run on the pool when the net is large: the gradient norm (with clip_norm
    /// only), a dry run that checks the gradient and that every new parameter and
    /// state value would be finite (a step that fails it changes nothing), then
    /// the update itself. The gradient then counts as zero: the next backward
    /// writes over it (`gradsStale`), or, once the host has the buffer's address,
    /// the update zeroes each block of it once used.
    func step(rows: Int? = nil) -> Status {
        let h = header.pointee
        let t = rows ?? h.accumulated
        guard t > 0 else {
            return Failure("step: no gradients accumulated (call swann_backward first)").status(.state)
        }
        // A step schedule with gamma > 1 eventually drives the rate past float's range.
        let rate = h.optimizer.learningRate(afterSteps: h.steps)
        guard Float(rate).isFinite else {
            let f = Failure("step: the \"").text(h.optimizer.schedule.name).text("\" schedule's learning rate ")
            return f.number(rate).text(" at step ").int(h.steps).text(" overflows float; nothing changed")
                .status(.numeric)
        }
        // A data-parallel step with no backward since the last one: the gradient is zero.
        if h.gradsStale { materializeZeroGrads() }
        let n = h.paramCount
        let chunks = StepChunks.of(n)
        let clip = h.optimizer.clipNorm > 0
        // Per-chunk results, on the stack (at most StepChunks.maxChunks).
        var sumStore = InlineArray<64, Double>(repeating: 0)
        var flagStore = InlineArray<64, UInt8>(repeating: 0)
        return withUnsafeMutablePointer(to: &sumStore) { sp in
            withUnsafeMutablePointer(to: &flagStore) { fp in
                var job = StepJob(config: h.optimizer, params: params, grads: grads, slots: slots, count: n,
                                  chunkSize: chunks.size, stepIndex: h.steps, scale: 1 / Float(t), phase: clip ? 0 : 1,
                                  zeroGrad: h.gradsShared,
                                  sums: UnsafeMutableRawPointer(sp).assumingMemoryBound(to: Double.self),
                                  flags: UnsafeMutableRawPointer(fp).assumingMemoryBound(to: UInt8.self))
                return step(&job, chunks: chunks, t: t, clip: clip)
            }
        }
    }

    private func step(_ job: inout StepJob, chunks: (size: Int, count: Int), t: Int, clip: Bool) -> Status {
        let h = header.pointee
        let n = h.paramCount
        var pool: UnsafeMutablePointer<cs_pool>? = nil
        if let p = engine.pool, n >= StepJob.parallelThreshold, chunks.count > 1, cs_pool_use(p) != 0 { pool = p }
        var gradOK = true, updateOK = true
        if clip {
            StepJob.run(&job, chunks: chunks.count, pool: pool)
            var sum = 0.0
            for k in 0..<chunks.count { sum += job.sums[k] }  // in chunk order: the same for any thread count
            gradOK = sum.isFinite  // finite exactly when every gradient value is
            job.scale = clippedScale(h.optimizer, t: t, sumSquares: sum)
        }
        // Plain SGD on parameters known finite: p - lr * (g * scale) is finite when
        // every g is and lr * scale * max|g| <= 2^100 (then |p - b| stays below
        // FLT_MAX + ulp(FLT_MAX) / 2 and rounds to a finite value), so a pass over
        // the gradient alone replaces the dry run over parameters and gradient.
        var proven = false
        let c = h.optimizer
        if gradOK && !h.paramsShared && c.kind == .sgd && c.momentum == 0 && c.weightDecay == 0 {
            job.phase = 3
            StepJob.run(&job, chunks: chunks.count, pool: pool)
            var largest = 0.0
            for k in 0..<chunks.count {
                gradOK = gradOK && job.flags[k] & 2 == 0
                largest = max(largest, job.sums[k])
            }
            let lr = Double(Float(c.learningRate(afterSteps: h.steps)))
            proven = gradOK && abs(lr) * largest.squareRoot() * Double(job.scale) * (1 + 0x1p-20) <= 0x1p100
        }
        if gradOK && !proven {
            job.phase = 1
            StepJob.run(&job, chunks: chunks.count, pool: pool)
            for k in 0..<chunks.count {
                gradOK = gradOK && job.flags[k] & 2 == 0
                updateOK = updateOK && job.flags[k] & 1 == 0
            }
        }
        guard gradOK else {
            return Failure("step: the accumulated gradient has NaN or Inf values; parameters unchanged")
                .text(" (discard it with swann_zero_grad)").status(.numeric)
        }
        // A dry run first: an update that would overflow a parameter or a state
        // value (a huge learning rate or weight decay) is refused, nothing changed.
        guard updateOK else {
            return Failure("step: the update would make parameters or optimizer state NaN or Inf")
                .text(" (learning rate or weight decay too large?); parameters unchanged").status(.numeric)
        }
        job.phase = 2
        StepJob.run(&job, chunks: chunks.count, pool: pool)
        header.pointee.accumulated = 0
        if !h.gradsShared { header.pointee.gradsStale = true }
        // The count saturates at 2^53, the largest step a model file may hold.
        if h.steps < 1 << 53 { header.pointee.steps += 1 }
        return .ok
    }

    func zeroGrad() {
        if header.pointee.gradsShared {
            zeroFloats(grads, header.pointee.paramCount)
        } else {
            header.pointee.gradsStale = true
        }
        header.pointee.accumulated = 0
    }

    /// Zeroes a stale gradient buffer, so that it holds what it counts as.
    func materializeZeroGrads() {
        zeroFloats(grads, header.pointee.paramCount)
        header.pointee.gradsStale = false
    }

    /// The parameters, for a host that reads or writes them in place: from now on
    /// they are no longer known finite, and every step checks its update in full.
    func shareParams() -> UnsafeMutablePointer<Float> {
        header.pointee.paramsShared = true
        return params
    }

    /// The gradient buffer, for a host that reads or writes it in place: from now on
    /// it always holds the true sums (zeroed eagerly after a step).
    func shareGrads() -> UnsafeMutablePointer<Float> {
        if header.pointee.gradsStale { materializeZeroGrads() }
        header.pointee.gradsShared = true
        return grads
    }
}

/// One pass of `Net.step` over the chunks of the parameters, on the calling
/// thread or the pool. Each chunk writes only its own slots of `sums` and `flags`.
struct StepJob {
    /// Steps over fewer parameters stay on the calling thread.
    static let parallelThreshold = 1 << 16

    var config: OptimizerConfig
    var params, grads, slots: UnsafeMutablePointer<Float>
    var count, chunkSize, stepIndex: Int
    var scale: Float
    var phase: Int  // 0: gradient norm, 1: dry run and gradient check, 2: update, 3: gradient's max g^2
    var zeroGrad: Bool  // phase 2 zeroes each block of the gradient once used
    var sums: UnsafeMutablePointer<Double>  // per chunk: phase 0 the sum of squares of grad / T, phase 3 max grad^2
    var flags: UnsafeMutablePointer<UInt8>  // per chunk: phase 1 1 = update not finite, 2 = gradient not finite; phase 3 2 = gradient not finite

    static func run(_ job: inout StepJob, chunks: Int, pool: UnsafeMutablePointer<cs_pool>?) {
        guard let pool else {
            withUnsafeMutablePointer(to: &job) { jp in for k in 0..<chunks { runChunk(jp, k) } }
            return
        }
        withUnsafeMutablePointer(to: &job) { jp in
            cs_pool_run(pool, { ctx, index, _ in
                guard let ctx else { return }
                StepJob.runChunk(ctx.assumingMemoryBound(to: StepJob.self), Int(index))
            }, UnsafeMutableRawPointer(jp), Int64(chunks))
        }
    }

    static func runChunk(_ jp: UnsafeMutablePointer<StepJob>, _ k: Int) {
        let n = jp.pointee.count
        let lo = k * jp.pointee.chunkSize
        let hi = min(n, lo + jp.pointee.chunkSize)
        let grads = jp.pointee.grads
        switch jp.pointee.phase {
        case 0:
            jp.pointee.sums[k] = sumOfSquares(grads + lo, hi - lo, scale: jp.pointee.scale)
        case 1:
            let r = optimizerChunk(jp.pointee.config, params: jp.pointee.params, grad: grads, slots: jp.pointee.slots,
                                   stride: n, from: lo, to: hi, scale: jp.pointee.scale,
                                   stepIndex: jp.pointee.stepIndex, commit: false, zeroGrad: false, checkGrad: true)
            jp.pointee.flags[k] = (r.update ? 0 : 1) | (r.grad ? 0 : 2)
        case 3:
            let m = finiteMaxSquare(grads + lo, hi - lo)
            jp.pointee.sums[k] = Double(m ?? 0)
            jp.pointee.flags[k] = m == nil ? 2 : 0
        default:
            _ = optimizerChunk(jp.pointee.config, params: jp.pointee.params, grad: grads, slots: jp.pointee.slots,
                               stride: n, from: lo, to: hi, scale: jp.pointee.scale,
                               stepIndex: jp.pointee.stepIndex, commit: true, zeroGrad: jp.pointee.zeroGrad,
                               checkGrad: false)
        }
    }
}
