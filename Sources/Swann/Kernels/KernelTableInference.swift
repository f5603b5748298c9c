import CSupport

// A session's table on a build with one kernel level (ARM): only the entries a session
// runs (the product, forward activations, the finite check, the f16 and int8 layers)
// are kernels; the training entries are stubs. A table is a struct of function pointers,
// so filling every entry keeps every kernel alive: with this one, a firmware that only
// infers drops the update rules, losses, backward activations and gradient sums at
// --gc-sections. Also the placeholder a header holds until create sets its table.

extension KernelTable {
    /// This object's inference kernels; the training entries do nothing (sessions never
    /// call them; a net's table is always `choose`'s, every entry a kernel).
    static func inference() -> KernelTable {
        KernelTable(
            level: KernelTable.ownLevel,
            multiplyEntry: { p in KernelTable.runMultiply(p) },
            turnsAroundEntry: { m, n, k in Gemm.turnsAround(m: m, n: n, k: k) },
            activationForwardEntry: { act, alpha, z, y, rows, cols in
                KernelTable.runActivationForward(act, alpha, z, y, rows, cols)
            },
            activationBackwardEntry: { _, _, _, _, _, _, _ in },
            lossGradientEntry: { _, _, _, _, _, _, _, _ in .nan },
            updateEntry: { _ in },
            allFinite: { p, n in Swann.allFinite(p, n) },
            maxSquareEntry: { _, _ in -1 },
            addRowsEntry: { _, _, _, _ in .nan },
            activationBackwardAddRowsEntry: { _, _, _, _, _, _, _, _ in .nan },
            addFloats: { _, _, _ in },
            sumsFinite: { _, _, _ in false },
            sumOfSquaresEntry: { _, _, _ in .nan },
            int8LayerEntry: int8Layer,
            f16LayerEntry: f16Layer)
    }
}
