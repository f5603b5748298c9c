import CSupport

// Loading a model file: every byte is untrusted. The header is checked entry by
// entry against the tensor table the file's own spec implies, and the tensors
// must tile the data section exactly, before a byte of tensor data is used.

/// A tensor the file's spec implies, and where the file has it.
struct FileTensor {
    var tensor: Tensor
    /// [begin, end) of the data section, or (-1, -1) when the file does not have it.
    var span: (Int, Int) = (-1, -1)
}

/// Where a model's bytes come from: an open file or a block of memory, read the
/// same way, so that files and buffers go through one loader and one set of checks.
struct ByteSource {
    /// The file, or -1 for `memory`.
    var fd: Int32 = -1
    var memory: UnsafeRawPointer? = nil
    var size: UInt64
    /// The file's path for messages, or nil for a buffer (messages then name only the call).
    var path: UnsafePointer<CChar>? = nil

    /// `count` bytes at `offset` into `dst`; false on a read error or past the end.
    func read(at offset: UInt64, count: Int, into dst: UnsafeMutableRawPointer) -> Bool {
        guard let memory else { return cs_read_at(fd, dst, count, offset) == 0 }
        guard offset <= size, UInt64(count) <= size - offset else { return false }
        dst.copyMemory(from: memory + Int(offset), byteCount: count)
        return true
    }

    /// Appends what is read: "\"path\"" or "the bytes".
    func named(_ f: Failure) -> Failure {
        guard let path else { return f.text("the bytes") }
        return f.text("\"").text(path).text("\"")
    }
}

/// The scratch reading a model file takes, piece by piece (64-byte multiples), in
/// the order the loader takes it: the header text, its JSON tree, the spec's tree,
/// the file-tensor table. Known exactly once the reading is done.
struct LoadScratch {
    var text = 0
    var header = 0
    var spec = 0
    var table = 0

    /// The reading alone, in one block: what a model read in the host's memory adds to
    /// the block it keeps (swann_model_mem_size; swann_model_from_buffer reads in mem's
    /// start and places the model at its end).
    var reading: Int { text + header + spec + table }

    /// Where the table ends up in a host arena that receives the net too: it is taken
    /// after the spec's tree (tensor matching needs the header's tree beside it), and
    /// moved past the net, if the net reaches it, before the net is laid out (tensor
    /// reading still needs it then; the trees are dead).
    func tableOffset(netBytes: Int) -> Int { max(text + header + spec, netBytes) }

    /// The host arena swann_load / swann_load_buffer need.
    func arenaBytes(netBytes: Int) -> Int { tableOffset(netBytes: netBytes) + table }

    /// Bytes of a table of `count` file tensors (FileTensor entries, then the index by key).
    static func tableBytes(_ count: Int) -> Int {
        Scratch.piece(count * (MemoryLayout<FileTensor>.stride + MemoryLayout<Int>.stride))
    }
}

/// A model file checked against its own spec, ready to be read into an arena.
struct ModelFile {
    var source: ByteSource
    var function: StaticString
    /// The file's spec, on the loader's stack (valid during its body).
    var spec: UnsafePointer<NetSpec>
    var plan: Plan
    /// The file tensors of the plan's table, in table order; `byKey[t.key]` is the
    /// index of tensor t. In the call's scratch, valid during the loader's body.
    var tensors: UnsafeMutablePointer<FileTensor>
    var byKey: UnsafeMutablePointer<Int>
    var count: Int
    var dataStart: UInt64
    var hasOptimizer: Bool
    /// The scratch the reading took: what size queries add to the net's plan.
    var scratch: LoadScratch
    /// How the file stores layer weights (its "swann.weights"; float32 when absent).
    var weights: WeightType

    /// Refuses a compact file where a net is wanted: only models run f16 / int8 weights.
    func requireFloat32() throws(SwannError) {
        guard weights == .f32 else {
            throw source.named(Failure(function).text(": ")).text(" holds ").text(weights.name)
                .text(" weights, a compact model: load it as a model (swann_model_load, swann_model_from_buffer)")
                .error(.format)
        }
    }
}

