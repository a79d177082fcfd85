import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Errors writing a file; each message names the file and what to do.
public enum FileWriteError: Error, CustomStringConvertible, Equatable {
    case cannotCreate(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    case renameFailed(path: String, reason: String)
    /// A folder on the way to `path` is the file `file`.
    case fileInTheWay(path: String, file: String)

    public var description: String {
        switch self {
        case .cannotCreate(let path, let reason):
            return "cannot create \(path): \(reason.hasSuffix(".") ? String(reason[..<reason.index(before: reason.endIndex)]) : reason). Check that the folder exists and is writable."
        case .writeFailed(let path, let reason):
            return "writing \(path) failed: \(reason). The previous file, if any, was left untouched; free some space or choose another folder."
        case .renameFailed(let path, let reason):
            return "could not move the new file into place at \(path): \(reason). The previous file, if any, was left untouched."
        case .fileInTheWay(let path, let file):
            return "cannot create \(path): \(ResolvedPath.notAFolder(file)). Move that file or choose another path."
        }
    }
}

/// Writes files so that a crash or a failed write never leaves a half-written file:
/// the bytes go to a temporary file in the same folder, are fsync'd, then renamed
/// over the destination (rename(2) is atomic within one file system), and the folder
/// is fsync'd so the rename itself is durable.
public enum AtomicFile {
    /// Hooks for tests: simulate a failure at a given point (nil in normal use).
    nonisolated(unsafe) public static var failureInjection: ((_ path: String, _ stage: String) -> String?)?

    /// What stops a file from being written at `path`, checked before any work so a bad
    /// path costs nothing: `path` is a folder, or the folder it would go in (as the file
    /// system follows the path, symbolic links resolved: ``ResolvedPath/of(_:)``) does not
    /// exist or is not a folder (named: ``ResolvedPath/fileInTheWay(of:)``). The text follows the path in a message ("--output X: …");
    /// nil when the write can be tried.
    public static func placeProblem(for path: String) -> String? {
        let target = ResolvedPath.of(path)
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: target, isDirectory: &isFolder), isFolder.boolValue {
            return "it is a folder; give a file name"
        }
        let parent = (target as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: parent, isDirectory: &isFolder) || !isFolder.boolValue {
            if let reason = ResolvedPath.fileInTheWayReason(of: parent) { return "\(reason); give another path" }
            return "the folder \(parent) does not exist; create it or give another path"
        }
        return nil
    }

    /// Atomically replaces (or creates) the file at `path` with `data`.
    /// - Throws: ``FileWriteError`` naming the file; on error the previous file is intact
    ///   and the temporary file is removed.
    public static func write(_ data: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let temporary = (directory.isEmpty ? "." : directory) + "/.\(base).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw FileWriteError.cannotCreate(path: path, reason: String(cString: strerror(errno))) }
        var closed = false
        defer {
            if !closed { close(fd) }
        }
        if let message = failureInjection?(path, "write") {
            unlink(temporary)
            throw FileWriteError.writeFailed(path: path, reason: message)
        }
        let written: Int = data.withUnsafeBytes { raw -> Int in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return -Int(errno)
                }
                offset += n
            }
            return offset
        }
        if written < 0 || fsync(fd) != 0 {
            let reason = String(cString: strerror(written < 0 ? Int32(-written) : errno))
            unlink(temporary)
            throw FileWriteError.writeFailed(path: path, reason: reason)
        }
        close(fd)
        closed = true
        if let message = failureInjection?(path, "rename") {
            unlink(temporary)
            throw FileWriteError.renameFailed(path: path, reason: message)
        }
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw FileWriteError.renameFailed(path: path, reason: reason)
        }
        syncDirectory(directory.isEmpty ? "." : directory)
    }

    /// fsyncs a folder, so renames and new entries in it are durable (best effort).
    public static func syncDirectory(_ path: String) {
        let dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }
}
