import Foundation

/// A failed data set download; each message names the URL or file and what to do.
public enum CIFARDownloadError: Error, Equatable, CustomStringConvertible {
    /// The connection failed (no network, refused, timed out).
    case network(url: String, reason: String)
    /// The server answered with a status other than 200.
    case httpStatus(url: String, status: Int)
    /// The connection closed before Content-Length bytes arrived.
    case truncated(url: String, expectedBytes: Int64, receivedBytes: Int64)
    /// The archive's MD5 differs from the published one; the file was deleted.
    case checksumMismatch(file: String, expected: String, actual: String)
    /// The output folder holds the archive (e.g. copied by hand) but with another MD5, and
    /// fetching a good copy failed too (`reason`); the file was left as it was.
    case existingArchiveChecksumMismatch(file: String, expected: String, actual: String, reason: String)
    /// `tar -xzf` failed.
    case extractionFailed(archive: String, reason: String)
    /// Creating, writing, reading or renaming a file failed.
    case fileSystem(path: String, reason: String)
    /// The archive extracted, but its files do not load as the data set.
    case invalidContents(CIFARError)

    public var description: String {
        switch self {
        case .network(let url, let reason):
            let archive = URL(string: url)?.lastPathComponent ?? "the archive"
            return "downloading \(url) failed: \(reason). Check the network connection and try again, or copy \(archive) into the output folder by hand and run the same command (it checks the MD5 and extracts it)."
        case .httpStatus(let url, let status):
            return "\(url) answered HTTP \(status), not 200. Check the URL or try again later."
        case .truncated(let url, let expected, let received):
            return "the download of \(url) stopped after \(received) of \(expected) bytes; the partial file was deleted. Try again."
        case .checksumMismatch(let file, let expected, let actual):
            return "\(file) has MD5 \(actual), expected \(expected); the damaged file was deleted. Try again; if it persists, the archive at the source has changed."
        case .existingArchiveChecksumMismatch(let file, let expected, let actual, let reason):
            return "\(file) is there, but its MD5 is \(actual), not the published \(expected) of the binary version (a partial copy, or another version such as the python one?); fetching a good copy failed too: \(reason) Copy the binary archive into the folder again; \(file) was left as it was."
        case .extractionFailed(let archive, let reason):
            return "extracting \(archive) with tar failed: \(reason). Check free space and that `tar` is installed, then try again."
        case .fileSystem(let path, let reason):
            return "\(path): \(reason). Check that the output folder is writable and has ~200 MB free."
        case .invalidContents(let error):
            return "the extracted data set does not load: \(error)"
        }
    }
}

/// Downloads, verifies and extracts the official CIFAR binary archives.
///
/// From https://www.cs.toronto.edu/~kriz/cifar.html: `cifar-10-binary.tar.gz`
/// (MD5 c32a1d4ab5d03f1284b67883e8d87530) and `cifar-100-binary.tar.gz`
/// (MD5 03b5dce01913d631647c71ecec9e9cb8). torchvision fetches the python versions, whose
/// MD5s differ. The base URL and checksums can be replaced (tests serve a local archive).
public struct CIFARDownloader: Sendable {
    public static let officialBaseURL = URL(string: "https://www.cs.toronto.edu/~kriz/")!
    public static let officialMD5: [Dataset: String] = [
        .cifar10: "c32a1d4ab5d03f1284b67883e8d87530",
        .cifar100: "03b5dce01913d631647c71ecec9e9cb8",
    ]

    /// The folder URL the archives are fetched from.
    public var baseURL: URL
    /// Expected MD5 (lower-case hex) per archive.
    public var checksums: [Dataset: String]

    public init(baseURL: URL = officialBaseURL, checksums: [Dataset: String] = officialMD5) {
        self.baseURL = baseURL
        self.checksums = checksums
    }

    /// `cifar-10-binary.tar.gz` or `cifar-100-binary.tar.gz`.
    public static func archiveName(_ dataset: Dataset) -> String {
        dataset == .cifar10 ? "cifar-10-binary.tar.gz" : "cifar-100-binary.tar.gz"
    }

