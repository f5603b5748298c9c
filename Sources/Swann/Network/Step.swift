import CSupport

// The step: the optimizer applied to grad Err / T (the lecture's update,
// W_k -= (lr / T) grad Err for plain SGD), then the gradient and T counted as zero.
// One unit: the phases below, the chunks they run over, and the gradient
// buffer's bookkeeping that lets a step skip work.

/// The passes a step may make over the parameters, in the order they run. Each
/// is split into `StepChunks` and run on the pool when the net is large.
enum StepPhase {
    /// clip_norm only: the sum of squares of grad / T (the norm the clip needs).
    case gradientNorm
    /// Plain SGD on parameters known finite: max g^2 and whether g is finite,
    /// which prove the update finite without a dry run.
    case largestGradient
    /// Every new parameter and state value checked finite; nothing written.
    case dryRun
    /// The update itself (and, when the host holds the gradient's address, the
    /// gradient zeroed block by block).
    case update
}

/// What one chunk of a phase found.
struct ChunkResult {
    var sum: Double = 0          // gradientNorm: sum of squares; largestGradient: max g^2
    var gradientFinite = true
    var updateFinite = true
}

/// The per-chunk results of a phase, on the stack: its size is the most chunks a step makes.
typealias StepResults = InlineArray<64, ChunkResult>

/// How a step splits the parameters: chunks of whole blocks, at most `maxChunks`
/// of them, sized from the parameter count alone. The pool runs the chunks on
/// any thread, but the gradient norm is summed chunk by chunk and the partial
/// sums added in chunk order, so a step gives the same bits whatever the
/// thread count.
enum StepChunks {
    static let block = UpdateRule.block
    static let maxChunks = StepResults.count
    /// At least 32 K floats per chunk: below that, handing chunks to workers
    /// costs more than the update.
    static let minChunk = 8 * block
    /// Steps over fewer parameters stay on the calling thread.
    static let parallelThreshold = 1 << 16

    /// (floats per chunk, chunk count) for `n` parameters.
    static func of(_ n: Int) -> (size: Int, count: Int) {
        let spread = (n + maxChunks - 1) / maxChunks
        let size = max(minChunk, (spread + block - 1) / block * block)
        return (size, max(1, (n + size - 1) / size))
    }
}

extension Net {
    /// The update, with T = `rows` (a global count, for data-parallel steps) or
    /// the rows accumulated. All or nothing: a gradient with NaN or Inf, or an
    /// update that would make a parameter or state value non-finite, is refused
    /// with everything unchanged. Afterwards the gradient counts as zero: the next
    /// backward writes over it (`gradsStale`), or, once the host has the buffer's
    /// address, the update zeroes each block of it once used.
    func step(rows: Int? = nil) throws(SwannError) {
        let h = header.pointee
        let t = rows ?? h.accumulated
        guard t > 0 else {
            throw Failure("step: no gradients accumulated (call swann_backward first)").error(.state)
        }
        // A step schedule with gamma > 1 eventually drives the rate past float's range.
        let rate = h.optimizer.learningRate(afterSteps: h.steps)
        guard Float(rate).isFinite else {
            throw Failure("step: the \"").text(h.optimizer.schedule.name).text("\" schedule's learning rate ")
                .number(rate).text(" at step ").int(h.steps).text(" overflows float; nothing changed")
                .error(.numeric)
        }
        weightsChanged()
        // A data-parallel step with no backward since the last one: the gradient is zero.
        if h.gradsStale { materializeZeroGrads() }
        let chunks = StepChunks.of(h.paramCount)
        var results = StepResults(repeating: ChunkResult())
        try withUnsafeMutablePointer(to: &results) { (rp) throws(SwannError) in
            var job = StepJob(rule: UpdateRule(h.optimizer, stepIndex: h.steps, rate: rate), params: params, grads: grads,
                              slots: slots, count: h.paramCount, chunkSize: chunks.size, scale: 1 / Float(t),
                              phase: .update, zeroGrad: h.gradsShared,
                              results: UnsafeMutableRawPointer(rp).assumingMemoryBound(to: ChunkResult.self),
                              kernels: kernels)
            var pool: UnsafeMutablePointer<cs_pool>? = nil
            if let p = engine.pool, h.paramCount >= StepChunks.parallelThreshold, chunks.count > 1,
               cs_pool_use(p) != 0 { pool = p }
            try runPhases(&job, chunks: chunks.count, t: t, pool: pool)
        }
        header.pointee.accumulated = 0
        if !h.gradsShared { header.pointee.gradsStale = true }
        // The count saturates at 2^53, the largest step a model file may hold.
        if h.steps < Int(clamping: Int64(1) << 53) { header.pointee.steps += 1 }
    }

