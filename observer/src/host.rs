//! Facts about the host the observer needs before loading anything:
//! cgroup layout (v1, hybrid or v2), hierarchy ids, tracefs.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";
pub const TRACEFS: &str = "/sys/kernel/tracing";
pub const BPFFS: &str = "/sys/fs/bpf";

/// Which cgroup hierarchy a BPF-reported cgroup id belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hierarchy {
    /// The cpu controller's hierarchy (v1) or the unified one (v2).
    Cpu,
    /// The memory controller's hierarchy (v1) or the unified one (v2).
    Memory,
}

#[derive(Clone, Debug)]
pub struct CgroupLayout {
    /// true when cgroup2 is mounted at /sys/fs/cgroup (no v1 controllers).
    pub v2: bool,
    /// Mount point of the cpu controller (v1) or the unified hierarchy.
    pub cpu_root: PathBuf,
    /// cpuacct mount point (v1 only; usage lives there).
    pub cpuacct_root: Option<PathBuf>,
    pub memory_root: PathBuf,
    /// cgroup2 mount (v2 root, or /sys/fs/cgroup/unified on hybrid hosts);
    /// PSI files live there.
    pub unified_root: Option<PathBuf>,
    /// /proc/cgroups hierarchy ids (0 on v2): cgroup_mkdir events carry them.
    pub cpu_hierarchy_id: u32,
    pub memory_hierarchy_id: u32,
}

impl CgroupLayout {
    pub fn detect() -> Result<Self> {
        Self::detect_at(Path::new(CGROUP_ROOT))
    }

    pub fn detect_at(root: &Path) -> Result<Self> {
        if root.join("cgroup.controllers").exists() {
            return Ok(CgroupLayout {
                v2: true,
                cpu_root: root.to_path_buf(),
                cpuacct_root: None,
                memory_root: root.to_path_buf(),
                unified_root: Some(root.to_path_buf()),
                cpu_hierarchy_id: 0,
                memory_hierarchy_id: 0,
            });
        }
        let ids = hierarchy_ids().context("reading /proc/cgroups")?;
        let find = |names: &[&str]| {
            names
                .iter()
                .map(|n| root.join(n))
                .find(|p| p.join("cgroup.procs").exists())
        };
        let Some(cpu_root) = find(&["cpu", "cpu,cpuacct"]) else {
            bail!("no cpu controller mounted under {}", root.display());
        };
        let Some(memory_root) = find(&["memory"]) else {
            bail!("no memory controller mounted under {}", root.display());
        };
        let unified = root.join("unified");
        Ok(CgroupLayout {
            v2: false,
            cpuacct_root: find(&["cpuacct", "cpu,cpuacct"]),
            cpu_root,
            memory_root,
            unified_root: unified
                .join("cgroup.controllers")
                .exists()
                .then_some(unified),
            cpu_hierarchy_id: ids
                .iter()
                .find(|(n, _)| n == "cpu")
                .map(|(_, h)| *h)
                .unwrap_or(0),
            memory_hierarchy_id: ids
                .iter()
                .find(|(n, _)| n == "memory")
                .map(|(_, h)| *h)
                .unwrap_or(0),
        })
    }

    pub fn root(&self, h: Hierarchy) -> &Path {
        match h {
            Hierarchy::Cpu => &self.cpu_root,
            Hierarchy::Memory => &self.memory_root,
        }
    }

    /// Which of our hierarchies a cgroup_mkdir/rmdir event belongs to.
    pub fn hierarchies_for_id(&self, hierarchy_id: u32) -> Vec<Hierarchy> {
        let mut out = Vec::new();
        if self.v2 {
            if hierarchy_id == 0 {
                out.extend([Hierarchy::Cpu, Hierarchy::Memory]);
            }
            return out;
        }
        if hierarchy_id == self.cpu_hierarchy_id && hierarchy_id != 0 {
            out.push(Hierarchy::Cpu);
        }
        if hierarchy_id == self.memory_hierarchy_id && hierarchy_id != 0 {
            out.push(Hierarchy::Memory);
        }
        out
    }
}

/// (controller, hierarchy id) pairs from /proc/cgroups.
pub fn hierarchy_ids() -> Result<Vec<(String, u32)>> {
    let text = fs::read_to_string("/proc/cgroups")?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let name = f.next()?.to_string();
            let id = f.next()?.parse().ok()?;
            Some((name, id))
        })
        .collect())
}

/// Is a filesystem of `fstype` mounted at `path`?
pub fn is_mounted(path: &str, fstype: &str) -> bool {
    fs::read_to_string("/proc/self/mounts")
        .map(|m| {
            m.lines().any(|l| {
                let mut f = l.split_whitespace();
                let _dev = f.next();
                f.next() == Some(path) && f.next() == Some(fstype)
            })
        })
        .unwrap_or(false)
}

/// Classic tracepoints and the doctor need tracefs; many hosts do not mount it
/// at boot. Mount it, or explain why we cannot.
pub fn ensure_tracefs() -> Result<()> {
    if is_mounted(TRACEFS, "tracefs") || Path::new(TRACEFS).join("events").exists() {
        return Ok(());
    }
    mount("nodev", TRACEFS, "tracefs").with_context(|| {
        format!("tracefs is not mounted at {TRACEFS} and mounting it failed; run `mount -t tracefs nodev {TRACEFS}` as root")
    })
}

fn mount(src: &str, target: &str, fstype: &str) -> Result<()> {
    let c = |s: &str| std::ffi::CString::new(s).context("nul in mount argument");
    let (src, target, fstype) = (c(src)?, c(target)?, c(fstype)?);
    // SAFETY: all pointers are valid NUL-terminated strings that outlive the
    // call; data is NULL, which mount(2) accepts.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(())
}

/// The kernel's page size (oom RSS is counted in pages).
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if v > 0 {
        v as u64
    } else {
        4096
    }
}

/// CLOCK_MONOTONIC in nanoseconds (the clock of bpf_ktime_get_ns()).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Wall-clock time minus CLOCK_MONOTONIC, to turn bpf_ktime_get_ns() into
/// Unix time.
pub fn monotonic_to_unix_offset_ns() -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let mono = ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128;
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0);
    wall - mono
}
