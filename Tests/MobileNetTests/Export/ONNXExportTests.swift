import Foundation
import Testing
@testable import MobileNet
@testable import Trainer
import ArgumentParser

/// A protobuf reader for the tests only: a message as its fields by number, in order.
struct ProtobufFields {
    enum Value: Equatable {
        case varint(UInt64)
        case fixed32(UInt32)
        case bytes([UInt8])
    }

    private(set) var fields: [(number: Int, value: Value)] = []

    init(_ bytes: [UInt8]) throws {
        var i = 0
        func varint() throws -> UInt64 {
            var value: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < bytes.count, shift < 64 else { throw ReadError.truncated }
                let byte = bytes[i]
                i += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
        }
        while i < bytes.count {
            let key = try varint()
            let number = Int(key >> 3)
            switch key & 7 {
            case 0: fields.append((number, .varint(try varint())))
            case 2:
                let length = Int(try varint())
                guard i + length <= bytes.count else { throw ReadError.truncated }
                fields.append((number, .bytes(Array(bytes[i..<i + length]))))
                i += length
            case 5:
                guard i + 4 <= bytes.count else { throw ReadError.truncated }
                fields.append((number, .fixed32(UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)))
                i += 4
            default: throw ReadError.wireType(Int(key & 7))
            }
        }
    }

    enum ReadError: Error { case truncated, wireType(Int) }

    func ints(_ number: Int) -> [Int] {
        fields.compactMap { if $0.number == number, case .varint(let v) = $0.value { Int(Int64(bitPattern: v)) } else { nil } }
    }
    func int(_ number: Int) -> Int? { ints(number).last }
    func bytesList(_ number: Int) -> [[UInt8]] {
        fields.compactMap { if $0.number == number, case .bytes(let b) = $0.value { b } else { nil } }
    }
    func strings(_ number: Int) -> [String] { bytesList(number).map { String(decoding: $0, as: UTF8.self) } }
    func string(_ number: Int) -> String? { strings(number).last }
    func messages(_ number: Int) throws -> [ProtobufFields] { try bytesList(number).map(ProtobufFields.init) }
    func message(_ number: Int) throws -> ProtobufFields { try #require(try messages(number).last) }
}

/// The graph read back: what onnx.checker and a deployment look at.
struct ONNXReadBack {
    struct Node {
        var opType: String, name: String, inputs: [String], outputs: [String]
        var ints: [String: [Int]]
    }

    var irVersion: Int, opset: [String: Int], producer: String
    var nodes: [Node]
    var initializers: [String: (dims: [Int], values: [Float])]
    var inputs: [(name: String, shape: [String])], outputs: [(name: String, shape: [String])]
    var metadata: [String: String]

