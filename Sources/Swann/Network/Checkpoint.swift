import CSupport

// Model files: safetensors.
//
//   8 bytes   little-endian u64 N, the header length
//   N bytes   JSON header, padded with spaces to a multiple of 8:
//             {"__metadata__": {"format": "swann", "swann.version": ..., "swann.spec": ...},
//              "<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}
//   data      the tensors' bytes, little-endian, each at [begin, end) of this section
//
// Tensors: layers.{k}.weight [out, in] and layers.{k}.bias [out]; optimizer state as
// optimizer.step (I64, shape []) and optimizer.{k}.{weight|bias}.{slot}.
// swann writes optimizer.step, the parameters, then each slot, back to back; it
// reads any order and any padding, but nothing that is not exactly right.

/// The largest header swann reads (a 256-layer spec needs well under 1 MiB).
let maxHeaderBytes = 64 << 20

/// One tensor of a net's model file, and where its values live in the arena.
struct TensorSlot {
    var layer: Int         // -1: optimizer.step
    var isBias: Bool
    var slot: Int          // -1: a parameter; else the optimizer slot
    var rows: Int          // shape [rows, cols], [rows] when cols == 0, [] for the step
    var cols: Int
    var arenaOffset: Int   // byte offset of the values in the arena (unused for the step)
    var bytes: Int

    var isOptimizer: Bool { layer < 0 || slot >= 0 }
    var rank: Int { layer < 0 ? 0 : (cols == 0 ? 1 : 2) }

    /// Calls `body` with the tensor's name.
    func withName<R>(_ optimizer: OptimizerConfig, _ body: (UnsafePointer<CChar>) -> R) -> R {
        var name = TextBuffer.Scratch()  // 128 bytes on the stack
        return withUnsafeMutablePointer(to: &name) { raw -> R in
            let p = UnsafeMutableRawPointer(raw).assumingMemoryBound(to: CChar.self)
            cs_tensor_name(p, Int64(layer), isBias ? 1 : 0, slot >= 0 ? cString(optimizer.slotName(slot)) : nil)
            return body(UnsafePointer(p))
        }
    }
}

/// The number of tensors a planned net's file holds.
func tensorCount(_ plan: Plan) -> Int { 1 + 2 * plan.records.count * (1 + plan.header.slotCount) }

/// Tensor `index` of a planned net, in swann's write order: the step, then for
/// the parameters and each optimizer slot, every layer's weight and bias.
func tensorAt(_ index: Int, _ plan: Plan) -> TensorSlot {
    let h = plan.header
    if index == 0 {
        return TensorSlot(layer: -1, isBias: false, slot: -1, rows: 0, cols: 0, arenaOffset: 0, bytes: 8)
    }
    let perSlot = 2 * plan.records.count
    let s = (index - 1) / perSlot - 1
    let k = (index - 1) % perSlot / 2
    let isBias = (index - 1) % 2 == 1
    let l = plan.records[k]
    let shift = s < 0 ? 0 : h.slots - h.params + s * h.paramCount * 4
    return isBias
        ? TensorSlot(layer: k, isBias: true, slot: s, rows: l.fanOut, cols: 0, arenaOffset: l.bias + shift,
                     bytes: l.fanOut * 4)
        : TensorSlot(layer: k, isBias: false, slot: s, rows: l.fanOut, cols: l.fanIn, arenaOffset: l.weight + shift,
                     bytes: l.fanOut * l.fanIn * 4)
}

// MARK: - save

