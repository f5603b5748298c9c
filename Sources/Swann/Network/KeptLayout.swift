import CSupport

/// Hidden layers kept turned around in an inference loop.
///
/// A turned-around forward (Kernels/GemmTransposed.swift) computes Z^T and transposes
/// it into Z, and the next turned-around layer packs X^T from that Y again, only
/// because a backward reads Z and Y row by row. Once a forward ran on the same weights
/// (no step since: an inference loop, as the packed copies judge it), a hidden layer
/// whose product turns around, and the next layer's too, keeps Z^T and Y^T = f(Z^T)
/// (fanOut x batch, in its own z and y) and the next layer packs them as they lie. A
/// backward after such a forward turns them back first (`restoreRows`): the same
/// bits in the same places as any forward leaves, so a training step after an
/// evaluation is the step without it. In a training loop nothing changes (the
/// backward would only pay the transposes the forward saves).
extension Net {
    /// Whether layer k keeps Z^T and Y^T in this forward of `batch` rows.
    func keepsTurned(_ k: Int, batch: Int, state: PackedState) -> Bool {
        #if arch(arm)
        return false  // 32-bit ARM's scalar product never turns around
        #else
        let h = header.pointee
        return h.forwardsOnSameWeights >= 1 && k + 1 < h.layerCount && layers[k].activation != .softmax
            && turnsAround(k, batch: batch, state: state) && turnsAround(k + 1, batch: batch, state: state)
        #endif
    }

    /// Whether layer k's forward product turns around: no packed copy in use, and a
    /// shape this level's kernels turn around.
    private func turnsAround(_ k: Int, batch: Int, state: PackedState) -> Bool {
        let l = layers[k]
        return (l.packedWeight == 0 || state == .stale) && kernels.turnsAround(m: batch, n: l.fanOut, k: l.fanIn)
    }

    /// Z and Y of every kept layer back in rows, through the first scratch buffer (a
    /// backward writes it only after this). Nothing to do after most forwards.
    func restoreRows() {
        #if !arch(arm)
        let h = header.pointee
        for k in 0..<h.layerCount where layers[k].heldTransposed {
            let l = layers[k]
            turnBack(floats(l.z), rows: l.fanOut, cols: h.lastBatch)
            if l.y != l.z { turnBack(floats(l.y), rows: l.fanOut, cols: h.lastBatch) }
            layers[k].heldTransposed = false
        }
        #endif
    }

    private func turnBack(_ m: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        let room = floats(header.pointee.scratch0)
        copyFloats(room, m, rows * cols)
        Gemm.transpose(rows: rows, cols: cols, UnsafePointer(room), into: m, ldz: rows)
    }
}
