#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file-system seam the CIFAR loader reads through.
///
/// Production code uses ``system``; tests replace a closure to simulate failures the real
/// file system cannot produce for them (tests run as root, where permission bits do not
/// stop reads, so "unreadable" is injected here).
public struct CIFARFileAccess: Sendable {
    /// What is at a path.
    public enum Entry: Equatable, Sendable {
        case missing
        case directory
        /// A regular file (or anything else that is not a folder) of `size` bytes.
        case file(size: Int)
    }

    /// Why a read failed (the reason ends up in ``CIFARError/unreadable(path:reason:)``).
    public struct ReadFailure: Error, Equatable, Sendable {
        public var reason: String
        public init(reason: String) { self.reason = reason }
    }

    /// Reports what is at `path`, following symbolic links.
    public var entry: @Sendable (_ path: String) -> Entry
    /// Returns the whole file, or throws ``ReadFailure``.
    public var readAll: @Sendable (_ path: String) throws(ReadFailure) -> [UInt8]

    public init(
        entry: @escaping @Sendable (_ path: String) -> Entry,
        readAll: @escaping @Sendable (_ path: String) throws(ReadFailure) -> [UInt8]
    ) {
        self.entry = entry
        self.readAll = readAll
    }

    /// The real file system (stat(2), open(2) + read(2)).
    public static let system = CIFARFileAccess(entry: systemEntry, readAll: systemReadAll)

    private static func systemEntry(_ path: String) -> Entry {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        if (info.st_mode & S_IFMT) == S_IFDIR { return .directory }
        return .file(size: Int(info.st_size))
    }

    private static func systemReadAll(_ path: String) throws(ReadFailure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReadFailure(reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ReadFailure(reason: String(cString: strerror(errno))) }
        let size = Int(info.st_size)
        var failure: Int32 = 0
        var total = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            while total < size {
                let n = read(fd, buffer.baseAddress! + total, size - total)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }
                total += n
            }
            initialized = total
        }
        if failure != 0 { throw ReadFailure(reason: String(cString: strerror(failure))) }
        guard total == size else {
            throw ReadFailure(reason: "the file shrank while being read (\(total) of \(size) bytes)")
        }
        return bytes
    }
}
