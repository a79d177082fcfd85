import Foundation
import Testing
@testable import MobileNet

@Suite struct SafetensorsTests {
    @Test func readsGoldenLayerFile() throws {
        let file = Fixtures.layers
        let entry = try file.entry("relu6.input")
        #expect(entry.dtype == .f32)
        #expect(entry.shape == [1, 2, 2, 2])
        // The relu6 case is built to sit exactly on the kinks 0 and 6.
        let input = try file.floats("relu6.input")
        #expect(input.contains(0) && input.contains(6))
        #expect(try file.entry("xent.target").dtype == .i64)
    }

    @Test func roundTripKeepsNamesShapesValuesAndMetadata() throws {
        var writer = SafetensorsWriter()
        writer.add("b.weight", shape: [2, 3], floats: [1, -2, 3.5, .pi, 0, -0.25])
        writer.add("a.num_batches_tracked", shape: [], int64s: [42])
        writer.add("c.lr", shape: [1], doubles: [0.004])
        writer.metadata = ["epoch": "3", "quote\"d": "line\nbreak"]
        let data = writer.serialized()
        let file = try SafetensorsFile(data: data, path: "memory")
        #expect(file.names == ["a.num_batches_tracked", "b.weight", "c.lr"])
        #expect(try file.entry("b.weight").shape == [2, 3])
        #expect(try file.floats("b.weight") == [1, -2, 3.5, .pi, 0, -0.25])
        #expect(try file.entry("a.num_batches_tracked").shape == [])
        #expect(try file.int64s("a.num_batches_tracked") == [42])
        #expect(try file.doubles("c.lr") == [0.004])
        #expect(file.metadata == ["epoch": "3", "quote\"d": "line\nbreak"])
        // Data section is 8-byte aligned, as the reference writer does.
        let headerLength = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect(headerLength % 8 == 0)
    }
}
