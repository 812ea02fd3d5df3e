//! Per-program run count and run time (BPF_ENABLE_STATS), the same method
//! bpftop uses: the kernel accumulates run_cnt and run_time_ns per program
//! while at least one stats fd is open.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use anyhow::{bail, Result};
use libbpf_rs::libbpf_sys;
use libbpf_rs::ProgramHandle;

/// Keeps stats collection on until dropped.
pub struct StatsGuard {
    _fd: OwnedFd,
}

pub fn enable() -> Result<StatsGuard> {
    // SAFETY: plain bpf(2) wrapper; returns a new fd or a negative errno.
    let fd = unsafe { libbpf_sys::bpf_enable_stats(libbpf_sys::BPF_STATS_RUN_TIME) };
    if fd < 0 {
        bail!(
            "BPF_ENABLE_STATS failed: {}",
            std::io::Error::from_raw_os_error(-fd)
        );
    }
    // SAFETY: fd is a fresh descriptor owned by nobody else.
    Ok(StatsGuard {
        _fd: unsafe { OwnedFd::from_raw_fd(fd) },
    })
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProgStats {
    pub run_cnt: u64,
    pub run_time_ns: u64,
    pub recursion_misses: u64,
}

pub fn prog_stats(prog: &ProgramHandle) -> Option<ProgStats> {
    let mut info = libbpf_sys::bpf_prog_info::default();
    let mut len = std::mem::size_of::<libbpf_sys::bpf_prog_info>() as u32;
    // SAFETY: info is a valid, writable bpf_prog_info and len its size; the
    // kernel writes at most len bytes. No pointer fields are set, so the
    // kernel fills only scalar fields.
    let rc = unsafe {
        libbpf_sys::bpf_prog_get_info_by_fd(prog.as_fd().as_raw_fd(), &mut info, &mut len)
    };
    (rc == 0).then_some(ProgStats {
        run_cnt: info.run_cnt,
        run_time_ns: info.run_time_ns,
        recursion_misses: info.recursion_misses,
    })
}
