import CSupport

// swann's JSON reader: RFC 8259, strictly, for specs and safetensors headers.
//
// Untrusted text goes through two passes of one recursive-descent scanner. The
// first only checks the text and counts what the tree needs; then one checked
// allocation holds the whole tree (a flat array of nodes in document order,
// scratch for sorting one object's keys, and a pool of NUL-terminated strings);
// the second pass fills it in. A failed allocation is therefore one clean
// `outOfMemory` and nothing else: no partial tree, no leak, no crash. (The
// parser swann used before crashes or returns partial trees when an allocation
// inside it fails; docs/reliability.md tells the story, and the tests keep that
// parser as the oracle this one is compared against.)
//
// Refused beyond RFC 8259's grammar: duplicate keys in one object, "\u0000"
// (strings are handed on as C strings), unpaired surrogate escapes, invalid
// UTF-8, nesting deeper than 64 levels, and more values than the caller allows.
//
// Duplicate keys are found by sorting each object's keys, not by hashing them: a
// fixed hash let crafted keys collide and made the check quadratic (issue #13:
// 520,000 keys kept a load busy for minutes), and a seeded one only hides the
// weakness. A merge sort costs O(n log n) comparisons whatever the keys, and its
// scratch is part of the one allocation.

enum JSONKind: UInt8 {
    case null, boolean, integer, number, string, array, object
}

/// One value of a parsed document. Children follow their container directly
/// (document order), and `next` is the index just past a node's subtree, so the
/// children of node i are i + 1, nodes[i + 1].next, ... (`count` of them).
struct JSONNode {
    var kind: JSONKind = .null
    var flag: Bool = false      // a boolean's value; for an integer: beyond Int64 (payload is its double)
    var count: Int32 = 0        // elements or members of a container
    var key: Int32 = -1         // pool offset of the member's key; -1 outside objects
    var next: Int32 = 0
    var payload: UInt64 = 0     // integer or double bits, or a string's pool offset
}

/// A value inside a `JSONDocument`; valid until the document is released.
struct JSONValue {
    let nodes: UnsafePointer<JSONNode>
    let pool: UnsafePointer<CChar>
    let index: Int

    private var node: JSONNode { nodes[index] }
    var kind: JSONKind { node.kind }

    /// An integer literal (no fraction or exponent). Literals beyond Int64 read as
    /// its minimum or maximum, which every integer range check refuses.
    var integer: Int64? {
        guard node.kind == .integer else { return nil }
        if node.flag { return Double(bitPattern: node.payload) < 0 ? Int64.min : Int64.max }
        return Int64(bitPattern: node.payload)
    }

    /// Any number, integer or not, as the nearest double (1e20 written as an
    /// integer literal reads as 1e20).
    var double: Double? {
        switch node.kind {
        case .integer:
            return node.flag ? Double(bitPattern: node.payload) : Double(Int64(bitPattern: node.payload))
        case .number: return Double(bitPattern: node.payload)
        default: return nil
        }
    }

    var boolean: Bool? { node.kind == .boolean ? node.flag : nil }

    /// A string's text, NUL-terminated (strings never contain NUL).
    var string: UnsafePointer<CChar>? { node.kind == .string ? pool + Int(node.payload) : nil }

    /// Elements of an array or members of an object; 0 for anything else.
    var count: Int { node.kind == .array || node.kind == .object ? Int(node.count) : 0 }

    /// The k-th element of an array (k-th member of an object), or nil.
    func element(_ k: Int) -> JSONValue? {
        guard k >= 0, k < count else { return nil }
        var c = index + 1
        for _ in 0..<k { c = Int(nodes[c].next) }
        return JSONValue(nodes: nodes, pool: pool, index: c)
    }

    /// The member named `name` of an object, or nil.
    func member(_ name: StaticString) -> JSONValue? {
        guard node.kind == .object else { return nil }
        var c = index + 1
        for _ in 0..<Int(node.count) {
            if strcmp(pool + Int(nodes[c].key), cString(name)) == 0 {
                return JSONValue(nodes: nodes, pool: pool, index: c)
            }
            c = Int(nodes[c].next)
        }
        return nil
    }

