import CSupport

/// What model-file bytes are written from: a net (parameters, optimizer state and
/// step) or a model (parameters only). One writer for both, so a model's bytes are
/// a net's without the optimizer tensors.
protocol ModelFileSource: LayerShapes {
    /// The file tensors in table order (their offsets matter only to `fileData`).
    var fileTable: TensorTable<Self> { get }
    var fileSpecText: UnsafePointer<CChar> { get }
    var fileSpecLength: Int { get }
    var fileOptimizer: OptimizerConfig { get }
    /// optimizer.step, or nil when the source writes no optimizer state.
    var fileSteps: Int? { get }
    /// A float tensor's values (in file order unless `emitData` says otherwise), or
    /// nil when the source does not write it.
    func fileData(_ t: Tensor) -> UnsafeRawPointer?
    /// Hands a float tensor's bytes, in file order, to `sink`; false when it stopped.
    func emitData(_ t: Tensor, _ sink: (UnsafeRawPointer, Int) -> Bool) -> Bool
}

extension ModelFileSource {
    /// The bytes as `fileData` has them.
    func emitData(_ t: Tensor, _ sink: (UnsafeRawPointer, Int) -> Bool) -> Bool {
        guard let p = fileData(t) else { return true }
        return sink(p, t.bytes)
    }

    /// The tensor goes into the file.
    func writes(_ t: Tensor) -> Bool {
        t.role.inFile && (t.role == .step ? fileSteps != nil : fileData(t) != nil)
    }
}

extension Net: ModelFileSource {
    var fileTable: TensorTable<Net> { tensors }
    var fileSpecText: UnsafePointer<CChar> { UnsafePointer(specText) }
    var fileSpecLength: Int { header.pointee.specLength }
    var fileOptimizer: OptimizerConfig { header.pointee.optimizer }
    var fileSteps: Int? { header.pointee.steps }
    func fileData(_ t: Tensor) -> UnsafeRawPointer? { UnsafeRawPointer(base + t.offset) }
}

/// Model-file bytes, ready to be emitted: the header text is written (one checked
/// allocation, freed by withModelBytes), the tensors stay where the source has them.
struct ModelBytes<Source: ModelFileSource> {
    var source: Source
    var header: TextBuffer
    /// The header's JSON text, and its length padded with spaces to a multiple of 8.
    var textLength: Int
    var headerLength: Int
    var dataBytes: Int
    /// The whole file: the 8-byte length, the padded header, the data.
    var total: Int { 8 + headerLength + dataBytes }

    /// Hands the bytes, in file order, to `sink` (which returns false to stop);
    /// false when the sink stopped. save and the save_buffer calls all go through here.
    func emit(_ sink: (UnsafeRawPointer, Int) -> Bool) -> Bool {
        var lengthLE = UInt64(headerLength).littleEndian
        var spaces: UInt64 = 0x2020_2020_2020_2020
        var ok = sink(&lengthLE, 8) && sink(header.base, textLength) && sink(&spaces, headerLength - textLength)
        // The data: the file tensors by decreasing dtype size, in table order
        // within a size, as writeHeader listed them.
        var size = 8  // I64, F32, F16, I8
        while size > 0 {
            for t in source.fileTable where ok && t.dtype.size == size && source.writes(t) {
                if t.role == .step {
                    var step = Int64(source.fileSteps ?? 0).littleEndian
                    ok = sink(&step, 8)
                } else {
                    ok = source.emitData(t, sink)
                }
            }
            size /= 2
        }
        return ok
    }
}

/// Checks that the source is one load would accept and writes its header; `path`
/// (or nil for a buffer) only names the target in the failure.
func withModelBytes<Source: ModelFileSource, R>(_ source: Source, _ function: StaticString,
                                                path: UnsafePointer<CChar>?,
                                                _ body: (ModelBytes<Source>) throws(SwannError) -> R)
    throws(SwannError) -> R {
    // Bytes that load would refuse are never written: an old file stays.
    var dataBytes = 0
    for t in source.fileTable where source.writes(t) {
        dataBytes += t.bytes
        // Compact weights were checked when they were made or loaded.
        guard t.role != .step, t.dtype == .f32, let p = source.fileData(t) else { continue }
        guard allFinite(p.assumingMemoryBound(to: Float.self), t.bytes / 4) else {
            let f = Failure(function).text(": parameters or optimizer state have NaN or Inf values; ")
            if let path { throw f.text("\"").text(path).text("\" not written").error(.numeric) }
            throw f.text("nothing written").error(.numeric)
        }
    }
    // The header goes into one checked allocation, sized up front: a header cut
    // short and renamed over the target would lose the model.
    var header = TextBuffer(capacity: headerCapacity(source))
    guard header.ok else { throw Failure(function).text(": out of memory while writing the header").error(.nomem) }
    defer { header.free() }
    writeHeader(&header, source)
    guard header.ok else {
        throw Failure(function).text(": the header outgrew its buffer (a bug: please report it)").error(.io)
    }
    return try body(ModelBytes(source: source, header: header, textLength: header.length,
                               headerLength: (header.length + 7) / 8 * 8, dataBytes: dataBytes))
}