/// Opens `path` (never blocking: a FIFO or device is refused unopened), checks
/// everything but the tensor values, and calls `body` with the file. The file is
/// closed afterwards. `maxBatch` is checked. The reading's scratch comes from `home`:
/// the host's arena (then nothing is allocated, and the arena must hold
/// `file.scratch.arenaBytes(netBytes: file.plan.bytes)`), or the heap (two blocks:
/// the header text, then the rest, sized from the text's first pass; freed on return).
func withModelFile<R>(_ path: UnsafePointer<CChar>, maxBatch: Int, _ function: StaticString, _ home: ScratchHome,
                      _ body: (ModelFile) throws(SwannError) -> R) throws(SwannError) -> R {
    let (fd, size) = try openModelFile(path, function)
    defer { cs_close(fd) }
    return try withModel(ByteSource(fd: fd, size: size, path: path), maxBatch: maxBatch, function, home, body)
}

/// As withModelFile, with the file mapped read-only: `body` gets the mapping
/// (its address and length), which it keeps on success; on failure it is unmapped.
/// The loader reads the mapping as it reads a buffer, with the file's name in messages.
func withMappedModelFile<R>(_ path: UnsafePointer<CChar>, maxBatch: Int, _ function: StaticString,
                            _ body: (ModelFile, UnsafeMutableRawPointer, Int) throws(SwannError) -> R)
    throws(SwannError) -> R {
    let (fd, size) = try openModelFile(path, function)
    defer { cs_close(fd) }
    guard size >= 8, size <= UInt64(maxModelBytes) else {
        // Too short to map (or to be a model): the loader's own message.
        return try withModel(ByteSource(fd: fd, size: size, path: path), maxBatch: maxBatch, function, .heap) {
            (_) throws(SwannError) -> R in
            throw Failure(function).text(": \"").text(path).text("\" cannot be mapped").error(.io)
        }
    }
    let length = Int(size)
    guard let map = cs_map_read(fd, length) else {
        throw Failure(function).text(": cannot map \"").text(path).text("\"").reason().error(.io)
    }
    do throws(SwannError) {
        return try withModel(ByteSource(memory: UnsafeRawPointer(map), size: size, path: path), maxBatch: maxBatch,
                             function, .heap) { (file) throws(SwannError) -> R in
            try body(file, map, length)
        }
    } catch {
        cs_unmap(map, length)
        throw error
    }
}

/// The open file at `path` (never blocking: a FIFO or device is refused unopened) and its size.
private func openModelFile(_ path: UnsafePointer<CChar>, _ function: StaticString) throws(SwannError)
    -> (Int32, UInt64) {
    var kind: UInt32 = 0
    let fd = cs_open_read(path, &kind)
    guard fd >= 0 else {
        if fd == -2 {
            throw Failure(function).text(": \"").text(path).text("\" is ").text(cs_kind_name(kind))
                .text(", not a regular file").error(.io)
        }
        throw Failure(function).text(": cannot open \"").text(path).text("\"").reason().error(.io)
    }
    var size: UInt64 = 0
    guard cs_file_size(fd, &size) == 0 else {
        let failure = Failure(function).text(": cannot read \"").text(path).text("\"").reason()
        cs_close(fd)
        throw failure.error(.io)
    }
    return (fd, size)
}

/// As withModelFile, for model-file bytes in memory (`size` checked by the caller).
func withModelBuffer<R>(_ bytes: UnsafeRawPointer, size: Int, maxBatch: Int, _ function: StaticString,
                        _ home: ScratchHome, _ body: (ModelFile) throws(SwannError) -> R) throws(SwannError) -> R {
    try withModel(ByteSource(memory: bytes, size: UInt64(size)), maxBatch: maxBatch, function, home, body)
}

