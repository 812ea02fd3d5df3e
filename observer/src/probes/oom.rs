//! OOM kills via ring buffer (src/bpf/oom.bpf.c).

use std::mem::MaybeUninit;

use anyhow::Result;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::MapHandle;

use super::{
    attach_all, c_str, percpu_counter, set_mode_where, u32_at, u64_at, with_fallback, Attached,
    LoadCfg,
};

skeleton!("oom");

pub struct Oom {
    pub attached: Attached,
    pub ringbuf: MapHandle,
    lost: MapHandle,
}

/// Decoded `struct oom_event` (kernel view; `events::OomEvent` is the
/// attributed JSON view).
#[derive(Clone, Debug, PartialEq)]
pub struct OomRecord {
    pub ts_ns: u64,
    pub memcg_id: u64,
    pub cpu_cgroup_id: u64,
    pub anon_rss_bytes: u64,
    pub file_rss_bytes: u64,
    pub shmem_rss_bytes: u64,
    pub total_vm_bytes: u64,
    pub pid: u32,
    pub tgid: u32,
    pub oom_score_adj: i32,
    pub uid: u32,
    pub comm: String,
}

pub fn load(cfg: LoadCfg) -> Result<Oom> {
    with_fallback("oom", |mode| {
        let mut storage = MaybeUninit::uninit();
        let mut open = skel::OomSkelBuilder::default().open(&mut storage)?;
        let victim_task = cfg.kernel.mark_victim_task();
        if let Some(ro) = open.maps.rodata_data.as_deref_mut() {
            ro.kg_cgroup_v2 = cfg.cgroup_v2;
            ro.kg_page_size = cfg.page_size;
            ro.kg_mark_victim_task = victim_task;
        }
        // signal_generate only where mark_victim passes a pid (ADR 0065).
        set_mode_where(open.open_object_mut(), mode, |name| {
            !name.starts_with("oom_signal_generate") || !victim_task
        });
        open.maps.oom_stash.set_autocreate(!victim_task)?;
        let skel = open.load()?;
        let attached = attach_all(skel.object(), mode)?;
        Ok(Oom {
            attached,
            ringbuf: MapHandle::try_from(&skel.maps.oom_events)?,
            lost: MapHandle::try_from(&skel.maps.oom_lost)?,
        })
    })
}

impl Oom {
    pub fn lost(&self) -> u64 {
        percpu_counter(&self.lost)
    }
}

pub fn decode(b: &[u8]) -> Option<OomRecord> {
    Some(OomRecord {
        ts_ns: u64_at(b, 0)?,
        memcg_id: u64_at(b, 8)?,
        cpu_cgroup_id: u64_at(b, 16)?,
        anon_rss_bytes: u64_at(b, 24)?,
        file_rss_bytes: u64_at(b, 32)?,
        shmem_rss_bytes: u64_at(b, 40)?,
        total_vm_bytes: u64_at(b, 48)?,
        pid: u32_at(b, 56)?,
        tgid: u32_at(b, 60)?,
        oom_score_adj: u32_at(b, 64)? as i32,
        uid: u32_at(b, 68)?,
        comm: c_str(b.get(72..88)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_c_struct() {
        assert_eq!(std::mem::size_of::<skel::types::oom_event>(), 88);
        let mut b = vec![0u8; 88];
        b[56..60].copy_from_slice(&1234u32.to_ne_bytes());
        b[64..68].copy_from_slice(&(-1000i32).to_ne_bytes());
        b[72..77].copy_from_slice(b"hog\0\0");
        let r = decode(&b).unwrap();
        assert_eq!(r.pid, 1234);
        assert_eq!(r.oom_score_adj, -1000);
        assert_eq!(r.comm, "hog");
    }
}
