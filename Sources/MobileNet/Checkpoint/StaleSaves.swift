import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension CheckpointDirectory {
    /// A half-written checkpoint folder a killed save left behind.
    public struct StaleSave: Equatable, Sendable {
        /// The `.incoming-<pid>` folder (removed).
        public let path: String
        /// The process that was writing it (no longer running).
        public let pid: Int32
        /// Its size in bytes, before removal.
        public let bytes: Int
    }

    /// Removes the `.incoming-<pid>` folders of processes that no longer run (a save
    /// killed part-way: `kill -9`, power loss) and returns them, so the caller can say so.
    /// A folder whose process is alive (another run saving into the same folder) is kept.
    /// The checkpoints themselves (`step-*`, `last`, `best.safetensors`) are never touched.
    public func removeStaleSaves() -> [StaleSave] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        var removed: [StaleSave] = []
        for entry in entries.sorted() where entry.hasPrefix(Self.incomingPrefix) {
            guard let pid = Int32(entry.dropFirst(Self.incomingPrefix.count)), pid > 0 else { continue }
            // kill(pid, 0) probes without signalling: ESRCH means no such process.
            if pid == getpid() || !(kill(pid, 0) == -1 && errno == ESRCH) { continue }
            let folder = path + "/" + entry
            let bytes = Self.size(of: folder)
            if (try? FileManager.default.removeItem(atPath: folder)) != nil {
                removed.append(StaleSave(path: folder, pid: pid, bytes: bytes))
            }
        }
        return removed
    }

    private static func size(of folder: String) -> Int {
        let files = (try? FileManager.default.subpathsOfDirectory(atPath: folder)) ?? []
        return files.reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: folder + "/" + file)[.size] as? Int) ?? 0)
        }
    }
}