    /// The phases, in order: the norm (clip_norm), the proof or the dry run, the update.
    private func runPhases(_ job: inout StepJob, chunks: Int, t: Int,
                           pool: UnsafeMutablePointer<cs_pool>?) throws(SwannError) {
        let h = header.pointee
        let c = h.optimizer
        var gradientFinite = true
        if c.clipNorm > 0 {
            job.run(.gradientNorm, chunks: chunks, pool: pool)
            var sum = 0.0
            for k in 0..<chunks { sum += job.results[k].sum }  // in chunk order: the same for any thread count
            gradientFinite = sum.isFinite  // finite exactly when every gradient value is
            job.scale = clippedScale(c, t: t, sumSquares: sum)
        }
        // Plain SGD on parameters known finite: p - lr * (g * scale) is finite when
        // every g is and lr * scale * max|g| <= 2^100 (then |p - b| stays below
        // FLT_MAX + ulp(FLT_MAX) / 2 and rounds to a finite value), so a pass over
        // the gradient alone replaces the dry run over parameters and gradient.
        // The backward that wrote the gradient has usually bounded it already (and
        // proven it finite): then not even that pass (W4: 100 MB, 4 % of a step).
        var proven = false
        if gradientFinite && !h.paramsShared && c.provesUpdateFromGradient {
            var largest = 0.0  // max g^2
            if !h.gradsShared && !h.gradsStale && h.gradientBound.isFinite {
                largest = h.gradientBound * h.gradientBound
            } else {
                job.run(.largestGradient, chunks: chunks, pool: pool)
                for k in 0..<chunks {
                    gradientFinite = gradientFinite && job.results[k].gradientFinite
                    largest = max(largest, job.results[k].sum)
                }
            }
            let lr = Double(job.rule.lr)
            proven = gradientFinite && abs(lr) * largest.squareRoot() * Double(job.scale) * (1 + 0x1p-20) <= 0x1p100
        }
        var updateFinite = true
        if gradientFinite && !proven {
            job.run(.dryRun, chunks: chunks, pool: pool)
            for k in 0..<chunks {
                gradientFinite = gradientFinite && job.results[k].gradientFinite
                updateFinite = updateFinite && job.results[k].updateFinite
            }
        }
        guard gradientFinite else {
            throw Failure("step: the accumulated gradient has NaN or Inf values; parameters unchanged")
                .text(" (discard it with swann_zero_grad)").error(.numeric)
        }
        // An update that would overflow a parameter or a state value (a huge
        // learning rate or weight decay) is refused, nothing changed.
        guard updateFinite else {
            throw Failure("step: the update would make parameters or optimizer state NaN or Inf")
                .text(" (learning rate or weight decay too large?); parameters unchanged").error(.numeric)
        }
        job.run(.update, chunks: chunks, pool: pool)
    }

