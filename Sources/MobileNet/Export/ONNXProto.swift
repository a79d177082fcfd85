// The ONNX messages the export writes, each with its encoding (field numbers from
// onnx.proto; the comment beside each field gives its number and protobuf type).
// Only what an inference graph of float tensors needs: no sparse tensors, functions,
// subgraphs or training info.

/// ONNX's element type FLOAT (TensorProto.DataType 1).
public let onnxFloat = 1

/// TensorProto: a named float tensor, its values as little-endian IEEE 754 bytes in `raw_data`.
public struct ONNXTensor: Sendable {
    public var name: String
    /// The shape; empty for a scalar.
    public var dims: [Int]
    /// Row-major (C order) values; count = product of `dims` (1 for a scalar).
    public var values: [Float]

    /// - Precondition: `values.count` equals the product of `dims`.
    public init(name: String, dims: [Int], values: [Float]) {
        precondition(values.count == dims.reduce(1, *), "tensor \(name): \(values.count) values for shape \(dims)")
        self.name = name
        self.dims = dims
        self.values = values
    }

    /// dims = 1 (int64, repeated), data_type = 2 (int32), name = 8 (string), raw_data = 9 (bytes).
    public var encoded: ProtobufWriter {
        var w = ProtobufWriter()
        for d in dims { w.int(1, d) }
        w.int(2, onnxFloat)
        w.string(8, name)
        var raw = [UInt8]()
        raw.reserveCapacity(values.count * 4)
        for v in values {
            let bits = v.bitPattern
            raw += [UInt8(truncatingIfNeeded: bits), UInt8(truncatingIfNeeded: bits >> 8),
                    UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 24)]
        }
        w.bytes(9, raw)
        return w
    }
}

/// One dimension of a TensorShapeProto: a fixed size or a named symbolic one.
public enum ONNXDimension: Sendable, Equatable {
    case value(Int)
    case parameter(String)
}

/// ValueInfoProto of a float tensor: a graph input or output with its type and shape.
public struct ONNXValueInfo: Sendable {
    public var name: String
    public var shape: [ONNXDimension]

    public init(name: String, shape: [ONNXDimension]) {
        self.name = name
        self.shape = shape
    }

    /// ValueInfoProto: name = 1, type = 2 (TypeProto); TypeProto: tensor_type = 1
    /// (TypeProto.Tensor: elem_type = 1, shape = 2); TensorShapeProto: dim = 1
    /// (Dimension: dim_value = 1 int64, dim_param = 2 string).
    public var encoded: ProtobufWriter {
        var w = ProtobufWriter()
        w.string(1, name)
        w.message(2) { type in
            type.message(1) { tensor in
                tensor.int(1, onnxFloat)
                tensor.message(2) { shapeProto in
                    for dimension in shape {
                        shapeProto.message(1) { dim in
                            switch dimension {
                            case .value(let size): dim.int(1, size)
                            case .parameter(let name): dim.string(2, name)
                            }
                        }
                    }
                }
            }
        }
        return w
    }
}

/// AttributeProto of the kinds the export uses: an int, a list of ints, a float or a string.
public struct ONNXAttribute: Sendable {
    public enum Value: Sendable, Equatable {
        case int(Int)
        case ints([Int])
        case float(Float)
        case string(String)
    }

    public var name: String
    public var value: Value

    public init(_ name: String, _ value: Value) {
        self.name = name
        self.value = value
    }

    /// name = 1, f = 2 (float), i = 3 (int64), s = 4 (bytes), ints = 8 (repeated int64),
    /// type = 20 (AttributeType: FLOAT 1, INT 2, STRING 3, INTS 7).
    public var encoded: ProtobufWriter {
        var w = ProtobufWriter()
        w.string(1, name)
        switch value {
        case .float(let f): w.float(2, f); w.int(20, 1)
        case .int(let i): w.int(3, i); w.int(20, 2)
        case .string(let s): w.string(4, s); w.int(20, 3)
        case .ints(let list): for i in list { w.int(8, i) }; w.int(20, 7)
        }
        return w
    }
}

/// NodeProto: one operator of the default ("ai.onnx") domain.
public struct ONNXNode: Sendable {
    public var opType: String
    public var name: String
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [ONNXAttribute]

    public init(_ opType: String, name: String, inputs: [String], outputs: [String], attributes: [ONNXAttribute] = []) {
        self.opType = opType
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }

    /// input = 1, output = 2, name = 3, op_type = 4 (strings), attribute = 5 (AttributeProto).
    public var encoded: ProtobufWriter {
        var w = ProtobufWriter()
        for i in inputs { w.string(1, i) }
        for o in outputs { w.string(2, o) }
        w.string(3, name)
        w.string(4, opType)
        for a in attributes { w.message(5, a.encoded) }
        return w
    }
}

/// GraphProto: nodes in topological order, weights as initializers, the graph's inputs and outputs.
public struct ONNXGraph: Sendable {
    public var name: String
    public var nodes: [ONNXNode]
    public var initializers: [ONNXTensor]
    public var inputs: [ONNXValueInfo]
    public var outputs: [ONNXValueInfo]

    public init(name: String, nodes: [ONNXNode], initializers: [ONNXTensor], inputs: [ONNXValueInfo], outputs: [ONNXValueInfo]) {
        self.name = name
        self.nodes = nodes
        self.initializers = initializers
        self.inputs = inputs
        self.outputs = outputs
    }

    /// node = 1, name = 2, initializer = 5, input = 11, output = 12.
    public var encoded: ProtobufWriter {
        var w = ProtobufWriter()
        for n in nodes { w.message(1, n.encoded) }
        w.string(2, name)
        for t in initializers { w.message(5, t.encoded) }
        for i in inputs { w.message(11, i.encoded) }
        for o in outputs { w.message(12, o.encoded) }
        return w
    }
}

/// ModelProto: the file. Opset of the default domain only.
public struct ONNXModel: Sendable {
    /// The IR version: 7 goes with opset 13 (ONNX 1.8).
    public var irVersion: Int
    /// The ai.onnx operator set version.
    public var opsetVersion: Int
    public var producerName: String
    public var producerVersion: String
    public var docString: String
    public var graph: ONNXGraph
    /// StringStringEntryProto pairs, in order.
    public var metadataProps: [(key: String, value: String)]

    public init(irVersion: Int, opsetVersion: Int, producerName: String, producerVersion: String, docString: String,
                graph: ONNXGraph, metadataProps: [(key: String, value: String)]) {
        self.irVersion = irVersion
        self.opsetVersion = opsetVersion
        self.producerName = producerName
        self.producerVersion = producerVersion
        self.docString = docString
        self.graph = graph
        self.metadataProps = metadataProps
    }

    /// ir_version = 1, producer_name = 2, producer_version = 3, doc_string = 6, graph = 7,
    /// opset_import = 8 (OperatorSetIdProto: domain = 1, version = 2), metadata_props = 14
    /// (StringStringEntryProto: key = 1, value = 2).
    public var encoded: ProtobufWriter {
        var w = ProtobufWriter()
        w.int(1, irVersion)
        w.string(2, producerName)
        if !producerVersion.isEmpty { w.string(3, producerVersion) }
        w.string(6, docString)
        w.message(7, graph.encoded)
        w.message(8) { opset in
            opset.string(1, "")
            opset.int(2, opsetVersion)
        }
        for (key, value) in metadataProps {
            w.message(14) { entry in
                entry.string(1, key)
                entry.string(2, value)
            }
        }
        return w
    }
}
