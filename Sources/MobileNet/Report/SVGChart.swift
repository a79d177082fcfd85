import Foundation

/// One named series of a chart: a value per category (NaN or infinite: no mark).
public struct ChartSeries: Codable, Equatable, Sendable {
    public let name: String
    public let values: [Double]
    public init(name: String, values: [Double]) {
        self.name = name
        self.values = values
    }
}

/// Tiny standalone SVG charts (no dependency): grouped bars or lines over named
/// categories, a linear y axis from 0 with round ticks, a legend, category labels
/// slanted under the axis. Returns the whole SVG document as a String.
public enum SVGChart {
    /// Grouped bars: one group per category, one bar per series.
    /// - Precondition: every series has one value per category.
    public static func bars(title: String, yLabel: String, categories: [String], series: [ChartSeries],
                            width: Int = 960, height: Int = 520) -> String {
        let frame = Frame(title: title, yLabel: yLabel, categories: categories, series: series, width: width, height: height)
        var body = ""
        let barWidth = frame.groupWidth * 0.8 / Double(series.count)
        for (s, item) in series.enumerated() {
            for (c, value) in item.values.enumerated() where value.isFinite {
                let x = frame.left + Double(c) * frame.groupWidth + frame.groupWidth * 0.1 + Double(s) * barWidth
                let y = frame.y(max(0, value))
                body += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(barWidth * 0.92))\" height=\"\(f(frame.bottom - y))\" "
                    + "fill=\"\(color(s))\"><title>\(escape(item.name)), \(escape(categories[c])): \(label(value))</title></rect>\n"
            }
        }
        return frame.document(body)
    }

    /// Lines with dots: one polyline per series through the category centres.
    /// - Precondition: every series has one value per category.
    public static func lines(title: String, yLabel: String, categories: [String], series: [ChartSeries],
                             width: Int = 960, height: Int = 520) -> String {
        let frame = Frame(title: title, yLabel: yLabel, categories: categories, series: series, width: width, height: height)
        var body = ""
        for (s, item) in series.enumerated() {
            let points = item.values.enumerated().filter { $0.element.isFinite }
                .map { (x: frame.centre($0.offset), y: frame.y(max(0, $0.element)), value: $0.element, c: $0.offset) }
            body += "<polyline fill=\"none\" stroke=\"\(color(s))\" stroke-width=\"2\" points=\""
                + points.map { "\(f($0.x)),\(f($0.y))" }.joined(separator: " ") + "\"/>\n"
            for p in points {
                body += "<circle cx=\"\(f(p.x))\" cy=\"\(f(p.y))\" r=\"3.5\" fill=\"\(color(s))\">"
                    + "<title>\(escape(item.name)), \(escape(categories[p.c])): \(label(p.value))</title></circle>\n"
            }
        }
        return frame.document(body)
    }

    /// Charts made by ``lines(title:yLabel:categories:series:width:height:)`` or
    /// ``bars(title:yLabel:categories:series:width:height:)``, all `width` × `height`,
    /// stacked top to bottom in one standalone SVG document.
    public static func stacked(_ charts: [String], width: Int = 960, height: Int = 520) -> String {
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height * charts.count)\" "
            + "viewBox=\"0 0 \(width) \(height * charts.count)\">\n"
        for (i, chart) in charts.enumerated() {
            // A nested <svg> is placed by its y attribute; the namespace is inherited.
            svg += chart.replacingOccurrences(of: "<svg xmlns=\"http://www.w3.org/2000/svg\" ", with: "<svg y=\"\(i * height)\" ")
        }
        return svg + "</svg>\n"
    }

    /// Axes, ticks, labels, title and legend around a plot area.
    private struct Frame {
        let title: String, yLabel: String, categories: [String], series: [ChartSeries]
        let width: Int, height: Int
        let left = 80.0, top = 70.0, right = 20.0, bottomMargin = 130.0
        let tick: Double, yMax: Double

        init(title: String, yLabel: String, categories: [String], series: [ChartSeries], width: Int, height: Int) {
            precondition(!categories.isEmpty && !series.isEmpty, "a chart needs categories and series")
            for s in series {
                precondition(s.values.count == categories.count,
                             "series \(s.name) has \(s.values.count) values for \(categories.count) categories")
            }
            self.title = title
            self.yLabel = yLabel
            self.categories = categories
            self.series = series
            self.width = width
            self.height = height
            let largest = series.flatMap(\.values).filter(\.isFinite).max() ?? 1
            tick = SVGChart.roundStep(max(largest, 1e-9) / 5)
            yMax = tick * max(1, (largest / tick).rounded(.up))
        }

        var bottom: Double { Double(height) - bottomMargin }
        var plotWidth: Double { Double(width) - left - right }
        var groupWidth: Double { plotWidth / Double(categories.count) }
        func y(_ value: Double) -> Double { bottom - (bottom - top) * value / yMax }
        func centre(_ c: Int) -> Double { left + (Double(c) + 0.5) * groupWidth }

        func document(_ body: String) -> String {
            var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
                + "viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\" font-size=\"12\">\n"
                + "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
                + "<text x=\"\(width / 2)\" y=\"22\" text-anchor=\"middle\" font-size=\"16\">\(escape(title))</text>\n"
            var value = 0.0
            while value <= yMax * (1 + 1e-9) {
                let yy = f(y(value))
                svg += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotWidth))\" y1=\"\(yy)\" y2=\"\(yy)\" stroke=\"#ddd\"/>\n"
                    + "<text x=\"\(f(left - 6))\" y=\"\(yy)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(label(value))</text>\n"
                value += tick
            }
            svg += "<text transform=\"translate(18 \(f((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
            svg += body
            svg += "<line x1=\"\(f(left))\" x2=\"\(f(left))\" y1=\"\(f(top))\" y2=\"\(f(bottom))\" stroke=\"black\"/>\n"
                + "<line x1=\"\(f(left))\" x2=\"\(f(left + plotWidth))\" y1=\"\(f(bottom))\" y2=\"\(f(bottom))\" stroke=\"black\"/>\n"
            for (c, name) in categories.enumerated() {
                svg += "<text transform=\"translate(\(f(centre(c))) \(f(bottom + 14))) rotate(-35)\" text-anchor=\"end\">\(escape(name))</text>\n"
            }
            var x = left
            for (s, item) in series.enumerated() {
                svg += "<rect x=\"\(f(x))\" y=\"36\" width=\"12\" height=\"12\" fill=\"\(color(s))\"/>"
                    + "<text x=\"\(f(x + 16))\" y=\"46\">\(escape(item.name))</text>\n"
                x += 28 + 7 * Double(item.name.count)
            }
            return svg + "</svg>\n"
        }
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    static func roundStep(_ raw: Double) -> Double {
        var power = 1.0
        while power * 10 <= raw { power *= 10 }
        while power > raw { power /= 10 }
        for factor in [1.0, 2, 5, 10] where factor * power >= raw { return factor * power }
        return 10 * power
    }

    private static let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"]
    private static func color(_ index: Int) -> String { palette[index % palette.count] }
    private static func f(_ value: Double) -> String { formatFixed(value, 1) }
    private static func label(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : formatFixed(value, abs(value) < 1 ? 3 : 1)
    }

    /// The five XML special characters as entities.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&apos;")
    }
}
