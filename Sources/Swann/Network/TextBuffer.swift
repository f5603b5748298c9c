import CSupport

/// A fixed text buffer (one checked allocation, or memory the caller lends), or a
/// measure that only counts; appends past the end set `ok` false.
struct TextBuffer {
    /// Valid text (NUL-terminated) only when `ok`; the empty text when there is no memory.
    var base: UnsafeMutablePointer<CChar>
    var capacity: Int
    var length = 0
    var ok: Bool
    private let owned: Bool
    private var measuring = false

    /// `capacity` bytes at `base`, the caller's (room for the text and its NUL).
    init(base: UnsafeMutablePointer<CChar>, capacity: Int) {
        self.base = base
        self.capacity = capacity
        ok = capacity > 0
        owned = false
        if ok { base[0] = 0 }
    }

    /// Writes nothing: `length` counts what would have been written.
    init(measuring _: ()) {
        base = cs_empty_text()
        capacity = Int.max
        ok = true
        owned = false
        self.measuring = true
    }

    init(capacity: Int) {
        if let p = cs_aligned_alloc(capacity) {
            base = p.assumingMemoryBound(to: CChar.self)
            self.capacity = capacity
            ok = true
            owned = true
        } else {
            base = cs_empty_text()
            self.capacity = 0
            ok = false
            owned = false
        }
    }

    func free() { if owned { cs_free(base) } }

    /// 128 bytes of stack for short texts (a number: 32; a tensor name: 128).
    struct Scratch {
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    }

    mutating func byte(_ c: UInt8) {
        if measuring { length += 1; return }
        guard ok, length + 1 < capacity else { ok = false; return }
        base[length] = CChar(bitPattern: c)
        length += 1
        base[length] = 0
    }

    mutating func text(_ s: UnsafePointer<CChar>) {
        var p = s
        while p.pointee != 0 { byte(UInt8(bitPattern: p.pointee)); p += 1 }
    }

    mutating func text(_ s: StaticString) { text(cString(s)) }

    /// A JSON string: quotes, backslash-escapes for '"', '\\' and control characters.
    mutating func quoted(_ s: UnsafePointer<CChar>) {
        byte(0x22)
        var p = s
        while p.pointee != 0 {
            let c = UInt8(bitPattern: p.pointee)
            if c == 0x22 || c == 0x5c {
                byte(0x5c); byte(c)
            } else if c < 0x20 {
                let hex: StaticString = "0123456789abcdef"
                byte(0x5c); byte(0x75); byte(0x30); byte(0x30)
                byte(hex.utf8Start[Int(c >> 4)]); byte(hex.utf8Start[Int(c & 15)])
            } else {
                byte(c)
            }
            p += 1
        }
        byte(0x22)
    }

    /// The shortest decimal text that reads back as `v` ("0.05", not "0.050000000000000003").
    mutating func number(_ v: Double) {
        var digits = Scratch()
        withUnsafeMutablePointer(to: &digits) { raw in
            let buf = UnsafeMutableRawPointer(raw).assumingMemoryBound(to: CChar.self)
            cs_format_double(v, buf)
            text(UnsafePointer(buf))
        }
    }

    /// `"key":`
    mutating func key(_ k: StaticString) {
        quoted(cString(k))
        byte(0x3a)
    }

    mutating func number(_ v: Int) {
        if v < 0 { byte(0x2d) }
        var m = v.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat { d[n] = UInt8(m % 10) + 0x30; m /= 10; n += 1 } while m > 0
        }
        withUnsafeBytes(of: &digits) { d in
            while n > 0 { n -= 1; byte(d[n]) }
        }
    }
}
