//! Pod/container births (src/bpf/birth.bpf.c, ADR 0016): lifecycle programs
//! attached for the observer's lifetime, and a raw_tp/sys_enter program that
//! is attached only while at least one capture window is open.

use std::ffi::CString;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::Mutex;

use anyhow::{anyhow, Result};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, MapHandle, ProgramHandle};

use super::{c_str, percpu_counter, u32_at, u64_at, with_fallback, Attached, LoadCfg, Mode};

skeleton!("birth");

/// Name of the on-demand syscall program (tests and docs refer to it).
pub const SYSCALL_PROG: &str = "birth_sys_enter";

pub struct Birth {
    /// Lifecycle programs (always attached) plus the syscall program's
    /// handle, so BPF stats cover it too.
    pub attached: Attached,
    pub ringbuf: MapHandle,
    lost: MapHandle,
    tracked: MapHandle,
    sys_prog: ProgramHandle,
    /// The raw tracepoint link of the syscall program while attached;
    /// dropping (closing) it detaches the program.
    sys_link: Mutex<Option<OwnedFd>>,
}

/// Record kinds from birth.h.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Mkdir,
    Attach,
    Fork,
    Exec,
    Exit,
    Write,
    Ns,
}

/// birth_tracked flags.
pub const TRACK_WRITES: u32 = 1;
pub const TRACK_FULL: u32 = 2;

/// Decoded `struct birth_record`.
#[derive(Clone, Debug, PartialEq)]
pub struct BirthRecord {
    pub ts_ns: u64,
    pub arg: u64,
    pub kind: Kind,
    pub pid: u32,
    pub tgid: u32,
    pub ppid: u32,
    pub target: u32,
    pub hierarchy_id: u32,
    pub level: u32,
    pub flags: u32,
    /// mnt, uts, ipc, pid, net, user, cgroup, time inode numbers.
    pub ns: [u32; 8],
    pub comm: String,
    pub value: String,
    pub path: String,
}

pub const NS_NAMES: [&str; 8] = ["mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time"];

pub fn load(cfg: LoadCfg) -> Result<Birth> {
    with_fallback("birth", |mode| {
        let mut storage = MaybeUninit::uninit();
        let mut open = skel::BirthSkelBuilder::default().open(&mut storage)?;
        if let Some(ro) = open.maps.rodata_data.as_deref_mut() {
            ro.kg_cgroup_v2 = cfg.cgroup_v2;
        }
        for mut p in open.open_object_mut().progs_mut() {
            let name = p.name().to_string_lossy().into_owned();
            // The syscall program is raw_tp in both modes; the lifecycle
            // programs come as tp_btf with `_raw` twins.
            let load = name == SYSCALL_PROG || (name.ends_with("_raw") == (mode == Mode::RawTp));
            p.set_autoload(load);
        }
        let skel = open.load()?;
        let mut links = Vec::new();
        let mut progs = Vec::new();
        let mut sys_prog = None;
        for p in skel.object().progs_mut() {
            if !p.autoload() {
                continue;
            }
            let name = p.name().to_string_lossy().into_owned();
            if name == SYSCALL_PROG {
                sys_prog = Some(ProgramHandle::try_from(&p)?);
            } else {
                links.push(p.attach().map_err(|e| anyhow!("attach {name}: {e}"))?);
            }
            progs.push((name, ProgramHandle::try_from(&p)?));
        }
        let sys_prog = sys_prog.ok_or_else(|| anyhow!("{SYSCALL_PROG} not in the object"))?;
        Ok(Birth {
            attached: Attached::new(mode, links, progs),
            ringbuf: MapHandle::try_from(&skel.maps.birth_rb)?,
            lost: MapHandle::try_from(&skel.maps.birth_lost)?,
            tracked: MapHandle::try_from(&skel.maps.birth_tracked)?,
            sys_prog,
            sys_link: Mutex::new(None),
        })
    })
}

impl Birth {
    pub fn lost(&self) -> u64 {
        percpu_counter(&self.lost)
    }

    /// Attach raw_tp/sys_enter (no-op when attached). From this moment every
    /// syscall on the host takes the tracepoint slow path.
    pub fn attach_syscalls(&self) -> Result<()> {
        let mut link = self
            .sys_link
            .lock()
            .map_err(|_| anyhow!("syscall link lock poisoned"))?;
        if link.is_some() {
            return Ok(());
        }
        let name = CString::new("sys_enter")?;
        // SAFETY: name is a valid C string and the program fd is owned by
        // self.sys_prog for the duration of the call.
        let fd = unsafe {
            libbpf_rs::libbpf_sys::bpf_raw_tracepoint_open(
                name.as_ptr(),
                self.sys_prog.as_fd().as_raw_fd(),
            )
        };
        if fd < 0 {
            return Err(anyhow!(
                "attach {SYSCALL_PROG} to raw_tp/sys_enter: {}",
                std::io::Error::from_raw_os_error(-fd)
            ));
        }
        // SAFETY: fd was just returned by the kernel and nothing else owns it.
        *link = Some(unsafe { OwnedFd::from_raw_fd(fd) });
        Ok(())
    }