    init(_ bytes: [UInt8]) throws {
        let model = try ProtobufFields(bytes)
        irVersion = try #require(model.int(1))
        producer = model.string(2) ?? ""
        opset = [:]
        for o in try model.messages(8) { opset[o.string(1) ?? ""] = o.int(2) }
        metadata = [:]
        for entry in try model.messages(14) { metadata[entry.string(1) ?? ""] = entry.string(2) }
        let graph = try model.message(7)
        nodes = try graph.messages(1).map { node in
            var ints: [String: [Int]] = [:]
            for a in try node.messages(5) {
                let name = a.string(1) ?? ""
                switch a.int(20) {
                case 2: ints[name] = [a.int(3) ?? 0]
                case 7: ints[name] = a.ints(8)
                default: Issue.record("unexpected attribute type \(String(describing: a.int(20))) of \(name)")
                }
            }
            return Node(opType: node.string(4) ?? "", name: node.string(3) ?? "", inputs: node.strings(1), outputs: node.strings(2), ints: ints)
        }
        initializers = [:]
        for t in try graph.messages(5) {
            #expect(t.int(2) == 1, "FLOAT")
            let raw = try #require(t.bytesList(9).last)
            let values = stride(from: 0, to: raw.count, by: 4).map {
                Float(bitPattern: UInt32(raw[$0]) | UInt32(raw[$0 + 1]) << 8 | UInt32(raw[$0 + 2]) << 16 | UInt32(raw[$0 + 3]) << 24)
            }
            initializers[t.string(8) ?? ""] = (t.ints(1), values)
        }
        func valueInfo(_ v: ProtobufFields) throws -> (name: String, shape: [String]) {
            let tensor = try v.message(2).message(1)
            #expect(tensor.int(1) == 1, "elem_type FLOAT")
            let dims = try tensor.message(2).messages(1).map { d in d.int(1).map(String.init) ?? d.string(2) ?? "?" }
            return (v.string(1) ?? "", dims)
        }
        inputs = try graph.messages(11).map(valueInfo)
        outputs = try graph.messages(12).map(valueInfo)
    }
}

@Suite struct ProtobufWriterTests {
    @Test func varintsMatchTheProtobufEncodingDocument() {
        // (value, bytes): 1 byte up to 127, 300 = 0b10_0101100 → AC 02, and the 10-byte maximum.
        let vectors: [(UInt64, [UInt8])] = [
            (0, [0x00]), (1, [0x01]), (127, [0x7f]), (128, [0x80, 0x01]), (150, [0x96, 0x01]), (300, [0xac, 0x02]),
            (16_383, [0xff, 0x7f]), (16_384, [0x80, 0x80, 0x01]),
            (UInt64(UInt32.max), [0xff, 0xff, 0xff, 0xff, 0x0f]),
            (UInt64.max, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
        ]
        for (value, bytes) in vectors {
            var w = ProtobufWriter()
            w.appendVarint(value)
            #expect(w.bytes == bytes, "varint \(value)")
        }
        // int64 −1 is the 64-bit two's complement: ten bytes.
        var negative = ProtobufWriter()
        negative.int(1, -1)
        #expect(negative.bytes == [0x08] + [UInt8](repeating: 0xff, count: 9) + [0x01])
    }

    @Test func fieldsOfEachWireTypeByHand() {
        // Field 1 varint 150: key 1<<3|0 = 08, then 96 01 (the protobuf documentation's example).
        var w = ProtobufWriter()
        w.int(1, 150)
        #expect(w.bytes == [0x08, 0x96, 0x01])
        // Field 2 string "testing": key 2<<3|2 = 12, length 07, bytes.
        w = ProtobufWriter()
        w.string(2, "testing")
        #expect(w.bytes == [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67])
        // Field 2 float 1.0: key 2<<3|5 = 15, then 0x3F800000 little-endian.
        w = ProtobufWriter()
        w.float(2, 1)
        #expect(w.bytes == [0x15, 0x00, 0x00, 0x80, 0x3f])
        // Field 20 (two-byte key): 20<<3|0 = 160 = A0 01.
        w = ProtobufWriter()
        w.int(20, 7)
        #expect(w.bytes == [0xa0, 0x01, 0x07])
    }

    @Test func smallONNXMessagesByHand() {
        // ValueInfoProto{name "x", type{tensor_type{elem_type 1, shape{dim{dim_param "N"}, dim{dim_value 3}}}}}:
        // shape = 0A 03 (12 01 4E) 0A 02 (08 03) → 9 bytes; tensor = 08 01 12 09 <shape> → 13;
        // type = 0A 0D <tensor> → 15; value info = 0A 01 78 12 0F <type>.
        let info = ONNXValueInfo(name: "x", shape: [.parameter("N"), .value(3)])
        #expect(info.encoded.bytes == [0x0a, 0x01, 0x78, 0x12, 0x0f, 0x0a, 0x0d, 0x08, 0x01, 0x12, 0x09,
                                       0x0a, 0x03, 0x12, 0x01, 0x4e, 0x0a, 0x02, 0x08, 0x03])
        // AttributeProto{name "axis", i 1, type INT}: 0A 04 "axis" 18 01 A0 01 02.
        #expect(ONNXAttribute("axis", .int(1)).encoded.bytes == [0x0a, 0x04, 0x61, 0x78, 0x69, 0x73, 0x18, 0x01, 0xa0, 0x01, 0x02])
        // AttributeProto{name "p", ints [0, 2], type INTS}: 0A 01 70 40 00 40 02 A0 01 07.
        #expect(ONNXAttribute("p", .ints([0, 2])).encoded.bytes == [0x0a, 0x01, 0x70, 0x40, 0x00, 0x40, 0x02, 0xa0, 0x01, 0x07])
        // TensorProto{dims [2], data_type 1, name "b", raw_data 1.0 −2.0}:
        // 08 02 10 01 42 01 62 4A 08 (00 00 80 3F) (00 00 00 C0).
        #expect(ONNXTensor(name: "b", dims: [2], values: [1, -2]).encoded.bytes
                == [0x08, 0x02, 0x10, 0x01, 0x42, 0x01, 0x62, 0x4a, 0x08, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0])
        // NodeProto{input "a", output "b", name "n", op_type "Relu"}: 0A 01 61 12 01 62 1A 01 6E 22 04 "Relu".
        #expect(ONNXNode("Relu", name: "n", inputs: ["a"], outputs: ["b"]).encoded.bytes
                == [0x0a, 0x01, 0x61, 0x12, 0x01, 0x62, 0x1a, 0x01, 0x6e, 0x22, 0x04, 0x52, 0x65, 0x6c, 0x75])
    }

    @Test func theTestReaderReadsWhatTheWriterWrites() throws {
        var w = ProtobufWriter()
        w.int(1, 300)
        w.string(2, "é")
        w.message(3) { $0.int(1, -5) }
        let read = try ProtobufFields(w.bytes)
        let inner = try read.message(3)
        #expect(read.int(1) == 300 && read.string(2) == "é" && inner.int(1) == -5)
    }
}

