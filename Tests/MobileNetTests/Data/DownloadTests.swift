import Foundation
import Testing
@testable import MobileNet

@Suite struct DownloadTests {
    /// A small cifar-10-binary.tar.gz built with `tar -czf`, its MD5 and the data it holds.
    struct Archive {
        var data: Data
        var md5: String
        var train: CIFARFixture.Split
    }

    static let archive: Archive = {
        let source = CIFARFixture.temporaryFolder()
        defer { CIFARFixture.remove(source) }
        let inner = source + "/cifar-10-batches-bin"
        try? FileManager.default.createDirectory(atPath: inner, withIntermediateDirectories: false)
        let expected = CIFARFixture.writeCIFAR10(in: inner, trainCounts: [2, 1, 1, 1, 2], testCount: 3)
        let path = source + "/cifar-10-binary.tar.gz"
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-czf", path, "-C", source, "cifar-10-batches-bin"]
        try? tar.run()
        tar.waitUntilExit()
        precondition(tar.terminationStatus == 0, "test fixture: tar -czf failed")
        let md5 = (try? CIFARDownloader.md5(ofFile: path)) ?? ""
        return Archive(data: FileManager.default.contents(atPath: path) ?? Data(), md5: md5, train: expected.train)
    }()

    static let name = "cifar-10-binary.tar.gz"

