/// Small statistics and table printing for benchmark results, without Foundation.
public enum Stats {
    /// The middle value (the mean of the two middle values for an even count).
    public static func median(_ values: [Double]) -> Double {
        precondition(!values.isEmpty, "median of no values")
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The value at quantile `p` (0...1) by the nearest-rank method: `p = 0.99` of 500 samples is
    /// the 495th smallest.
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        precondition(!values.isEmpty, "percentile of no values")
        let sorted = values.sorted()
        let rank = Int((Double(sorted.count) * p).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    /// Items per second for `count` items processed in `duration`.
    public static func rate(count: Int, in duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(count) / (Double(seconds) + Double(attoseconds) * 1e-18)
    }

    /// `value` with `decimals` digits after the point, rounded half away from zero.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let whole = scaled / Int64(scale)
        let fraction = String(scaled % Int64(scale))
        let sign = value < 0 && scaled != 0 ? "-" : ""
        guard decimals > 0 else { return "\(sign)\(whole)" }
        return "\(sign)\(whole).\(String(repeating: "0", count: decimals - fraction.count))\(fraction)"
    }

    /// A rate in millions of items per second, e.g. `8.42M`.
    public static func millions(_ rate: Double) -> String { "\(fixed(rate / 1e6, decimals: 2))M" }

    /// A ratio such as `12.3×`.
    public static func ratio(_ value: Double) -> String { "\(fixed(value, decimals: value < 10 ? 2 : 1))×" }

    /// Prints `rows` under `header` as a Markdown table with columns padded to line up.
    public static func printTable(header: [String], rows: [[String]]) {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            "| " + zip(cells, widths).map { $0.padding(to: $1) }.joined(separator: " | ") + " |"
        }
        print(line(header))
        print("|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|")
        for row in rows { print(line(row)) }
    }
}

extension String {
    /// The string followed by spaces up to `width` characters (unchanged if already as long).
    public func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