/// Writes the net atomically: a temporary file in the target's folder, written
/// in full, fsynced, renamed over the target (`path`, or the file its symbolic
/// links lead to), and the folder fsynced.
func saveNet(_ net: Net, path: UnsafePointer<CChar>) -> Status {
    let h = net.header.pointee
    // A file that load would refuse is never written: the old one stays.
    guard allFinite(net.params, h.paramCount), allFinite(net.slots, h.slotCount * h.paramCount) else {
        Failure("save: parameters or optimizer state have NaN or Inf values; \"").text(path)
            .text("\" not written")
        return .numeric
    }
    // The header goes into one checked allocation, sized up front: a header cut
    // short and renamed over the target would lose the model.
    var header = TextBuffer(capacity: headerCapacity(net))
    guard header.ok else { return outOfMemory("save") }
    defer { header.free() }
    writeHeader(&header, net)
    guard header.ok else {
        Failure("save: the header outgrew its buffer (a bug: please report it)")
        return .io
    }
    let text = UnsafePointer(header.base)
    let textLength = header.length
    let headerLength = (textLength + 7) / 8 * 8

    // A symbolic link at `path` is followed and stays; what it leads to is replaced.
    var file = cs_save_file()
    defer { cs_save_end(&file) }
    guard cs_save_open(path, &file) == 0 else { return saveOpenFailed(file, path) }
    let fd = file.fd
    let tmpName = UnsafePointer(file.temp)  // set by cs_save_open; text() takes an optional
    var ok = true
    var lengthLE = UInt64(headerLength).littleEndian
    ok = ok && cs_write_all(fd, &lengthLE, 8) == 0
    ok = ok && cs_write_all(fd, text, textLength) == 0
    var spaces: UInt64 = 0x2020_2020_2020_2020
    ok = ok && cs_write_all(fd, &spaces, headerLength - textLength) == 0
    var step = Int64(h.steps).littleEndian
    ok = ok && cs_write_all(fd, &step, 8) == 0
    // Parameters, then each slot: the arena holds them exactly in file order.
    ok = ok && cs_write_all(fd, net.params, h.paramCount * 4) == 0
    ok = ok && cs_write_all(fd, net.slots, h.slotCount * h.paramCount * 4) == 0
    if !ok {
        Failure("save: writing \"").text(tmpName).text("\" failed")
        cs_err_append_errno()
        return .io
    }
    guard cs_save_commit(&file) == 0 else {
        let target = UnsafePointer(file.target)
        switch Int(file.stage) {
        case CS_SAVE_SYNC:
            Failure("save: flushing \"").text(tmpName).text("\" to disk failed")
        case CS_SAVE_RENAME:
            Failure("save: renaming \"").text(tmpName).text("\" to \"").text(target).text("\" failed")
        default:
            Failure("save: the folder of \"").text(target).text("\" could not be synced")
        }
        cs_err_append_errno()
        return .io
    }
    return .ok
}

/// The message and status of a save that could not start (cs_save_open).
private func saveOpenFailed(_ file: cs_save_file, _ path: UnsafePointer<CChar>) -> Status {
    let target = UnsafePointer(file.target)
    switch Int(file.stage) {
    case CS_SAVE_NOMEM:
        Failure("save: out of memory for the file names")
        return .nomem
    case CS_SAVE_RESOLVE:
        Failure("save: cannot look up \"").text(path).text("\"")
    case CS_SAVE_KIND:
        let f = Failure("save: \"").text(target).text("\" is ").text(cs_kind_name(file.mode))
            .text(", not a regular file")
        if let target, strcmp(target, path) != 0 { f.text(" (the link \"").text(path).text("\" leads there)") }
        return .io
    case CS_SAVE_CREATE:
        Failure("save: cannot create a temporary file next to \"").text(target).text("\"")
    default:
        Failure("save: cannot give \"").text(UnsafePointer(file.temp)).text("\" the permissions of \"")
            .text(target).text("\"")
    }
    cs_err_append_errno()
    return .io
}

private func outOfMemory(_ function: StaticString) -> Status {
    Failure(function).text(": out of memory while writing the header")
    return .nomem
}

/// Calls `body` with every tensor of a live net, in swann's write order.
private func forEachTensor(_ net: Net, _ body: (TensorSlot) -> Void) {
    let h = net.header.pointee
    body(TensorSlot(layer: -1, isBias: false, slot: -1, rows: 0, cols: 0, arenaOffset: 0, bytes: 8))
    for s in -1..<h.slotCount {
        let shift = s < 0 ? 0 : h.slots - h.params + s * h.paramCount * 4
        for k in 0..<h.layerCount {
            let l = net.layers[k]
            body(TensorSlot(layer: k, isBias: false, slot: s, rows: l.fanOut, cols: l.fanIn,
                            arenaOffset: l.weight + shift, bytes: l.fanOut * l.fanIn * 4))
            body(TensorSlot(layer: k, isBias: true, slot: s, rows: l.fanOut, cols: 0,
                            arenaOffset: l.bias + shift, bytes: l.fanOut * 4))
        }
    }
}

/// A bound on the header's length: the escaped spec (6 bytes per character at
/// most) and 256 bytes per tensor (a name under 100, numbers under 20 digits).
private func headerCapacity(_ net: Net) -> Int {
    let h = net.header.pointee
    return 256 + 6 * h.specLength + 256 * (1 + 2 * h.layerCount * (1 + h.slotCount))
}