    /// Makes `directory/cifar-10-batches-bin` (or `cifar-100-binary`) and returns its URL.
    ///
    /// Steps: if that folder already loads, nothing is fetched. Otherwise the archive is
    /// downloaded to a temporary file in `directory` (unless `directory` already holds the
    /// archive with the right MD5; one with another MD5 is replaced by a good download, or
    /// named in the error when the download fails), its size checked against Content-Length and its MD5
    /// against ``checksums``, then renamed to its final name (a bad or partial download is
    /// deleted, never left under that name), extracted with `tar -xzf`, and both splits are
    /// loaded to validate it. The archive is kept.
    /// - Parameter progress: called with bytes received so far and the expected total.
    /// - Throws: ``CIFARDownloadError``.
    public func download(
        dataset: Dataset, to directory: URL,
        progress: (@Sendable (_ receivedBytes: Int64, _ expectedBytes: Int64?) -> Void)? = nil
    ) async throws -> URL {
        let folder = directory.appendingPathComponent(dataset.folderName)
        if (try? Self.validate(folder, dataset)) != nil { return folder }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw CIFARDownloadError.fileSystem(path: directory.path, reason: "cannot create the folder: \(error.localizedDescription)")
        }
        let name = Self.archiveName(dataset)
        let archive = directory.appendingPathComponent(name).path
        let expected = checksums[dataset] ?? ""
        let existing = FileManager.default.fileExists(atPath: archive) ? try? Self.md5(ofFile: archive) : nil
        if existing != expected {
            let partial = directory.appendingPathComponent(".\(name).part-\(ProcessInfo.processInfo.processIdentifier)").path
            defer { try? FileManager.default.removeItem(atPath: partial) }
            do {
                try await HTTPFileTransfer.fetch(baseURL.appendingPathComponent(name), to: partial, progress: progress)
            } catch let error as CIFARDownloadError {
                // A copy of the archive is there but wrong: that, not "copy it by hand", is the news.
                guard let existing else { throw error }
                throw CIFARDownloadError.existingArchiveChecksumMismatch(file: archive, expected: expected, actual: existing, reason: error.description)
            }
            let actual = try Self.md5(ofFile: partial)
            guard actual == expected else {
                throw CIFARDownloadError.checksumMismatch(file: archive, expected: expected, actual: actual)
            }
            guard rename(partial, archive) == 0 else {
                throw CIFARDownloadError.fileSystem(path: archive, reason: String(cString: strerror(errno)))
            }
        }
        try Self.extract(archive, into: directory.path)
        do {
            try Self.validate(folder, dataset)
        } catch {
            throw CIFARDownloadError.invalidContents(error)
        }
        return folder
    }

    /// Lower-case hex MD5 of a file, read in 1 MiB chunks.
    /// - Throws: ``CIFARDownloadError/fileSystem(path:reason:)`` if the file cannot be read.
    public static func md5(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CIFARDownloadError.fileSystem(path: path, reason: "cannot open the file for reading")
        }
        defer { try? handle.close() }
        var hasher = MD5()
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(chunk)
            }
        } catch {
            throw CIFARDownloadError.fileSystem(path: path, reason: "reading failed: \(error.localizedDescription)")
        }
        return MD5.hex(hasher.finalize())
    }

    /// Runs `tar -xzf archive -C directory`.
    static func extract(_ archive: String, into directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tar", "-xzf", archive, "-C", directory]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw CIFARDownloadError.extractionFailed(archive: archive, reason: "cannot run tar: \(error.localizedDescription)")
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let detail = message.trimmingCharacters(in: .whitespacesAndNewlines)
            throw CIFARDownloadError.extractionFailed(archive: archive, reason: "exit status \(process.terminationStatus)\(detail.isEmpty ? "" : ": " + detail)")
        }
    }

    private static func validate(_ folder: URL, _ dataset: Dataset) throws(CIFARError) {
        for split in Split.allCases {
            _ = try CIFARDataset.load(directory: folder.path, split: split, dataset: dataset)
        }
    }
}
