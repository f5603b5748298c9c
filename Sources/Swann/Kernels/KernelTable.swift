import CSupport

/// The kernel layer's hot entry points as C function pointers: one table per CPU level.
///
/// Swift has no per-function target attributes, so the Makefile compiles the sources
/// once per x86-64 level (x86-64, haswell, skylake-avx512). The baseline object is the
/// library; each wider one keeps a single global symbol, its `swannk_<level>` function
/// below, which fills a table with that object's own kernels. A net or session chooses
/// its table at create (`KernelTable.choose`, Network/KernelChoice.swift) and keeps it:
/// no mutable global state. The Network layer reaches these kernels only through it,
/// so its own code, compiled for the baseline level, never runs them at the wrong
/// width. Arguments cross as C types; the structs behind the raw pointers have the same
/// layout at every level (one source, no SIMD members). The FMA levels sum every
/// element in the same order (GemmKernelWide.swift), so they give the same bits; the
/// baseline level multiplies and adds separately (`fma8`) and is exempt.
struct KernelTable {
    /// CS_CPU_BASELINE, CS_CPU_AVX2 or CS_CPU_AVX512 on x86-64; CS_CPU_NATIVE where
    /// the build has one level.
    var level: Int32
    /// Sets the call's `output` (what the product wrote).
    var multiplyEntry: @convention(c) (UnsafeMutableRawPointer) -> Void
    /// Gemm.turnsAround (m, n, k): whether this level turns such a forward product around.
    var turnsAroundEntry: @convention(c) (Int, Int, Int) -> Bool
    var activationForwardEntry: @convention(c) (Int32, Float, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
                                                Int, Int) -> Void
    var activationBackwardEntry: @convention(c) (Int32, Float, UnsafePointer<Float>, UnsafePointer<Float>,
                                                 UnsafeMutablePointer<Float>, Int, Int) -> Void
    var lossGradientEntry: @convention(c) (Int32, Bool, UnsafePointer<Float>, UnsafePointer<Float>,
                                           UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int) -> Double
    var updateEntry: @convention(c) (UnsafeMutableRawPointer) -> Void
    var allFinite: @convention(c) (UnsafePointer<Float>, Int) -> Bool
    /// `finiteMaxSquare`, with -1 for nil.
    var maxSquareEntry: @convention(c) (UnsafePointer<Float>, Int) -> Float
    var addRowsEntry: @convention(c) (UnsafePointer<Float>, Int, Int, UnsafeMutablePointer<Float>) -> Float
    /// Activations.backwardAddingRows: act, alpha, z, y, d, rows, cols, grad_b.
    var activationBackwardAddRowsEntry: @convention(c) (Int32, Float, UnsafePointer<Float>, UnsafePointer<Float>,
                                                        UnsafeMutablePointer<Float>, Int, Int,
                                                        UnsafeMutablePointer<Float>) -> Float
    var addFloats: @convention(c) (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void
    var sumsFinite: @convention(c) (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Bool
    var sumOfSquaresEntry: @convention(c) (UnsafePointer<Float>, Int, Float) -> Double
    /// Compact.int8Layer: x, rows, inputs, outputs, w, scales, bias, q, rowScales, z.
    var int8LayerEntry: @convention(c) (UnsafePointer<Float>, Int, Int, Int, UnsafePointer<Int8>, UnsafePointer<Float>,
                                        UnsafePointer<Float>, UnsafeMutablePointer<Int8>, UnsafeMutablePointer<Float>,
                                        UnsafeMutablePointer<Float>) -> Void
    /// Compact.f16Layer: x, rows, inputs, outputs, w (binary16), bias, z.
    var f16LayerEntry: @convention(c) (UnsafePointer<Float>, Int, Int, Int, UnsafeRawPointer, UnsafePointer<Float>,
                                       UnsafeMutablePointer<Float>) -> Void
    /// Compact.int8PackedLayer (an Int8PackedCall) where the level has one (VNNI), else nil:
    /// the session then runs int8LayerEntry on the model's rows.
    var int8PackedEntry: (@convention(c) (UnsafeRawPointer) -> Void)? = nil

    /// This object's own kernels.
    static func own() -> KernelTable {
        KernelTable(
            level: KernelTable.ownLevel,
            multiplyEntry: { p in KernelTable.runMultiply(p) },
            turnsAroundEntry: { m, n, k in Gemm.turnsAround(m: m, n: n, k: k) },
            activationForwardEntry: { act, alpha, z, y, rows, cols in
                KernelTable.runActivationForward(act, alpha, z, y, rows, cols)
            },
            activationBackwardEntry: { act, alpha, z, y, d, rows, cols in
                Activations.backward(Activation(rawValue: act) ?? .identity, alpha: alpha, z: z, y: y, d: d,
                                     rows: rows, cols: cols)
            },
            lossGradientEntry: { loss, fused, z, y, d, g, rows, cols in
                Losses.gradient(Loss(rawValue: loss) ?? .none, fused: fused, z: z, y: y, target: d, g: g,
                                rows: rows, cols: cols)
            },
            updateEntry: { p in
                let u = p.assumingMemoryBound(to: UpdateCall.self)
                let c = u.pointee
                let r = c.rule.apply(params: c.params, grad: c.grad, slots: c.slots, stride: c.stride,
                                     from: c.lo, to: c.hi, scale: c.scale, commit: c.commit,
                                     zeroGrad: c.zeroGrad, checkGrad: c.checkGrad)
                u.pointee.updateOK = r.update
                u.pointee.gradOK = r.grad
            },
            allFinite: { p, n in Swann.allFinite(p, n) },
            maxSquareEntry: { p, n in Swann.finiteMaxSquare(p, n) ?? -1 },
            addRowsEntry: { rows, count, cols, dst in Swann.addRows(rows, count: count, cols: cols, into: dst) },
            activationBackwardAddRowsEntry: { act, alpha, z, y, d, rows, cols, gb in
                Activations.backwardAddingRows(Activation(rawValue: act) ?? .identity, alpha: alpha, z: z, y: y, d: d,
                                               rows: rows, cols: cols, into: gb)
            },
            addFloats: { dst, src, n in Swann.addFloats(dst, src, n) },
            sumsFinite: { a, b, n in Swann.sumsFinite(a, b, n) },
            sumOfSquaresEntry: { g, n, scale in Swann.sumOfSquares(g, n, scale: scale) },
            int8LayerEntry: int8Layer,
            f16LayerEntry: f16Layer)
    }

    #if SWANN_LEVEL_AVX512
    static let ownLevel = CS_CPU_AVX512
    #elseif SWANN_LEVEL_AVX2
    static let ownLevel = CS_CPU_AVX2
    #elseif SWANN_LEVEL_BASELINE
    static let ownLevel = CS_CPU_BASELINE
    #else
    static let ownLevel = CS_CPU_NATIVE
    #endif

    /// The level's name, as swann_isa reports it.
    var name: StaticString {
        switch level {
        case CS_CPU_AVX512: return "avx512"
        case CS_CPU_AVX2: return "avx2"
        case CS_CPU_BASELINE: return "baseline"
        default: return "native"
        }
    }
}

// The wider levels' fill functions: the Makefile keeps each one the only global
// symbol of its object (and the name does not start with swann_, so it is not exported).
#if SWANN_LEVEL_AVX512
@_cdecl("swannk_avx512")
func fillKernelTable(_ table: UnsafeMutableRawPointer) {
    table.storeBytes(of: KernelTable.own(), as: KernelTable.self)
}
#elseif SWANN_LEVEL_AVX2
@_cdecl("swannk_avx2")
func fillKernelTable(_ table: UnsafeMutableRawPointer) {
    table.storeBytes(of: KernelTable.own(), as: KernelTable.self)
}
#elseif SWANN_LEVEL_AVX512VNNI
// Only the int8 products, compiled where AVX512_VNNI sums int8 products in one
// instruction (vpdpwssd for the rows, vpdpbusd for the packed layout): the sums are
// exact integers, so the bits are those of every other level.
@_cdecl("swannk_avx512vnni")
func fillKernelTable(_ table: UnsafeMutableRawPointer) {
    var t = table.load(as: KernelTable.self)
    t.int8LayerEntry = int8Layer
    t.int8PackedEntry = { p in Compact.int8PackedLayer(p.assumingMemoryBound(to: Int8PackedCall.self).pointee) }
    table.storeBytes(of: t, as: KernelTable.self)
}
#endif

/// Compact.int8Layer with the table's C arguments (one function for the table of every
/// level, the sessions' inference table and the VNNI object's replacement).
func int8Layer(_ x: UnsafePointer<Float>, _ rows: Int, _ inputs: Int, _ outputs: Int, _ w: UnsafePointer<Int8>,
                _ scales: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Int8>,
                _ rowScales: UnsafeMutablePointer<Float>, _ z: UnsafeMutablePointer<Float>) {
    #if arch(arm)
    // 32-bit ARM (Cortex-M): the scalar form, same bits (CompactScalar.swift).
    Compact.int8LayerScalar(x: x, rows: rows, inputs: inputs, outputs: outputs, w: w, scales: scales, bias: bias,
                            q: q, rowScales: rowScales, z: z)
    #else
    Compact.int8Layer(x: x, rows: rows, inputs: inputs, outputs: outputs, w: w, scales: scales, bias: bias,
                      q: q, rowScales: rowScales, z: z)
    #endif
}

/// Compact.f16Layer with the table's C arguments (the table of every level and the
/// sessions' inference table).
func f16Layer(_ x: UnsafePointer<Float>, _ rows: Int, _ inputs: Int, _ outputs: Int, _ w: UnsafeRawPointer,
              _ bias: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>) {
    #if arch(arm)
    // 32-bit ARM (Cortex-M): the scalar form, same bits (CompactScalar.swift).
    Compact.f16LayerScalar(x: x, rows: rows, inputs: inputs, outputs: outputs,
                           w: w.assumingMemoryBound(to: Float16.self), bias: bias, z: z)
    #else
    Compact.f16Layer(x: x, rows: rows, inputs: inputs, outputs: outputs,
                     w: w.assumingMemoryBound(to: Float16.self), bias: bias, z: z)
    #endif
}

/// The arguments of one product (Gemm.multiply) across the table.
struct GemmCall {
    var m, n, k: Int
    var a: UnsafePointer<Float>, lda: Int, transA: Bool
    var b: UnsafePointer<Float>, ldb: Int, transB: Bool
    var c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    var engine: Gemm.Engine
    /// A net's packed copy of a forward B (GemmPrepacked.swift), or nil.
    var packed: UnsafeMutablePointer<Float>?
    var packedState: PackedState
    /// C = bias + the product (n floats), or nil.
    var bias: UnsafePointer<Float>?
    /// Room where a forward product may be turned around (GemmTransposed.swift), or nil.
    var turn: TurnRoom? = nil
    /// An elementwise activation the product may apply as it finishes Z, or nil.
    var epilogue: Epilogue? = nil
    /// Asks a turned-around product with an epilogue to leave Z^T and Y^T (GemmTransposed.swift).
    var keep = false
    /// Set by the product: what it wrote (Z; Z and Y; or Z^T and Y^T).
    var output = ForwardOutput.z
}

/// The arguments and results of one update (UpdateRule.apply) across the table.
struct UpdateCall {
    var rule: UpdateRule
    var params: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>
    var slots: UnsafeMutablePointer<Float>, stride: Int
    var lo: Int, hi: Int, scale: Float
    var commit: Bool, zeroGrad: Bool, checkGrad: Bool
    var updateOK = true, gradOK = true
}

extension KernelTable {
    /// C (+)= op(A) op(B) (Gemm.multiply), and what it wrote.
    @inline(__always) @discardableResult
    func multiply(m: Int, n: Int, k: Int,
                  a: UnsafePointer<Float>, lda: Int, transA: Bool,
                  b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                  c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, engine: Gemm.Engine,
                  packed: UnsafeMutablePointer<Float>? = nil, packedState: PackedState = .stale,
                  bias: UnsafePointer<Float>? = nil, turn: TurnRoom? = nil, epilogue: Epilogue? = nil,
                  keep: Bool = false) -> ForwardOutput {
        var call = GemmCall(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                            c: c, ldc: ldc, accumulate: accumulate, engine: engine, packed: packed,
                            packedState: packedState, bias: bias, turn: turn, epilogue: epilogue, keep: keep)
        withUnsafeMutablePointer(to: &call) { multiplyEntry(UnsafeMutableRawPointer($0)) }
        return call.output
    }

    /// Whether this level turns the forward product of m rows through an n x k weight
    /// around (and so could keep its output turned: `keep`).
    @inline(__always)
    func turnsAround(m: Int, n: Int, k: Int) -> Bool { turnsAroundEntry(m, n, k) }

    @inline(__always)
    func activationForward(_ act: Activation, alpha: Float, z: UnsafePointer<Float>,
                           y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        activationForwardEntry(act.rawValue, alpha, z, y, rows, cols)
    }

    @inline(__always)
    func activationBackward(_ act: Activation, alpha: Float, z: UnsafePointer<Float>, y: UnsafePointer<Float>,
                            d: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        activationBackwardEntry(act.rawValue, alpha, z, y, d, rows, cols)
    }

    @inline(__always)
    func lossGradient(_ loss: Loss, fused: Bool, z: UnsafePointer<Float>, y: UnsafePointer<Float>,
                      target: UnsafePointer<Float>, g: UnsafeMutablePointer<Float>, rows: Int, cols: Int) -> Double {
        lossGradientEntry(loss.rawValue, fused, z, y, target, g, rows, cols)
    }

    /// UpdateRule.apply on this level.
    @inline(__always)
    func update(_ call: inout UpdateCall) {
        withUnsafeMutablePointer(to: &call) { updateEntry(UnsafeMutableRawPointer($0)) }
    }

    @inline(__always)
    func finiteMaxSquare(_ p: UnsafePointer<Float>, _ n: Int) -> Float? {
        let m = maxSquareEntry(p, n)
        return m < 0 ? nil : m
    }

    @inline(__always)
    func finiteMaxMagnitude(_ p: UnsafePointer<Float>, _ n: Int) -> Float? {
        finiteMaxSquare(p, n).map { $0.squareRoot() }
    }

    @inline(__always)
    func addRows(_ rows: UnsafePointer<Float>, count: Int, cols: Int, into dst: UnsafeMutablePointer<Float>) -> Float {
        addRowsEntry(rows, count, cols, dst)
    }

    /// grad_z = grad_y f'(z) in `d` and grad_b += its column sums, one pass; returns addRows's largest |grad_z|.
    @inline(__always)
    func activationBackwardAddingRows(_ act: Activation, alpha: Float, z: UnsafePointer<Float>, y: UnsafePointer<Float>,
                                      d: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                                      into gb: UnsafeMutablePointer<Float>) -> Float {
        activationBackwardAddRowsEntry(act.rawValue, alpha, z, y, d, rows, cols, gb)
    }

    @inline(__always)
    func sumOfSquares(_ g: UnsafePointer<Float>, _ n: Int, scale: Float) -> Double {
        sumOfSquaresEntry(g, n, scale)
    }
}

extension KernelTable {
    /// The forward activation entry of every table.
    @inline(__always)
    static func runActivationForward(_ act: Int32, _ alpha: Float, _ z: UnsafePointer<Float>,
                                     _ y: UnsafeMutablePointer<Float>, _ rows: Int, _ cols: Int) {
        Activations.forward(Activation(rawValue: act) ?? .identity, alpha: alpha, z: z, y: y, rows: rows, cols: cols)
    }

    /// The product entry of every table (a GemmCall).
    @inline(__always)
    static func runMultiply(_ p: UnsafeMutableRawPointer) {
        let c = p.assumingMemoryBound(to: GemmCall.self).pointee
        #if arch(arm)
        // 32-bit ARM (Cortex-M): the scalar product, same order (GemmScalar.swift).
        if let bias = c.bias { Gemm.spreadBias(bias, m: c.m, n: c.n, c: c.c, ldc: c.ldc) }
        Gemm.scalarMultiply(m: c.m, n: c.n, k: c.k, a: c.a, lda: c.lda, transA: c.transA,
                            b: c.b, ldb: c.ldb, transB: c.transB, c: c.c, ldc: c.ldc,
                            accumulate: c.accumulate || c.bias != nil)
        #else
        let output = Gemm.multiply(m: c.m, n: c.n, k: c.k, a: c.a, lda: c.lda, transA: c.transA,
                                   b: c.b, ldb: c.ldb, transB: c.transB, c: c.c, ldc: c.ldc,
                                   accumulate: c.accumulate, engine: c.engine, packed: c.packed,
                                   packedState: c.packedState, bias: c.bias, turn: c.turn, epilogue: c.epilogue,
                                   keep: c.keep)
        p.assumingMemoryBound(to: GemmCall.self).pointee.output = output
        #endif
    }
}
