import Foundation
import MobileNet

/// `predict`'s report of the images it predicted (those that could not be read are left
/// out; `predict` lists them on standard error), in one of three formats.
struct PredictionReport {
    let format: PredictFormat

    /// One JSON object per image.
    private struct JSONImage: Encodable {
        struct Class: Encodable {
            let index: Int
            let `class`: String
            let probability: Double
        }
        let path: String
        let predictions: [Class]
    }

    /// The whole report for `results[i]` of `paths[i]`:
    /// - text: "PATH: cat 91.23%, dog 4.10%, …", one line per image;
    /// - json: an array of `{"path": …, "predictions": [{"class": …, "index": …, "probability": …}]}`;
    /// - csv: the header `path,rank,class_index,class_name,probability`, then one row per
    ///   image and rank (RFC 4180 quoting).
    /// Probabilities are rounded to 6 decimals in json and csv.
    func text(paths: [String], results: [ImagePrediction]) -> String {
        let predicted = zip(paths, results).compactMap { path, result -> (String, [ClassProbability])? in
            if case .predicted(let top) = result { return (path, top) } else { return nil }
        }
        let rounded = { (p: Double) in (p * 1e6).rounded() / 1e6 }
        switch format {
        case .text:
            return predicted.map { path, top in
                "\(path): " + top.map { "\($0.name) " + String(format: "%.2f%%", 100 * $0.probability) }.joined(separator: ", ") + "\n"
            }.joined()
        case .json:
            let objects = predicted.map { path, top in
                JSONImage(path: path, predictions: top.map { .init(index: $0.index, class: $0.name, probability: rounded($0.probability)) })
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            // Encoding strings and numbers cannot fail.
            return String(decoding: (try? encoder.encode(objects)) ?? Data("[]".utf8), as: UTF8.self) + "\n"
        case .csv:
            var lines = ["path,rank,class_index,class_name,probability"]
            for (path, top) in predicted {
                for (rank, entry) in top.enumerated() {
                    lines.append([Self.csvField(path), "\(rank + 1)", "\(entry.index)", Self.csvField(entry.name), "\(rounded(entry.probability))"].joined(separator: ","))
                }
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }

    /// A CSV field, quoted (with quotes doubled) when it holds a comma, a quote or a line break.
    static func csvField(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
