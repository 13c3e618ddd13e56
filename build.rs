//! Tells the tests whether Mermaid's renderer is installed: `.ci/run`
//! exports `TCPSTATE_MMDC` (mmdc's path, from `.ci/mermaid-setup`), and with
//! it set `cfg(tcpstate_mmdc)` makes `tests/it/mermaid.rs` run its rendering
//! test instead of ignoring it. Nothing else is built differently.

fn main() {
    println!("cargo::rerun-if-env-changed=TCPSTATE_MMDC");
    println!("cargo::rustc-check-cfg=cfg(tcpstate_mmdc)");
    if std::env::var_os("TCPSTATE_MMDC").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=tcpstate_mmdc");
    }
}
