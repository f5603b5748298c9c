/// A list of at most `N` elements stored inline: no heap allocation, so nothing
/// that can trap when memory runs out (Embedded Swift's `Array` traps when malloc
/// fails). Callers check `capacity` before `append`.
struct FixedList<let N: Int, Element>: RandomAccessCollection {
    private var storage: InlineArray<N, Element>
    private(set) var count = 0

    /// `filler` initialises the unused slots.
    init(filler: Element) { storage = InlineArray(repeating: filler) }

    var startIndex: Int { 0 }
    var endIndex: Int { count }
    /// The most elements it holds.
    static var capacity: Int { N }

    subscript(i: Int) -> Element {
        get { storage[i] }
        set { storage[i] = newValue }
    }

    mutating func append(_ e: Element) {
        storage[count] = e
        count += 1
    }
}
