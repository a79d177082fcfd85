// The protocol buffers wire format, for writing only, as far as the ONNX export needs it
// (https://protobuf.dev/programming-guides/encoding/).
//
// Why an encoder of our own rather than apple/swift-protobuf: the export writes ten
// message types with about forty fields, all of them varints, fixed32 floats and
// length-delimited bytes. swift-protobuf would add its runtime (a package of its own that
// every CI build compiles from source on two cores), its code generator plugin, and a
// generated onnx.pb.swift for the whole of onnx.proto (28 messages), to write what
// about three hundred lines (this file and ONNXProto.swift) do here. The field numbers are
// those of onnx.proto (ONNX 1.x, stable since IR version 3); the tests check the bytes
// against hand-derived sequences and onnx.checker reads the result (scripts/onnx_check.py).

/// A protobuf message being written: fields appended in the order given.
///
/// Wire types used: 0 (varint: int32, int64, enum, bool), 2 (length-delimited: string,
/// bytes, embedded message, packed repeated) and 5 (fixed32: float). Negative int64
/// values are written as ten-byte two's-complement varints, as protobuf does for int64.
public struct ProtobufWriter: Sendable {
    /// The encoded bytes so far.
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// The wire types of the protobuf encoding.
    public enum WireType: UInt8, Sendable {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    /// Appends `value` as a base-128 varint: 7 bits per byte, least significant group
    /// first, the high bit set on every byte but the last.
    public mutating func appendVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// A field's key: (field number << 3) | wire type, as a varint.
    /// - Precondition: `field` in 1...2²⁹−1.
    public mutating func appendKey(_ field: Int, _ wireType: WireType) {
        precondition(field >= 1 && field < 1 << 29, "protobuf field numbers are 1...2^29-1, got \(field)")
        appendVarint(UInt64(field) << 3 | UInt64(wireType.rawValue))
    }

    /// An int64/int32/enum/bool field (wire type 0); negative values as 64-bit two's complement.
    public mutating func int(_ field: Int, _ value: Int) {
        appendKey(field, .varint)
        appendVarint(UInt64(bitPattern: Int64(value)))
    }

    /// A float field (wire type 5): the IEEE 754 bits, little-endian.
    public mutating func float(_ field: Int, _ value: Float) {
        appendKey(field, .fixed32)
        let bits = value.bitPattern
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
    }

    /// A bytes field (wire type 2): the length as a varint, then the bytes.
    public mutating func bytes(_ field: Int, _ value: [UInt8]) {
        appendKey(field, .lengthDelimited)
        appendVarint(UInt64(value.count))
        bytes += value
    }

    /// A string field: its UTF-8 bytes.
    public mutating func string(_ field: Int, _ value: String) {
        bytes(field, Array(value.utf8))
    }

    /// An embedded message field: `message`'s bytes, length-delimited.
    public mutating func message(_ field: Int, _ message: ProtobufWriter) {
        bytes(field, message.bytes)
    }

    /// An embedded message field built by `body`.
    public mutating func message(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        body(&inner)
        message(field, inner)
    }
}