    /// Detach the syscall program (closing the link fd); no-op when detached.
    pub fn detach_syscalls(&self) {
        let mut link = match self.sys_link.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        link.take();
    }

    pub fn syscalls_attached(&self) -> bool {
        self.sys_link.lock().map(|l| l.is_some()).unwrap_or(false)
    }

    /// Syscalls counted so far for a tracked process (None if untracked).
    pub fn syscalls_of(&self, tgid: u32) -> Option<u64> {
        let v = self
            .tracked
            .lookup(&tgid.to_ne_bytes(), MapFlags::ANY)
            .ok()??;
        u64_at(&v, 0)
    }

    /// Stop tracking a process (its window closed).
    pub fn untrack(&self, tgid: u32) {
        let _ = self.tracked.delete(&tgid.to_ne_bytes());
    }

    /// Entries in the tracked-process map (bounded at 16384 in BPF).
    pub fn tracked_len(&self) -> usize {
        self.tracked.keys().count()
    }
}

impl Drop for Birth {
    fn drop(&mut self) {
        // Explicit for readers: the syscall program never outlives the probe.
        self.detach_syscalls();
    }
}

/// Layout (birth.h): u64 ts, u64 arg, u32 kind, pid, tgid, ppid, target,
/// hierarchy_id, level, flags, u32 ns[8], char comm[16], value[64], path[256].
pub fn decode(b: &[u8]) -> Option<BirthRecord> {
    let kind = match u32_at(b, 16)? {
        1 => Kind::Mkdir,
        2 => Kind::Attach,
        3 => Kind::Fork,
        4 => Kind::Exec,
        5 => Kind::Exit,
        6 => Kind::Write,
        7 => Kind::Ns,
        _ => return None,
    };
    let mut ns = [0u32; 8];
    for (i, n) in ns.iter_mut().enumerate() {
        *n = u32_at(b, 48 + 4 * i)?;
    }
    let target = u32_at(b, 32)?;
    let value = if kind == Kind::Write {
        let raw = b.get(96..160)?;
        let n = (target as usize).min(raw.len() - 1);
        let v = &raw[..n];
        let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
        String::from_utf8_lossy(&v[..end]).into_owned()
    } else {
        String::new()
    };
    Some(BirthRecord {
        ts_ns: u64_at(b, 0)?,
        arg: u64_at(b, 8)?,
        kind,
        pid: u32_at(b, 20)?,
        tgid: u32_at(b, 24)?,
        ppid: u32_at(b, 28)?,
        target,
        hierarchy_id: u32_at(b, 36)?,
        level: u32_at(b, 40)?,
        flags: u32_at(b, 44)?,
        ns,
        comm: c_str(b.get(80..96)?),
        value,
        path: c_str(b.get(160..416)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_layout_matching_the_c_struct() {
        assert_eq!(std::mem::size_of::<skel::types::birth_record>(), 416);
        assert_eq!(std::mem::size_of::<skel::types::birth_tracked>(), 16);
        let mut b = vec![0u8; 416];
        b[0..8].copy_from_slice(&7u64.to_ne_bytes());
        b[8..16].copy_from_slice(&99u64.to_ne_bytes());
        b[16..20].copy_from_slice(&6u32.to_ne_bytes());
        b[24..28].copy_from_slice(&1234u32.to_ne_bytes());
        b[32..36].copy_from_slice(&6u32.to_ne_bytes());
        b[36..40].copy_from_slice(&1u32.to_ne_bytes());
        b[48 + 16..48 + 20].copy_from_slice(&4026531840u32.to_ne_bytes());
        b[80..84].copy_from_slice(b"runc");
        b[96..102].copy_from_slice(b"50000\n");
        b[160..176].copy_from_slice(b"cpu.cfs_quota_us");
        let r = decode(&b).unwrap();
        assert_eq!(r.kind, Kind::Write);
        assert_eq!(r.arg, 99);
        assert_eq!(r.tgid, 1234);
        assert_eq!(r.hierarchy_id, 1);
        assert_eq!(r.ns[4], 4026531840);
        assert_eq!(r.comm, "runc");
        assert_eq!(r.value, "50000\n");
        assert_eq!(r.path, "cpu.cfs_quota_us");
    }
}
