import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A run's `--checkpoint-dir`:
///
///     DIR/last -> step-00001170      symbolic link to the newest complete checkpoint folder
///     DIR/step-00001170/model.safetensors
///     DIR/step-00001170/training_state.safetensors
///     DIR/best.safetensors           the model with the best test accuracy so far
///     DIR/.lock                      held by the process training into DIR (its id inside)
///
/// A save never leaves a mix of an old model and a new state, nor a half-written file:
/// both files go into a fresh hidden folder (each written to a temporary file, fsync'd and
/// renamed; see ``AtomicFile``), the folder is renamed to `step-<global step>`, and only
/// then is `last` switched to it — by renaming a new symbolic link over the old one, which
/// is atomic. The previous folder is deleted after the switch. A crash at any point leaves
/// `last` pointing at a complete checkpoint; leftovers of an interrupted save are removed
/// by the next one.
///
/// Test seam: ``AtomicFile/failureInjection`` is also consulted with stage "mkdir" (path:
/// the new hidden folder) and "publish" (path: DIR/last).
public struct CheckpointDirectory: Sendable {
    public static let lastLinkName = "last"
    public static let bestFileName = "best.safetensors"
    static let folderPrefix = "step-"
    static let incomingPrefix = ".incoming-"
    static let linkPrefix = ".last-"
    /// The file a training process holds locked while it saves here (``lock()``).
    public static let lockFileName = ".lock"
    /// The folders this process has locked (resolved path → descriptor, kept open until exit).
    private static let locked = Mutex<[String: Int32]>([:])

    /// The folder as given, without trailing slashes ("runs/a/" → "runs/a"), so the paths
    /// built from it and printed have none doubled.
    public let path: String
    public init(path: String) {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        self.path = path
    }

    public var lastLink: String { path + "/" + Self.lastLinkName }
    public var bestPath: String { path + "/" + Self.bestFileName }

