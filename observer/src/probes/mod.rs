//! BPF probes: one module per `src/bpf/<name>.bpf.c`. Each module loads its
//! skeleton, attaches, and decodes its maps/events. After attach we keep only
//! kernel handles (links, map and program fds), which are Send + Sync, and
//! drop the libbpf object.

/// `mod skel` with the skeleton build.rs generated for `src/bpf/<name>.bpf.c`
/// (generated code: lints off).
macro_rules! skeleton {
    ($name:literal) => {
        #[allow(
            clippy::all,
            clippy::pedantic,
            dead_code,
            unused_imports,
            non_camel_case_types,
            non_snake_case
        )]
        mod skel {
            include!(concat!(env!("OUT_DIR"), "/", $name, ".skel.rs"));
        }
    };
}

pub mod birth;
pub mod cgroup_events;
pub mod kernel;
pub mod memreclaim;
pub mod netdrop;
pub mod oom;
pub mod probe_types;
pub mod runqlat;
pub mod stats;
pub mod tcp;

use std::fmt;

use anyhow::{anyhow, Result};
use libbpf_rs::{Link, MapCore, MapFlags, MapHandle, Object, OpenObject, ProgramHandle};

/// Settings written into every probe's .rodata before load.
#[derive(Clone, Copy, Debug)]
pub struct LoadCfg {
    pub cgroup_v2: bool,
    pub page_size: u64,
    /// What the running kernel offers: decides program variants (ADR 0065).
    pub kernel: &'static kernel::Kernel,
}

/// Which program flavour a probe runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// tp_btf reading the scheduler's own sched_info timestamps (runqlat
    /// only; programs named `*_si`).
    SchedInfo,
    /// BTF-typed raw tracepoint: direct pointer reads, cheapest.
    TpBtf,
    /// Plain raw tracepoint with BPF_CORE_READ: the fallback.
    RawTp,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::SchedInfo => "tp_btf+sched_info",
            Mode::TpBtf => "tp_btf",
            Mode::RawTp => "raw_tp",
        })
    }
}

/// Links keep the programs attached; program handles feed BPF stats.
pub struct Attached {
    pub mode: Mode,
    /// Held only to keep the programs attached; dropping detaches them.
    _links: Vec<Link>,
    pub progs: Vec<(String, ProgramHandle)>,
}

/// Program variants are told apart by name suffix: `_raw` (raw_tp twins),
/// `_si` (sched_info variant), none (tp_btf). Enable exactly one set.
pub fn set_mode(obj: &mut OpenObject, mode: Mode) {
    set_mode_where(obj, mode, |_| true);
}

/// [`set_mode`], loading only the programs of that set whose name `keep`
/// accepts (programs a kernel feature makes unnecessary, ADR 0065).
pub fn set_mode_where(obj: &mut OpenObject, mode: Mode, keep: impl Fn(&str) -> bool) {
    for mut p in obj.progs_mut() {
        let name = p.name().to_string_lossy();
        let variant = if name.ends_with("_raw") {
            Mode::RawTp
        } else if name.ends_with("_si") {
            Mode::SchedInfo
        } else {
            Mode::TpBtf
        };
        let keep = keep(&name);
        p.set_autoload(variant == mode && keep);
    }
}

impl Attached {
    pub fn new(mode: Mode, links: Vec<Link>, progs: Vec<(String, ProgramHandle)>) -> Self {
        Attached {
            mode,
            _links: links,
            progs,
        }
    }
}

pub fn attach_all(obj: &Object, mode: Mode) -> Result<Attached> {
    let mut links = Vec::new();
    let mut progs = Vec::new();
    for p in obj.progs_mut() {
        if !p.autoload() {
            continue;
        }
        let name = p.name().to_string_lossy().into_owned();
        let link = p.attach().map_err(|e| anyhow!("attach {name}: {e}"))?;
        links.push(link);
        progs.push((name, ProgramHandle::try_from(&p)?));
    }
    Ok(Attached {
        mode,
        _links: links,
        progs,
    })
}

/// Try tp_btf, then raw_tp. Returns the error of both when neither loads.
/// `KG_PROG_TYPE=raw_tp` forces the fallback (to exercise it on hosts where
/// tp_btf works).
pub fn with_fallback<T>(name: &str, mut load: impl FnMut(Mode) -> Result<T>) -> Result<T> {
    match std::env::var("KG_PROG_TYPE").as_deref() {
        Ok("raw_tp") => return load(Mode::RawTp),
        Ok("tp_btf") => return load(Mode::TpBtf),
        _ => {}
    }
    match load(Mode::TpBtf) {
        Ok(t) => Ok(t),
        Err(btf_err) => {
            tracing::debug!(probe = name, error = %btf_err, "tp_btf load failed, trying raw_tp");
            load(Mode::RawTp).map_err(|raw_err| anyhow!("tp_btf: {btf_err:#}; raw_tp: {raw_err:#}"))
        }
    }
}

/// Entries for a per-CPU map so that it stays within `budget` bytes of
/// kernel memory (LRU maps are preallocated: entries x value x possible CPUs),
/// clamped to [min, max]. Keeps a 2-CPU VM and a 128-CPU node both bounded.
pub fn percpu_entries(value_size: usize, budget: usize, min: u32, max: u32) -> u32 {
    let cpus = libbpf_rs::num_possible_cpus().unwrap_or(1).max(1);
    let fit = budget / (value_size.max(8) * cpus);
    (fit.min(u32::MAX as usize) as u32).clamp(min, max)
}

/// Sum of every CPU's value for per-CPU maps whose values are arrays of u64.
pub fn percpu_u64_sums(map: &MapHandle, key: &[u8], n: usize) -> Option<Vec<u64>> {
    let per_cpu = map.lookup_percpu(key, MapFlags::ANY).ok()??;
    let mut sums = vec![0u64; n];
    for cpu in per_cpu {
        for (i, chunk) in cpu.chunks_exact(8).take(n).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            sums[i] = sums[i].wrapping_add(u64::from_ne_bytes(b));
        }
    }
    Some(sums)
}

/// Sum of a one-element PERCPU_ARRAY counter (lost-event counters).
pub fn percpu_counter(map: &MapHandle) -> u64 {
    percpu_u64_sums(map, &0u32.to_ne_bytes(), 1)
        .and_then(|v| v.first().copied())
        .unwrap_or(0)
}

pub fn u64_key(key: &[u8]) -> Option<u64> {
    Some(u64::from_ne_bytes(key.get(..8)?.try_into().ok()?))
}

pub fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

pub fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// A NUL-terminated C string inside a fixed buffer.
pub fn c_str(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}
