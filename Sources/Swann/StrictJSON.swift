import CSupport

/// JSON text parsed with json-c, held to the strict standard that untrusted input
/// needs. json-c 0.16 alone lets through a few things this refuses: duplicate keys
/// (it keeps the last one), "\u0000" inside strings (it cuts the key or value short),
/// raw control characters in strings, and single-quoted strings. A pre-scan of the
/// raw text finds those and counts the keys; a parsed tree with fewer keys than the
/// text means a duplicate, or a member json-c dropped when out of memory.
struct StrictJSON {
    enum Problem {
        case syntax, trailing, controlCharacter, nulEscape, singleQuote, duplicateKey, outOfMemory, depth

        var text: StaticString {
            switch self {
            case .syntax: return "invalid JSON"
            case .trailing: return "unexpected text after the JSON value"
            case .controlCharacter: return "a raw control character inside a string"
            case .nulEscape: return "\\u0000 inside a string"
            case .singleQuote: return "a single-quoted string"
            case .duplicateKey: return "a key that appears twice in one object"
            case .outOfMemory: return "out of memory while parsing"
            case .depth: return "nesting deeper than 64 levels"
            }
        }
    }

    /// The parsed value (owned: `json_object_put` it), or the problem and its byte offset.
    var root: OpaquePointer?
    var problem: Problem?
    var offset: Int = 0
    /// json-c's own words for a syntax error ("unexpected character").
    var detail: UnsafePointer<CChar>? = nil

    /// Parses `length` bytes of `text`; `text[length]` must be readable (a NUL or any byte).
    init(_ text: UnsafePointer<CChar>, length: Int) {
        var keys = 0
        if let (p, at) = StrictJSON.prescan(text, length, &keys) {
            problem = p
            offset = at
            return
        }
        guard let tok = json_tokener_new_ex(64) else {
            problem = .outOfMemory
            return
        }
        defer { json_tokener_free(tok) }
        json_tokener_set_flags(tok, Int32(JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8))
        // Hand json-c the terminating byte as well, so a bare number at the very end is complete.
        let value = json_tokener_parse_ex(tok, text, Int32(length + 1))
        let err = json_tokener_get_error(tok)
        let end = Int(json_tokener_get_parse_end(tok))
        guard err == json_tokener_success else {
            if value != nil { json_object_put(value) }
            problem = err == json_tokener_error_depth ? .depth : .syntax
            detail = err == json_tokener_continue ? cString("unexpected end of text") : json_tokener_error_desc(err)
            offset = end
            return
        }
        var i = end
        while i < length {
            let c = text[i]
            guard c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 else {
                if value != nil { json_object_put(value) }
                problem = .trailing
                offset = i
                return
            }
            i += 1
        }
        if StrictJSON.countKeys(value) != keys {
            if value != nil { json_object_put(value) }
            problem = .duplicateKey
            return
        }
        root = value
    }

    /// Finds what json-c would accept but should not; counts the object keys.
    private static func prescan(_ s: UnsafePointer<CChar>, _ n: Int, _ keys: inout Int) -> (Problem, Int)? {
        var i = 0
        while i < n {
            let c = UInt8(bitPattern: s[i])
            if c == 0x27 { return (.singleQuote, i) }  // '
            if c == 0x22 {                             // " starts a string
                i += 1
                while i < n && UInt8(bitPattern: s[i]) != 0x22 {
                    let d = UInt8(bitPattern: s[i])
                    if d < 0x20 { return (.controlCharacter, i) }
                    if d == 0x5c {                     // backslash
                        if i + 5 < n && s[i + 1] == 0x75 && s[i + 2] == 0x30 && s[i + 3] == 0x30
                            && s[i + 4] == 0x30 && s[i + 5] == 0x30 {
                            return (.nulEscape, i)
                        }
                        i += 1
                    }
                    i += 1
                }
                i += 1
                // A string followed by ':' is a key.
                var j = i
                while j < n && (s[j] == 0x20 || s[j] == 0x0a || s[j] == 0x0d || s[j] == 0x09) { j += 1 }
                if j < n && s[j] == 0x3a { keys += 1 }
                continue
            }
            i += 1
        }
        return nil
    }

    /// Object members in the whole tree.
    private static func countKeys(_ v: OpaquePointer?) -> Int {
        switch json_object_get_type(v) {
        case json_type_object:
            var n = 0
            var it = json_object_iter_begin(v)
            var end = json_object_iter_end(v)
            while json_object_iter_equal(&it, &end) == 0 {
                n += 1 + countKeys(json_object_iter_peek_value(&it))
                json_object_iter_next(&it)
            }
            return n
        case json_type_array:
            var n = 0
            for k in 0..<json_object_array_length(v) { n += countKeys(json_object_array_get_idx(v, k)) }
            return n
        default:
            return 0
        }
    }
}
