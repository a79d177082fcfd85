import Foundation

/// A JSON-lines metrics file: one object per line, appended and flushed as it is
/// written, so a crash loses at most the line being written and an existing file is
/// never truncated (a resumed run appends to it).
///
/// Each line is a ``MetricsLine`` (its `kind` says which: `options`, `step`, `epoch`,
/// `test`, `resume`, `interrupted`), the type ``TrainingCurves`` reads them back with.
public final class MetricsLog {
    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case cannotOpen(path: String, reason: String)
        /// A run that is not the file's own would append to another run's lines.
        case holdsAnotherRun(path: String, lines: Int)
        public var description: String {
            switch self {
            case .cannotOpen(let path, let reason):
                return "cannot open metrics file \(path): \(reason). Choose a writable path with --metrics."
            case .holdsAnotherRun(let path, let lines):
                return "--metrics \(path) already holds \(lines) line(s) of another run; appending would mix the two runs (plot would merge their epochs). Choose a new file, move that one away, or continue its run with --resume; nothing was written."
            }
        }
    }

    public let path: String
    private let handle: FileHandle

    /// Refuses `path` for a run whose file it is not: a fresh run, or a resumed run given
    /// another run's file (`ownPath`: the file the resumed run recorded). A missing or empty
    /// file is fine. Refusing, rather than starting another file, keeps the name the user
    /// chose meaning one run, and loses nothing.
    /// - Throws: ``Error/holdsAnotherRun(path:lines:)``.
    public static func checkBelongs(path: String, toRunWritingTo ownPath: String?) throws {
        let absolute = CheckpointDataset.absolutePath(path)
        if let ownPath, CheckpointDataset.absolutePath(ownPath) == absolute { return }
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return }
        throw Error.holdsAnotherRun(path: path, lines: data.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) })
    }

    /// Opens `path` for appending, creating it (and its folder) if needed.
    /// - Throws: ``Error/cannotOpen(path:reason:)``.
    public init(path: String) throws {
        self.path = path
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            if isFolder.boolValue { throw Error.cannotOpen(path: path, reason: "it is a folder, not a file") }
        } else {
            let folder = (path as NSString).deletingLastPathComponent
            if !folder.isEmpty {
                do {
                    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                } catch {
                    let why = ResolvedPath.fileInTheWayReason(of: folder).map { " (\($0))" } ?? ""
                    throw Error.cannotOpen(path: path, reason: "its folder \(folder) cannot be created\(why)")
                }
            }
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw Error.cannotOpen(path: path, reason: "the file cannot be created")
            }
        }
        do {
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
        } catch {
            throw Error.cannotOpen(path: path, reason: (error as NSError).localizedDescription)
        }
    }

    deinit { try? handle.close() }

    /// Appends one line (``MetricsLine/jsonText()``: keys sorted).
    public func write(_ line: MetricsLine) {
        guard let text = try? line.jsonText() else { return }
        handle.write(Data((text + "\n").utf8))
    }
}