/// The one loader: checks everything but the tensor values of the bytes in `source`.
private func withModel<R>(_ source: ByteSource, maxBatch: Int, _ function: StaticString, _ home: ScratchHome,
                          _ body: (ModelFile) throws(SwannError) -> R) throws(SwannError) -> R {
    let size = source.size
    guard size >= 8 else {
        throw bad(source, function).text("it has ").uint(UInt(size)).text(" bytes, fewer than the 8 of a header length")
            .error(.format)
    }
    var lengthLE: UInt64 = 0
    guard source.read(at: 0, count: 8, into: &lengthLE) else {
        throw source.named(Failure(function).text(": reading ")).text(" failed").reason().error(.io)
    }
    let headerLength = UInt64(littleEndian: lengthLE)
    guard headerLength >= 2, headerLength <= size - 8, headerLength <= UInt64(maxHeaderBytes) else {
        throw bad(source, function).text("header length ").uint(UInt(headerLength)).text(" does not fit a file of ")
            .uint(UInt(size)).text(" bytes").error(.format)
    }
    let n = Int(headerLength)
    if home.arena != nil {
        return try withScratch(home, Scratch.piece(n + 1), function, "reading the header") {
            (scratch: inout Scratch) throws(SwannError) -> R in
            let text = try readHeaderText(source, n, &scratch, function)
            return try readModel(source, text, n, &scratch, home, maxBatch, function, body)
        }
    }
    // The heap: the text first (its first pass sizes the rest), then one block for the rest.
    return try withScratch(.heap, Scratch.piece(n + 1), function, "the header text") {
        (textScratch: inout Scratch) throws(SwannError) -> R in
        let text = try readHeaderText(source, n, &textScratch, function)
        let sizing = try headerSizing(text, n, source, function)
        // The spec's tree is bounded by the longest string's; the table by the header's
        // entries (readModel refuses a spec needing more than 1 + 4 per entry).
        let rest = sizing.bytes + sizing.stringDocumentBound + LoadScratch.tableBytes(1 + 4 * sizing.largestObject)
        return try withScratch(.heap, rest, function, "reading the header") {
            (scratch: inout Scratch) throws(SwannError) -> R in
            try readModel(source, text, n, &scratch, .heap, maxBatch, function, body)
        }
    }
}

/// 'load: "m.safetensors" is not a swann model file: ...', 'load_buffer: not a swann model file: ...'
private func bad(_ source: ByteSource, _ function: StaticString) -> Failure {
    guard let path = source.path else { return Failure(function).text(": not a swann model file: ") }
    return Failure(function).text(": \"").text(path).text("\" is not a swann model file: ")
}

/// The header's `n` bytes, NUL-terminated, in the scratch.
private func readHeaderText(_ source: ByteSource, _ n: Int, _ scratch: inout Scratch,
                            _ function: StaticString) throws(SwannError) -> UnsafeMutablePointer<CChar> {
    guard let text = scratch.take(n + 1)?.assumingMemoryBound(to: CChar.self) else {
        throw Failure(function).text(": the scratch has no room for the header").error(.arena)
    }
    guard source.read(at: 8, count: n, into: text) else {
        throw source.named(Failure(function).text(": reading the header of ")).text(" failed").reason().error(.io)
    }
    text[n] = 0
    return text
}

/// The header text's first pass (checks it, sizes its tree), allocating nothing.
private func headerSizing(_ text: UnsafePointer<CChar>, _ n: Int, _ source: ByteSource,
                          _ function: StaticString) throws(SwannError) -> JSONDocument {
    // A valid header has at most about 15,000 values (256 layers, three state slots).
    let sizing = JSONDocument(sizing: text, length: n, maxValues: 1 << 20)
    if let problem = sizing.problem { throw headerFailure(problem, sizing, source, function) }
    return sizing
}

private func headerFailure(_ problem: JSONDocument.Problem, _ d: JSONDocument, _ source: ByteSource,
                           _ function: StaticString) -> SwannError {
    var f = bad(source, function).text("header has ").text(problem.text).text(" at byte ").int(8 + d.offset)
    if d.detail.utf8CodeUnitCount > 0 { f = f.text(": ").text(d.detail) }
    return f.error(.format)
}