    /// Discards the accumulated gradient and T.
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
        header.pointee.gradientBound = 0
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

extension OptimizerConfig {
    /// Plain SGD: a step proves its update finite from the gradient's largest value
    /// alone (`runPhases`), which the backward then bounds for it (`gradientBound`).
    var provesUpdateFromGradient: Bool { kind == .sgd && momentum == 0 && weightDecay == 0 }
}

/// The factor applied to the summed gradient: 1 / t, times the clipping
/// coefficient when `clip_norm` is set and the averaged gradient's norm (from
/// `sumSquares`, the sum of its squares) exceeds it.
func clippedScale(_ c: OptimizerConfig, t: Int, sumSquares: Double) -> Float {
    var scale = 1 / Float(t)
    if c.clipNorm > 0 {
        // torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6), at most 1.
        let coefficient = c.clipNorm / (sumSquares.squareRoot() + 1e-6)
        if coefficient < 1 { scale *= Float(coefficient) }
    }
    return scale
}

extension UpdateRule {
    /// The rule of the step that follows `stepIndex` steps, whose rate under the
    /// schedule is `rate`: the hyper-parameters as floats, Adam's bias corrections.
    init(_ c: OptimizerConfig, stepIndex: Int, rate lr: Double) {
        self.init()
        kind = c.kind
        self.lr = Float(lr)
        first = stepIndex == 0
        weightDecay = Float(c.weightDecay)
        momentum = Float(c.momentum)
        damping = 1 - Float(c.dampening)
        nesterov = c.nesterov
        beta2 = Float(c.beta2)
        oneMinusBeta1 = Float(1 - c.beta1)
        oneMinusBeta2 = Float(1 - c.beta2)
        eps = Float(c.eps)
        amsgrad = c.amsgrad
        if c.kind == .adam || c.kind == .adamw {
            let step = Double(stepIndex + 1)
            stepSize = Float(lr / (1 - cs_pow(c.beta1, step)))
            bias2Sqrt = Float((1 - cs_pow(c.beta2, step)).squareRoot())
            shrink = Float(1 - lr * c.weightDecay)
        }
        alpha = Float(c.alpha)
        oneMinusAlpha = Float(1 - c.alpha)
        centered = c.centered
        etaPlus = Float(c.etaPlus)
        etaMinus = Float(c.etaMinus)
        stepMin = Float(c.stepMin)
        stepMax = Float(c.stepMax)
        initialStep = Float(c.lr)
    }
}

/// One phase of a step over the chunks of the parameters, on the calling thread
/// or the pool. Each chunk writes only its own result.
struct StepJob {
    var rule: UpdateRule
    var params, grads, slots: UnsafeMutablePointer<Float>
    var count, chunkSize: Int
    var scale: Float
    var phase: StepPhase
    var zeroGrad: Bool
    var results: UnsafeMutablePointer<ChunkResult>
    var kernels: KernelTable

    mutating func run(_ phase: StepPhase, chunks: Int, pool: UnsafeMutablePointer<cs_pool>?) {
        self.phase = phase
        guard let pool else {
            withUnsafeMutablePointer(to: &self) { jp in for k in 0..<chunks { StepJob.runChunk(jp, k) } }
            return
        }
        withUnsafeMutablePointer(to: &self) { jp in
            cs_pool_run(pool, { ctx, index, _ in
                guard let ctx else { return }
                StepJob.runChunk(ctx.assumingMemoryBound(to: StepJob.self), Int(index))
            }, UnsafeMutableRawPointer(jp), Int64(chunks))
        }
    }

    static func runChunk(_ jp: UnsafeMutablePointer<StepJob>, _ k: Int) {
        let j = jp.pointee
        let lo = k * j.chunkSize
        let hi = min(j.count, lo + j.chunkSize)
        switch j.phase {
        case .gradientNorm:
            j.results[k].sum = j.kernels.sumOfSquares(j.grads + lo, hi - lo, scale: j.scale)
        case .largestGradient:
            let m = j.kernels.finiteMaxSquare(j.grads + lo, hi - lo)
            j.results[k].sum = Double(m ?? 0)
            j.results[k].gradientFinite = m != nil
        case .dryRun, .update:
            let commit = j.phase == .update
            var call = UpdateCall(rule: j.rule, params: j.params, grad: j.grads, slots: j.slots, stride: j.count,
                                  lo: lo, hi: hi, scale: j.scale, commit: commit,
                                  zeroGrad: commit && j.zeroGrad, checkGrad: !commit)
            j.kernels.update(&call)
            if !commit {
                j.results[k].updateFinite = call.updateOK
                j.results[k].gradientFinite = call.gradOK
            }
        }
    }
}
