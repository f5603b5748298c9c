import CSupport

extension KernelTable {
    /// The table a new net or session runs: the widest level this CPU and its OS
    /// run, or the narrower one the environment variable SWANN_ISA names.
    static func choose(_ function: StaticString) throws(SwannError) -> KernelTable {
        let request = cs_isa_request()
        guard request >= 0 else {
            throw Failure(function).text(": SWANN_ISA is \"").text(getenv("SWANN_ISA"))
                .text("\"; expected avx512, avx2 or baseline").error(.arg)
        }
        var table = own()
        #if SWANN_ISA_VARIANTS
        let level = request > 0 ? min(request, cs_cpu_level()) : cs_cpu_level()
        if level >= CS_CPU_AVX512 {
            swannk_avx512(&table)
            if cs_cpu_vnni() != 0 { swannk_avx512vnni(&table) }
        } else if level == CS_CPU_AVX2 {
            swannk_avx2(&table)
        }
        #endif
        return table
    }
}