    /// Calls `body(key, value)` for each member of an object, in document order.
    func forEachMember(_ body: (UnsafePointer<CChar>, JSONValue) throws(SwannError) -> Void) throws(SwannError) {
        guard node.kind == .object else { return }
        var c = index + 1
        for _ in 0..<Int(node.count) {
            try body(pool + Int(nodes[c].key), JSONValue(nodes: nodes, pool: pool, index: c))
            c = Int(nodes[c].next)
        }
    }

    /// Calls `body(k, element)` for each element of an array, in order.
    func forEachElement(_ body: (Int, JSONValue) throws(SwannError) -> Void) throws(SwannError) {
        guard node.kind == .array else { return }
        var c = index + 1
        for k in 0..<Int(node.count) {
            try body(k, JSONValue(nodes: nodes, pool: pool, index: c))
            c = Int(nodes[c].next)
        }
    }
}

/// A parsed JSON text, or why it is not one. Owns one allocation: call `release()`.
struct JSONDocument {
    enum Problem {
        case syntax, trailing, controlCharacter, nulEscape, singleQuote, duplicateKey, outOfMemory,
             depth, badUTF8, badEscape, tooManyValues

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
            case .badUTF8: return "invalid UTF-8"
            case .badEscape: return "an invalid escape sequence"
            case .tooManyValues: return "too many JSON values"
            }
        }
    }

    static let maxDepth = 64

    private var memory: UnsafeMutableRawPointer? = nil
    /// The top-level value, when the text is valid JSON.
    private(set) var root: JSONValue? = nil
    private(set) var problem: Problem? = nil
    /// Byte offset of the problem in the text.
    private(set) var offset = 0
    /// What was wrong, in more words ("expected ':'").
    private(set) var detail: StaticString = ""
    /// Key comparisons made by the duplicate-key check: the work tests bound, rather than a clock.
    private(set) var keyComparisons = 0
    /// Bytes the tree needs (nodes, key scratch, string pool), from the first pass.
    private(set) var bytes = 0
    /// An upper bound of `bytes` for a document parsed from any one string of this text (a
    /// spec inside a model file's header): what a caller reserves before that string exists.
    private(set) var stringDocumentBound = 0
    private var nodeCount = 0, maxMembers = 0, poolUsed = 0
    /// Members of the largest object (pass 1).
    var largestObject: Int { maxMembers }

    /// Bytes of a tree with these counts; both passes and the bounds size it this way.
    static func treeBytes(nodes: Int, members: Int, pool: Int) -> Int {
        Scratch.piece(nodes * MemoryLayout<JSONNode>.stride) + Scratch.piece(2 * members * MemoryLayout<JSONKeyRef>.stride)
            + Scratch.piece(pool)
    }

    /// Pass 1 only: checks `length` bytes of `text` and sizes the tree (`bytes`), allocating
    /// nothing; `problem` is set when the text is refused.
    init(sizing text: UnsafePointer<CChar>, length: Int, maxValues: Int = 1 << 20) {
        let s = UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self)
        var sizing = JSONScanner(s, length, maxValues: min(maxValues, Int(Int32.max / 2)), into: nil)
        guard sizing.document() else {
            problem = sizing.problem
            offset = sizing.errorAt
            detail = sizing.message
            return
        }
        nodeCount = sizing.nodeCount
        maxMembers = sizing.maxMembers
        poolUsed = sizing.poolUsed
        bytes = JSONDocument.treeBytes(nodes: nodeCount, members: maxMembers, pool: poolUsed)
        stringDocumentBound = sizing.stringDocumentBound
    }

    /// Both passes, the tree in `memory` (at least `sizing.bytes`, 64-byte aligned), owned by the caller.
    init(_ text: UnsafePointer<CChar>, length: Int, sized sizing: JSONDocument, in memory: UnsafeMutableRawPointer) {
        self = sizing
        guard problem == nil else { return }
        build(text, length: length, memory)
    }

    /// Parses `length` bytes of `text`, allowing at most `maxValues` values, into one heap
    /// block of its own (call `release()`); the library reads through scratch instead.
    init(_ text: UnsafePointer<CChar>, length: Int, maxValues: Int = 1 << 20) {
        self.init(sizing: text, length: length, maxValues: maxValues)
        guard problem == nil else { return }
        guard let raw = cs_aligned_alloc(bytes) else {
            problem = .outOfMemory
            return
        }
        build(text, length: length, raw)
        if root != nil { memory = raw } else { cs_free(raw) }
    }

    /// Pass 2: the same scan, filling the tree in at `raw`; only duplicate keys can fail here.
    private mutating func build(_ text: UnsafePointer<CChar>, length: Int, _ raw: UnsafeMutableRawPointer) {
        let s = UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self)
        let nodeBytes = Scratch.piece(nodeCount * MemoryLayout<JSONNode>.stride)
        let keyBytes = Scratch.piece(2 * maxMembers * MemoryLayout<JSONKeyRef>.stride)
        let tree = JSONTree(
            nodes: raw.bindMemory(to: JSONNode.self, capacity: nodeCount),
            nodeCapacity: nodeCount,
            keys: (raw + nodeBytes).bindMemory(to: JSONKeyRef.self, capacity: 2 * maxMembers),
            keyCapacity: maxMembers,
            pool: (raw + nodeBytes + keyBytes).bindMemory(to: UInt8.self, capacity: poolUsed),
            poolCapacity: poolUsed)
        var building = JSONScanner(s, length, maxValues: nodeCount, into: tree)
        let built = building.document()
        keyComparisons = building.keyComparisons
        guard built else {
            problem = building.problem
            offset = building.errorAt
            detail = building.message
            return
        }
        root = JSONValue(nodes: UnsafePointer(tree.nodes),
                         pool: UnsafeRawPointer(tree.pool).assumingMemoryBound(to: CChar.self), index: 0)
    }

    /// Frees a tree the document allocated itself; values taken from it are invalid afterwards.
    mutating func release() {
        if let memory { cs_free(memory) }
        memory = nil
        root = nil
    }
}

