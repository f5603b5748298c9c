import CSupport

// The canonical spec: every key written, every default filled in, in one order.
// It is what swann_spec_json returns and model files carry.

/// Parses the spec and writes its canonical text; `body` receives the parsed spec,
/// the canonical text (valid only during the call) and its length.
func withCanonicalSpec<R>(_ specJSON: UnsafePointer<CChar>?,
                          _ body: (NetSpec, UnsafePointer<CChar>, Int) throws(SwannError) -> R) throws(SwannError) -> R {
    let spec = try parseSpec(specJSON)
    // About 110 bytes a layer, 700 for the rest.
    var text = TextBuffer(capacity: 1024 + 128 * spec.layers.count)
    defer { text.free() }
    writeCanonicalSpec(spec, into: &text)
    guard text.ok else {
        throw Failure("spec: out of memory while writing the canonical spec").error(.nomem)
    }
    return try body(spec, UnsafePointer(text.base), text.length)
}

/// The canonical spec text (every optimizer default filled in), written into a
/// `TextBuffer` (one checked allocation; it records whether that failed).
func writeCanonicalSpec(_ spec: NetSpec, into t: inout TextBuffer) {
    func put(_ key: StaticString, _ value: HyperValue) {
        t.byte(0x2c)
        t.key(key)
        switch value {
        case .number(let x): t.number(x)
        case .integer(let n): t.number(n)
        case .flag(let b): if b { t.text("true") } else { t.text("false") }
        }
    }
    t.text("{")
    t.key("input"); t.number(spec.input)
    t.text(",")
    t.key("layers"); t.text("[")
    for (k, l) in spec.layers.enumerated() {
        if k > 0 { t.text(",") }
        t.text("{"); t.key("units"); t.number(l.units)
        t.text(","); t.key("activation"); t.quoted(cString(l.activation.name))
        if l.activation.defaultAlpha != nil { t.text(","); t.key("alpha"); t.number(l.alpha) }
        t.text("}")
    }
    t.text("],")
    t.key("loss"); t.quoted(cString(spec.loss.name))
    t.text(",")
    let c = spec.optimizer
    t.key("optimizer"); t.text("{"); t.key("type"); t.quoted(cString(c.kind.name))
    c.forEachHyperParameter { key, value in put(key, value) }
    if c.hasSchedule {
        t.text(","); t.key("schedule"); t.text("{"); t.key("type"); t.quoted(cString(c.schedule.name))
        c.forEachScheduleParameter { key, value in put(key, value) }
        t.text("}")
    }
    t.text("}")
    if spec.initKind != .automatic { t.text(","); t.key("init"); t.quoted(cString(spec.initKind.name)) }
    t.text(","); t.key("seed"); t.number(Int(spec.seed))
    if spec.threads != 1 { t.text(","); t.key("threads"); t.number(spec.threads) }
    t.text("}")
}

/// Bytes the canonical spec's region keeps beyond its text, so that "lr" can be
/// rewritten by `swann_set_lr`: the number's text is 1 to 24 bytes long.
let lrTextSlack = 32

/// Rewrites the optimizer's "lr" in a canonical spec text in place (the text has
/// `lrTextSlack` spare bytes past its NUL). The canonical writer puts "lr" right
/// after the optimizer's "type", and no other key or value of a canonical spec
/// contains the text `"lr":`. False when the text has no such key or no room.
func rewriteCanonicalLR(_ text: UnsafeMutablePointer<CChar>, length: inout Int, room: Int, lr: Double) -> Bool {
    guard let keyStart = strstr(text, "\"lr\":") else { return false }
    let start = keyStart - text + 5
    var end = start
    while end < length && text[end] != 0x2c && text[end] != 0x7d { end += 1 }  // up to ',' or '}'
    var digits = TextBuffer.Scratch()
    return withUnsafeMutablePointer(to: &digits) { raw -> Bool in
        let buf = UnsafeMutableRawPointer(raw).assumingMemoryBound(to: CChar.self)
        cs_format_double(lr, buf)
        let n = strlen(buf)
        let newLength = length - (end - start) + n
        guard newLength + 1 <= room else { return false }
        memmove(text + start + n, text + end, length - end + 1)  // the tail and its NUL
        memcpy(text + start, buf, n)
        length = newLength
        return true
    }
}
