import CSupport

// The short-lived memory a call needs to read a spec or a model file's header
// (the header text, the parsed JSON documents, the tensor table): one block per
// call, sized before it is used, carved by a bump allocator. With a host arena
// the block is part of the arena, so create and load allocate nothing; without
// one it is one heap block, freed on return.

/// A bump allocator over `capacity` bytes at `base`: 64-byte aligned pieces, never freed one by one.
struct Scratch {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    /// Bytes handed out so far (a multiple of 64).
    private(set) var used = 0

    init(_ base: UnsafeMutableRawPointer, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    /// Bytes a piece of `bytes` takes: what size computations add up.
    static func piece(_ bytes: Int) -> Int { Plan.aligned(max(bytes, 0)) }

    /// The next `bytes` (64-byte aligned), or nil when they do not fit.
    mutating func take(_ bytes: Int) -> UnsafeMutableRawPointer? {
        let n = Scratch.piece(bytes)
        guard n <= capacity - used else { return nil }
        let p = base + used
        used += n
        return p
    }
}

/// Where a call's scratch comes from: the host's arena, or (arena NULL, or a size
/// query) the heap.
struct ScratchHome {
    var arena: UnsafeMutableRawPointer?
    var arenaBytes: Int
    /// The arena receives a net after the reading (the loader then checks it holds
    /// both and moves the tensor table past the net); false for a model's `mem`,
    /// which places its own block after the reading's scratch.
    var forNet = true

    static let heap = ScratchHome(arena: nil, arenaBytes: 0)
}

/// Runs `body` over a scratch of `bytes`: the first bytes of the host's arena
/// (SWANN_E_ARENA when it is smaller, `what` saying what needed them), or one heap
/// block freed on return (SWANN_E_NOMEM when it cannot be had).
func withScratch<R>(_ home: ScratchHome, _ bytes: Int, _ function: StaticString, _ what: StaticString,
                    _ body: (inout Scratch) throws(SwannError) -> R) throws(SwannError) -> R {
    if let arena = home.arena {
        guard home.arenaBytes >= bytes else {
            throw Failure(function).text(": arena has ").int(home.arenaBytes).text(" bytes, ").text(what)
                .text(" needs ").int(bytes).error(.arena)
        }
        var scratch = Scratch(arena, capacity: home.arenaBytes)
        return try body(&scratch)
    }
    guard let block = cs_aligned_alloc(bytes) else {
        throw Failure(function).text(": out of memory for ").int(bytes).text(" bytes of scratch (")
            .text(what).text(")").error(.nomem)
    }
    defer { cs_free(block) }
    var scratch = Scratch(block, capacity: bytes)
    return try body(&scratch)
}
