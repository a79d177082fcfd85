import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Streams one HTTP GET into a file through URLSession, checking the status (must be 200)
/// and that exactly Content-Length bytes arrived.
final class HTTPFileTransfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    typealias Progress = @Sendable (_ receivedBytes: Int64, _ expectedBytes: Int64?) -> Void

    private let url: URL
    private let handle: FileHandle
    private let path: String
    private let progress: Progress?
    private let lock = NSLock()
    private var received: Int64 = 0
    private var expected: Int64?
    private var failure: CIFARDownloadError?
    private var continuation: CheckedContinuation<Void, any Error>?

    private init(url: URL, handle: FileHandle, path: String, progress: Progress?) {
        self.url = url
        self.handle = handle
        self.path = path
        self.progress = progress
    }

    /// Downloads `url` into a new file at `path` (created or truncated).
    /// - Throws: ``CIFARDownloadError`` `.network`, `.httpStatus`, `.truncated` or `.fileSystem`.
    ///   The file is left in place on failure; the caller removes it.
    static func fetch(_ url: URL, to path: String, progress: Progress?) async throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw CIFARDownloadError.fileSystem(path: path, reason: "cannot create the file")
        }
        defer { try? handle.close() }
        let transfer = HTTPFileTransfer(url: url, handle: handle, path: path, progress: progress)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 60
        let session = URLSession(configuration: configuration, delegate: transfer, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            transfer.lock.withLock { transfer.continuation = continuation }
            session.dataTask(with: url).resume()
        }
    }

    private func fail(_ error: CIFARDownloadError) {
        lock.withLock { if failure == nil { failure = error } }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else {
            fail(.httpStatus(url: url.absoluteString, status: status))
            completionHandler(.cancel)
            return
        }
        lock.withLock { expected = response.expectedContentLength >= 0 ? response.expectedContentLength : nil }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        do {
            try handle.write(contentsOf: data)
        } catch {
            fail(.fileSystem(path: path, reason: "writing failed: \(error.localizedDescription)"))
            dataTask.cancel()
            return
        }
        let (now, total) = lock.withLock { () -> (Int64, Int64?) in
            received += Int64(data.count)
            return (received, expected)
        }
        progress?(now, total)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let outcome: CIFARDownloadError? = lock.withLock {
            if let failure { return failure }
            // A short body is reported as truncation whatever error the transport gave.
            if let expected, received != expected {
                return .truncated(url: url.absoluteString, expectedBytes: expected, receivedBytes: received)
            }
            if let error { return .network(url: url.absoluteString, reason: error.localizedDescription) }
            return nil
        }
        let continuation = lock.withLock { () -> CheckedContinuation<Void, any Error>? in
            defer { self.continuation = nil }
            return self.continuation
        }
        if let outcome { continuation?.resume(throwing: outcome) } else { continuation?.resume() }
    }
}
