import Foundation

/// Errors reading a safetensors file. Each message names the file (and tensor) and
/// says what to do.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case truncated(path: String, size: Int)
    /// The file is PyTorch's `torch.save` output, recognised by its signature: a zip
    /// archive ("PK\u{3}\u{4}", the default since PyTorch 1.6) or a bare pickle (0x80, protocol 2–5).
    case pyTorchPickle(path: String, format: String)
    case headerTooLarge(path: String, headerLength: UInt64, fileSize: Int)
    case headerNotJSON(path: String, reason: String)
    case badEntry(path: String, tensor: String, reason: String)
    case unsupportedDType(path: String, tensor: String, dtype: String)
    case offsetsOutOfRange(path: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    case offsetsOverlap(path: String, first: String, second: String)
    case sizeMismatch(path: String, tensor: String, expectedBytes: Int, actualBytes: Int)
    case missingTensor(path: String, tensor: String)
    case wrongDType(path: String, tensor: String, expected: String, actual: String)
    case wrongShape(path: String, tensor: String, expected: [Int], actual: [Int])

    /// For a file named *.onnx that does not parse as safetensors: what it is and what to pass instead.
    private static func onnxHint(_ path: String) -> String? {
        guard path.lowercased().hasSuffix(".onnx") else { return nil }
        return "\(path) is an ONNX model (what `export` writes for onnxruntime), not a checkpoint: ONNX files are not read here. "
            + "Pass the checkpoint folder or the .safetensors file the model was exported from."
    }

    public var description: String {
        switch self {
        case .unreadable(let p, let r):
            return "cannot read safetensors file \(p): \(r)."
        case .truncated(let p, let s):
            return "\(p) is truncated (\(s) bytes): a safetensors file starts with an 8-byte header length. Re-export or re-download it."
        case .pyTorchPickle(let p, let format):
            return "\(p) is a PyTorch torch.save file (\(format)), not safetensors; pickles are not read here (loading one can run code). Save the weights as safetensors in Python: from safetensors.torch import save_file; save_file(model.state_dict(), \"model.safetensors\") — then pass that file."
        case .headerTooLarge(let p, let h, let s):
            return Self.onnxHint(p) ?? "\(p): header length \(h) bytes is beyond the file's \(s) bytes; the file is truncated or not safetensors."
        case .headerNotJSON(let p, let r):
            return Self.onnxHint(p) ?? "\(p): the header is not valid safetensors JSON (\(r)); the file is damaged or not safetensors."
        case .badEntry(let p, let t, let r):
            return "\(p): tensor '\(t)' has a malformed header entry: \(r)."
        case .unsupportedDType(let p, let t, let d):
            return "\(p): tensor '\(t)' has dtype \(d); this engine reads F32, F64 and I64."
        case .offsetsOutOfRange(let p, let t, let b, let e, let s):
            return "\(p): tensor '\(t)' claims bytes \(b)..<\(e) but the data section holds \(s) bytes; the file is truncated or damaged."
        case .offsetsOverlap(let p, let a, let b):
            return "\(p): tensors '\(a)' and '\(b)' have overlapping data offsets; the file is damaged."
        case .sizeMismatch(let p, let t, let e, let a):
            return "\(p): tensor '\(t)' needs \(e) bytes for its dtype and shape but its offsets span \(a)."
        case .missingTensor(let p, let t):
            return "\(p) has no tensor '\(t)'."
        case .wrongDType(let p, let t, let e, let a):
            return "\(p): tensor '\(t)' is \(a), expected \(e)."
        case .wrongShape(let p, let t, let e, let a):
            return "\(p): tensor '\(t)' has shape \(a), expected \(e)."
        }
    }
}

/// Element types this engine reads and writes (safetensors dtype strings).
public enum SafetensorsDType: String, Sendable {
    case f32 = "F32"
    case f64 = "F64"
    case i64 = "I64"

    /// Bytes per element.
    public var size: Int { self == .f32 ? 4 : 8 }
}