/// The rest of the loader, once the header text is in the scratch: its tree, the
/// spec, the plan, the table (past the net in a host arena), the entries matched.
private func readModel<R>(_ source: ByteSource, _ text: UnsafeMutablePointer<CChar>, _ n: Int,
                          _ scratch: inout Scratch, _ home: ScratchHome, _ maxBatch: Int, _ function: StaticString,
                          _ body: (ModelFile) throws(SwannError) -> R) throws(SwannError) -> R {
    var sizes = LoadScratch(text: Scratch.piece(n + 1))
    let sizing = try headerSizing(text, n, source, function)
    guard let treeMemory = scratch.take(sizing.bytes) else {
        throw Failure(function).text(": arena has ").int(scratch.capacity).text(" bytes, reading the header needs ")
            .int(scratch.used + sizing.bytes).text(" so far").error(.arena)
    }
    sizes.header = Scratch.piece(sizing.bytes)
    let parsed = JSONDocument(text, length: n, sized: sizing, in: treeMemory)
    guard let root = parsed.root else { throw headerFailure(parsed.problem ?? .syntax, parsed, source, function) }
    let (specText, weights) = try readMetadata(root, source, function)
    do throws(SwannError) {
        let specSource = try SpecText(specText)
        guard scratch.used + specSource.sizing.bytes <= scratch.capacity else {
            throw Failure(function).text(": arena has ").int(scratch.capacity).text(" bytes, reading the header needs ")
                .int(scratch.used + specSource.sizing.bytes).text(" so far").error(.arena)
        }
        var fileSpec = NetSpec()
        try specSource.parse(&scratch, function, into: &fileSpec)
        sizes.spec = Scratch.piece(specSource.sizing.bytes)
        return try withUnsafePointer(to: &fileSpec) { (spec) throws(SwannError) -> R in
            var measure = TextBuffer(measuring: ())
            writeCanonicalSpec(spec, into: &measure)
            let plan = try Plan(spec: spec, maxBatch: maxBatch, specLength: measure.length)
            let layerCount = spec.pointee.layers.count, slotCount = plan.header.slotCount
            let count = 1 + 2 * layerCount * (1 + slotCount) + (weights == .int8 ? layerCount : 0)  // fileTensorCount
            // Every parameter tensor must be an entry, and optimizer slots at most triple them:
            // a spec needing more is a file missing tensors (and the heap scratch's bound).
            guard count <= 1 + 4 * root.count else {
                throw bad(source, function).text("the header has ").int(root.count).text(" entries, too few for the ")
                    .int(count).text(" tensors of its spec").error(.format)
            }
            sizes.table = LoadScratch.tableBytes(count)
            guard let memory = scratch.take(sizes.table) else {
                if home.arena == nil {
                    throw Failure(function).text(": the tensor table outgrew its scratch (a bug: please report it)")
                        .error(.nomem)
                }
                throw Failure(function).text(": arena has ").int(scratch.capacity).text(" bytes, reading the header needs ")
                    .int(sizes.reading).error(.arena)
            }
            let tensors = memory.bindMemory(to: FileTensor.self, capacity: count)
            let byKey = (memory + count * MemoryLayout<FileTensor>.stride).bindMemory(to: Int.self, capacity: count)
            let h = plan.header
            fillFileTensors(SpecShapes(spec), h, weights, tensors, byKey)
            var file = ModelFile(source: source, function: function, spec: spec, plan: plan, tensors: tensors,
                                 byKey: byKey, count: count, dataStart: 8 + UInt64(n), hasOptimizer: false, scratch: sizes,
                                 weights: weights)
            try locateTensors(root, &file, dataSize: source.size - 8 - UInt64(n), source)
            if let arena = home.arena, home.forNet {
                // The file is right; now the arena must hold the net too (SWANN_E_ARENA after SWANN_E_FORMAT).
                let need = sizes.arenaBytes(netBytes: plan.bytes)
                guard home.arenaBytes >= need else {
                    throw Failure(function).text(": arena has ").int(home.arenaBytes)
                        .text(" bytes, the net and the reading of its header need ").int(need).error(.arena)
                }
                let moved = arena + sizes.tableOffset(netBytes: plan.bytes)
                if moved != memory {
                    memmove(moved, memory, sizes.table)
                    file.tensors = moved.assumingMemoryBound(to: FileTensor.self)
                    file.byKey = (moved + count * MemoryLayout<FileTensor>.stride).assumingMemoryBound(to: Int.self)
                }
            }
            return try body(file)
        }
    } catch {
        // A bad spec inside a file is a bad file: "load: the file's spec: layers[0]...".
        guard error.status == .spec else { throw error }
        throw error.within(function, as: .format)
    }
}

