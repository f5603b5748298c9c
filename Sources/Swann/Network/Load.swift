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

/// A model file checked against its own spec, ready to be read into an arena.
struct ModelFile {
    var source: ByteSource
    var function: StaticString
    var spec: NetSpec
    var plan: Plan
    /// The file tensors of the plan's table, in table order; `byKey[t.key]` is the
    /// index of tensor t. One checked allocation, freed by withModelFile.
    var tensors: UnsafeMutablePointer<FileTensor>
    var byKey: UnsafeMutablePointer<Int>
    var count: Int
    var dataStart: UInt64
    var hasOptimizer: Bool
}

/// Opens `path` (never blocking: a FIFO or device is refused unopened), checks
/// everything but the tensor values, and calls `body` with the file and the
/// canonical spec text. The file is closed afterwards. `maxBatch` is checked.
func withModelFile<R>(_ path: UnsafePointer<CChar>, maxBatch: Int, _ function: StaticString,
                      _ body: (ModelFile, UnsafePointer<CChar>) throws(SwannError) -> R) throws(SwannError) -> R {
    let (fd, size) = try openModelFile(path, function)
    defer { cs_close(fd) }
    return try withModel(ByteSource(fd: fd, size: size, path: path), maxBatch: maxBatch, function, body)
}

/// As withModelFile, with the file mapped read-only: `body` gets the mapping
/// (its address and length), which it keeps on success; on failure it is unmapped.
/// The loader reads the mapping as it reads a buffer, with the file's name in messages.
func withMappedModelFile<R>(_ path: UnsafePointer<CChar>, maxBatch: Int, _ function: StaticString,
                            _ body: (ModelFile, UnsafePointer<CChar>, UnsafeMutableRawPointer, Int)
                                throws(SwannError) -> R) throws(SwannError) -> R {
    let (fd, size) = try openModelFile(path, function)
    defer { cs_close(fd) }
    guard size >= 8, size <= UInt64(maxModelBytes) else {
        // Too short to map (or to be a model): the loader's own message.
        return try withModel(ByteSource(fd: fd, size: size, path: path), maxBatch: maxBatch, function) {
            (_, _) throws(SwannError) -> R in
            throw Failure(function).text(": \"").text(path).text("\" cannot be mapped").error(.io)
        }
    }
    let length = Int(size)
    guard let map = cs_map_read(fd, length) else {
        throw Failure(function).text(": cannot map \"").text(path).text("\"").reason().error(.io)
    }
    do throws(SwannError) {
        return try withModel(ByteSource(memory: UnsafeRawPointer(map), size: size, path: path), maxBatch: maxBatch,
                             function) { (file, canonical) throws(SwannError) -> R in
            try body(file, canonical, map, length)
        }
    } catch {
        cs_unmap(map, length)
        throw error
    }
}

/// The open file at `path` and its size.
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
                        _ body: (ModelFile, UnsafePointer<CChar>) throws(SwannError) -> R) throws(SwannError) -> R {
    try withModel(ByteSource(memory: bytes, size: UInt64(size)), maxBatch: maxBatch, function, body)
}

/// The one loader: checks everything but the tensor values of the bytes in `source`.
private func withModel<R>(_ source: ByteSource, maxBatch: Int, _ function: StaticString,
                          _ body: (ModelFile, UnsafePointer<CChar>) throws(SwannError) -> R) throws(SwannError) -> R {
    let size = source.size
    // 'load: "m.safetensors" is not a swann model file: ...', 'load_buffer: not a swann model file: ...'
    func bad() -> Failure {
        guard let path = source.path else { return Failure(function).text(": not a swann model file: ") }
        return Failure(function).text(": \"").text(path).text("\" is not a swann model file: ")
    }
    guard size >= 8 else {
        throw bad().text("it has ").uint(UInt(size)).text(" bytes, fewer than the 8 of a header length").error(.format)
    }
    var lengthLE: UInt64 = 0
    guard source.read(at: 0, count: 8, into: &lengthLE) else {
        throw source.named(Failure(function).text(": reading ")).text(" failed").reason().error(.io)
    }
    let headerLength = UInt64(littleEndian: lengthLE)
    guard headerLength >= 2, headerLength <= size - 8, headerLength <= UInt64(maxHeaderBytes) else {
        throw bad().text("header length ").uint(UInt(headerLength)).text(" does not fit a file of ")
            .uint(UInt(size)).text(" bytes").error(.format)
    }
    let n = Int(headerLength)
    guard let text = cs_aligned_alloc(n + 1)?.assumingMemoryBound(to: CChar.self) else {
        throw Failure(function).text(": out of memory for a header of ").int(n).text(" bytes").error(.nomem)
    }
    defer { cs_free(text) }
    guard source.read(at: 8, count: n, into: text) else {
        throw source.named(Failure(function).text(": reading the header of ")).text(" failed").reason().error(.io)
    }
    text[n] = 0
    // A valid header has at most about 15,000 values (256 layers, three state slots).
    var parsed = JSONDocument(text, length: n, maxValues: 1 << 20)
    defer { parsed.release() }
    guard let root = parsed.root else {
        let problem = parsed.problem ?? .syntax
        if problem == .outOfMemory {
            throw Failure(function).text(": out of memory while parsing the header").error(.nomem)
        }
        var f = bad().text("header has ").text(problem.text).text(" at byte ").int(8 + parsed.offset)
        if parsed.detail.utf8CodeUnitCount > 0 { f = f.text(": ").text(parsed.detail) }
        throw f.error(.format)
    }
    let specText = try readMetadata(root, bad)
    do throws(SwannError) {
        return try withCanonicalSpec(specText) { (spec, canonical, length) throws(SwannError) -> R in
            let plan = try Plan(spec: spec, maxBatch: maxBatch, specLength: length)
            return try withFileTensors(plan, function) { (tensors, byKey, count) throws(SwannError) -> R in
                var file = ModelFile(source: source, function: function, spec: spec, plan: plan, tensors: tensors,
                                     byKey: byKey, count: count, dataStart: 8 + headerLength, hasOptimizer: false)
                try locateTensors(root, &file, dataSize: size - 8 - headerLength, bad)
                return try body(file, canonical)
            }
        }
    } catch {
        // A bad spec inside a file is a bad file: "load: the file's spec: layers[0]...".
        guard error.status == .spec else { throw error }
        throw error.within(function, as: .format)
    }
}

