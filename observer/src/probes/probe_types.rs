//! Which BPF program types this kernel loads and attaches (for `doctor`).
//! Each trivial program in src/bpf/probe_types.bpf.c is loaded and attached
//! on its own, then detached.

use std::mem::MaybeUninit;

use anyhow::{anyhow, Result};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};

skeleton!("probe_types");

/// (program type, program name in probe_types.bpf.c)
pub const TYPES: &[(&str, &str)] = &[
    ("tracepoint", "probe_tracepoint"),
    ("tp_btf", "probe_tp_btf"),
    ("raw_tp", "probe_raw_tp"),
    ("fentry", "probe_fentry"),
    ("kprobe", "probe_kprobe"),
];

/// Load and attach only `prog`; Ok when both work.
pub fn check(prog: &str) -> Result<()> {
    let mut storage = MaybeUninit::uninit();
    let mut open = skel::ProbeTypesSkelBuilder::default().open(&mut storage)?;
    for mut p in open.open_object_mut().progs_mut() {
        let name = p.name().to_string_lossy().into_owned();
        p.set_autoload(name == prog);
    }
    let skel = open.load().map_err(|e| anyhow!("load: {e}"))?;
    for p in skel.object().progs_mut() {
        if p.autoload() {
            let _link = p.attach().map_err(|e| anyhow!("attach: {e}"))?;
        }
    }
    Ok(())
}