    static func contents(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    /// Downloads CIFAR-10 from a local server holding `reply` at the archive's path.
    static func download(_ reply: LocalHTTPServer.Reply?, md5: String, into folder: String,
                         progress: (@Sendable (Int64, Int64?) -> Void)? = nil) async throws -> URL {
        let server = LocalHTTPServer(routes: reply.map { ["/" + name: $0] } ?? [:])
        defer { server.stop() }
        let downloader = CIFARDownloader(baseURL: server.baseURL, checksums: [.cifar10: md5])
        return try await downloader.download(dataset: .cifar10, to: URL(fileURLWithPath: folder), progress: progress)
    }

    /// Expects `body` to throw a ``CIFARDownloadError`` satisfying `check`.
    static func expectDownloadError(_ body: () async throws -> URL, sourceLocation: SourceLocation = #_sourceLocation,
                                    _ check: (CIFARDownloadError) -> Bool) async {
        do {
            let url = try await body()
            Issue.record("expected a download error, got \(url.path)", sourceLocation: sourceLocation)
        } catch let error as CIFARDownloadError {
            #expect(check(error), "unexpected \(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected CIFARDownloadError, got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func md5OfAFileMatchesRFC1321Vectors() throws {
        try CIFARFixture.withFolder { folder in
            let path = folder + "/abc"
            CIFARFixture.write(Array("abc".utf8), to: path)
            let abc = try CIFARDownloader.md5(ofFile: path)
            CIFARFixture.write([], to: path)
            let empty = try CIFARDownloader.md5(ofFile: path)
            #expect(abc == "900150983cd24fb0d6963f7d28e17f72")
            #expect(empty == "d41d8cd98f00b204e9800998ecf8427e")
        }
        #expect(CIFARDownloader.officialMD5[.cifar10] == "c32a1d4ab5d03f1284b67883e8d87530")
        #expect(CIFARDownloader.officialMD5[.cifar100] == "03b5dce01913d631647c71ecec9e9cb8")
    }

    @Test func goodChecksumExtractsALoadableDataSet() async throws {
        let folder = CIFARFixture.temporaryFolder()
        defer { CIFARFixture.remove(folder) }
        let archive = Self.archive
        let lastProgress = ProgressBox()
        let url = try await Self.download(.body(archive.data), md5: archive.md5, into: folder) { received, total in
            lastProgress.set(received, total)
        }
        #expect(url.path == folder + "/cifar-10-batches-bin")
        let train = try CIFARDataset.load(directory: url.path, split: .train)
        #expect(train.images == archive.train.images && train.labels == archive.train.labels)
        // The verified archive is kept under its name; no partial file is left.
        #expect(Self.contents(folder) == ["cifar-10-batches-bin", Self.name])
        #expect(lastProgress.value == [Int64(archive.data.count), Int64(archive.data.count)])
        // Already present and valid: nothing is fetched (this server has no archive at all).
        let again = try await Self.download(nil, md5: archive.md5, into: folder)
        #expect(again.path == url.path)
    }

    @Test func badChecksumDeletesTheArchiveAndNamesBothSums() async {
        let folder = CIFARFixture.temporaryFolder()
        defer { CIFARFixture.remove(folder) }
        let wrong = String(repeating: "0", count: 32)
        await Self.expectDownloadError({ try await Self.download(.body(Self.archive.data), md5: wrong, into: folder) }) {
            $0 == .checksumMismatch(file: folder + "/" + Self.name, expected: wrong, actual: Self.archive.md5)
                && $0.description.contains(wrong) && $0.description.contains(Self.archive.md5)
        }
        #expect(Self.contents(folder) == [])
    }

    @Test func truncatedTransferIsReportedAndLeavesNothing() async {
        let folder = CIFARFixture.temporaryFolder()
        defer { CIFARFixture.remove(folder) }
        let archive = Self.archive
        let sent = archive.data.count / 2
        await Self.expectDownloadError({
            try await Self.download(.truncated(archive.data, sentBytes: sent), md5: archive.md5, into: folder)
        }) { error in
            guard case .truncated(let url, let expected, let received) = error else { return false }
            return url.hasSuffix("/" + Self.name) && expected == Int64(archive.data.count) && received < expected
        }
        #expect(Self.contents(folder) == [])
    }

    @Test func httpErrorStatusIsReported() async {
        let folder = CIFARFixture.temporaryFolder()
        defer { CIFARFixture.remove(folder) }
        await Self.expectDownloadError({ try await Self.download(nil, md5: Self.archive.md5, into: folder) }) {
            guard case .httpStatus(let url, 404) = $0 else { return false }
            return url.hasSuffix("/" + Self.name)
        }
        #expect(Self.contents(folder) == [])
    }

    @Test func refusedConnectionIsANetworkError() async {
        let folder = CIFARFixture.temporaryFolder()
        defer { CIFARFixture.remove(folder) }
        let closed = LocalHTTPServer(routes: [:])
        closed.stop()
        let downloader = CIFARDownloader(baseURL: closed.baseURL, checksums: [.cifar10: Self.archive.md5])
        await Self.expectDownloadError({ try await downloader.download(dataset: .cifar10, to: URL(fileURLWithPath: folder)) }) {
            guard case .network(let url, _) = $0 else { return false }
            // The message names the archive to copy by hand.
            return url == closed.baseURL.absoluteString + Self.name && $0.description.contains("copy \(Self.name) into the output folder")
        }
        #expect(Self.contents(folder) == [])
    }

    /// An archive copied by hand with the wrong MD5, and no network: the error says the file
    /// is there with the wrong checksum (not "copy the archive by hand"), and keeps it.
    @Test func handCopiedArchiveWithAnotherMD5IsNamed() async throws {
        let folder = CIFARFixture.temporaryFolder()
        defer { CIFARFixture.remove(folder) }
        let copied = Data("not the archive".utf8)
        try copied.write(to: URL(fileURLWithPath: folder + "/" + Self.name))
        let closed = LocalHTTPServer(routes: [:])
        closed.stop()
        let downloader = CIFARDownloader(baseURL: closed.baseURL, checksums: [.cifar10: Self.archive.md5])
        let actual = try CIFARDownloader.md5(ofFile: folder + "/" + Self.name)
        await Self.expectDownloadError({ try await downloader.download(dataset: .cifar10, to: URL(fileURLWithPath: folder)) }) {
            guard case .existingArchiveChecksumMismatch(let file, let expected, actual, _) = $0 else { return false }
            return file == folder + "/" + Self.name && expected == Self.archive.md5
                && $0.description.contains("is there, but its MD5 is \(actual)")
        }
        #expect(FileManager.default.contents(atPath: folder + "/" + Self.name) == copied)
        // With the network up, a good download replaces it.
        let url = try await Self.download(.body(Self.archive.data), md5: Self.archive.md5, into: folder)
        #expect(try CIFARDownloader.md5(ofFile: folder + "/" + Self.name) == Self.archive.md5)
        #expect(url.lastPathComponent == "cifar-10-batches-bin")
    }

    @Test func archiveThatTarCannotReadFailsExtraction() async {
        let folder = CIFARFixture.temporaryFolder()
        defer { CIFARFixture.remove(folder) }
        let garbage = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let path = folder + "/garbage"
        CIFARFixture.write(Array(garbage), to: path)
        let md5 = (try? CIFARDownloader.md5(ofFile: path)) ?? ""
        try? FileManager.default.removeItem(atPath: path)
        await Self.expectDownloadError({ try await Self.download(.body(garbage), md5: md5, into: folder) }) {
            guard case .extractionFailed(let archive, _) = $0 else { return false }
            return archive == folder + "/" + Self.name
        }
    }
}

/// The last progress report, shared with URLSession's delegate thread.
final class ProgressBox: @unchecked Sendable {
    private let lock = NSLock()
    private var last: [Int64] = []
    func set(_ received: Int64, _ total: Int64?) { lock.withLock { last = [received, total ?? -1] } }
    var value: [Int64] { lock.withLock { last } }
}
