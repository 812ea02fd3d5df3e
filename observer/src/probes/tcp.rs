//! TCP retransmits and resets per network namespace (src/bpf/tcp.bpf.c).

use std::mem::MaybeUninit;

use anyhow::Result;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapHandle};

use super::{
    attach_all, percpu_entries, percpu_u64_sums, set_mode, u32_at, with_fallback, Attached, LoadCfg,
};

skeleton!("tcp");

pub struct Tcp {
    pub attached: Attached,
    counts: MapHandle,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpCounts {
    pub retransmits: u64,
    pub resets_sent: u64,
    pub resets_received: u64,
}

pub fn load(cfg: LoadCfg) -> Result<Tcp> {
    with_fallback("tcp", |mode| {
        let mut storage = MaybeUninit::uninit();
        let mut open = skel::TcpSkelBuilder::default().open(&mut storage)?;
        if let Some(ro) = open.maps.rodata_data.as_deref_mut() {
            ro.kg_cgroup_v2 = cfg.cgroup_v2;
            ro.kg_tcp_retransmit_err = cfg.kernel.tcp_retransmit_err();
        }
        let entries = percpu_entries(24, 4 << 20, 256, 4096);
        open.maps.tcp_counts.set_max_entries(entries)?;
        set_mode(open.open_object_mut(), mode);
        let skel = open.load()?;
        let attached = attach_all(skel.object(), mode)?;
        Ok(Tcp {
            attached,
            counts: MapHandle::try_from(&skel.maps.tcp_counts)?,
        })
    })
}

impl Tcp {
    /// (netns inode, counters) for every namespace seen.
    pub fn read(&self) -> Vec<(u32, TcpCounts)> {
        let mut out = Vec::new();
        for key in self.counts.keys() {
            let Some(netns) = u32_at(&key, 0) else {
                continue;
            };
            let Some(v) = percpu_u64_sums(&self.counts, &key, 3) else {
                continue;
            };
            out.push((
                netns,
                TcpCounts {
                    retransmits: v[0],
                    resets_sent: v[1],
                    resets_received: v[2],
                },
            ));
        }
        out
    }

    pub fn len(&self) -> usize {
        self.counts.keys().count()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn value_layout_matches_the_c_struct() {
        assert_eq!(std::mem::size_of::<super::skel::types::tcp_counts>(), 24);
    }
}
