import Foundation
import Testing
import FuzzTargets
@testable import MobileNet

/// Inputs the fuzz targets (`make fuzz`) start from or found, replayed through the same
/// harness, each with the error it must give.
@Suite struct FuzzRegressionTests {
    /// A safetensors file whose header is `json` (padded as the reference writer does) and
    /// whose data section is `dataBytes` zero bytes.
    static func safetensors(_ json: String, dataBytes: Int = 0) -> [UInt8] {
        var header = Array(json.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        return withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header + [UInt8](repeating: 0, count: dataBytes)
    }

    static func parseError(_ bytes: [UInt8]) -> SafetensorsError? {
        do {
            _ = try SafetensorsFile(data: Data(bytes), path: SafetensorsFuzzInput.path)
            return nil
        } catch let error as SafetensorsError {
            return error
        } catch {
            Issue.record("expected SafetensorsError, got \(error)")
            return nil
        }
    }

    @Test func everyCIFARSeedLoads() throws {
        let seeds = CIFARFuzzInput.seeds
        #expect(seeds.count == 11)
        for seed in seeds {
            let input = CIFARFuzzInput(seed.bytes)
            let loaded = try input.load()
            // The fuzzed file holds three records, every other batch two.
            let cifar10 = seed.name.hasPrefix("cifar10-")
            let expected = seed.name.hasSuffix(".txt") ? (cifar10 ? 5 * 2 : 2) : (cifar10 && input.split == .train ? 4 * 2 + 3 : 3)
            #expect(loaded.count == expected, "\(seed.name)")
            CIFARFuzzInput.run(seed.bytes)
        }
    }

    @Test func everySafetensorsSeedParsesAndLoadsIntoTheModel() throws {
        for seed in SafetensorsFuzzInput.seeds {
            let file = try SafetensorsFile(data: Data(seed.bytes), path: seed.name)
            #expect(!file.names.isEmpty)
            SafetensorsFuzzInput.run(seed.bytes)
        }
        let model = MobileNetV1(widthMultiplier: 1.0 / 32)
        let seeds = Dictionary(uniqueKeysWithValues: SafetensorsFuzzInput.seeds.map { ($0.name, $0.bytes) })
        try model.load(from: SafetensorsFile(data: Data(seeds["state-dict"]!), path: "state-dict"))
        try model.load(from: SafetensorsFile(data: Data(seeds["prefixed"]!), path: "prefixed"), prefix: "init.")
        SafetensorsFuzzInput.run([UInt8](try Data(contentsOf: Fixtures.url("mobilenet_v1_w025.safetensors"))))
    }

    /// The kept corpus inputs of `target` (Fixtures/fuzz/<target>/outcomes.txt: file, outcome).
    static func keptInputs(_ target: String) throws -> [(name: String, bytes: [UInt8], outcome: String)] {
        let folder = Fixtures.url("fuzz/" + target)
        let manifest = try String(contentsOf: folder.appendingPathComponent("outcomes.txt"), encoding: .utf8)
        return try manifest.split(separator: "\n").map { line in
            let fields = line.split(separator: "\t").map(String.init)
            return (fields[0], [UInt8](try Data(contentsOf: folder.appendingPathComponent(fields[0]))), fields[1])
        }
    }

    @Test func keptCIFARInputsGiveTheirErrorNamingTheFile() throws {
        let inputs = try Self.keptInputs("cifar")
        #expect(inputs.count == 10)
        for input in inputs {
            #expect(CIFARFuzzInput.run(input.bytes) == input.outcome, "\(input.name)")
            do {
                _ = try CIFARFuzzInput(input.bytes).load()
            } catch {
                #expect(error.description.contains("/fuzz/"), "\(input.name): \(error)")
            }
        }
    }

    /// badMetadataAndDType.bin has a non-object __metadata__ and an unknown dtype: entries are
    /// checked in name order, so it reports the metadata in every run (it used to depend on
    /// the Dictionary's per-process order).
    @Test func keptSafetensorsInputsGiveTheirErrorNamingTheFile() throws {
        let inputs = try Self.keptInputs("safetensors")
        #expect(inputs.count == 10)
        let model = MobileNetV1(widthMultiplier: 1.0 / 32)
        for input in inputs {
            #expect(SafetensorsFuzzInput.run(input.bytes) == input.outcome, "\(input.name)")
            do {
                try model.load(from: SafetensorsFile(data: Data(input.bytes), path: SafetensorsFuzzInput.path))
            } catch {
                #expect("\(error)".contains(SafetensorsFuzzInput.path), "\(input.name): \(error)")
            }
        }
    }

    /// Every decode fixture decodes through the png/jpeg fuzz target, every bad one gives its error.
    @Test func everyImageFixtureRunsThroughTheImageFuzzTarget() throws {
        for fixture in ImageDecoderTests.decodeFixtures {
            let bytes = try #require(ImageDecoderTests.bytes(ImageDecoderTests.folder("decode/" + fixture.name)))
            #expect(ImageFuzzInput.run(bytes) == "decoded \(fixture.width)×\(fixture.height)", "\(fixture.name)")
        }
        for row in ImageDecoderTests.manifest("bad.tsv") {
            let bytes = try #require(ImageDecoderTests.bytes(ImageDecoderTests.folder("bad/" + row[0])))
            #expect(ImageFuzzInput.run(bytes) == "ImageError." + row[1], "\(row[0])")
        }
    }

    /// Inputs the png and jpeg targets found (Fixtures/fuzz/image). tablesOnlyJPEG.bin is a
    /// JPEG whose APP14 segment claims more bytes than the file has: libjpeg-turbo reads it as
    /// a stream of tables only and reports a 0×0 image, which used to trap in RGBImage.init.
    /// The PNG headers claim 1 × 1,048,576 (within the target's pixel limit, over libpng's
    /// 1,000,000 a side) and 16,777,215 × 4,294,967,295 pixels. The two jpeg…AndTruncated
    /// inputs are damaged (libjpeg's first warning is not the truncation one) and end without
    /// an end-of-image marker: they used to decode with grey filling the missing rows, where
    /// Pillow refuses them as truncated. jpegScanMarkerAtTheEnd.bin ends with FF DA, which
    /// made the search for that marker build an empty range the wrong way round (a trap).
    @Test func keptImageInputsGiveTheirErrorNamingTheFile() throws {
        let inputs = try Self.keptInputs("image")
        #expect(inputs.count == 6)
        for input in inputs {
            #expect(ImageFuzzInput.run(input.bytes) == input.outcome, "\(input.name)")
            do {
                _ = try ImageDecoder.decode(input.bytes, path: ImageFuzzInput.path)
            } catch {
                #expect(error.description.contains(ImageFuzzInput.path), "\(input.name): \(error)")
            }
        }
        let tablesOnly = try #require(inputs.first { $0.name == "tablesOnlyJPEG.bin" })
        #expect(throws: ImageError.corrupt(path: "t.jpg", format: .jpeg, reason: "the header gives an empty image, 0×0 pixels")) {
            _ = try ImageDecoder.decode(tablesOnly.bytes, path: "t.jpg")
        }
        for name in ["jpegBogusMarkerLengthAndTruncated.bin", "jpegBadHuffmanCodeAndTruncated.bin"] {
            let input = try #require(inputs.first { $0.name == name })
            guard case .corrupt(_, .jpeg, let reason)? = Self.imageError(input.bytes) else {
                Issue.record("\(name): expected a corrupt JPEG")
                continue
            }
            #expect(reason.hasSuffix(", and the data ends before the end-of-image marker"), "\(name): \(reason)")
        }
        let tall = try #require(inputs.first { $0.name == "pngTallerThanLibpngReads.bin" })
        #expect(throws: ImageError.unsupported(path: "t.png", format: .png, reason: "it is 1×1048576 pixels; libpng reads at most 1000000 pixels a side")) {
            _ = try ImageDecoder.decode(tall.bytes, path: "t.png")
        }
        let huge = try #require(inputs.first { $0.name == "pngHeaderOf4GigapixelRows.bin" })
        #expect(throws: ImageError.tooManyPixels(path: "h.png", width: 16_777_215, height: 4_294_967_295, limit: 1 << 20)) {
            _ = try ImageDecoder.decode(huge.bytes, path: "h.png", maximumPixels: 1 << 20)
        }
    }

    /// The end-of-image search on hand-made byte strings, the edges included.
    @Test func endOfImageMarkerMustFollowTheLastScan() {
        func ends(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { JPEGDecoding.endsItsLastScan($0) } }
        #expect(ends([0xFF, 0xD8, 0xFF, 0xDA, 0x12, 0xFF, 0x00, 0xFF, 0xD9]))
        #expect(ends([0xFF, 0xDA, 0xFF, 0xD9, 0x00, 0x00]))                   // trailing bytes after the end
        #expect(!ends([0xFF, 0xD8, 0xFF, 0xDA, 0x12, 0x34]))                  // cut inside the scan
        #expect(!ends([0xFF, 0xD8, 0x00, 0xFF, 0xDA]))                        // the scan marker is the last thing
        #expect(!ends([0xFF, 0xD8, 0xFF, 0xD9, 0xFF, 0xDA, 0x01, 0x02]))      // an end before the last scan only
        #expect(!ends([0xFF, 0xD8, 0xFF, 0xD9, 0x00]))                        // no scan at all
        #expect(!ends([0xFF, 0xDA, 0xD9]))
    }

    static func imageError(_ bytes: [UInt8]) -> ImageError? {
        do {
            _ = try ImageDecoder.decode(bytes, path: "d.jpg")
            return nil
        } catch {
            return error
        }
    }

    @Test func cifarFileClaimingTerabytesMoreThanItHoldsIsRejectedBeforeAllocating() {
        // Options: CIFAR-10 test split, the seam adds 2⁴⁰ bytes to the size; target test_batch.bin.
        // Its bytes are chosen so that the size claimed is a whole number of 3073-byte records:
        // only the size cap stops the loader from allocating 1 TB.
        let target = CIFARFuzzInput.validFiles(.cifar10).firstIndex { $0.name == "test_batch.bin" }!
        let holding = 3073 - (1 << 40) % 3073
        let claimed = (1 << 40) + holding
        let input = CIFARFuzzInput([0x84, UInt8(target)] + [UInt8](repeating: 0, count: holding))
        #expect(throws: CIFARError.fileTooLarge(path: "/fuzz/test_batch.bin", size: claimed, limit: 3073 << 20)) {
            try input.load()
        }
    }

    @Test func fractionalOrBooleanShapesAndOffsetsAreRejectedNotTruncated() {
        let cases = [
            (#"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, "shape is not an array of integers"),
            (#"{"w":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#, "shape is not an array of integers"),
            (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}}"#, "data_offsets is not a pair of integers"),
            (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[false,4]}}"#, "data_offsets is not a pair of integers"),
            (#"{"w":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]}}"#, "shape is not an array of integers"),
        ]
        for (json, reason) in cases {
            let error = Self.parseError(Self.safetensors(json, dataBytes: 8))
            #expect(error == .badEntry(path: SafetensorsFuzzInput.path, tensor: "w", reason: reason), "\(json)")
            #expect(error?.description.contains(SafetensorsFuzzInput.path) == true)
        }
    }

    @Test func sizesClaimingTerabytesAreRejectedBeforeAllocating() {
        // A header length of 2⁴² bytes in a 64-byte file.
        var bytes = Self.safetensors("{}", dataBytes: 48)
        bytes.replaceSubrange(0..<8, with: withUnsafeBytes(of: (UInt64(1) << 42).littleEndian, Array.init))
        #expect(Self.parseError(bytes) == .headerTooLarge(path: SafetensorsFuzzInput.path, headerLength: 1 << 42, fileSize: 64))
        // A tensor of 2³¹−1 × 2³¹−1 × 4 elements claiming 2⁶⁴ bytes: the element count overflows the data.
        let huge = Self.safetensors(#"{"w":{"dtype":"F64","shape":[2147483647,2147483647,4],"data_offsets":[0,8]}}"#, dataBytes: 8)
        #expect(Self.parseError(huge) == .sizeMismatch(path: SafetensorsFuzzInput.path, tensor: "w", expectedBytes: Int.max, actualBytes: 8))
        // Offsets far past the end of the data section.
        let far = Self.safetensors(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4000000000000,4000000000004]}}"#, dataBytes: 8)
        #expect(Self.parseError(far) == .offsetsOutOfRange(path: SafetensorsFuzzInput.path, tensor: "w", begin: 4_000_000_000_000,
                                                            end: 4_000_000_000_004, dataSize: 8))
    }

    @Test func deeplyNestedHeaderIsNotJSONRatherThanAStackOverflow() {
        let nested = Self.safetensors(String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000))
        guard case .headerNotJSON(let path, _) = Self.parseError(nested) else {
            Issue.record("a 100,000-deep header was not reported as bad JSON")
            return
        }
        #expect(path == SafetensorsFuzzInput.path)
    }
}
