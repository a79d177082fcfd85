import MobileNet

extension BenchResults {
    /// The bound section of report.md: per thread count, the machine's peak and bandwidth,
    /// the step per kind against its roofline bound, the GEMMs alone, folded inference.
    func boundSection() -> String {
        var out = "## The training step and folded inference against this machine's bound\n\n"
        out += "Peak: a register-resident loop of fused multiply-adds on the build's vectors (ten independent chains per "
        out += "thread), one multiply-add per FMA lane. Bandwidth: STREAM's read, write, copy and triad over three arrays of "
        out += "\(RunCommand.streamMebibytes) MiB, bytes counted as STREAM counts them; the bound uses the fastest. Both from "
        out += "the fastest timed run, as STREAM reports. "
        out += "Each pass of the step moves at least the bytes of `TrainingPass`'s rules (each map it reads read once and each "
        out += "map it writes written once, a map passed between two stages of a fused per-channel loop read free, a GEMM's "
        out += "A and B read and C written once) and does its multiply-adds; its bound is the larger of bytes ÷ bandwidth "
        out += "and multiply-adds ÷ peak, and a kind's bound is the sum over its passes. Real: the fused step's time per "
        out += "kind (`StepProfiler`, medians). \"bound ÷ real\" is 100 % at the bound; data that stays in the last-level "
        out += "cache between passes can beat the memory term (over 100 %). GEMMs alone: the step's cblas_sgemm calls "
        out += "with its shapes, leading dimensions and thread split, each timed alone on warm buffers (medians summed); "
        out += "in sequence: a kind's calls run one after the other in the step's order, the sequence timed whole right "
        out += "after each profiled step (median). "
        out += "Bound with the GEMMs as measured: per kind the larger of its roofline bound and its GEMMs in sequence "
        out += "(or the kind's real time when the step ran it faster than that), so the pointwise convs, which stay "
        out += "OpenBLAS calls, count at the speed OpenBLAS gives them and every other pass at its roofline bound. "
        out += "The host's speed can move within a minute, so the step against that bound is also taken step by step, "
        out += "each profiled step against the GEMM sequences timed right after it (median and range over the steps).\n\n"
        for r in bound { out += boundCase(r) }
        return out
    }

    private func boundCase(_ r: BoundResult) -> String {
        let ms = { (value: Double) in formatFixed(value, value < 10 ? 2 : 1) }
        let percent = { (value: Double) in formatFixed(100 * value, 1) + " %" }
        var out = "### \(r.threads) thread(s), training batch \(r.batch)\n\n"
        out += "- FMA peak: \(formatFixed(r.peak.multiplyAddsPerSecond / 1e9, 1)) G multiply-adds/s on \(r.threads) thread(s), "
        out += "\(formatFixed(r.peak.perThreadMultiplyAddsPerSecond / 1e9, 1)) G per thread (\(r.peak.vectorBits)-bit vectors; "
        out += "GFLOP/s = 2 ×).\n"
        out += "- Bandwidth, GB/s: read \(formatFixed(r.bandwidth.read / 1e9, 1)), write \(formatFixed(r.bandwidth.write / 1e9, 1)), "
        out += "copy \(formatFixed(r.bandwidth.copy / 1e9, 1)), triad \(formatFixed(r.bandwidth.triad / 1e9, 1)).\n"
        out += "- The step's GEMMs alone: \(ms(r.gemmAloneMilliseconds)) ms for \(formatGrouped(r.gemmMultiplyAdds)) multiply-adds, "
        out += "\(percent(gemmPeakFraction(r.gemmMultiplyAdds, r.gemmAloneMilliseconds, r.peak))) of the FMA peak.\n"
        out += "- The step against its bound with the GEMMs as measured, step by step: \(percent(r.measuredGEMMBoundFraction)) "
        out += "median over \(r.measuredGEMMBoundFractions.count) steps (\(percent(r.measuredGEMMBoundFractions.min() ?? 0))–"
        out += "\(percent(r.measuredGEMMBoundFractions.max() ?? 0))).\n\n"
        var table = TextTable(headers: ["kind", "real ms", "bound ms", "bound ÷ real", "bytes ÷ bandwidth ms", "MACs ÷ peak ms",
                                        "GEMMs alone ms", "GEMMs in sequence ms", "bound, GEMMs as measured, ms",
                                        "÷ real", "multiply-adds", "least MB"])
        for k in r.kinds {
            table.append([k.kind, ms(k.realMilliseconds), ms(k.boundMilliseconds), percent(k.fractionOfBound), ms(k.memoryMilliseconds),
                          ms(k.arithmeticMilliseconds), k.gemmAloneMilliseconds.map(ms) ?? "—", k.gemmSequenceMilliseconds.map(ms) ?? "—",
                          ms(k.measuredGEMMBoundMilliseconds), percent(k.fractionOfMeasuredGEMMBound), formatGrouped(k.multiplyAdds),
                          formatFixed(Double(k.bytes) / 1e6, 1)])
        }
        table.append(["step (Σ of the medians)", ms(r.stepMilliseconds), ms(r.stepBoundMilliseconds), percent(r.stepBoundMilliseconds / r.stepMilliseconds),
                      ms(r.kinds.reduce(0) { $0 + $1.memoryMilliseconds }), ms(r.kinds.reduce(0) { $0 + $1.arithmeticMilliseconds }),
                      ms(r.gemmAloneMilliseconds), ms(r.kinds.reduce(0) { $0 + ($1.gemmSequenceMilliseconds ?? 0) }),
                      ms(r.stepMeasuredGEMMBoundMilliseconds), percent(r.stepMeasuredGEMMBoundMilliseconds / r.stepMilliseconds),
                      formatGrouped(r.kinds.reduce(0) { $0 + $1.multiplyAdds }),
                      formatFixed(Double(r.kinds.reduce(0) { $0 + $1.bytes }) / 1e6, 1)])
        out += "Rest is pool + linear + loss, the optimizer, and other (bookkeeping, bound 0).\n\n" + table.markdown() + "\n"

        var inference = TextTable(headers: ["folded inference, batch", "multiply-adds", "MACs ÷ peak ms", "GEMMs alone ms",
                                            "GEMMs alone, of peak", "real ms", "MACs ÷ peak ÷ real"])
        for i in r.inference {
            inference.append(["\(i.batch)", formatGrouped(i.multiplyAdds), ms(i.peakMilliseconds), ms(i.gemmAloneMilliseconds),
                              percent(gemmPeakFraction(i.gemmMultiplyAdds, i.gemmAloneMilliseconds, r.peak)), ms(i.realMilliseconds),
                              percent(i.peakMilliseconds / i.realMilliseconds)])
        }
        out += inference.markdown() + "\n"

        var layers = TextTable(headers: ["GEMM layer (training step)", "multiply-adds", "alone ms", "of peak"])
        for l in r.gemmLayers {
            layers.append([l.layer, formatGrouped(l.multiplyAdds), ms(l.milliseconds), percent(gemmPeakFraction(l.multiplyAdds, l.milliseconds, r.peak))])
        }
        return out + layers.markdown() + "\n"
    }
}
