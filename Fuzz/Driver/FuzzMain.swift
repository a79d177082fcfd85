import Foundation
import FuzzTargets

/// `mobilenet-fuzz TARGET [libFuzzer arguments…]`, TARGET `cifar`, `safetensors`, `png` or `jpeg`.
///
/// Built by `make fuzz` with coverage instrumentation and AddressSanitizer
/// (`-DFUZZING`), it runs libFuzzer's driver on the target. Built plainly (as by
/// `swift build`), it replays the files given instead. In both builds
/// `mobilenet-fuzz TARGET --write-seeds DIR` writes the seed corpus.
///
/// libFuzzer is linked without its own `main` (libclang_rt.fuzzer_no_main) and entered
/// through `LLVMFuzzerRunDriver`, because SwiftPM defines an executable's `main` itself,
/// which clashes with the one `-sanitize=fuzzer` links in.
@main
enum FuzzMain {
    static let targetNames = ["cifar", "safetensors", "png", "jpeg"]

    /// The target's run function and its seeds.
    static func target(_ name: String) -> (run: ([UInt8]) -> String, seeds: () -> [(name: String, bytes: [UInt8])])? {
        switch name {
        case "cifar": return (CIFARFuzzInput.run, { CIFARFuzzInput.seeds })
        case "safetensors": return (SafetensorsFuzzInput.run, { SafetensorsFuzzInput.seeds })
        // The image targets' seeds are the fixture images, copied by `make fuzz`.
        case "png", "jpeg": return (ImageFuzzInput.run, { [] })
        default: return nil
        }
    }

    nonisolated(unsafe) static var current: ([UInt8]) -> String = { _ in "" }

    static func main() {
        var arguments = CommandLine.arguments
        guard arguments.count >= 2, let target = target(arguments[1]) else {
            fail("usage: mobilenet-fuzz \(targetNames.joined(separator: "|")) [--write-seeds DIR | libFuzzer arguments | files to replay]")
        }
        arguments.remove(at: 1)
        if arguments.count == 3, arguments[1] == "--write-seeds" {
            writeSeeds(target.seeds(), to: arguments[2])
            return
        }
        current = target.run
        runFuzzer(arguments)
    }

    static func writeSeeds(_ seeds: [(name: String, bytes: [UInt8])], to folder: String) {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for seed in seeds { try Data(seed.bytes).write(to: URL(fileURLWithPath: folder + "/" + seed.name)) }
        } catch {
            fail("cannot write seeds to \(folder): \(error)")
        }
        print("wrote \(seeds.count) seeds to \(folder)")
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(2)
    }

    #if FUZZING
    static func runFuzzer(_ arguments: [String]) -> Never {
        var argc = CInt(arguments.count)
        var cStrings: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let status = cStrings.withUnsafeMutableBufferPointer { buffer in
            var argv = buffer.baseAddress!
            return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                _ = FuzzMain.current(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
                return 0
            }
        }
        exit(status)
    }
    #else
    /// Replays each file given (a corpus entry or a crash artifact), printing what it led to.
    static func runFuzzer(_ arguments: [String]) -> Never {
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
            print("\(path): \(current([UInt8](data)))")
        }
        exit(0)
    }
    #endif
}

#if FUZZING
/// libFuzzer's entry point when the program has its own `main`.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
#endif
