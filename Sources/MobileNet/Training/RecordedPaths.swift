import Foundation

extension CheckpointDataset {
    /// `path` as an absolute, standardised path: relative paths are taken against the
    /// current working directory. A checkpoint records its run's `--data` and `--metrics`
    /// this way, so `--resume` finds them from any working directory.
    public static func absolutePath(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return (full as NSString).standardizingPath
    }

    /// The recorded `--data` folder when it is a relative path that does not exist from
    /// the current directory (a checkpoint written before paths were recorded absolute,
    /// resumed from another folder): nil otherwise.
    public var unreachableRelativeDataPath: String? {
        guard let dataPath, !dataPath.hasPrefix("/"), !FileManager.default.fileExists(atPath: dataPath) else { return nil }
        return dataPath
    }
}
