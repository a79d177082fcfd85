import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Paths as the file system follows them, for comparing two routes to one file.
public enum ResolvedPath {
    /// `path` made absolute (a relative one against the current directory) with every
    /// symbolic link on its way resolved, also when the file itself does not exist yet: the
    /// longest leading part that exists goes through realpath(3) (links, `.` and `..` as the
    /// kernel follows them: `link/..` is the parent of the link's target), and the rest (a
    /// file about to be written, missing folders) is appended with `.` and `..` removed.
    /// Two paths naming one file, one folder or one new file in one folder give one string.
    public static func of(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let parts = absolute.split(separator: "/").map(String.init)
        for existing in stride(from: parts.count, through: 0, by: -1) {
            guard let real = realpath("/" + parts[..<existing].joined(separator: "/"), nil) else { continue }
            var resolved = String(cString: real).split(separator: "/").map(String.init)
            free(real)
            for part in parts[existing...] where part != "." {
                if part == ".." { _ = resolved.popLast() } else { resolved.append(part) }
            }
            return "/" + resolved.joined(separator: "/")
        }
        // realpath("/") does not fail; a path is returned as given only if it somehow did.
        return absolute
    }

    /// The first part of `path` (as given, from its start) that exists and is not a folder,
    /// when there is one: why a folder `path`, or a file in it, cannot be created there
    /// ("runs/notes.txt" for "runs/notes.txt/ck"); nil when every existing part is a folder
    /// (or a link to one).
    public static func fileInTheWay(of path: String) -> String? {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: prefix, isDirectory: &isFolder) else { return nil }
            if !isFolder.boolValue { return prefix }
        }
        return nil
    }

    /// ``fileInTheWay(of:)`` as the reason a message gives: "runs/notes.txt is a file, not a
    /// folder" (the caller says what to do); nil when every existing part is a folder.
    public static func fileInTheWayReason(of path: String) -> String? {
        fileInTheWay(of: path).map(notAFolder)
    }

    /// "`file` is a file, not a folder": the one wording for a file where a folder must go.
    public static func notAFolder(_ file: String) -> String { "\(file) is a file, not a folder" }
}