/// The safetensors header of a live net (see the format note at the top).
private func writeHeader(_ t: inout TextBuffer, _ net: Net) {
    let optimizer = net.header.pointee.optimizer
    t.text("{\"__metadata__\":{\"format\":\"swann\",\"swann.version\":")
    t.quoted(cString(swannVersion))
    t.text(",\"swann.spec\":")
    t.quoted(net.specText)
    t.text("}")
    var offset = 0
    forEachTensor(net) { tensor in
        t.text(",")
        tensor.withName(optimizer) { name in t.quoted(name) }  // names need no escapes; quoted() is exact anyway
        if tensor.layer < 0 { t.text(":{\"dtype\":\"I64\",\"shape\":[") } else { t.text(":{\"dtype\":\"F32\",\"shape\":[") }
        if tensor.rank >= 1 { t.number(tensor.rows) }
        if tensor.rank == 2 { t.text(","); t.number(tensor.cols) }
        t.text("],\"data_offsets\":[")
        t.number(offset)
        t.text(",")
        t.number(offset + tensor.bytes)
        t.text("]}")
        offset += tensor.bytes
    }
    t.text("}")
}

// MARK: - load

/// A model file checked against its own spec, ready to be read into an arena.
struct ModelFile {
    var fd: Int32
    var spec: NetSpec
    var plan: Plan
    /// Per tensor (as `tensorAt`): where the file has it, [begin, end) of the data
    /// section, or (-1, -1) when absent. One checked allocation, freed by withModelFile.
    var spans: UnsafeMutablePointer<(Int, Int)>
    var count: Int
    var dataStart: UInt64
    var hasOptimizer: Bool
}

/// Opens `path`, checks everything but the tensor values, and calls `body` with the
/// file and the canonical spec text. The file is closed afterwards.
func withModelFile<R>(_ path: UnsafePointer<CChar>?, maxBatch: UInt, _ function: StaticString,
                      _ body: (ModelFile, UnsafePointer<CChar>) throws(SwannError) -> R) throws(SwannError) -> R {
    guard let path else {
        Failure(function).text(": path is NULL")
        throw SwannError(status: .arg)
    }
    guard path[0] != 0 else {
        Failure(function).text(": path is empty")
        throw SwannError(status: .arg)
    }
    let mb = try checkMaxBatch(maxBatch, function)
    var kind: UInt32 = 0
    let fd = cs_open_read(path, &kind)  // never blocks: a FIFO or device is refused unopened
    guard fd >= 0 else {
        if fd == -2 {
            Failure(function).text(": \"").text(path).text("\" is ").text(cs_kind_name(kind))
                .text(", not a regular file")
        } else {
            Failure(function).text(": cannot open \"").text(path).text("\"")
            cs_err_append_errno()
        }
        throw SwannError(status: .io)
    }
    defer { cs_close(fd) }
    var size: UInt64 = 0
    guard cs_file_size(fd, &size) == 0 else {
        Failure(function).text(": cannot read \"").text(path).text("\"")
        cs_err_append_errno()
        throw SwannError(status: .io)
    }
    func bad() -> Failure { Failure(function).text(": \"").text(path).text("\" is not a swann model file: ") }
    guard size >= 8 else {
        bad().text("it has ").uint(UInt(size)).text(" bytes, fewer than the 8 of a header length")
        throw SwannError(status: .format)
    }
    var lengthLE: UInt64 = 0
    guard cs_read_at(fd, &lengthLE, 8, 0) == 0 else {
        Failure(function).text(": reading \"").text(path).text("\" failed")
        cs_err_append_errno()
        throw SwannError(status: .io)
    }
    let headerLength = UInt64(littleEndian: lengthLE)
    guard headerLength >= 2, headerLength <= size - 8, headerLength <= UInt64(maxHeaderBytes) else {
        bad().text("header length ").uint(UInt(headerLength)).text(" does not fit a file of ")
            .uint(UInt(size)).text(" bytes")
        throw SwannError(status: .format)
    }
    let n = Int(headerLength)
    guard let text = cs_aligned_alloc(n + 1)?.assumingMemoryBound(to: CChar.self) else {
        Failure(function).text(": out of memory for a header of ").int(n).text(" bytes")
        throw SwannError(status: .nomem)
    }
    defer { cs_free(text) }
    guard cs_read_at(fd, text, n, 8) == 0 else {
        Failure(function).text(": reading the header of \"").text(path).text("\" failed")
        cs_err_append_errno()
        throw SwannError(status: .io)
    }
    text[n] = 0
    // A valid header has at most about 15,000 values (256 layers, three state slots).
    var parsed = JSONDocument(text, length: n, maxValues: 1 << 20)
    defer { parsed.release() }
    guard let root = parsed.root else {
        let problem = parsed.problem ?? .syntax
        if problem == .outOfMemory {
            Failure(function).text(": out of memory while parsing the header")
            throw SwannError(status: .nomem)
        }
        let f = bad().text("header has ").text(problem.text).text(" at byte ").int(8 + parsed.offset)
        if parsed.detail.utf8CodeUnitCount > 0 { f.text(": ").text(parsed.detail) }
        throw SwannError(status: .format)
    }
    guard root.kind == .object else {
        bad().text("the header is not a JSON object")
        throw SwannError(status: .format)
    }

    // Metadata: format "swann" and the spec.
    guard let meta = root.member("__metadata__"), meta.kind == .object else {
        bad().text("no \"__metadata__\" object")
        throw SwannError(status: .format)
    }
    var specText: UnsafePointer<CChar>? = nil
    var sawFormat = false
    try meta.forEachMember { (key, v) throws(SwannError) in
        guard let s = v.string else {
            bad().text("metadata \"").text(key).text("\" is not a string")
            throw SwannError(status: .format)
        }
        if isKey(key, "format") {
            guard strcmp(s, "swann") == 0 else {
                bad().text("metadata format is \"").text(s).text("\", not \"swann\"")
                throw SwannError(status: .format)
            }
            sawFormat = true
        } else if isKey(key, "swann.spec") {
            specText = s
        }
    }
    guard sawFormat else {
        bad().text("metadata has no \"format\": \"swann\"")
        throw SwannError(status: .format)
    }
    guard let specText else {
        bad().text("metadata has no \"swann.spec\"")
        throw SwannError(status: .format)
    }

    let dataSize = size - 8 - headerLength
    do throws(SwannError) {
        return try withCanonicalSpec(specText) { (spec, canonical, length) throws(SwannError) -> R in
            let plan = try Plan(spec: spec, maxBatch: mb, specLength: length)
            let count = tensorCount(plan)
            guard let raw = cs_aligned_alloc(count * MemoryLayout<(Int, Int)>.stride) else {
                Failure(function).text(": out of memory for the tensor table")
                throw SwannError(status: .nomem)
            }
            let spans = raw.bindMemory(to: (Int, Int).self, capacity: count)
            defer { cs_free(raw) }
            spans.initialize(repeating: (-1, -1), count: count)
            var file = ModelFile(fd: fd, spec: spec, plan: plan, spans: spans, count: count,
                                 dataStart: 8 + headerLength, hasOptimizer: false)
            try locateTensors(root, &file, dataSize: dataSize, bad)
            return try body(file, canonical)
        }
    } catch {
        // A bad spec inside a file is a bad file: "load: the file's spec: layers[0]...".
        guard error.status == .spec else { throw error }
        cs_err_prefix(cString(function))
        throw SwannError(status: .format)
    }
}