/// The file tensors of a plan's table, in table order, and their index by key.
private func fillFileTensors(_ records: SpecShapes, _ h: NetHeader, _ weights: WeightType,
                             _ tensors: UnsafeMutablePointer<FileTensor>, _ byKey: UnsafeMutablePointer<Int>) {
    let table = TensorTable(records, slotCount: h.slotCount, inputSize: h.inputSize, maxBatch: h.maxBatch,
                            start: h.params, weights: weights)
    var i = 0
    for t in table where t.role.inFile {
        (tensors + i).initialize(to: FileTensor(tensor: t))
        byKey[t.key(layers: records.layerCount, slots: h.slotCount)] = i
        i += 1
    }
}

/// The header's metadata: format "swann", the spec, whose text it returns, and
/// "swann.weights" ("f16" or "int8" in a compact model's file; float32 when absent).
private func readMetadata(_ root: JSONValue, _ source: ByteSource, _ function: StaticString) throws(SwannError)
    -> (UnsafePointer<CChar>, WeightType) {
    func bad() -> Failure { Swann.bad(source, function) }
    guard root.kind == .object else {
        throw bad().text("the header is not a JSON object").error(.format)
    }
    guard let meta = root.member("__metadata__"), meta.kind == .object else {
        throw bad().text("no \"__metadata__\" object").error(.format)
    }
    var specText: UnsafePointer<CChar>? = nil
    var weights = WeightType.f32
    var sawFormat = false
    try meta.forEachMember { (key, v) throws(SwannError) in
        guard let s = v.string else {
            throw bad().text("metadata \"").text(key).text("\" is not a string").error(.format)
        }
        if isKey(key, "format") {
            guard strcmp(s, "swann") == 0 else {
                throw bad().text("metadata format is \"").text(s).text("\", not \"swann\"").error(.format)
            }
            sawFormat = true
        } else if isKey(key, "swann.spec") {
            specText = s
        } else if isKey(key, "swann.weights") {
            guard let w = WeightType.compact(named: s) else {
                throw bad().text("metadata swann.weights is \"").text(s).text("\", not \"f16\" or \"int8\"")
                    .error(.format)
            }
            weights = w
        }
    }
    guard sawFormat else {
        throw bad().text("metadata has no \"format\": \"swann\"").error(.format)
    }
    guard let specText else {
        throw bad().text("metadata has no \"swann.spec\"").error(.format)
    }

    return (specText, weights)
}

