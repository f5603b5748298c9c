import CSupport

extension KernelTable {
    /// The table a new net or session runs: the widest level this CPU and its OS
    /// run, or the narrower one the environment variable SWANN_ISA names.
    static func choose(_ function: StaticString) throws(SwannError) -> KernelTable {
        let request = try isaRequest(function)
        var table = own()
        #if SWANN_ISA_VARIANTS
        let level = request > 0 ? min(request, cs_cpu_level()) : cs_cpu_level()
        if level >= CS_CPU_AVX512 {
            swannk_avx512(&table)
            if cs_cpu_vnni() != 0 { swannk_avx512vnni(&table) }
        } else if level == CS_CPU_AVX2 {
            swannk_avx2(&table)
        }
        #else
        _ = request  // one level: nothing to narrow
        #endif
        return table
    }

    /// The table a new session runs: `choose`'s where the build has CPU levels (x86-64);
    /// on a one-level build (ARM), only the inference entries (KernelTableInference.swift),
    /// so that a firmware that only infers links no training kernel.
    static func chooseForSession(_ function: StaticString) throws(SwannError) -> KernelTable {
        #if SWANN_ISA_VARIANTS
        return try choose(function)
        #else
        _ = try isaRequest(function)
        return inference()
        #endif
    }

    /// SWANN_ISA's request (cs_isa_request: 0 for none), refused when it names no level.
    private static func isaRequest(_ function: StaticString) throws(SwannError) -> Int32 {
        let request = cs_isa_request()
        guard request >= 0 else {
            throw Failure(function).text(": SWANN_ISA is \"").text(getenv("SWANN_ISA"))
                .text("\"; expected avx512, avx2 or baseline").error(.arg)
        }
        return request
    }
}
