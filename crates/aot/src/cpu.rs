//! Whether this CPU has a feature that compiled code may use, by Cranelift's flag name
//! (`has_avx2`): what an `.aot` file lists and the loader checks, without Cranelift.

/// Whether the host CPU has `feature`; false for a name not known here, so a file
/// from a newer compiler that uses it is refused rather than run.
pub fn host_has(feature: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        match feature {
            "has_sse3" => has!("sse3"),
            "has_ssse3" => has!("ssse3"),
            "has_cmpxchg16b" => has!("cmpxchg16b"),
            "has_sse41" => has!("sse4.1"),
            "has_sse42" => has!("sse4.2"),
            "has_avx" => has!("avx"),
            "has_avx2" => has!("avx2"),
            "has_fma" => has!("fma"),
            "has_avx_vnni" => has!("avxvnni"),
            "has_avx512bitalg" => has!("avx512bitalg"),
            "has_avx512dq" => has!("avx512dq"),
            "has_avx512vl" => has!("avx512vl"),
            "has_avx512vbmi" => has!("avx512vbmi"),
            "has_avx512f" => has!("avx512f"),
            "has_avx512vnni" => has!("avx512vnni"),
            "has_popcnt" => has!("popcnt"),
            "has_bmi1" => has!("bmi1"),
            "has_bmi2" => has!("bmi2"),
            "has_lzcnt" => has!("lzcnt"),
            _ => false,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = feature;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_features_are_absent() {
        assert!(!host_has("has_quantum_entanglement"));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_x86_64_cpu_has_what_the_baseline_implies() {
        // SSE2 is x86_64's baseline; SSE3 is on every CPU this project runs on.
        assert!(host_has("has_sse3"));
    }
}
