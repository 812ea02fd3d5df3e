//! Packet drops by reason per network namespace (src/bpf/netdrop.bpf.c).

use std::collections::HashMap;
use std::mem::MaybeUninit;

use anyhow::{anyhow, Result};
use libbpf_rs::btf::types::Enum;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{Btf, MapCore, MapHandle};

use super::{
    attach_all, percpu_entries, percpu_u64_sums, set_mode, u32_at, with_fallback, Attached, LoadCfg,
};

skeleton!("netdrop");

pub struct Netdrop {
    pub attached: Attached,
    counts: MapHandle,
    /// enum skb_drop_reason value -> name without the SKB_DROP_REASON_ prefix.
    pub reasons: HashMap<u32, String>,
}

/// Drop reason names of the *running* kernel: the numbers change between
/// kernel versions, the names do not.
pub fn drop_reasons() -> Result<HashMap<u32, String>> {
    let btf = Btf::from_vmlinux()?;
    let e: Enum<'_> = btf
        .type_by_name("skb_drop_reason")
        .ok_or_else(|| anyhow!("enum skb_drop_reason not in kernel BTF"))?;
    Ok(e.iter()
        .filter_map(|m| {
            let name = m.name?.to_string_lossy();
            let short = name
                .strip_prefix("SKB_DROP_REASON_")
                .or_else(|| name.strip_prefix("SKB_"))
                .unwrap_or(&name)
                .to_string();
            Some((u32::try_from(m.value).ok()?, short))
        })
        .collect())
}

pub fn load(cfg: LoadCfg) -> Result<Netdrop> {
    let reasons = drop_reasons()?;
    with_fallback("netdrop", |mode| {
        let mut storage = MaybeUninit::uninit();
        let mut open = skel::NetdropSkelBuilder::default().open(&mut storage)?;
        if let Some(ro) = open.maps.rodata_data.as_deref_mut() {
            ro.kg_cgroup_v2 = cfg.cgroup_v2;
        }
        let entries = percpu_entries(8, 4 << 20, 512, 8192);
        open.maps.netdrop_counts.set_max_entries(entries)?;
        set_mode(open.open_object_mut(), mode);
        let skel = open.load()?;
        let attached = attach_all(skel.object(), mode)?;
        Ok(Netdrop {
            attached,
            counts: MapHandle::try_from(&skel.maps.netdrop_counts)?,
            reasons: reasons.clone(),
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