/// One key of the object being checked: where its text is in the pool, its length, and its
/// first 8 bytes big-endian (zero-padded), which decide most comparisons without reading the pool.
private struct JSONKeyRef {
    var head: UInt64
    var offset: Int32
    var length: Int32
}

/// Where the second pass writes.
private struct JSONTree {
    let nodes: UnsafeMutablePointer<JSONNode>
    let nodeCapacity: Int
    let keys: UnsafeMutablePointer<JSONKeyRef>  // scratch: twice the keys of the largest object
    let keyCapacity: Int
    let pool: UnsafeMutablePointer<UInt8>
    let poolCapacity: Int
}

private struct JSONScanner {
    let s: UnsafePointer<UInt8>
    let n: Int
    let maxValues: Int
    let tree: JSONTree?
    var i = 0
    var nodeCount = 0
    var poolUsed = 0
    var maxMembers = 0
    var keyComparisons = 0
    /// Pass 1: the largest tree any one string's text could need when parsed as JSON (see
    /// `JSONDocument.stringDocumentBound`), from what `put` saw inside the current string.
    var stringDocumentBound = 0
    var inString = false
    var stringBytes = 0, stringColons = 0, stringStarts = 0
    var problem: JSONDocument.Problem = .syntax
    var errorAt = 0
    var message: StaticString = ""

    init(_ s: UnsafePointer<UInt8>, _ n: Int, maxValues: Int, into tree: JSONTree?) {
        self.s = s
        self.n = n
        self.maxValues = maxValues
        self.tree = tree
    }

    mutating func fail(_ p: JSONDocument.Problem, _ what: StaticString, at: Int) -> Bool {
        problem = p
        message = what
        errorAt = at
        return false
    }

    mutating func document() -> Bool {
        guard value(depth: 0, key: -1) else { return false }
        skipSpace()
        guard i == n else { return fail(.trailing, "", at: i) }
        return true
    }

    mutating func skipSpace() {
        while i < n {
            let c = s[i]
            guard c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 else { return }
            i += 1
        }
    }

    /// Appends bytes to the pool (pass 2) or counts them (pass 1).
    mutating func put(_ b: UInt8) {
        if let tree, poolUsed < tree.poolCapacity { tree.pool[poolUsed] = b }
        poolUsed += 1
        if inString {
            stringBytes += 1
            if b == 0x3a { stringColons += 1 } else if b == 0x2c || b == 0x5b { stringStarts += 1 }
        }
    }

