import Foundation

/// MD5 message digest (RFC 1321), streaming.
///
/// Used only to check a downloaded archive against its published checksum, not for
/// anything security-related. A few dozen lines here replace a cryptography package whose
/// build (BoringSSL) cost minutes on every clean build for this one digest.
/// Checked against RFC 1321's test suite (appendix A.5) in `MD5Tests`.
public struct MD5 {
    private var state: (UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476)
    private var pending: [UInt8] = []
    private var byteCount: UInt64 = 0

    public init() {}

    /// Feeds `bytes` into the digest.
    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        pending.append(contentsOf: bytes)
        let whole = pending.count / 64 * 64
        guard whole > 0 else { return }
        byteCount &+= UInt64(whole)
        pending.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < whole {
                compress(buffer.baseAddress! + offset)
                offset += 64
            }
        }
        pending.removeFirst(whole)
    }

    /// The 16-byte digest of everything fed so far; the hasher is consumed.
    public consuming func finalize() -> [UInt8] {
        let bitLength = (byteCount &+ UInt64(pending.count)) &* 8
        var tail = pending
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for shift in stride(from: 0, to: 64, by: 8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        tail.withUnsafeBufferPointer { buffer in
            for offset in stride(from: 0, to: tail.count, by: 64) { compress(buffer.baseAddress! + offset) }
        }
        var digest: [UInt8] = []
        for word in [state.0, state.1, state.2, state.3] {
            for shift in stride(from: 0, to: 32, by: 8) { digest.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        }
        return digest
    }

    /// Lower-case hexadecimal digest of `bytes`.
    public static func hexDigest<Bytes: Sequence>(of bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var hasher = MD5()
        hasher.update(bytes)
        return hex(hasher.finalize())
    }

    static func hex(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(digest.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }

    // RFC 1321 §3.4: per-round shift amounts, and K[i] = floor(2^32 · |sin(i + 1)|).
    private static let shifts: [UInt32] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]
    private static let sines: [UInt32] = (0..<64).map { UInt32(truncatingIfNeeded: Int64((abs(sin(Double($0 + 1))) * 4_294_967_296).rounded(.down))) }

    /// One 64-byte block (RFC 1321 §3.4, rounds 1–4 written as one loop).
    private mutating func compress(_ block: UnsafePointer<UInt8>) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { words in
            for index in 0..<16 {
                let base = block + 4 * index
                words[index] = UInt32(base[0]) | UInt32(base[1]) << 8 | UInt32(base[2]) << 16 | UInt32(base[3]) << 24
            }
            compress(words: UnsafeBufferPointer(words))
        }
    }

    private mutating func compress(words: UnsafeBufferPointer<UInt32>) {
        var (a, b, c, d) = state
        for step in 0..<64 {
            let round = step / 16
            let mixed: UInt32
            let wordIndex: Int
            switch round {
            case 0: mixed = (b & c) | (~b & d); wordIndex = step
            case 1: mixed = (d & b) | (~d & c); wordIndex = (5 * step + 1) % 16
            case 2: mixed = b ^ c ^ d; wordIndex = (3 * step + 5) % 16
            default: mixed = c ^ (b | ~d); wordIndex = (7 * step) % 16
            }
            let shift = Self.shifts[round * 4 + step % 4]
            let sum = a &+ mixed &+ Self.sines[step] &+ words[wordIndex]
            (a, d, c) = (d, c, b)
            b = b &+ (sum << shift | sum >> (32 - shift))
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d)
    }
}
