import Foundation

/// What each rank of a data-parallel run will do, field by field ("--batch-size" → "128",
/// "training images" → "50000 images, checksum 5f…"), compared across the ranks once at
/// setup. Ranks given different flags or data would otherwise disagree on the number of
/// steps or batch shapes and wait forever in a collective; compared first, every rank stops
/// with an error naming the field, the ranks and both values.
public struct RunFingerprint: Equatable, Sendable {
    public struct Field: Codable, Equatable, Sendable {
        /// The flag or file the value comes from, as the user knows it.
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public var fields: [Field]

    public init(fields: [Field]) { self.fields = fields }

    /// Every option as its flag and value (see ``TrainingOptions/differences(from:)``).
    public static func fields(of options: TrainingOptions) -> [Field] {
        Mirror(reflecting: options).children.compactMap { child in
            child.label.map { Field(name: TrainingOptions.flag(for: $0), value: TrainingOptions.text(child.value)) }
        }
    }

    /// A field that differs between rank 0 and some rank.
    public struct Disagreement: Equatable, Sendable, CustomStringConvertible {
        /// The field's name, and rank 0's value of it.
        public let field: String
        public let rootValue: String
        /// The highest rank whose value differs from rank 0's.
        public let rank: Int
        /// This process's own value when it is one of the differing ranks (nil on the others).
        public let localValue: String?
        public let localRank: Int

        public var description: String {
            if let localValue {
                return "rank \(localRank): \(field) is \(localValue) here but \(rootValue) on rank 0. Every rank must run the same training (same flags, same data); all ranks stop."
            }
            return "the ranks disagree on \(field): rank \(rank) differs from rank 0's \(rootValue). Every rank must run the same training (same flags, same data); all ranks stop."
        }
    }

    /// Compares this rank's fields with rank 0's: rank 0 broadcasts its fields (the length,
    /// then JSON), each rank marks the fields where it differs, and one allreduce (MPI_MAX of
    /// the differing ranks per field) tells every rank the same result. Collective: every
    /// rank must call it at the same point.
    /// - Returns: the first field (in rank 0's order) some rank disagrees on, or nil when all
    ///   agree. Every rank returns the same field and rank.
    public func disagreement(over communicator: any Communicator) -> Disagreement? {
        var json = communicator.isRoot ? (try? JSONEncoder().encode(fields)) ?? Data() : Data()
        var length = UInt64(json.count)
        withUnsafeMutableBytes(of: &length) { communicator.broadcast($0, root: 0) }
        var bytes = [UInt8](json)
        bytes += [UInt8](repeating: 0, count: Int(length) - bytes.count)
        bytes.withUnsafeMutableBytes { communicator.broadcast($0, root: 0) }
        json = Data(bytes)
        let root = (try? JSONDecoder().decode([Field].self, from: json)) ?? []
        let mine = Dictionary(fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        // A field this rank lacks, or one it has beyond rank 0's, counts as a difference too.
        let extra = Set(mine.keys).subtracting(root.map(\.name)).sorted()
        let names = root.map(\.name) + ["(fields rank 0 does not have)"]
        var differs = root.map { mine[$0.name] == $0.value ? 0.0 : Double(communicator.rank) }
        differs.append(extra.isEmpty ? 0 : Double(communicator.rank))
        differs.withUnsafeMutableBufferPointer { communicator.allreduceMax($0) }
        guard let index = differs.firstIndex(where: { $0 > 0 }) else { return nil }
        let rootValue = index < root.count ? root[index].value : "nothing"
        let localValue = index < root.count ? mine[root[index].name] ?? "missing" : extra.joined(separator: ", ")
        let differsHere = index < root.count ? mine[root[index].name] != root[index].value : !extra.isEmpty
        return Disagreement(field: names[index], rootValue: rootValue, rank: Int(differs[index]),
                            localValue: differsHere && !communicator.isRoot ? localValue : nil, localRank: communicator.rank)
    }
}