/// The header's metadata: format "swann" and the spec, whose text it returns.
private func readMetadata(_ root: JSONValue, _ bad: () -> Failure) throws(SwannError) -> UnsafePointer<CChar> {
    guard root.kind == .object else {
        throw bad().text("the header is not a JSON object").error(.format)
    }
    guard let meta = root.member("__metadata__"), meta.kind == .object else {
        throw bad().text("no \"__metadata__\" object").error(.format)
    }
    var specText: UnsafePointer<CChar>? = nil
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
        }
    }
    guard sawFormat else {
        throw bad().text("metadata has no \"format\": \"swann\"").error(.format)
    }
    guard let specText else {
        throw bad().text("metadata has no \"swann.spec\"").error(.format)
    }

    return specText
}

/// Calls `body` with the plan's file tensors (as `ModelFile.tensors` and `byKey`),
/// in one checked allocation freed afterwards.
private func withFileTensors<R>(_ plan: Plan, _ function: StaticString,
                                _ body: (UnsafeMutablePointer<FileTensor>, UnsafeMutablePointer<Int>, Int)
                                    throws(SwannError) -> R) throws(SwannError) -> R {
    let table = TensorTable(plan.records, slotCount: plan.header.slotCount, inputSize: plan.header.inputSize,
                            maxBatch: plan.header.maxBatch, start: plan.header.params)
    let count = table.fileTensorCount
    let entryBytes = count * MemoryLayout<FileTensor>.stride
    guard let raw = cs_aligned_alloc(entryBytes + count * MemoryLayout<Int>.stride) else {
        throw Failure(function).text(": out of memory for the tensor table").error(.nomem)
    }
    defer { cs_free(raw) }
    let tensors = raw.bindMemory(to: FileTensor.self, capacity: count)
    let byKey = (raw + entryBytes).bindMemory(to: Int.self, capacity: count)
    var i = 0
    for t in table where t.role.inFile {
        (tensors + i).initialize(to: FileTensor(tensor: t))
        byKey[t.key(layers: plan.records.count)] = i
        i += 1
    }
    return try body(tensors, byKey, count)
}

/// Matches every header entry to the tensor the spec implies, and checks that the
/// tensors tile the data section exactly.
private func locateTensors(_ root: JSONValue, _ file: inout ModelFile, dataSize: UInt64,
                           _ bad: () -> Failure) throws(SwannError) {
    let layerCount = file.plan.records.count
    let slotCount = file.plan.header.slotCount
    let optimizer = file.spec.optimizer
    let tensors = file.tensors, byKey = file.byKey
    try root.forEachMember { (key, v) throws(SwannError) in
        if isKey(key, "__metadata__") { return }
        guard let k = tensorKey(key, layerCount: layerCount, kind: optimizer, slotCount: slotCount) else {
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
        if t.role != .parameter {
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
private func tensorKey(_ name: UnsafePointer<CChar>, layerCount: Int, kind: OptimizerConfig, slotCount: Int) -> Int? {
    if isKey(name, "optimizer.step") { return Tensor(role: .step).key(layers: layerCount) }
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
    return Tensor(role: slot < 0 ? .parameter : .slot, layer: k, isBias: isBias, slot: slot).key(layers: layerCount)
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
    let want: StaticString = t.dtype == .i64 ? "I64" : "F32"
    guard let d = dtype.string, strcmp(d, cString(want)) == 0 else {
        throw t.dtype == .i64 ? fail("dtype must be I64") : fail("dtype must be F32")
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
                throw Failure(file.function).text(": optimizer.step is ").int(Int(s)).text(", must be in 0...2^53").error(.format)
            }
            net.header.pointee.steps = Int(s)
            continue
        }
        let dst = net.base + t.offset
        guard file.source.read(at: offset, count: t.bytes, into: dst) else { throw readFailed(file) }
        guard allFinite(dst.assumingMemoryBound(to: Float.self), t.bytes / 4) else {
            throw t.withName(file.spec.optimizer) { name in
                Failure(file.function).text(": tensor \"").text(name).text("\" has NaN or Inf values").error(.format)
            }
        }
    }
}

private func readFailed(_ file: ModelFile) -> SwannError {
    Failure(file.function).text(": reading tensor data failed").reason().error(.io)
}