    mutating func value(depth: Int, key: Int32) -> Bool {
        skipSpace()
        guard i < n else { return fail(.syntax, "unexpected end of text", at: i) }
        guard nodeCount < maxValues else {
            return fail(.tooManyValues, "more values than this reader allows", at: i)
        }
        let me = nodeCount
        let start = i
        nodeCount += 1
        var node = JSONNode()
        node.key = key
        let c = s[i]
        switch c {
        case 0x7b, 0x5b:  // { [
            let isObject = c == 0x7b
            guard depth < JSONDocument.maxDepth else { return fail(.depth, "", at: i) }
            i += 1
            var count = 0
            skipSpace()
            if i < n && s[i] == (isObject ? 0x7d : 0x5d) {
                i += 1
            } else {
                while true {
                    var memberKey: Int32 = -1
                    if isObject {
                        skipSpace()
                        guard i < n else { return fail(.syntax, "unexpected end of text", at: i) }
                        guard s[i] == 0x22 else {
                            if s[i] == 0x27 { return fail(.singleQuote, "", at: i) }
                            return fail(.syntax, "expected a string key", at: i)
                        }
                        guard poolUsed < Int(Int32.max) else { return fail(.tooManyValues, "text too long", at: i) }
                        memberKey = Int32(poolUsed)
                        guard string() else { return false }
                        // The duplicate-key check keeps a key's offset and length as Int32.
                        guard poolUsed <= Int(Int32.max) else { return fail(.tooManyValues, "text too long", at: i) }
                        skipSpace()
                        guard i < n, s[i] == 0x3a else { return fail(.syntax, "expected ':' after a key", at: i) }
                        i += 1
                    }
                    guard value(depth: depth + 1, key: memberKey) else { return false }
                    count += 1
                    skipSpace()
                    guard i < n else { return fail(.syntax, "unexpected end of text", at: i) }
                    if s[i] == 0x2c { i += 1; continue }
                    if s[i] == (isObject ? 0x7d : 0x5d) { i += 1; break }
                    return fail(.syntax, isObject ? "expected ',' or '}'" : "expected ',' or ']'", at: i)
                }
            }
            node.kind = isObject ? .object : .array
            node.count = Int32(count)  // count < nodeCount <= Int32.max / 2
            if isObject { maxMembers = max(maxMembers, count) }
        case 0x22:  // "
            node.kind = .string
            node.payload = UInt64(poolUsed)
            guard string() else { return false }
        case 0x74:  // true
            guard literal("true") else { return false }
            node.kind = .boolean
            node.flag = true
        case 0x66:
            guard literal("false") else { return false }
            node.kind = .boolean
        case 0x6e:
            guard literal("null") else { return false }
        case 0x2d, 0x30...0x39:
            guard number(&node) else { return false }
        case 0x27:
            return fail(.singleQuote, "", at: i)
        default:
            return fail(.syntax, "unexpected character", at: i)
        }
        guard let tree else { return true }
        guard me < tree.nodeCapacity else { return fail(.tooManyValues, "", at: i) }
        node.next = Int32(nodeCount)
        tree.nodes[me] = node
        if node.kind == .object && node.count > 1 { return uniqueKeys(of: me, tree, start: start) }
        return true
    }

    mutating func literal(_ word: StaticString) -> Bool {
        let w = word.utf8Start
        let len = word.utf8CodeUnitCount
        guard n - i >= len, memcmp(s + i, w, len) == 0 else {
            return fail(.syntax, "unexpected character", at: i)
        }
        i += len
        return true
    }