/// Matches every header entry to the tensor the spec implies, and checks that the
/// tensors tile the data section exactly.
private func locateTensors(_ root: JSONValue, _ file: inout ModelFile, dataSize: UInt64,
                           _ source: ByteSource) throws(SwannError) {
    let function = file.function
    func bad() -> Failure { Swann.bad(source, function) }
    let layerCount = file.spec.pointee.layers.count
    let slotCount = file.plan.header.slotCount
    let optimizer = file.spec.pointee.optimizer
    let tensors = file.tensors, byKey = file.byKey
    try root.forEachMember { (key, v) throws(SwannError) in
        if isKey(key, "__metadata__") { return }
        guard let k = tensorKey(key, layerCount: layerCount, kind: optimizer, slotCount: slotCount,
                                scales: file.weights == .int8) else {
            throw bad().text("unexpected tensor \"").text(key).text("\" for this spec").error(.format)
        }
        let i = byKey[k]
        tensors[i].span = try readEntry(v, key, tensors[i].tensor, dataSize: dataSize, bad)
    }
    var optimizerFound = 0, optimizerTotal = 0, covered = 0
    for i in 0..<file.count {
        let t = tensors[i].tensor
        let found = tensors[i].span.0 >= 0
        if found { covered += t.bytes }
        if !t.isModelData {
            optimizerTotal += 1
            if found { optimizerFound += 1 }
        } else if !found {
            throw t.withName(optimizer) { name in bad().text("tensor \"").text(name).text("\" is missing").error(.format) }
        }
    }
    guard optimizerFound == 0 || optimizerFound == optimizerTotal else {
        throw bad().text("optimizer state is partial (").int(optimizerFound).text(" of ").int(optimizerTotal)
            .text(" tensors)").error(.format)
    }
    file.hasOptimizer = optimizerFound > 0
    // Tiling: every span lies in the data section (readEntry), no two overlap, and
    // together they are exactly as long as it, so they cover it with no gap.
    guard UInt64(covered) == dataSize else {
        throw bad().text("tensors cover ").int(covered).text(" bytes of a data section of ").uint(UInt(dataSize))
            .error(.format)
    }
    for i in 0..<file.count where tensors[i].span.0 >= 0 {
        let a = tensors[i].span
        for j in (i + 1)..<max(file.count, i + 1) where tensors[j].span.0 >= 0 {
            let b = tensors[j].span
            if a.0 < b.1 && b.0 < a.1 {
                throw bad().text("tensors overlap at data byte ").int(max(a.0, b.0)).error(.format)
            }
        }
    }
}

/// The key (`Tensor.key`) of a tensor name, or nil for a name the spec does not imply.
private func tensorKey(_ name: UnsafePointer<CChar>, layerCount: Int, kind: OptimizerConfig, slotCount: Int,
                       scales: Bool) -> Int? {
    if isKey(name, "optimizer.step") { return Tensor(role: .step).key(layers: layerCount, slots: slotCount) }
    var p = name
    var slotted: Bool
    if strncmp(p, "layers.", 7) == 0 {
        p += 7; slotted = false
    } else if strncmp(p, "optimizer.", 10) == 0 {
        p += 10; slotted = true
    } else {
        return nil
    }
    // Layer index: decimal, no sign, no leading zeros.
    guard p[0] >= 0x30 && p[0] <= 0x39, !(p[0] == 0x30 && p[1] >= 0x30 && p[1] <= 0x39) else { return nil }
    var k = 0
    while p[0] >= 0x30 && p[0] <= 0x39 {
        k = k * 10 + Int(p[0] - 0x30)
        guard k < layerCount else { return nil }
        p += 1
    }
    let isBias: Bool
    if !slotted && strcmp(p, ".weight_scale") == 0 {
        // Only int8 files have scales: elsewhere the name is unexpected.
        return scales ? Tensor(role: .scale, layer: k).key(layers: layerCount, slots: slotCount) : nil
    }
    if strncmp(p, ".weight", 7) == 0 { isBias = false; p += 7 }
    else if strncmp(p, ".bias", 5) == 0 { isBias = true; p += 5 }
    else { return nil }
    var slot = -1
    if slotted {
        guard p[0] == 0x2e else { return nil }  // "."
        p += 1
        for s in 0..<slotCount where strcmp(p, cString(kind.slotName(s))) == 0 { slot = s }
        guard slot >= 0 else { return nil }
    } else {
        guard p[0] == 0 else { return nil }
    }
    return Tensor(role: slot < 0 ? .parameter : .slot, layer: k, isBias: isBias, slot: slot)
        .key(layers: layerCount, slots: slotCount)
}

