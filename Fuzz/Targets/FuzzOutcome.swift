/// Names what a fuzz input led to, for triage and for the regression tests.
public enum FuzzOutcome {
    /// "CIFARError.labelOutOfRange" for `CIFARError.labelOutOfRange(path:…)`: the error's
    /// type and enum case (every error case of the readers carries values).
    public static func caseName(_ error: any Error) -> String {
        let label = Mirror(reflecting: error).children.first?.label ?? "\(error)"
        return "\(type(of: error)).\(label)"
    }
}