    /// RFC 8259 numbers: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    mutating func number(_ node: inout JSONNode) -> Bool {
        let start = i
        var integral = true
        if s[i] == 0x2d { i += 1 }
        func digit(_ j: Int) -> Bool { j < n && s[j] >= 0x30 && s[j] <= 0x39 }
        guard digit(i) else { return fail(.syntax, "a number needs a digit here", at: i) }
        if s[i] == 0x30 {
            i += 1
        } else {
            while digit(i) { i += 1 }
        }
        if i < n && s[i] == 0x2e {
            integral = false
            i += 1
            guard digit(i) else { return fail(.syntax, "a number needs a digit after '.'", at: i) }
            while digit(i) { i += 1 }
        }
        if i < n && (s[i] == 0x65 || s[i] == 0x45) {
            integral = false
            i += 1
            if i < n && (s[i] == 0x2b || s[i] == 0x2d) { i += 1 }
            guard digit(i) else { return fail(.syntax, "a number needs a digit in its exponent", at: i) }
            while digit(i) { i += 1 }
        }
        // strtod needs a NUL-terminated copy; the pool holds it (for integers too,
        // which need it when they are beyond Int64).
        let at = poolUsed
        for j in start..<i { put(s[j]) }
        put(0)
        node.kind = integral ? .integer : .number
        guard let tree, at < tree.poolCapacity else { return true }
        if integral {
            let negative = s[start] == 0x2d
            var v: Int64 = 0
            for j in (negative ? start + 1 : start)..<i {
                let d = Int64(s[j] - 0x30)
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = negative ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
                if o1 || o2 { node.flag = true; break }
                v = a
            }
            if !node.flag {
                node.payload = UInt64(bitPattern: v)
                return true
            }
        }
        let value = cs_parse_double(UnsafeRawPointer(tree.pool + at).assumingMemoryBound(to: CChar.self))
        node.payload = value.bitPattern
        return true
    }

    @inline(__always)
    func hex(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x30...0x39: return UInt32(c - 0x30)
        case 0x41...0x46: return UInt32(c - 0x41 + 10)
        case 0x61...0x66: return UInt32(c - 0x61 + 10)
        default: return nil
        }
    }

    /// Four hex digits at s[j...]; nil when they are not.
    func hex4(_ j: Int) -> UInt32? {
        guard n - j >= 4 else { return nil }
        var v: UInt32 = 0
        for k in 0..<4 {
            guard let h = hex(s[j + k]) else { return nil }
            v = v << 4 | h
        }
        return v
    }

    /// A string starting at the quote s[i]; its unescaped text goes to the pool, NUL-terminated.
    mutating func string() -> Bool {
        i += 1
        inString = tree == nil
        stringBytes = 0; stringColons = 0; stringStarts = 0
        while true {
            guard i < n else { return fail(.syntax, "unterminated string", at: i) }
            let c = s[i]
            if c == 0x22 { i += 1; break }
            if c < 0x20 { return fail(.controlCharacter, "", at: i) }
            if c == 0x5c {
                guard i + 1 < n else { return fail(.syntax, "unterminated string", at: i) }
                let e = s[i + 1]
                switch e {
                case 0x22, 0x5c, 0x2f: put(e)
                case 0x62: put(0x08)
                case 0x66: put(0x0c)
                case 0x6e: put(0x0a)
                case 0x72: put(0x0d)
                case 0x74: put(0x09)
                case 0x75:
                    guard var u = hex4(i + 2) else { return fail(.badEscape, "\\u needs four hex digits", at: i) }
                    if u == 0 { return fail(.nulEscape, "", at: i) }
                    if u >= 0xdc00 && u <= 0xdfff { return fail(.badEscape, "a lone low surrogate", at: i) }
                    if u >= 0xd800 && u <= 0xdbff {
                        guard n - (i + 6) >= 2, s[i + 6] == 0x5c, s[i + 7] == 0x75, let lo = hex4(i + 8),
                              lo >= 0xdc00 && lo <= 0xdfff else {
                            return fail(.badEscape, "a high surrogate without its low half", at: i)
                        }
                        u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00)
                        i += 6
                    }
                    putUTF8(u)
                    i += 4
                default:
                    return fail(.badEscape, "unknown escape", at: i)
                }
                i += 2
                continue
            }
            if c < 0x80 { put(c); i += 1; continue }
            let len = utf8Length(at: i)
            guard len > 0 else { return fail(.badUTF8, "", at: i) }
            for k in 0..<len { put(s[i + k]) }
            i += len
        }
        if inString {
            // Parsed as JSON, this string's text has at most one value at its start and one after
            // each '[', ',' or ':' (each value follows one of them), at most one object member per
            // ':', and a pool no longer than its bytes plus one NUL (a number's NUL takes the place
            // of the delimiter after it; a string's, of its quotes).
            inString = false
            stringDocumentBound = max(stringDocumentBound, JSONDocument.treeBytes(
                nodes: 1 + stringStarts + stringColons, members: stringColons, pool: stringBytes + 1))
        }
        put(0)
        return true
    }

    mutating func putUTF8(_ u: UInt32) {
        if u < 0x80 {
            put(UInt8(u))
        } else if u < 0x800 {
            put(UInt8(0xc0 | (u >> 6)))
            put(UInt8(0x80 | (u & 0x3f)))
        } else if u < 0x10000 {
            put(UInt8(0xe0 | (u >> 12)))
            put(UInt8(0x80 | ((u >> 6) & 0x3f)))
            put(UInt8(0x80 | (u & 0x3f)))
        } else {
            put(UInt8(0xf0 | (u >> 18)))
            put(UInt8(0x80 | ((u >> 12) & 0x3f)))
            put(UInt8(0x80 | ((u >> 6) & 0x3f)))
            put(UInt8(0x80 | (u & 0x3f)))
        }
    }

    /// The length of the well-formed UTF-8 sequence at s[j] (lead byte >= 0x80), or 0.
    func utf8Length(at j: Int) -> Int {
        let b0 = s[j]
        func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xbf) -> Bool {
            j + k < n && s[j + k] >= lo && s[j + k] <= hi
        }
        switch b0 {
        case 0xc2...0xdf: return cont(1) ? 2 : 0
        case 0xe0: return cont(1, 0xa0) && cont(2) ? 3 : 0
        case 0xed: return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0  // no UTF-16 surrogates
        case 0xe1...0xef: return cont(1) && cont(2) ? 3 : 0
        case 0xf0: return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0
        case 0xf1...0xf3: return cont(1) && cont(2) && cont(3) ? 4 : 0
        case 0xf4: return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0
        default: return 0
        }
    }

    /// Refuses an object (node `obj`, complete, starting at text byte `start`) with two equal keys.
    /// Its keys are merge-sorted by (length, bytes) in the tree's scratch, then neighbours compared:
    /// at most n ceil(log2 n) + n comparisons for n keys whatever the keys are, each reading at most
    /// the two keys' bytes.
    mutating func uniqueKeys(of obj: Int, _ tree: JSONTree, start: Int) -> Bool {
        let n = Int(tree.nodes[obj].count)
        guard n > 1 else { return true }
        guard n <= tree.keyCapacity else { return fail(.tooManyValues, "", at: start) }
        var src = tree.keys, dst = tree.keys + n
        var c = obj + 1
        for k in 0..<n {
            let offset = Int(tree.nodes[c].key)
            let text = tree.pool + offset
            // Fits Int32: the pass before refused texts whose keys end beyond Int32.max.
            let length = strlen(UnsafeRawPointer(text).assumingMemoryBound(to: CChar.self))
            var head: UInt64 = 0
            for j in 0..<8 { head = head << 8 | UInt64(j < length ? text[j] : 0) }
            src[k] = JSONKeyRef(head: head, offset: Int32(offset), length: Int32(length))
            c = Int(tree.nodes[c].next)
        }
        // Bottom-up merge sort: runs of width 1, 2, 4, ... merged from src into dst, then swapped.
        var width = 1
        while width < n {
            var lo = 0
            while lo < n {
                let mid = min(lo + width, n), hi = min(lo + 2 * width, n)
                var i = lo, j = mid, k = lo
                while i < mid && j < hi {
                    if compareKeys(src[i], src[j], tree.pool) <= 0 {
                        dst[k] = src[i]; i += 1
                    } else {
                        dst[k] = src[j]; j += 1
                    }
                    k += 1
                }
                while i < mid { dst[k] = src[i]; i += 1; k += 1 }
                while j < hi { dst[k] = src[j]; j += 1; k += 1 }
                lo = hi
            }
            swap(&src, &dst)
            width *= 2
        }
        for k in 1..<n where compareKeys(src[k - 1], src[k], tree.pool) == 0 {
            // Key offsets in the text are not kept: point at the object.
            return fail(.duplicateKey, "in the object that starts here", at: start)
        }
        return true
    }

    /// Orders keys by length, then bytes (unsigned); counts the comparison.
    mutating func compareKeys(_ a: JSONKeyRef, _ b: JSONKeyRef, _ pool: UnsafeMutablePointer<UInt8>) -> Int32 {
        keyComparisons += 1
        if a.length != b.length { return a.length < b.length ? -1 : 1 }
        if a.head != b.head { return a.head < b.head ? -1 : 1 }
        return a.length <= 8 ? 0 : memcmp(pool + Int(a.offset) + 8, pool + Int(b.offset) + 8, Int(a.length) - 8)
    }
}
