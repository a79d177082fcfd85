import Foundation

/// Typed access to a safetensors file's `__metadata__`, with errors naming file and key.
struct MetadataReader {
    let file: SafetensorsFile

    func string(_ key: String) throws -> String {
        guard let value = file.metadata[key] else { throw CheckpointError.missingMetadata(path: file.path, key: key) }
        return value
    }

    func int(_ key: String) throws -> Int {
        let text = try string(key)
        guard let value = Int(text) else { throw CheckpointError.badMetadata(path: file.path, key: key, reason: "'\(text)' is not an integer") }
        return value
    }

    func double(_ key: String) throws -> Double {
        let text = try string(key)
        guard let value = Double(text), value.isFinite else {
            throw CheckpointError.badMetadata(path: file.path, key: key, reason: "'\(text)' is not a finite number")
        }
        return value
    }

    func json<T: Decodable>(_ key: String, _ type: T.Type) throws -> T {
        let text = try string(key)
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw CheckpointError.badMetadata(path: file.path, key: key, reason: "not the JSON of \(T.self)")
        }
    }
}