/// Writes the net atomically (see saveFile).
func saveNet(_ net: Net, path: UnsafePointer<CChar>) throws(SwannError) {
    try saveFile(net, path: path, "save")
}

/// Writes a net or a model atomically: a temporary file in the target's folder,
/// written in full, fsynced, renamed over the target (`path`, or the file its
/// symbolic links lead to), and the folder fsynced.
func saveFile<Source: ModelFileSource>(_ source: Source, path: UnsafePointer<CChar>,
                                       _ function: StaticString) throws(SwannError) {
    try withModelBytes(source, function, path: path) { (bytes) throws(SwannError) in
        // A symbolic link at `path` is followed and stays; what it leads to is replaced.
        var file = cs_save_file()
        defer { cs_save_end(&file) }
        guard cs_save_open(path, &file) == 0 else { throw saveOpenFailed(file, path, function) }
        let fd = file.fd
        guard bytes.emit({ p, n in cs_write_all(fd, p, n) == 0 }) else {
            throw Failure(function).text(": writing \"").text(UnsafePointer(file.temp)).text("\" failed").reason()
                .error(.io)
        }
        guard cs_save_commit(&file) == 0 else { throw saveCommitFailed(file, function) }
    }
}

/// The model-file bytes into `buf`, snprintf-style: `needed` always gets the
/// size; a `cap` short of it writes nothing. Allocates only the header text, as save does.
func saveToBuffer<Source: ModelFileSource>(_ source: Source, _ function: StaticString,
                                           _ buf: UnsafeMutableRawPointer?, cap: Int,
                                           needed: UnsafeMutablePointer<UInt>) throws(SwannError) {
    try withModelBytes(source, function, path: nil) { (bytes) throws(SwannError) in
        needed.pointee = UInt(bytes.total)
        guard let buf, cap >= bytes.total else {
            throw Failure(function).text(": cap is ").int(cap).text(" bytes, the model needs ").int(bytes.total)
                .error(.arg)
        }
        var at = buf
        _ = bytes.emit { p, n in
            at.copyMemory(from: p, byteCount: n)
            at += n
            return true
        }
    }
}

/// The failure of a save that could not start (cs_save_open).
private func saveOpenFailed(_ file: cs_save_file, _ path: UnsafePointer<CChar>,
                            _ function: StaticString) -> SwannError {
    let target = UnsafePointer(file.target)
    switch Int(file.stage) {
    case CS_SAVE_NOMEM:
        return Failure(function).text(": out of memory for the file names").error(.nomem)
    case CS_SAVE_RESOLVE:
        return Failure(function).text(": cannot look up \"").text(path).text("\"").reason().error(.io)
    case CS_SAVE_KIND:
        var f = Failure(function).text(": \"").text(target).text("\" is ").text(cs_kind_name(file.mode))
            .text(", not a regular file")
        if let target, strcmp(target, path) != 0 { f = f.text(" (the link \"").text(path).text("\" leads there)") }
        return f.error(.io)
    case CS_SAVE_CREATE:
        return Failure(function).text(": cannot create a temporary file next to \"").text(target).text("\"").reason()
            .error(.io)
    default:
        return Failure(function).text(": cannot give \"").text(UnsafePointer(file.temp))
            .text("\" the permissions of \"")
            .text(target).text("\"").reason().error(.io)
    }
}

/// The failure of a save whose file was written but not put in place (cs_save_commit).
private func saveCommitFailed(_ file: cs_save_file, _ function: StaticString) -> SwannError {
    let target = UnsafePointer(file.target), temp = UnsafePointer(file.temp)
    switch Int(file.stage) {
    case CS_SAVE_SYNC:
        return Failure(function).text(": flushing \"").text(temp).text("\" to disk failed").reason().error(.io)
    case CS_SAVE_RENAME:
        return Failure(function).text(": renaming \"").text(temp).text("\" to \"").text(target).text("\" failed")
            .reason().error(.io)
    default:
        return Failure(function).text(": the folder of \"").text(target).text("\" could not be synced").reason()
            .error(.io)
    }
}
