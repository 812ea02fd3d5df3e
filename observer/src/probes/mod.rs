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
use libbpf_rs::{
    Link, MapCore, MapFlags, MapHandle, Object, OpenMapMut, OpenObject, ProgramHandle,
};
use plain::Plain;

/// Settings written into every probe's .rodata before load.
#[derive(Clone, Copy, Debug)]
pub struct LoadCfg {
    pub cgroup_v2: bool,
    pub page_size: u64,
    /// What the running kernel offers: decides program variants (ADR 0065).
    pub kernel: &'static kernel::Kernel,
    /// Split run-queue waits by culprit cgroup (ADR 0095).
    pub attribution: bool,
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

/// Size a per-CPU map before load with [`percpu_entries`]: its value size and
/// its largest size are what its C definition declares (`max_entries`, e.g.
/// NETDROP_MAX_KEYS in netdrop.h), never a copy here.
pub fn size_percpu_map(map: &mut OpenMapMut<'_>, budget: usize, min: u32) -> Result<()> {
    let max = map.max_entries();
    let entries = percpu_entries(map.value_size() as usize, budget, min, max);
    map.set_max_entries(entries)?;
    Ok(())
}

/// A value of a skeleton-generated C type (a ring-buffer record, a map key
/// or value) copied out of the bytes the kernel handed over: the C struct in
/// `src/bpf/<probe>.h` is the one definition of the layout, so a field moved
/// there moves here too (ADR 0085). `None` when fewer bytes than the type's
/// size arrived.
pub fn read<T: Plain + Default>(b: &[u8]) -> Option<T> {
    let mut v = T::default();
    plain::copy_from_bytes(&mut v, b).ok()?;
    Some(v)
}

/// Every CPU's value of `key` in a per-CPU map, as the generated type.
pub fn percpu_values<T: Plain + Default>(map: &MapHandle, key: &[u8]) -> Option<Vec<T>> {
    let per_cpu = map.lookup_percpu(key, MapFlags::ANY).ok()??;
    per_cpu.iter().map(|b| read(b)).collect()
}

/// Every entry of a per-CPU hash map: its key and each CPU's value, as the
/// generated types. Entries removed while the map is read are skipped.
pub fn read_percpu_map<K, V>(map: &MapHandle) -> Vec<(K, Vec<V>)>
where
    K: Plain + Default,
    V: Plain + Default,
{
    map.keys()
        .filter_map(|key| Some((read(&key)?, percpu_values(map, &key)?)))
        .collect()
}

/// The sum over CPUs of one counter of a per-CPU value (wrapping, as the
/// kernel's u64 counters do).
pub fn total<T>(per_cpu: &[T], counter: impl Fn(&T) -> u64) -> u64 {
    per_cpu.iter().map(counter).fold(0, u64::wrapping_add)
}

/// Sum of a one-element PERCPU_ARRAY counter (lost-event counters).
pub fn percpu_counter(map: &MapHandle) -> u64 {
    percpu_values::<u64>(map, &0u32.to_ne_bytes())
        .map(|v| total(&v, |c| *c))
        .unwrap_or(0)
}

/// A NUL-terminated C string inside a fixed `char` array of a generated type.
pub fn c_str(b: &[i8]) -> String {
    // `char` is signed on the BPF target: reinterpret each as its byte.
    let bytes: Vec<u8> = b
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The bytes of a generated C type, for tests that build a record the way
/// the kernel would and decode it.
#[cfg(test)]
pub fn bytes_of<T: Plain>(v: &T) -> Vec<u8> {
    // SAFETY: T is a generated #[repr(C)] type of integers and integer
    // arrays whose padding libbpf-cargo spells out as named `__pad_*` fields,
    // so every byte of it is initialized.
    unsafe { plain::as_bytes(v) }.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_need_the_whole_type_and_totals_wrap() {
        let b = 7u64.to_ne_bytes();
        assert_eq!(read::<u64>(&b), Some(7));
        assert_eq!(read::<u64>(&b[..7]), None);
        assert_eq!(total(&[u64::MAX, 2], |c| *c), 1);
        assert_eq!(c_str(&[b'h' as i8, b'i' as i8, 0, b'x' as i8]), "hi");
    }
}
