//! memcg direct reclaim time per memory cgroup (src/bpf/memreclaim.bpf.c).

use std::mem::MaybeUninit;

use anyhow::Result;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapHandle};

use super::{
    attach_all, percpu_entries, percpu_u64_sums, set_mode, u64_key, with_fallback, Attached,
    LoadCfg,
};

skeleton!("memreclaim");

pub struct Memreclaim {
    pub attached: Attached,
    stats: MapHandle,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReclaimStats {
    pub count: u64,
    pub total_ns: u64,
    pub nr_reclaimed: u64,
}

pub fn load(cfg: LoadCfg) -> Result<Memreclaim> {
    with_fallback("memreclaim", |mode| {
        let mut storage = MaybeUninit::uninit();
        let mut open = skel::MemreclaimSkelBuilder::default().open(&mut storage)?;
        let task = cfg.kernel.task_storage;
        if let Some(ro) = open.maps.rodata_data.as_deref_mut() {
            ro.kg_cgroup_v2 = cfg.cgroup_v2;
            ro.kg_task_storage = task;
        }
        open.maps.memreclaim_start.set_autocreate(task)?;
        open.maps.memreclaim_start_pid.set_autocreate(!task)?;
        let entries = percpu_entries(24, 4 << 20, 256, 4096);
        open.maps.memreclaim_stats.set_max_entries(entries)?;
        set_mode(open.open_object_mut(), mode);
        let skel = open.load()?;
        let attached = attach_all(skel.object(), mode)?;
        Ok(Memreclaim {
            attached,
            stats: MapHandle::try_from(&skel.maps.memreclaim_stats)?,
        })
    })
}

impl Memreclaim {
    pub fn read(&self) -> Vec<(u64, ReclaimStats)> {
        let mut out = Vec::new();
        for key in self.stats.keys() {
            let Some(id) = u64_key(&key) else { continue };
            let Some(v) = percpu_u64_sums(&self.stats, &key, 3) else {
                continue;
            };
            out.push((
                id,
                ReclaimStats {
                    count: v[0],
                    total_ns: v[1],
                    nr_reclaimed: v[2],
                },
            ));
        }
        out
    }

    pub fn forget(&self, id: u64) {
        let _ = self.stats.delete(&id.to_ne_bytes());
    }

    pub fn len(&self) -> usize {
        self.stats.keys().count()
    }
}
