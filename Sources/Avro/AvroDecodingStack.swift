/// A stack of plain values that `AvroBinaryDecoder` keeps its open record levels and field
/// positions in: one allocation that grows by doubling and is reused for every value decoded,
/// with no copy-on-write or uniqueness check on access (an `Array` stored in the decoder pays
/// one on every write).
///
/// ```
/// storage  [ e0 | e1 | … | e(count-1) | unused … ]   capacity ≥ count, doubles when full
/// ```
///
/// - Invariant: `0 ≤ count ≤ capacity`; elements `0..<count` are initialized. Elements are
///   `BitwiseCopyable`, so dropping them needs no deinitialization.
/// - Thread-safety: not thread-safe; owned by one decoder, used by its thread.
struct AvroDecodingStack<Element: BitwiseCopyable>: ~Copyable {
    private var storage: UnsafeMutablePointer<Element>
    private var capacity: Int
    /// The number of elements on the stack.
    private(set) var count = 0

    /// An empty stack with room for `capacity` elements before it first grows.
    /// - Precondition: `capacity > 0`.
    init(capacity: Int) {
        precondition(capacity > 0, "a decoding stack starts with room for at least one element")
        storage = .allocate(capacity: capacity)
        self.capacity = capacity
    }

    deinit { storage.deallocate() }

    /// The element at `index`, counted from the bottom of the stack.
    /// - Precondition: `0 ≤ index < count`.
    @inline(__always)
    subscript(index: Int) -> Element {
        get {
            precondition(index >= 0 && index < count, "a decoding stack index is below its count")
            return storage[index]
        }
        nonmutating set {
            precondition(index >= 0 && index < count, "a decoding stack index is below its count")
            storage[index] = newValue
        }
    }

    /// Pushes `element`.
    @inline(__always)
    mutating func append(_ element: Element) {
        if count == capacity { grow(toHold: count + 1) }
        (storage + count).initialize(to: element)
        count += 1
    }

    /// Pushes `repetitions` copies of `element`.
    /// - Precondition: `repetitions ≥ 0`.
    @inline(__always)
    mutating func append(repeating element: Element, count repetitions: Int) {
        precondition(repetitions >= 0, "a decoding stack grows by a non-negative count")
        if count + repetitions > capacity { grow(toHold: count + repetitions) }
        (storage + count).initialize(repeating: element, count: repetitions)
        count += repetitions
    }

    /// Pops the top element.
    /// - Precondition: the stack is not empty.
    @inline(__always)
    mutating func removeLast() -> Element {
        precondition(count > 0, "a decoding stack pops only when it holds an element")
        count -= 1
        return storage[count]
    }

    /// Drops every element from `newCount` up.
    /// - Precondition: `0 ≤ newCount ≤ count`.
    @inline(__always)
    mutating func removeAll(from newCount: Int) {
        precondition(newCount >= 0 && newCount <= count, "a decoding stack shrinks to a count it has")
        count = newCount
    }

    /// Drops every element, keeping the storage.
    @inline(__always)
    mutating func removeAll() { count = 0 }

    private mutating func grow(toHold needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newStorage = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        newStorage.moveInitialize(from: storage, count: count)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
    }
}
