/// The order images are visited in during an epoch.
///
/// Training shuffles with a Fisher–Yates permutation whose generator is
/// `SeededGenerator.derive(seed, [epoch])`: a pure function of (seed, epoch), so an epoch can be
/// replayed or resumed from any step without saved state. (PyTorch's DataLoader draws a fresh
/// `randperm` each epoch; the distribution is the same, the numbers are not.)
public enum EpochOrder {
    /// `0, 1, …, count − 1`: the test split's order.
    public static func sequential(count: Int) -> [Int32] {
        precondition(count >= 0 && count <= Int(Int32.max), "count must be in 0...Int32.max, got \(count)")
        return (0..<count).map { Int32($0) }
    }

    /// A uniformly random permutation of `0..<count` derived from (seed, epoch).
    public static func shuffled(count: Int, seed: UInt64, epoch: Int) -> [Int32] {
        var order = sequential(count: count)
        shuffle(&order, seed: seed, epoch: epoch)
        return order
    }

    /// Overwrites `order` with the (seed, epoch) permutation of `0..<order.count`, in place.
    public static func shuffle(_ order: inout [Int32], seed: UInt64, epoch: Int) {
        for i in order.indices { order[i] = Int32(i) }
        var generator = SeededGenerator.derive(seed, [UInt64(epoch)])
        var i = order.count - 1
        while i > 0 {
            let j = generator.below(i + 1)
            order.swapAt(i, j)
            i -= 1
        }
    }
}
