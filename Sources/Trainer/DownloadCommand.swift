import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet-train download`: fetch the official binary archive, check its MD5, extract it.
struct DownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download CIFAR-10 or CIFAR-100 (official binary version), verify its MD5 and extract it.",
        discussion: "The archive goes to a temporary file in --output, is checked against the published MD5, and is extracted to --output/cifar-10-batches-bin (or cifar-100-binary); the extracted files are then validated."
    )

    @Option(help: "cifar10 or cifar100.")
    var dataset: Dataset = .cifar10

    @Option(help: "Folder to extract into (created if missing).")
    var output: String = "data"

    @Option(help: ArgumentHelp("Base URL of the archives (a mirror).", visibility: .hidden))
    var baseURL: String?

    func run() async throws {
        var downloader = CIFARDownloader()
        if let baseURL {
            guard let url = URL(string: baseURL) else { throw ValidationError("--base-url: '\(baseURL)' is not a URL") }
            downloader.baseURL = url
        }
        print("Downloading \(dataset) from \(downloader.baseURL.absoluteString) into \(output) …")
        do {
            let folder = try await downloader.download(dataset: dataset, to: URL(fileURLWithPath: output)) { received, total in
                if let total, total > 0 {
                    FileHandle.standardError.write(Data(String(format: "\r%5.1f%% of %.1f MB", 100 * Double(received) / Double(total), Double(total) / 1e6).utf8))
                }
            }
            FileHandle.standardError.write(Data("\n".utf8))
            print("\(dataset) is ready in \(folder.path); train with --data \(folder.path)")
        } catch let error as CIFARDownloadError {
            printError("error: \(error.description)")
            throw ExitCode.failure
        }
    }
}

extension Dataset: ExpressibleByArgument {}