/// Checks one header entry: exactly dtype, shape and data_offsets, all as expected.
private func readEntry(_ v: JSONValue, _ name: UnsafePointer<CChar>, _ t: Tensor,
                       dataSize: UInt64, _ bad: () -> Failure) throws(SwannError) -> (Int, Int) {
    func fail(_ what: StaticString) -> SwannError {
        bad().text("tensor \"").text(name).text("\": ").text(what).error(.format)
    }
    guard v.kind == .object else { throw fail("entry is not an object") }
    var keys = 0
    try v.forEachMember { (key, _) throws(SwannError) in
        keys += 1
        guard isKey(key, "dtype") || isKey(key, "shape") || isKey(key, "data_offsets") else {
            throw fail("unexpected key in the entry")
        }
    }
    guard keys == 3, let dtype = v.member("dtype"), let shape = v.member("shape"),
          let offsets = v.member("data_offsets") else {
        throw fail("entry needs exactly dtype, shape and data_offsets")
    }
    guard let d = dtype.string, strcmp(d, cString(t.dtype.name)) == 0 else {
        throw bad().text("tensor \"").text(name).text("\": dtype must be ").text(t.dtype.name).error(.format)
    }
    let dims = (t.rows, t.cols)
    var sameShape = shape.kind == .array && shape.count == t.rank
    for i in 0..<t.rank where sameShape {
        sameShape = shape.element(i)?.integer == Int64(i == 0 ? dims.0 : dims.1)
    }
    guard sameShape else {
        // Both shapes, so the host sees which file and spec disagree, and how.
        var f = appendShape(bad().text("tensor \"").text(name).text("\" has shape "), shape)
        f = f.text(", the spec needs [")
        if t.rank >= 1 { f = f.int(dims.0) }
        if t.rank == 2 { f = f.text(", ").int(dims.1) }
        throw f.text("]").error(.format)
    }
    guard offsets.kind == .array, offsets.count == 2 else {
        throw fail("data_offsets must be [begin, end]")
    }
    guard let begin = offsets.element(0)?.integer, let end = offsets.element(1)?.integer else {
        throw fail("data_offsets must be integers")
    }
    guard begin >= 0, end >= begin, UInt64(end) <= dataSize else {
        throw fail("data_offsets lie outside the data section")
    }
    guard end - begin == Int64(t.bytes) else { throw fail("data_offsets span the wrong number of bytes") }
    return (Int(begin), Int(end))
}

/// Appends a header's shape value as "[4, 5]": integers as written, other
/// numbers as read, anything else as "?"; a long one cut after 8 dimensions
/// (the message has a fixed size).
private func appendShape(_ failure: Failure, _ shape: JSONValue) -> Failure {
    var f = failure
    guard shape.kind == .array else { return f.text("(not an array)") }
    f = f.text("[")
    for i in 0..<min(shape.count, 8) {
        if i > 0 { f = f.text(", ") }
        guard let e = shape.element(i) else { break }
        if let n = e.integer { f = f.int(Int(n)) } else if let d = e.double { f = f.number(d) } else { f = f.text("?") }
    }
    if shape.count > 8 { f = f.text(", ... (").int(shape.count).text(" dimensions)") }
    return f.text("]")
}

/// Reads the tensors of a checked file into a built net, checking every value is finite.
func readTensors(_ file: ModelFile, into net: Net) throws(SwannError) {
    for i in 0..<file.count where file.tensors[i].span.0 >= 0 {
        let t = file.tensors[i].tensor
        let offset = file.dataStart + UInt64(file.tensors[i].span.0)
        if t.role == .step {
            var step: Int64 = 0
            guard file.source.read(at: offset, count: 8, into: &step) else { throw readFailed(file) }
            let s = Int64(littleEndian: step)
            guard s >= 0, s <= 1 << 53 else {
                throw Failure(file.function).text(": optimizer.step is ").int(Int(clamping: s)).text(", must be in 0...2^53").error(.format)
            }
            net.header.pointee.steps = Int(s)
            continue
        }
        let dst = net.base + t.offset
        guard file.source.read(at: offset, count: t.bytes, into: dst) else { throw readFailed(file) }
        guard allFinite(dst.assumingMemoryBound(to: Float.self), t.bytes / 4) else {
            throw t.withName(file.spec.pointee.optimizer) { name in
                Failure(file.function).text(": tensor \"").text(name).text("\" has NaN or Inf values").error(.format)
            }
        }
    }
}

private func readFailed(_ file: ModelFile) -> SwannError {
    Failure(file.function).text(": reading tensor data failed").reason().error(.io)
}
