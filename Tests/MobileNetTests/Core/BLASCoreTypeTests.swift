import Testing
@testable import MobileNet

/// ``BLAS/betterCoreType(openBLASCore:cpuinfo:)`` on /proc/cpuinfo texts of the CPU kinds it
/// decides for: each case's answer follows from the rules in its doc comment.
@Suite struct BLASCoreTypeTests {
    /// The first processor of a /proc/cpuinfo text (tabs as the kernel writes them).
    static func cpuinfo(vendor: String, family: Int, model: Int, flags: String) -> String {
        """
        processor\t: 0
        vendor_id\t: \(vendor)
        cpu family\t: \(family)
        model\t\t: \(model)
        model name\t: test CPU
        cpu MHz\t\t: 2400.000
        flags\t\t: fpu sse sse2 \(flags) rdtscp lm
        bogomips\t: 4800.00

        processor\t: 1
        vendor_id\t: \(vendor)
        cpu family\t: \(family)

        """
    }

    static let avx512 = "avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16"
    static let avx2 = "avx avx2 fma"

    /// AMD EPYC family 25 model 17 (Zen 4): OpenBLAS 0.3.21's Intel AVX-512 kernels give way
    /// to its AVX2 ones, whatever the AVX-512 core OpenBLAS named.
    @Test func zen4GetsTheAVX2Kernels() {
        let zen4 = Self.cpuinfo(vendor: "AuthenticAMD", family: 25, model: 17, flags: Self.avx512)
        #expect(BLAS.betterCoreType(openBLASCore: "Cooperlake", cpuinfo: zen4) == "Haswell")
        #expect(BLAS.betterCoreType(openBLASCore: "SkylakeX", cpuinfo: zen4) == "Haswell")
        // Already the AVX2 kernels (the user's OPENBLAS_CORETYPE, or OpenBLAS's own "Zen"): kept.
        #expect(BLAS.betterCoreType(openBLASCore: "Haswell", cpuinfo: zen4) == nil)
        #expect(BLAS.betterCoreType(openBLASCore: "Zen", cpuinfo: zen4) == nil)
    }

    /// Zen 3 (family 25 without AVX-512), Zen 5 (family 26) and Intel AVX-512 CPUs keep
    /// OpenBLAS's choice.
    @Test func otherCPUsKeepOpenBLASsChoice() {
        #expect(BLAS.betterCoreType(openBLASCore: "Zen", cpuinfo: Self.cpuinfo(vendor: "AuthenticAMD", family: 25, model: 1, flags: Self.avx2)) == nil)
        #expect(BLAS.betterCoreType(openBLASCore: "SkylakeX", cpuinfo: Self.cpuinfo(vendor: "AuthenticAMD", family: 26, model: 2, flags: Self.avx512)) == nil)
        #expect(BLAS.betterCoreType(openBLASCore: "Cooperlake", cpuinfo: Self.cpuinfo(vendor: "GenuineIntel", family: 6, model: 85, flags: Self.avx512)) == nil)
        #expect(BLAS.betterCoreType(openBLASCore: "SkylakeX", cpuinfo: Self.cpuinfo(vendor: "GenuineIntel", family: 6, model: 106, flags: Self.avx512)) == nil)
    }

    /// A generic fallback (a CPU newer than the OpenBLAS build) is replaced by the widest
    /// kernels the flags allow, on either vendor; without AVX2 + FMA nothing better is known.
    @Test func genericFallbackFollowsTheFlags() {
        let intel = Self.cpuinfo(vendor: "GenuineIntel", family: 6, model: 207, flags: Self.avx512)
        #expect(BLAS.betterCoreType(openBLASCore: "Prescott", cpuinfo: intel) == "SkylakeX")
        #expect(BLAS.betterCoreType(openBLASCore: "prescott", cpuinfo: intel) == "SkylakeX")
        // Zen 5 unknown to the build: the AVX-512 rule, not the Zen 4 one (family 26).
        #expect(BLAS.betterCoreType(openBLASCore: "Generic", cpuinfo: Self.cpuinfo(vendor: "AuthenticAMD", family: 26, model: 2, flags: Self.avx512)) == "SkylakeX")
        #expect(BLAS.betterCoreType(openBLASCore: "Nehalem", cpuinfo: Self.cpuinfo(vendor: "GenuineIntel", family: 6, model: 190, flags: Self.avx2)) == "Haswell")
        #expect(BLAS.betterCoreType(openBLASCore: "Prescott", cpuinfo: Self.cpuinfo(vendor: "GenuineIntel", family: 6, model: 190, flags: "avx")) == nil)
    }

    /// "cpu family" is not taken from "cpu MHz", nor "model" from "model name"; no flags
    /// line, or an empty text, decides nothing.
    @Test func fieldsAreReadByTheirWholeName() {
        let noFlags = "vendor_id\t: AuthenticAMD\ncpu MHz\t\t: 25\ncpu family\t: 25\n"
        #expect(BLAS.betterCoreType(openBLASCore: "Cooperlake", cpuinfo: noFlags) == nil)
        #expect(BLAS.betterCoreType(openBLASCore: "Prescott", cpuinfo: "") == nil)
        let mhzFirst = "vendor_id\t: AuthenticAMD\ncpu MHz\t\t: 26\ncpu family\t: 25\nflags\t\t: \(Self.avx512)\n"
        #expect(BLAS.betterCoreType(openBLASCore: "Cooperlake", cpuinfo: mhzFirst) == "Haswell")
    }

    /// OPENBLAS_CORETYPE= (empty) is no choice: OpenBLAS ignores it, so the program still
    /// picks better kernels; any other value is the user's and stands.
    @Test func anEmptyCoreTypeCountsAsUnset() {
        #expect(BLAS.requestedCoreType(nil) == nil)
        #expect(BLAS.requestedCoreType("") == nil)
        #expect(BLAS.requestedCoreType("Haswell") == "Haswell")
        #expect(BLAS.requestedCoreType("Bogus") == "Bogus")
    }

    /// The report note says who set OPENBLAS_CORETYPE, and says so when OpenBLAS did not take
    /// the name (it matches names without regard to case).
    @Test func theNoteSaysWhoChoseTheKernelsAndWhenOpenBLASIgnoredTheName() {
        #expect(BLAS.coreTypeNote(requested: nil, chosenByProgram: false, coreName: "Cooperlake") == "")
        #expect(BLAS.coreTypeNote(requested: "", chosenByProgram: false, coreName: "Cooperlake") == "")
        #expect(BLAS.coreTypeNote(requested: "Haswell", chosenByProgram: false, coreName: "Haswell") == " (OPENBLAS_CORETYPE=Haswell)")
        #expect(BLAS.coreTypeNote(requested: "haswell", chosenByProgram: false, coreName: "Haswell") == " (OPENBLAS_CORETYPE=haswell)")
        #expect(BLAS.coreTypeNote(requested: "Haswell", chosenByProgram: true, coreName: "Haswell") == " (OPENBLAS_CORETYPE=Haswell, chosen for this CPU)")
        #expect(BLAS.coreTypeNote(requested: "Bogus", chosenByProgram: false, coreName: "Cooperlake")
                == " (OPENBLAS_CORETYPE=Bogus, not a core type OpenBLAS knows or can use here: it chose its own)")
    }
}
