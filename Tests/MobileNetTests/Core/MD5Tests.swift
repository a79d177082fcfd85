import Testing
@testable import MobileNet

/// RFC 1321 appendix A.5, the reference implementation's test suite.
@Suite struct MD5Tests {
    static let suite: [(String, String)] = [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
        ("12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a"),
    ]

    @Test func rfc1321TestSuite() {
        for (message, digest) in Self.suite {
            #expect(MD5.hexDigest(of: Array(message.utf8)) == digest, "MD5(\"\(message)\")")
        }
    }

    /// Fed in uneven pieces (crossing the 64-byte block and the 56-byte padding edge), the
    /// digest equals the one-piece digest; the one-piece digest of 1,000 'a's is checked against
    /// `printf 'a%.0s' {1..1000} | md5sum`.
    @Test func piecewiseUpdatesEqualOnePiece() {
        let message = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        #expect(MD5.hexDigest(of: message) == "cabe45dcc9ae5b66ba86600cca6b8ba8")
        for piece in [1, 7, 55, 56, 63, 64, 65, 200] {
            var hasher = MD5()
            var offset = 0
            while offset < message.count {
                hasher.update(message[offset..<min(offset + piece, message.count)])
                offset += piece
            }
            #expect(MD5.hex(hasher.finalize()) == "cabe45dcc9ae5b66ba86600cca6b8ba8", "pieces of \(piece)")
        }
    }
}
