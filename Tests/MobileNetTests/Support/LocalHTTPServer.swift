import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 (ephemeral port) for download tests: POSIX sockets on
/// one Foundation thread, one request per connection, bounded in connections and time, so
/// it stops by itself even if a test forgets to.
final class LocalHTTPServer: @unchecked Sendable {
    enum Reply: Sendable {
        /// 200 with the whole body.
        case body(Data)
        /// 200 announcing the whole body's Content-Length, sending only `sentBytes`, then closing.
        case truncated(Data, sentBytes: Int)
    }

    let port: UInt16
    private let listener: Int32
    private let routes: [String: Reply]
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var stopping = false

    /// Starts serving `routes` (path → reply; other paths get 404) for at most
    /// `maxConnections` connections or `lifetime` seconds.
    init(routes: [String: Reply], maxConnections: Int = 8, lifetime: Double = 30) {
        self.routes = routes
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket: \(String(cString: strerror(errno)))")
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr = in_addr(s_addr: inet_addr("127.0.0.1"))
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        precondition(bound, "bind/listen: \(String(cString: strerror(errno)))")
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        let deadline = Date().addingTimeInterval(lifetime)
        let thread = Thread { [self] in serve(maxConnections: maxConnections, until: deadline) }
        thread.start()
    }

    /// The URL of the folder served.
    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)/")! }

    /// Stops accepting and waits for the thread to end; idempotent.
    func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopping = true }
            return !stopping
        }
        if first { finished.wait() }
    }

    deinit { stop() }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func serve(maxConnections: Int, until deadline: Date) {
        var served = 0
        while served < maxConnections, !isStopping, Date() < deadline {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            served += 1
            respond(on: client)
            close(client)
        }
        close(listener)
        finished.signal()
    }

    private func respond(on client: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while request.count < 16_384, !String(decoding: request, as: UTF8.self).contains("\r\n\r\n") {
            let n = recv(client, &chunk, chunk.count, 0)
            if n <= 0 { return }
            request += chunk[0..<n]
        }
        let words = String(decoding: request, as: UTF8.self).split(separator: " ", maxSplits: 2)
        let path = words.count > 1 ? String(words[1]) : "/"
        switch routes[path] {
        case .body(let data)?:
            send(client, header(status: "200 OK", length: data.count) + data)
        case .truncated(let data, let sentBytes)?:
            send(client, header(status: "200 OK", length: data.count) + data.prefix(sentBytes))
        case nil:
            let body = Data("not found\n".utf8)
            send(client, header(status: "404 Not Found", length: body.count) + body)
        }
    }

    private func header(status: String, length: Int) -> Data {
        Data("HTTP/1.1 \(status)\r\nContent-Type: application/octet-stream\r\nContent-Length: \(length)\r\nConnection: close\r\n\r\n".utf8)
    }

    private func send(_ client: Int32, _ data: Data) {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(client, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
