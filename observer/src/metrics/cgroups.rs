//! cgroup directories created and removed (cgroup_events probe).

use std::fmt;
use std::sync::atomic::Ordering;

use prometheus_client::encoding::DescriptorEncoder;

use super::encode::{family, Counter, Series};
use crate::state::State;

pub(super) fn encode(s: &State, enc: &mut DescriptorEncoder) -> fmt::Result {
    let mut ev = Series::new();
    ev.insert(
        vec![("event", "created".to_string())],
        s.cgroups_created.load(Ordering::Relaxed) as f64,
    );
    ev.insert(
        vec![("event", "removed".to_string())],
        s.cgroups_removed.load(Ordering::Relaxed) as f64,
    );
    family(
        enc,
        Counter,
        "kernel_gossip_cgroup_events",
        "cgroup directories created/removed (cpu and memory hierarchies).",
        None,
        &ev,
    )
}
