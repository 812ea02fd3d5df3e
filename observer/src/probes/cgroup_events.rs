//! cgroup mkdir/rmdir via ring buffer (src/bpf/cgroup_events.bpf.c).

use std::mem::MaybeUninit;

use anyhow::Result;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::MapHandle;

use super::{
    attach_all, c_str, percpu_counter, set_mode, u32_at, u64_at, with_fallback, Attached, LoadCfg,
};

skeleton!("cgroup_events");

pub struct CgroupEvents {
    pub attached: Attached,
    pub ringbuf: MapHandle,
    lost: MapHandle,
}

/// Decoded `struct cgroup_event`.
#[derive(Clone, Debug, PartialEq)]
pub struct CgroupEvent {
    pub id: u64,
    pub hierarchy_id: u32,
    pub level: u32,
    pub created: bool,
    pub path: String,
}

/// Kind values from cgroup_events.h.
const MKDIR: u32 = 1;

pub fn load(cfg: LoadCfg) -> Result<CgroupEvents> {
    with_fallback("cgroup_events", |mode| {
        let mut storage = MaybeUninit::uninit();
        let mut open = skel::CgroupEventsSkelBuilder::default().open(&mut storage)?;
        if let Some(ro) = open.maps.rodata_data.as_deref_mut() {
            ro.kg_cgroup_v2 = cfg.cgroup_v2;
        }
        set_mode(open.open_object_mut(), mode);
        let skel = open.load()?;
        let attached = attach_all(skel.object(), mode)?;
        Ok(CgroupEvents {
            attached,
            ringbuf: MapHandle::try_from(&skel.maps.cgroup_events_rb)?,
            lost: MapHandle::try_from(&skel.maps.cgroup_events_lost)?,
        })
    })
}

impl CgroupEvents {
    pub fn lost(&self) -> u64 {
        percpu_counter(&self.lost)
    }
}

/// Layout: u64 id, u32 hierarchy_id, u32 level, u32 kind, u32 pad, char path[256].
pub fn decode(b: &[u8]) -> Option<CgroupEvent> {
    let path = c_str(b.get(24..)?);
    Some(CgroupEvent {
        id: u64_at(b, 0)?,
        hierarchy_id: u32_at(b, 8)?,
        level: u32_at(b, 12)?,
        created: u32_at(b, 16)? == MKDIR,
        path: if path.is_empty() { "/".into() } else { path },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_layout_matching_the_c_struct() {
        // The skeleton's Rust mirror of struct cgroup_event pins the layout.
        assert_eq!(std::mem::size_of::<skel::types::cgroup_event>(), 24 + 256);
        let mut b = vec![0u8; 24 + 256];
        b[0..8].copy_from_slice(&42u64.to_ne_bytes());
        b[8..12].copy_from_slice(&4u32.to_ne_bytes());
        b[12..16].copy_from_slice(&1u32.to_ne_bytes());
        b[16..20].copy_from_slice(&2u32.to_ne_bytes());
        b[24..28].copy_from_slice(b"/kg\0");
        let e = decode(&b).unwrap();
        assert_eq!(
            e,
            CgroupEvent {
                id: 42,
                hierarchy_id: 4,
                level: 1,
                created: false,
                path: "/kg".into()
            }
        );
    }
}