@Suite struct ONNXExportTests {
    static func exported(classes: Int, widthMultiplier: Double, names: [String]) throws -> (MobileNetV1, ONNXReadBack) {
        let model = MobileNetV1(numClasses: classes, widthMultiplier: widthMultiplier, seed: 7)
        // Non-trivial running statistics, so the folded weights differ from the raw ones.
        for (_, value) in model.namedBuffers { if case .float(let t) = value { for i in 0..<t.count { t.data[i] = 0.5 + Float(i % 7) * 0.1 } } }
        let onnx = model.onnxModel(metadata: .cifar(classNames: names))
        return (model, try ONNXReadBack(onnx.encoded.bytes))
    }

    @Test(arguments: [(10, 0.25), (100, 0.5)])
    func graphStructure(classes: Int, widthMultiplier: Double) throws {
        let names = (0..<classes).map { "class \($0) \"q\"" }
        let (model, graph) = try Self.exported(classes: classes, widthMultiplier: widthMultiplier, names: names)
        #expect(graph.irVersion == 7 && graph.opset == ["": 13])
        #expect(graph.producer == "mobilenet-train export")
        // Kinds and order: (Conv, Clip) × 27, GlobalAveragePool, Flatten, Gemm.
        let kinds = graph.nodes.map(\.opType)
        #expect(kinds.count == 57)
        #expect(Array(kinds.prefix(54)) == Array(repeating: ["Conv", "Clip"], count: 27).flatMap { $0 })
        #expect(Array(kinds.suffix(3)) == ["GlobalAveragePool", "Flatten", "Gemm"])
        #expect(!kinds.contains("BatchNormalization"))
        // Each node reads the previous one's output; the first reads `input`, the last writes `logits`.
        #expect(graph.nodes.first?.inputs.first == "input" && graph.nodes.last?.outputs == ["logits"])
        for (a, b) in zip(graph.nodes, graph.nodes.dropFirst()) { #expect(b.inputs.first == a.outputs.first) }
        // Interface.
        #expect(graph.inputs.map(\.name) == ["input"] && graph.inputs.first?.shape == ["N", "3", "32", "32"])
        #expect(graph.outputs.map(\.name) == ["logits"] && graph.outputs.first?.shape == ["N", "\(classes)"])
        // Convolutions: entry dense 3×3, then depthwise (group = channels, stride from the block table) and pointwise.
        let convs = graph.nodes.filter { $0.opType == "Conv" }
        #expect(convs[0].ints["group"] == [1] && convs[0].ints["kernel_shape"] == [3, 3] && convs[0].ints["pads"] == [1, 1, 1, 1])
        for (i, spec) in MobileNetV1.blockTable.enumerated() {
            let dw = convs[1 + 2 * i], pw = convs[2 + 2 * i]
            let cin = MobileNetV1.scaledChannels(spec.inChannels, widthMultiplier)
            #expect(dw.ints["group"] == [cin] && dw.ints["strides"] == [spec.stride, spec.stride] && dw.ints["pads"] == [1, 1, 1, 1])
            #expect(graph.initializers[dw.inputs[1]]?.dims == [cin, 1, 3, 3])
            #expect(pw.ints["group"] == [1] && pw.ints["kernel_shape"] == [1, 1] && pw.ints["pads"] == [0, 0, 0, 0])
            #expect(graph.initializers[pw.inputs[1]]?.dims == [MobileNetV1.scaledChannels(spec.outChannels, widthMultiplier), cin, 1, 1])
        }
        for clip in graph.nodes where clip.opType == "Clip" { #expect(Array(clip.inputs.dropFirst()) == ["relu6_min", "relu6_max"]) }
        #expect(graph.initializers["relu6_min"]?.values == [0] && graph.initializers["relu6_min"]?.dims == [])
        #expect(graph.initializers["relu6_max"]?.values == [6])
        let gemm = try #require(graph.nodes.last)
        #expect(gemm.ints["transB"] == [1] && graph.initializers[gemm.inputs[1]]?.dims == [classes, model.linear.weight.value.shape[1]])
        #expect(graph.nodes[graph.nodes.count - 2].ints["axis"] == [1])
        // Every node input is the graph input, an initializer or an earlier output.
        var known = Set(graph.initializers.keys).union(["input"])
        for node in graph.nodes {
            for input in node.inputs { #expect(known.contains(input), "\(node.name) reads \(input)") }
            known.formUnion(node.outputs)
        }
        // Metadata.
        let decodedNames = try JSONDecoder().decode([String].self, from: Data(try #require(graph.metadata["class_names"]).utf8))
        #expect(decodedNames == names)
        #expect(graph.metadata["image_size"] == "32" && graph.metadata["num_classes"] == "\(classes)")
        #expect(graph.metadata["mean"] == "[0.4914, 0.4822, 0.4465]" && graph.metadata["std"] == "[0.2023, 0.1994, 0.201]")
        #expect(graph.metadata["width_multiplier"] == "\(widthMultiplier)" && graph.metadata["producer"] == "mobilenet-train export")
    }

    /// The initializers are the folded weights, bit for bit: W' = s·W, b' = β − s·μ with
    /// s = γ/√(σ² + eps), computed here in Double from the unfolded model.
    @Test func initializersAreTheFoldedWeights() throws {
        let (model, graph) = try Self.exported(classes: 10, widthMultiplier: 0.25, names: (0..<10).map(String.init))
        let block = model.blocks[3]
        let norm = block.pointNorm, weight = block.pointwise.weight.value
        let name = MobileNetV1.blockTable[3].name
        let tensor = try #require(graph.initializers[name + ".pointwise.weight"])
        let bias = try #require(graph.initializers[name + ".pointwise.bias"])
        let perChannel = weight.count / weight.shape[0]
        for c in 0..<weight.shape[0] {
            let s = Double(norm.weight.value.data[c]) / (Double(norm.runningVar.data[c]) + Double(norm.eps)).squareRoot()
            #expect(bias.values[c] == Float(Double(norm.bias.value.data[c]) - s * Double(norm.runningMean.data[c])))
            for i in 0..<perChannel { #expect(tensor.values[c * perChannel + i] == Float(s * Double(weight.data[c * perChannel + i]))) }
        }
        #expect(graph.initializers["linear.weight"]?.values == Array(model.linear.weight.value.buffer))
    }
}

/// `export`'s choice of format and its refusals, all before the model is read.
@Suite struct ExportCommandTests {
    static func command(_ arguments: [String]) throws -> ExportCommand {
        try #require(try MobileNetTrain.parseAsRoot(["export"] + arguments) as? ExportCommand)
    }

    /// A folder holding a saved α = 1/8 model, `model.safetensors`.
    static func folderWithModel() throws -> (folder: String, model: String) {
        let folder = CIFARFixture.temporaryFolder()
        let path = folder + "/model.safetensors"
        try MobileNetV1(numClasses: 10, widthMultiplier: 0.125, seed: 2).save(to: path)
        return (folder, path)
    }

    /// The message of the ``CommandFailure`` `body` throws, or nil.
    static func failure(_ body: () throws -> Void) -> String? {
        do { try body() } catch let error as CommandFailure { return error.description } catch { return "\(error)" }
        return nil
    }

    @Test func theFormatFollowsTheExtensionAndAContradictionIsRefused() throws {
        #expect(try Self.command(["--checkpoint", "m", "--output", "a.onnx"]).resolvedFormat() == .onnx)
        #expect(try Self.command(["--checkpoint", "m", "--output", "a.ONNX", "--format", "onnx"]).resolvedFormat() == .onnx)
        #expect(try Self.command(["--checkpoint", "m", "--output", "a.safetensors"]).resolvedFormat() == .safetensors)
        for (arguments, words) in [(["--output", "a.onnx", "--format", "safetensors"], "--format safetensors contradicts --output a.onnx"),
                                   (["--output", "a.safetensors", "--format", "onnx"], "--format onnx contradicts"),
                                   (["--output", "model.bin"], "--output model.bin: unknown extension '.bin'"),
                                   (["--output", "model"], "--output model: unknown extension ''")] {
            do {
                _ = try Self.command(["--checkpoint", "m"] + arguments)
                Issue.record("\(arguments) accepted")
            } catch {
                let message = MobileNetTrain.message(for: error)
                #expect(message.contains(words), "\(arguments): \(message)")
            }
        }
    }

    @Test func writesONNXUnderAnONNXNameAndSafetensorsUnderASafetensorsName() throws {
        let (folder, model) = try Self.folderWithModel()
        defer { CIFARFixture.remove(folder) }
        try Self.command(["--checkpoint", model, "--output", folder + "/out.onnx"]).run()
        let graph = try ONNXReadBack(Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/out.onnx"))))
        #expect(graph.nodes.count == 57 && graph.outputs.first?.shape == ["N", "10"])
        #expect(try JSONDecoder().decode([String].self, from: Data(graph.metadata["class_names"]!.utf8)) == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"])
        try Self.command(["--checkpoint", model, "--output", folder + "/out.safetensors"]).run()
        let back = try MobileNetV1(contentsOf: try SafetensorsFile(contentsOfFile: folder + "/out.safetensors"), strict: true)
        #expect(back.widthMultiplier == 0.125)
        // No temporary file is left beside them.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["model.safetensors", "out.onnx", "out.safetensors"])
    }

    @Test func refusesOutputsThatWouldDestroySomethingOrCannotBeWritten() throws {
        let (folder, model) = try Self.folderWithModel()
        defer { CIFARFixture.remove(folder) }
        let before = try Data(contentsOf: URL(fileURLWithPath: model))
        try FileManager.default.createDirectory(atPath: folder + "/dir.onnx", withIntermediateDirectories: false)
        let cases: [(String, String)] = [
            (model, "--output \(model) is the model being exported"),
            (folder + "/./model.safetensors", "is the model being exported"),
            (folder + "/dir.onnx", "--output \(folder)/dir.onnx: it is a folder"),
            (folder + "/missing/m.onnx", "--output \(folder)/missing/m.onnx: the folder \(folder)/missing does not exist"),
        ]
        for (output, words) in cases {
            let message = Self.failure { _ = try Self.command(["--checkpoint", model, "--output", output]).checkOutput() }
            #expect(message?.contains(words) == true, "\(output): \(message ?? "accepted")")
        }
        // run() refuses the same way and leaves the model as it was.
        #expect(throws: (any Error).self) { try Self.command(["--checkpoint", model, "--output", model]).run() }
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == before)
    }

    @Test func refusesTheRunsDataFolderAndItsCheckpointFolders() throws {
        let root = CIFARFixture.temporaryFolder()
        defer { CIFARFixture.remove(root) }
        let data = root + "/data", checkpoint = root + "/runs/step-1"
        for path in [data, checkpoint] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        try FileManager.default.createSymbolicLink(atPath: root + "/linked", withDestinationPath: data)
        let options = CheckpointFixture.options()
        let run = try CheckpointFixture.run(options: options, train: CheckpointFixture.dataset(), directory: nil)
        var dataset = CheckpointFixture.description(of: CheckpointFixture.dataset())
        dataset.dataPath = data
        try TrainingCheckpoint.write(session: run.session, epoch: 0, step: 0, dataset: dataset, bestAccuracy: nil, into: checkpoint)
        let state = try Data(contentsOf: URL(fileURLWithPath: checkpoint + "/training_state.safetensors"))
        let cases: [(String, String)] = [
            (data + "/m.onnx", "--output \(data)/m.onnx is inside the data folder \(data)"),
            (root + "/linked/m.onnx", "--output \(root)/linked/m.onnx is inside the data folder \(data)"),
            (checkpoint + "/training_state.safetensors", "is inside the training checkpoint folder"),
            (checkpoint + "/model.onnx", "is inside the training checkpoint folder"),
            (checkpoint + "/model.safetensors", "is the model being exported"),
        ]
        for (output, words) in cases {
            let message = Self.failure { _ = try Self.command(["--checkpoint", checkpoint, "--output", output]).checkOutput() }
            #expect(message?.contains(words) == true, "\(output): \(message ?? "accepted")")
        }
        #expect(throws: (any Error).self) { try Self.command(["--checkpoint", checkpoint, "--output", checkpoint + "/training_state.safetensors"]).run() }
        #expect(try Data(contentsOf: URL(fileURLWithPath: checkpoint + "/training_state.safetensors")) == state)
        // The run's class names go into the ONNX metadata.
        try Self.command(["--checkpoint", checkpoint, "--output", root + "/m.onnx"]).run()
        let graph = try ONNXReadBack(Array(try Data(contentsOf: URL(fileURLWithPath: root + "/m.onnx"))))
        #expect(graph.metadata["class_names"] == String(decoding: try JSONEncoder().encode(CIFARFixture.cifar10Names), as: UTF8.self))
    }

    @Test func aDamagedCheckpointFailsAsInEvaluateAndWritesNothing() throws {
        let (folder, model) = try Self.folderWithModel()
        defer { CIFARFixture.remove(folder) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: model))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: model))
        // The error export reports is the one LoadedModel throws, which evaluate reports too.
        let expected = Self.failure { _ = try LoadedModel(checkpoint: model, strict: true) }
        #expect(expected?.contains(model) == true)
        #expect(throws: ExitCode.failure) { try Self.command(["--checkpoint", model, "--output", folder + "/m.onnx"]).run() }
        #expect(!FileManager.default.fileExists(atPath: folder + "/m.onnx"))
    }

    @Test func classNamesFromAFileMustMatchTheClassCount() throws {
        let (folder, model) = try Self.folderWithModel()
        defer { CIFARFixture.remove(folder) }
        try "a\nb\n".write(toFile: folder + "/names.txt", atomically: true, encoding: .utf8)
        let command = try Self.command(["--checkpoint", model, "--output", folder + "/m.onnx", "--class-names", folder + "/names.txt"])
        #expect(Self.failure { _ = try command.exportedClassNames(classes: 10, run: nil) }?.contains("lists 2 names, but the model has 10 classes") == true)
        #expect(try command.exportedClassNames(classes: 2, run: nil) == ["a", "b"])
        let bare = try Self.command(["--checkpoint", model, "--output", folder + "/m.onnx"])
        #expect(Self.failure { _ = try bare.exportedClassNames(classes: 100, run: nil) }?.contains("--class-names") == true)
    }
}
