/// ‖a − b‖₂ / ‖b‖₂ in Double (0 when both are zero, +inf when only b is): the norm-wise
/// comparison the tests use against PyTorch, for results whose summation order differs.
/// - Precondition: equal counts.
public func relativeL2Difference(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "expected equal counts, got \(a.count) and \(b.count)")
    var difference = 0.0, norm = 0.0
    for i in 0..<a.count {
        let d = Double(a[i]) - Double(b[i])
        difference += d * d
        norm += Double(b[i]) * Double(b[i])
    }
    if difference == 0 { return 0 }
    return norm > 0 ? (difference / norm).squareRoot() : .infinity
}

/// Per tensor, how far model file `a` is from the reference `b`: F32 tensors by
/// ``relativeL2Difference(_:_:)``, I64 tensors (num_batches_tracked) 0 when equal, else +inf.
/// - Returns: (tensor name, relative difference) for every tensor of `b`, in name order.
/// - Throws: ``ModelComparisonError`` when the files do not hold the same tensors and shapes;
///   ``SafetensorsError`` for a damaged file.
public func compareModels(_ a: SafetensorsFile, reference b: SafetensorsFile) throws -> [(name: String, relativeDifference: Double)] {
    guard a.names == b.names else {
        throw ModelComparisonError.differentTensors(a.path, b.path, Set(a.names).symmetricDifference(b.names).sorted())
    }
    return try b.names.map { name in
        let ea = try a.entry(name), eb = try b.entry(name)
        guard ea.shape == eb.shape, ea.dtype == eb.dtype else {
            throw ModelComparisonError.differentShape(name, "\(ea.dtype) \(ea.shape)", "\(eb.dtype) \(eb.shape)")
        }
        if eb.dtype == .f32 { return (name, relativeL2Difference(try a.floats(name), try b.floats(name))) }
        return (name, try a.rawBytes(name) == b.rawBytes(name) ? 0 : .infinity)
    }
}

/// Why two model files cannot be compared tensor by tensor.
public enum ModelComparisonError: Error, CustomStringConvertible, Equatable {
    case differentTensors(String, String, [String])
    case differentShape(String, String, String)

    public var description: String {
        switch self {
        case .differentTensors(let a, let b, let names):
            return "\(a) and \(b) hold different tensors (\(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", …" : "")): they are not the same architecture."
        case .differentShape(let name, let a, let b):
            return "tensor '\(name)' is \(a) in one file and \(b) in the other: they are not the same architecture."
        }
    }
}