    /// The folder `last` points to, if a checkpoint was saved here.
    public var lastFolder: String? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: lastLink) else { return nil }
        return target.hasPrefix("/") ? target : path + "/" + target
    }

    /// Takes an exclusive lock (flock(2)) on `DIR/.lock` for the rest of this process, so a
    /// second process training into the same folder is refused before its first step rather
    /// than each save deleting the other's checkpoints. The kernel releases it when the
    /// process ends, killed or not; the file keeps the holder's process id for messages.
    /// Locking a folder this process already holds succeeds.
    /// - Returns: nil when this process holds the lock; the holder's process id (0 when it
    ///   cannot be read) when another process does.
    /// - Throws: ``FileWriteError/cannotCreate(path:reason:)`` when the file cannot be opened.
    public func lock() throws -> Int32? {
        let key = ResolvedPath.of(path), file = path + "/" + Self.lockFileName
        return try Self.locked.withLock { held -> Int32? in
            if held[key] != nil { return nil }
            let fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw FileWriteError.cannotCreate(path: file, reason: String(cString: strerror(errno))) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let holder = (try? String(contentsOfFile: file, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                close(fd)
                return holder ?? 0
            }
            let text = "\(getpid())\n"
            _ = ftruncate(fd, 0)
            _ = text.withCString { write(fd, $0, strlen($0)) }
            held[key] = fd
            return nil
        }
    }

    /// Creates the folder (and its parents) if needed, so a run fails at once, not after
    /// its first epoch, when the folder cannot be made.
    /// - Throws: ``FileWriteError/fileInTheWay(path:file:)`` when a part of the path is a
    ///   file, else ``FileWriteError/cannotCreate(path:reason:)``.
    public func create() throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            if let file = ResolvedPath.fileInTheWay(of: path) { throw FileWriteError.fileInTheWay(path: path, file: file) }
            throw FileWriteError.cannotCreate(path: path, reason: (error as NSError).localizedDescription)
        }
    }

    /// Saves a checkpoint: `write` fills a fresh folder, which then becomes `last`.
    /// - Parameters:
    ///   - globalStep: names the folder (`step-00000042`).
    ///   - write: writes the checkpoint's files into the folder it is given.
    /// - Returns: the new checkpoint folder.
    /// - Throws: ``CheckpointError/saveFailed(directory:file:reason:previous:)`` (naming the
    ///   file) for a failed write, or the error `write` throws; `last` then still points
    ///   at the previous checkpoint, untouched.
    @discardableResult
    public func save(globalStep: Int, _ write: (String) throws -> Void) throws -> String {
        let previous = lastFolder
        let incoming = path + "/" + Self.incomingPrefix + "\(getpid())"
        func failed(_ file: String, _ reason: String) -> CheckpointError {
            .saveFailed(directory: path, file: file, reason: reason, previous: previous)
        }
        do {
            try create()
        } catch let error as FileWriteError {
            throw failed(path, Self.reason(of: error))
        }
        try? FileManager.default.removeItem(atPath: incoming)
        if let message = AtomicFile.failureInjection?(incoming, "mkdir") { throw failed(incoming, message) }
        guard mkdir(incoming, 0o755) == 0 else { throw failed(incoming, String(cString: strerror(errno))) }
        do {
            try write(incoming)
        } catch let error as FileWriteError {
            try? FileManager.default.removeItem(atPath: incoming)
            throw failed(Self.fileName(of: error), Self.reason(of: error))
        } catch {
            try? FileManager.default.removeItem(atPath: incoming)
            throw error
        }
        let name = uniqueFolderName(globalStep: globalStep)
        let folder = path + "/" + name
        do {
            try rename(incoming, to: folder)
            AtomicFile.syncDirectory(path)
            try publish(name)
        } catch let reason as RenameFailure {
            try? FileManager.default.removeItem(atPath: incoming)
            try? FileManager.default.removeItem(atPath: folder)
            throw failed(reason.path, reason.reason)
        }
        removeLeftovers(keeping: name)
        return folder
    }

    /// Writes `model` as `best.safetensors` (atomically), with `metadata` (e.g. epoch, test accuracy).
    /// - Throws: ``FileWriteError`` naming the file; the previous best file stays intact.
    @discardableResult
    public func saveBest(_ model: MobileNetV1, metadata: [String: String]) throws -> String {
        try create()
        try model.save(to: bestPath, metadata: metadata)
        return bestPath
    }

    private struct RenameFailure: Error {
        let path: String
        let reason: String
    }

    private func rename(_ from: String, to: String) throws {
        if Glibc.rename(from, to) != 0 { throw RenameFailure(path: to, reason: String(cString: strerror(errno))) }
    }

    /// Points `last` at `name`: a new relative symbolic link renamed over the old one.
    private func publish(_ name: String) throws {
        let temporary = path + "/" + Self.linkPrefix + "\(getpid())"
        unlink(temporary)
        if let message = AtomicFile.failureInjection?(lastLink, "publish") { throw RenameFailure(path: lastLink, reason: message) }
        guard symlink(name, temporary) == 0 else { throw RenameFailure(path: lastLink, reason: String(cString: strerror(errno))) }
        do {
            try rename(temporary, to: lastLink)
        } catch {
            unlink(temporary)
            throw error
        }
        AtomicFile.syncDirectory(path)
    }

    /// `step-<8 digits>`, with a suffix if that folder exists (a second save at the same step).
    private func uniqueFolderName(globalStep: Int) -> String {
        let base = Self.folderPrefix + String(format: "%08d", globalStep)
        var name = base, suffix = 1
        while FileManager.default.fileExists(atPath: path + "/" + name) {
            name = base + "-\(suffix)"
            suffix += 1
        }
        return name
    }

    /// Whether `name` is one this type's saves create in the folder: a checkpoint folder
    /// (`step-N`), a save in progress or the temporary link of one.
    static func isSaveEntry(_ name: some StringProtocol) -> Bool {
        [folderPrefix, incomingPrefix, linkPrefix].contains { name.hasPrefix($0) }
    }

    /// Removes older checkpoint folders and leftovers of interrupted saves (only names this type creates).
    private func removeLeftovers(keeping name: String) {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for entry in entries where entry != name {
            if Self.isSaveEntry(entry) { try? FileManager.default.removeItem(atPath: path + "/" + entry) }
        }
    }

    static func fileName(of error: FileWriteError) -> String {
        switch error {
        case .cannotCreate(let p, _), .writeFailed(let p, _), .renameFailed(let p, _), .fileInTheWay(let p, _): return (p as NSString).lastPathComponent
        }
    }

    static func reason(of error: FileWriteError) -> String {
        switch error {
        case .cannotCreate(_, let r), .writeFailed(_, let r), .renameFailed(_, let r): return r
        case .fileInTheWay(_, let file): return ResolvedPath.notAFolder(file)
        }
    }
}
