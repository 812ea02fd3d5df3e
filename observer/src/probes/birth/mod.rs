//! Pod/container births (src/bpf/birth.bpf.c, ADR 0016): lifecycle programs
//! attached for the observer's lifetime, and a raw_tp/sys_enter program that
//! is attached only while at least one capture window is open. The record
//! and the constants it carries come from birth.h through the skeleton's
//! generated types (`record.rs`, `consts.rs`; ADR 0085).

use std::ffi::CString;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::Mutex;

use anyhow::{anyhow, Result};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, MapHandle, ProgramHandle};

use super::{percpu_counter, read, with_fallback, Attached, LoadCfg, Mode};

skeleton!("birth");

mod consts;
mod record;

pub use consts::{is_setns, namespaces_in, syscall_name, NAMESPACES, NS_TYPES};
pub use consts::{TRACK_FULL, TRACK_WRITES};
pub use record::{decode, BirthRecord, Kind};
use skel::types;
pub use skel::types::birth_ns_index;

/// Name of the on-demand syscall program (tests and docs refer to it).
pub const SYSCALL_PROG: &str = "birth_sys_enter";

pub struct Birth {
    /// Lifecycle programs (always attached) plus the syscall program's
    /// handle, so BPF stats cover it too.
    pub attached: Attached,
    pub ringbuf: MapHandle,
    lost: MapHandle,
    tracked: MapHandle,
    /// Container cgroups an exec inside of is followed (birth_state.bpf.h).
    cgroups: MapHandle,
    sys_prog: ProgramHandle,
    /// The raw tracepoint link of the syscall program while attached;
    /// dropping (closing) it detaches the program.
    sys_link: Mutex<Option<OwnedFd>>,
}

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
            cgroups: MapHandle::try_from(&skel.maps.birth_cgroups)?,
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
        read::<types::birth_tracked>(&v).map(|t| t.syscalls)
    }

    /// Stop tracking a process (its window closed).
    pub fn untrack(&self, tgid: u32) {
        let _ = self.tracked.delete(&tgid.to_ne_bytes());
    }

    /// Stop following execs inside a container cgroup (its window closed):
    /// health-check and `kubectl exec` processes later are no birth.
    pub fn forget_cgroup(&self, id: u64) {
        let _ = self.cgroups.delete(&id.to_ne_bytes());
    }

    /// Events the kernel skipped in the birth programs so far (recursion
    /// misses: on 7.x a tracepoint program can be preempted, and the same
    /// program's next event on that CPU is then not run).
    pub fn skipped_events(&self) -> u64 {
        self.attached
            .progs
            .iter()
            .filter_map(|(_, h)| super::stats::prog_stats(h))
            .map(|s| s.recursion_misses)
            .sum()
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