/// Matches every header entry to the tensor the spec implies, and checks that the
/// tensors tile the data section exactly.
private func locateTensors(_ root: JSONValue, _ file: inout ModelFile, dataSize: UInt64,
                           _ bad: () -> Failure) throws(SwannError) {
    let layerCount = file.plan.records.count
    let slotCount = file.plan.header.slotCount
    let optimizer = file.spec.optimizer
    let plan = file.plan, spans = file.spans
    try root.forEachMember { (key, v) throws(SwannError) in
        if isKey(key, "__metadata__") { return }
        guard let index = tensorIndex(key, layerCount: layerCount, kind: optimizer, slotCount: slotCount) else {
            bad().text("unexpected tensor \"").text(key).text("\" for this spec")
            throw SwannError(status: .format)
        }
        spans[index] = try readEntry(v, key, tensorAt(index, plan), dataSize: dataSize, bad)
    }
    var optimizerFound = 0, optimizerTotal = 0, covered = 0
    for i in 0..<file.count {
        let t = tensorAt(i, plan)
        let found = spans[i].0 >= 0
        if found { covered += t.bytes }
        if t.isOptimizer {
            optimizerTotal += 1
            if found { optimizerFound += 1 }
        } else if !found {
            _ = t.withName(optimizer) { name in bad().text("tensor \"").text(name).text("\" is missing") }
            throw SwannError(status: .format)
        }
    }
    guard optimizerFound == 0 || optimizerFound == optimizerTotal else {
        bad().text("optimizer state is partial (").int(optimizerFound).text(" of ").int(optimizerTotal)
            .text(" tensors)")
        throw SwannError(status: .format)
    }
    file.hasOptimizer = optimizerFound > 0
    // Tiling: every span lies in the data section (readEntry), no two overlap, and
    // together they are exactly as long as it, so they cover it with no gap.
    guard UInt64(covered) == dataSize else {
        bad().text("tensors cover ").int(covered).text(" bytes of a data section of ").uint(UInt(dataSize))
        throw SwannError(status: .format)
    }
    for i in 0..<file.count where spans[i].0 >= 0 {
        for j in (i + 1)..<max(file.count, i + 1) where spans[j].0 >= 0 {
            if spans[i].0 < spans[j].1 && spans[j].0 < spans[i].1 {
                bad().text("tensors overlap at data byte ").int(max(spans[i].0, spans[j].0))
                throw SwannError(status: .format)
            }
        }
    }
}

