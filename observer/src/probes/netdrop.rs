//! Packet drops by reason per network namespace (src/bpf/netdrop.bpf.c).

use std::collections::HashMap;
use std::mem::MaybeUninit;

use anyhow::Result;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapHandle};

use super::{
    attach_all, percpu_entries, percpu_u64_sums, set_mode, u32_at, with_fallback, Attached, LoadCfg,
};

skeleton!("netdrop");

pub struct Netdrop {
    pub attached: Attached,
    counts: MapHandle,
    /// enum skb_drop_reason value -> name without the SKB_DROP_REASON_ prefix
    /// (empty on kernels whose kfree_skb passes no reason).
    pub reasons: &'static HashMap<u32, String>,
}

/// The reason label of drops on kernels whose kfree_skb passes no reason
/// (before 5.17): the kernel does not say, so neither do we.
pub const UNKNOWN_REASON: &str = "unknown";

/// NETDROP_REASON_UNKNOWN in netdrop.h.
const REASON_UNKNOWN: u32 = u32::MAX;

pub fn load(cfg: LoadCfg) -> Result<Netdrop> {
    let k = cfg.kernel;
    with_fallback("netdrop", |mode| {
        let mut storage = MaybeUninit::uninit();
        let mut open = skel::NetdropSkelBuilder::default().open(&mut storage)?;
        if let Some(ro) = open.maps.rodata_data.as_deref_mut() {
            ro.kg_cgroup_v2 = cfg.cgroup_v2;
            ro.kg_kfree_skb_reason = k.kfree_skb_reason();
            ro.kg_kfree_skb_rx_sk = k.kfree_skb_rx_sk();
        }
        let entries = percpu_entries(8, 4 << 20, 512, 8192);
        open.maps.netdrop_counts.set_max_entries(entries)?;
        set_mode(open.open_object_mut(), mode);
        let skel = open.load()?;
        let attached = attach_all(skel.object(), mode)?;
        Ok(Netdrop {
            attached,
            counts: MapHandle::try_from(&skel.maps.netdrop_counts)?,
            reasons: &k.drop_reasons,
        })
    })
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DropCount {
    pub netns: u32,
    pub reason: String,
    pub count: u64,
}

impl Netdrop {
    pub fn reason_name(&self, v: u32) -> String {
        if v == REASON_UNKNOWN {
            return UNKNOWN_REASON.to_string();
        }
        self.reasons
            .get(&v)
            .cloned()
            .unwrap_or_else(|| format!("REASON_{v}"))
    }

    pub fn read(&self) -> Vec<DropCount> {
        let mut out = Vec::new();
        for key in self.counts.keys() {
            let (Some(netns), Some(reason)) = (u32_at(&key, 0), u32_at(&key, 4)) else {
                continue;
            };
            let Some(v) = percpu_u64_sums(&self.counts, &key, 1) else {
                continue;
            };
            out.push(DropCount {
                netns,
                reason: self.reason_name(reason),
                count: v[0],
            });
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
    fn key_layout_matches_the_c_struct() {
        assert_eq!(std::mem::size_of::<super::skel::types::netdrop_key>(), 8);
    }
}