/// A parsed safetensors file (https://github.com/huggingface/safetensors format):
/// 8-byte little-endian header length, a JSON header mapping each tensor name to
/// `{dtype, shape, data_offsets}` (offsets relative to the data section) plus an
/// optional `__metadata__` string map, then the raw little-endian data.
///
/// Every entry is validated on load: known dtype, offsets inside the data section and
/// not overlapping, byte size equal to shape × dtype size. Nothing is allocated from
/// a size the header claims before it is checked against the file's real size.
public struct SafetensorsFile: Sendable {
    /// One tensor's header entry.
    public struct Entry: Sendable, Equatable {
        public let dtype: SafetensorsDType
        public let shape: [Int]
        /// Byte range inside the data section.
        public let begin: Int
        public let end: Int
    }

    /// Where the bytes came from, for messages.
    public let path: String
    /// The `__metadata__` map (empty if absent).
    public let metadata: [String: String]
    /// Header entries by tensor name.
    public let entries: [String: Entry]
    private let bytes: Data
    private let dataStart: Int

    /// Tensor names in the file, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Reads and validates the file at `path`.
    /// - Throws: ``SafetensorsError`` naming the file.
    public init(contentsOfFile path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw SafetensorsError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        try self.init(data: data, path: path)
    }

    /// "a zip archive of pickles" or "a pickle" when `data` starts as `torch.save` output
    /// does, else nil. A safetensors file starts with its header length (little-endian
    /// UInt64) followed by "{", which neither signature can be.
    static func pyTorchSignature(_ data: Data) -> String? {
        let head = Array(data.prefix(9))
        // Byte 8 opens a safetensors header's JSON: such a file is never taken for a pickle.
        if head.count == 9 && head[8] == UInt8(ascii: "{") { return nil }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return "a zip archive of pickles" }
        if head.count >= 2, head[0] == 0x80, (2...5).contains(head[1]) { return "a pickle" }
        return nil
    }

    /// Parses and validates safetensors bytes; `path` is only used in messages.
    public init(data: Data, path: String) throws {
        self.path = path
        self.bytes = data
        if let format = Self.pyTorchSignature(data) { throw SafetensorsError.pyTorchPickle(path: path, format: format) }
        guard data.count >= 8 else { throw SafetensorsError.truncated(path: path, size: data.count) }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(data[data.startIndex + i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw SafetensorsError.headerTooLarge(path: path, headerLength: headerLength, fileSize: data.count)
        }
        let headerStart = data.startIndex + 8
        let headerBytes = data[headerStart..<(headerStart + Int(headerLength))]
        self.dataStart = headerStart + Int(headerLength)
        let dataSize = data.count - 8 - Int(headerLength)

        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: headerBytes, options: [])
        } catch {
            throw SafetensorsError.headerNotJSON(path: path, reason: "JSON parse error")
        }
        guard let dictionary = object as? [String: Any] else {
            throw SafetensorsError.headerNotJSON(path: path, reason: "the header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        // In name order, so that a file with several bad entries always reports the same one
        // (a Dictionary's order changes from run to run).
        for (name, value) in dictionary.sorted(by: { $0.key < $1.key }) {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else {
                    throw SafetensorsError.headerNotJSON(path: path, reason: "__metadata__ is not an object")
                }
                for (k, v) in map {
                    guard let s = v as? String else {
                        throw SafetensorsError.headerNotJSON(path: path, reason: "__metadata__ value for '\(k)' is not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            entries[name] = try Self.parseEntry(name: name, value: value, path: path, dataSize: dataSize)
        }
        let ordered = entries.sorted { ($0.value.begin, $0.key) < ($1.value.begin, $1.key) }
        for (a, b) in zip(ordered, ordered.dropFirst()) where b.value.begin < a.value.end {
            throw SafetensorsError.offsetsOverlap(path: path, first: a.key, second: b.key)
        }
        self.metadata = metadata
        self.entries = entries
    }

    private static func parseEntry(name: String, value: Any, path: String, dataSize: Int) throws -> Entry {
        guard let map = value as? [String: Any] else {
            throw SafetensorsError.badEntry(path: path, tensor: name, reason: "not an object")
        }
        guard let dtypeString = map["dtype"] as? String else {
            throw SafetensorsError.badEntry(path: path, tensor: name, reason: "no dtype string")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeString) else {
            throw SafetensorsError.unsupportedDType(path: path, tensor: name, dtype: dtypeString)
        }
        guard let shape = integers(map["shape"]) else {
            throw SafetensorsError.badEntry(path: path, tensor: name, reason: "shape is not an array of integers")
        }
        guard let offsets = integers(map["data_offsets"]), offsets.count == 2 else {
            throw SafetensorsError.badEntry(path: path, tensor: name, reason: "data_offsets is not a pair of integers")
        }
        guard shape.allSatisfy({ $0 >= 0 && $0 <= Int(Int32.max) }) else {
            throw SafetensorsError.badEntry(path: path, tensor: name, reason: "shape \(shape) has a negative or huge dimension")
        }
        let begin = offsets[0], end = offsets[1]
        guard begin >= 0, end >= begin, end <= dataSize else {
            throw SafetensorsError.offsetsOutOfRange(path: path, tensor: name, begin: begin, end: end, dataSize: dataSize)
        }
        var elements = 1
        for d in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow, product <= dataSize else {
                throw SafetensorsError.sizeMismatch(path: path, tensor: name, expectedBytes: Int.max, actualBytes: end - begin)
            }
            elements = product
        }
        let expected = elements * dtype.size
        guard expected == end - begin else {
            throw SafetensorsError.sizeMismatch(path: path, tensor: name, expectedBytes: expected, actualBytes: end - begin)
        }
        return Entry(dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// A JSON array of integers, or nil if it is not an array or holds anything else: a
    /// fraction (1.5), a boolean, or a number beyond Int64. (Reading such values with
    /// `NSNumber.int64Value` would silently turn 1.5 into 1 and true into 1.)
    private static func integers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var values: [Int] = []
        for element in array {
            guard let number = element as? NSNumber, String(cString: number.objCType) != "c",
                  let integer = element as? Int else { return nil }
            values.append(integer)
        }
        return values
    }

    /// The entry for `name`.
    /// - Throws: ``SafetensorsError/missingTensor(path:tensor:)``.
    public func entry(_ name: String) throws -> Entry {
        guard let e = entries[name] else { throw SafetensorsError.missingTensor(path: path, tensor: name) }
        return e
    }

    /// The raw bytes of a tensor.
    public func rawBytes(_ name: String) throws -> Data {
        let e = try entry(name)
        return bytes[(dataStart + e.begin)..<(dataStart + e.end)]
    }

    /// A tensor's elements as Float. F32 is read as is; F64 is rounded to Float.
    /// - Throws: missing tensor, or ``SafetensorsError/wrongDType`` for I64.
    public func floats(_ name: String) throws -> [Float] {
        let e = try entry(name)
        let raw = try rawBytes(name)
        switch e.dtype {
        case .f32:
            return raw.withUnsafeBytes { buffer in
                (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            }
        case .f64:
            return try doubles(name).map { Float($0) }
        case .i64:
            throw SafetensorsError.wrongDType(path: path, tensor: name, expected: "F32", actual: "I64")
        }
    }

    /// A tensor's elements as Double (F64 as is, F32 widened).
    public func doubles(_ name: String) throws -> [Double] {
        let e = try entry(name)
        let raw = try rawBytes(name)
        switch e.dtype {
        case .f64:
            return raw.withUnsafeBytes { buffer in
                (0..<(raw.count / 8)).map { Double(bitPattern: UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) }
            }
        case .f32:
            return try floats(name).map { Double($0) }
        case .i64:
            throw SafetensorsError.wrongDType(path: path, tensor: name, expected: "F64", actual: "I64")
        }
    }

    /// A tensor's elements as Int64.
    /// - Throws: missing tensor, or ``SafetensorsError/wrongDType`` for a float tensor.
    public func int64s(_ name: String) throws -> [Int64] {
        let e = try entry(name)
        guard e.dtype == .i64 else {
            throw SafetensorsError.wrongDType(path: path, tensor: name, expected: "I64", actual: e.dtype.rawValue)
        }
        let raw = try rawBytes(name)
        return raw.withUnsafeBytes { buffer in
            (0..<(raw.count / 8)).map { Int64(littleEndian: buffer.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
        }
    }

    /// A float tensor as a ``Tensor`` with the file's shape.
    public func tensor(_ name: String) throws -> Tensor {
        let e = try entry(name)
        return Tensor(shape: e.shape, values: try floats(name))
    }
}

/// Builds a safetensors file in memory. Tensors are laid out in the order added;
/// header keys are written sorted, as the reference implementation does.
public struct SafetensorsWriter {
    private var header: [(String, String)] = []
    private var payload = Data()
    private var names = Set<String>()
    /// `__metadata__` string map (written only if non-empty).
    public var metadata: [String: String] = [:]

    public init() {}

    private mutating func append(_ name: String, dtype: SafetensorsDType, shape: [Int], bytes: Data) {
        precondition(!names.contains(name), "tensor '\(name)' added twice")
        precondition(name != "__metadata__", "'__metadata__' is reserved")
        names.insert(name)
        let begin = payload.count
        payload.append(bytes)
        let shapeText = shape.map(String.init).joined(separator: ",")
        header.append((name, "{\"dtype\":\"\(dtype.rawValue)\",\"shape\":[\(shapeText)],\"data_offsets\":[\(begin),\(payload.count)]}"))
    }

    /// Adds an F32 tensor; `values.count` must equal the shape's product.
    public mutating func add(_ name: String, shape: [Int], floats values: UnsafeBufferPointer<Float>) {
        precondition(values.count == shape.reduce(1, *), "tensor '\(name)': \(values.count) values for shape \(shape)")
        var bytes = Data(capacity: values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        append(name, dtype: .f32, shape: shape, bytes: bytes)
    }

    /// Adds an F32 tensor from a ``Tensor`` (its own shape).
    public mutating func add(_ name: String, tensor: Tensor) {
        add(name, shape: tensor.shape, floats: UnsafeBufferPointer(tensor.buffer))
    }

    /// Adds an F32 tensor from an array.
    public mutating func add(_ name: String, shape: [Int], floats values: [Float]) {
        values.withUnsafeBufferPointer { add(name, shape: shape, floats: $0) }
    }

    /// Adds an I64 tensor (shape [] for a scalar such as num_batches_tracked).
    public mutating func add(_ name: String, shape: [Int], int64s values: [Int64]) {
        precondition(values.count == shape.reduce(1, *), "tensor '\(name)': \(values.count) values for shape \(shape)")
        var bytes = Data(capacity: values.count * 8)
        for v in values { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        append(name, dtype: .i64, shape: shape, bytes: bytes)
    }

    /// Adds an F64 tensor.
    public mutating func add(_ name: String, shape: [Int], doubles values: [Double]) {
        precondition(values.count == shape.reduce(1, *), "tensor '\(name)': \(values.count) values for shape \(shape)")
        var bytes = Data(capacity: values.count * 8)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        append(name, dtype: .f64, shape: shape, bytes: bytes)
    }

    /// The complete file's bytes. The header is padded with spaces to a multiple of 8
    /// so the data section is aligned, as the reference implementation does.
    public func serialized() -> Data {
        var fields = header.sorted { $0.0 < $1.0 }.map { "\(jsonString($0.0)):\($0.1)" }
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            fields.insert("\"__metadata__\":{\(pairs.joined(separator: ","))}", at: 0)
        }
        var json = Data(("{" + fields.joined(separator: ",") + "}").utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + payload.count)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(payload)
        return out
    }

    /// Writes the file atomically (see ``AtomicFile``).
    public func write(to path: String) throws {
        try AtomicFile.write(serialized(), to: path)
    }
}

/// A JSON string literal with the escapes JSON requires.
func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 {
                out += String(format: "\\u%04x", scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