/// The table index of a tensor name, or nil for a name the spec does not imply.
/// Table order: step, then per slot (-1 = parameters) per layer weight and bias.
private func tensorIndex(_ name: UnsafePointer<CChar>, layerCount: Int, kind: OptimizerConfig, slotCount: Int) -> Int? {
    if isKey(name, "optimizer.step") { return 0 }
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
    return 1 + (slot + 1) * 2 * layerCount + 2 * k + (isBias ? 1 : 0)
}

/// Checks one header entry: exactly dtype, shape and data_offsets, all as expected.
private func readEntry(_ v: JSONValue, _ name: UnsafePointer<CChar>, _ t: TensorSlot,
                       dataSize: UInt64, _ bad: () -> Failure) throws(SwannError) -> (Int, Int) {
    func fail(_ what: StaticString) -> SwannError {
        bad().text("tensor \"").text(name).text("\": ").text(what)
        return SwannError(status: .format)
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
    let want: StaticString = t.layer < 0 ? "I64" : "F32"
    guard let d = dtype.string, strcmp(d, cString(want)) == 0 else {
        throw t.layer < 0 ? fail("dtype must be I64") : fail("dtype must be F32")
    }
    let dims = (t.rows, t.cols)
    var sameShape = shape.kind == .array && shape.count == t.rank
    for i in 0..<t.rank where sameShape {
        sameShape = shape.element(i)?.integer == Int64(i == 0 ? dims.0 : dims.1)
    }
    guard sameShape else {
        // Both shapes, so the host sees which file and spec disagree, and how.
        let f = bad().text("tensor \"").text(name).text("\" has shape ")
        appendShape(f, shape)
        f.text(", the spec needs [")
        if t.rank >= 1 { f.int(dims.0) }
        if t.rank == 2 { f.text(", ").int(dims.1) }
        f.text("]")
        throw SwannError(status: .format)
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
private func appendShape(_ f: Failure, _ shape: JSONValue) {
    guard shape.kind == .array else {
        f.text("(not an array)")
        return
    }
    f.text("[")
    for i in 0..<min(shape.count, 8) {
        if i > 0 { f.text(", ") }
        guard let e = shape.element(i) else { break }
        if let n = e.integer { f.int(Int(n)) } else if let d = e.double { f.number(d) } else { f.text("?") }
    }
    if shape.count > 8 { f.text(", ... (").int(shape.count).text(" dimensions)") }
    f.text("]")
}

/// Reads the tensors of a checked file into a built net, checking every value is finite.
func readTensors(_ file: ModelFile, into net: Net) -> Status {
    for i in 0..<file.count where file.spans[i].0 >= 0 {
        let t = tensorAt(i, file.plan)
        let offset = file.dataStart + UInt64(file.spans[i].0)
        if t.layer < 0 {
            var step: Int64 = 0
            guard cs_read_at(file.fd, &step, 8, offset) == 0 else { return readFailed() }
            let s = Int64(littleEndian: step)
            guard s >= 0, s <= 1 << 53 else {
                Failure("load: optimizer.step is ").int(Int(s)).text(", must be in 0...2^53")
                return .format
            }
            net.header.pointee.steps = Int(s)
            continue
        }
        let dst = net.base + t.arenaOffset
        guard cs_read_at(file.fd, dst, t.bytes, offset) == 0 else { return readFailed() }
        guard allFinite(dst.assumingMemoryBound(to: Float.self), t.bytes / 4) else {
            _ = t.withName(file.spec.optimizer) { name in
                Failure("load: tensor \"").text(name).text("\" has NaN or Inf values")
            }
            return .format
        }
    }
    return .ok
}

private func readFailed() -> Status {
    Failure("load: reading tensor data failed")
    cs_err_append_errno()
    return .io
}
