import CSupport

/// Writes the net atomically: a temporary file in the target's folder, written
/// in full, fsynced, renamed over the target (`path`, or the file its symbolic
/// links lead to), and the folder fsynced.
func saveNet(_ net: Net, path: UnsafePointer<CChar>) throws(SwannError) {
    let h = net.header.pointee
    // A file that load would refuse is never written: the old one stays.
    guard allFinite(net.params, h.paramCount), allFinite(net.slots, h.slotCount * h.paramCount) else {
        throw Failure("save: parameters or optimizer state have NaN or Inf values; \"").text(path)
            .text("\" not written").error(.numeric)
    }
    // The header goes into one checked allocation, sized up front: a header cut
    // short and renamed over the target would lose the model.
    var header = TextBuffer(capacity: headerCapacity(net))
    guard header.ok else { throw Failure("save: out of memory while writing the header").error(.nomem) }
    defer { header.free() }
    writeHeader(&header, net)
    guard header.ok else {
        throw Failure("save: the header outgrew its buffer (a bug: please report it)").error(.io)
    }
    let textLength = header.length
    let headerLength = (textLength + 7) / 8 * 8

    // A symbolic link at `path` is followed and stays; what it leads to is replaced.
    var file = cs_save_file()
    defer { cs_save_end(&file) }
    guard cs_save_open(path, &file) == 0 else { throw saveOpenFailed(file, path) }
    let fd = file.fd
    var ok = true
    var lengthLE = UInt64(headerLength).littleEndian
    ok = ok && cs_write_all(fd, &lengthLE, 8) == 0
    ok = ok && cs_write_all(fd, header.base, textLength) == 0
    var spaces: UInt64 = 0x2020_2020_2020_2020
    ok = ok && cs_write_all(fd, &spaces, headerLength - textLength) == 0
    // The data: the file tensors in table order, as writeHeader listed them.
    for t in net.tensors where ok && t.role.inFile {
        if t.role == .step {
            var step = Int64(h.steps).littleEndian
            ok = cs_write_all(fd, &step, 8) == 0
        } else {
            ok = cs_write_all(fd, net.base + t.offset, t.bytes) == 0
        }
    }
    guard ok else {
        throw Failure("save: writing \"").text(UnsafePointer(file.temp)).text("\" failed").reason().error(.io)
    }
    guard cs_save_commit(&file) == 0 else { throw saveCommitFailed(file) }
}

/// The failure of a save that could not start (cs_save_open).
private func saveOpenFailed(_ file: cs_save_file, _ path: UnsafePointer<CChar>) -> SwannError {
    let target = UnsafePointer(file.target)
    switch Int(file.stage) {
    case CS_SAVE_NOMEM:
        return Failure("save: out of memory for the file names").error(.nomem)
    case CS_SAVE_RESOLVE:
        return Failure("save: cannot look up \"").text(path).text("\"").reason().error(.io)
    case CS_SAVE_KIND:
        var f = Failure("save: \"").text(target).text("\" is ").text(cs_kind_name(file.mode))
            .text(", not a regular file")
        if let target, strcmp(target, path) != 0 { f = f.text(" (the link \"").text(path).text("\" leads there)") }
        return f.error(.io)
    case CS_SAVE_CREATE:
        return Failure("save: cannot create a temporary file next to \"").text(target).text("\"").reason().error(.io)
    default:
        return Failure("save: cannot give \"").text(UnsafePointer(file.temp)).text("\" the permissions of \"")
            .text(target).text("\"").reason().error(.io)
    }
}

/// The failure of a save whose file was written but not put in place (cs_save_commit).
private func saveCommitFailed(_ file: cs_save_file) -> SwannError {
    let target = UnsafePointer(file.target), temp = UnsafePointer(file.temp)
    switch Int(file.stage) {
    case CS_SAVE_SYNC:
        return Failure("save: flushing \"").text(temp).text("\" to disk failed").reason().error(.io)
    case CS_SAVE_RENAME:
        return Failure("save: renaming \"").text(temp).text("\" to \"").text(target).text("\" failed")
            .reason().error(.io)
    default:
        return Failure("save: the folder of \"").text(target).text("\" could not be synced").reason().error(.io)
    }
}
