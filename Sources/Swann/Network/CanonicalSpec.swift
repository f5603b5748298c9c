import CSupport

// The canonical spec: every key written, every default filled in, in one order.
// It is what swann_spec_json returns and model files carry.

/// A spec read for create or arena_size into the caller's `NetSpec` (held by the caller:
/// a struct holding it was one more 4-6 KB copy on the stack), parsed in a scratch from
/// `home` (the host's arena or one heap block, freed before this returns), its canonical
/// text measured.
struct ReadSpec {
    /// Bytes of the canonical text, without its NUL.
    var canonicalLength: Int
    /// The scratch the parse used: a host arena must be at least this large too.
    var scratchBytes: Int

    init(_ specJSON: UnsafePointer<CChar>?, _ home: ScratchHome, _ function: StaticString,
         into spec: inout NetSpec) throws(SwannError) {
        let text = try SpecText(specJSON)
        let need = text.sizing.bytes
        try withScratch(home, need, function, "reading the spec") { (s: inout Scratch) throws(SwannError) in
            try text.parse(&s, function, into: &spec)
        }
        scratchBytes = need
        var measure = TextBuffer(measuring: ())
        writeCanonicalSpec(&spec, into: &measure)
        canonicalLength = measure.length
    }

    /// The arena a net of this spec needs: its plan, and room for the parse before it.
    func arenaBytes(_ plan: Plan) -> Int { max(plan.bytes, scratchBytes) }
}

/// The canonical spec text (every optimizer default filled in), written into a
/// `TextBuffer` (or measured by one); the same function for both, so the length
/// measured before the plan is the length written into the net.
func writeCanonicalSpec(_ spec: UnsafePointer<NetSpec>, into t: inout TextBuffer) {
    t.text("{")
    t.key("input"); t.number(spec.pointee.input)
    t.text(",")
    t.key("layers"); t.text("[")
    for k in 0..<spec.pointee.layers.count {  // by index: a for-in iterator would copy the whole list
        let l = spec.pointee.layers[k]
        if k > 0 { t.text(",") }
        t.text("{"); t.key("units"); t.number(l.units)
        t.text(","); t.key("activation"); t.quoted(cString(l.activation.name))
        if l.activation.defaultAlpha != nil { t.text(","); t.key("alpha"); t.number(l.alpha) }
        t.text("}")
    }
    t.text("],")
    t.key("loss"); t.quoted(cString(spec.pointee.loss.name))
    t.text(",")
    let c = spec.pointee.optimizer
    t.key("optimizer"); t.text("{"); t.key("type"); t.quoted(cString(c.kind.name))
    putKeys(c.kind.keys, c, into: &t)
    if c.hasSchedule {
        t.text(","); t.key("schedule"); t.text("{"); t.key("type"); t.quoted(cString(c.schedule.name))
        putKeys(c.schedule.keys, c, into: &t)
        t.text("}")
    }
    t.text("}")
    if spec.pointee.initKind != .automatic { t.text(","); t.key("init"); t.quoted(cString(spec.pointee.initKind.name)) }
    t.text(","); t.key("seed"); t.number(Int(spec.pointee.seed))
    if spec.pointee.threads != 1 { t.text(","); t.key("threads"); t.number(spec.pointee.threads) }
    t.text("}")
}

/// The keys of an optimizer's or schedule's list that the canonical spec writes, in
/// the list's order, each as `,"key":value`.
private func putKeys(_ keys: HyperList, _ c: OptimizerConfig, into t: inout TextBuffer) {
    var i = 0
    while keys.at(i) != .end {
        let h = keys.at(i)
        if c.writes(h) {
            t.byte(0x2c)
            t.key(h.name)
            switch c.value(h) {
            case .number(let x): t.number(x)
            case .integer(let n): t.number(n)
            case .flag(let b): if b { t.text("true") } else { t.text("false") }
            }
        }
        i += 1
    }
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
