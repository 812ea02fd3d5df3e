//! OOM kills per victim's memory cgroup, counted by `State` as the oom
//! probe's records arrive.

use std::fmt;

use prometheus_client::encoding::DescriptorEncoder;

use super::encode::{family, Counter, Series};
use crate::state::State;

pub(super) fn encode(s: &State, enc: &mut DescriptorEncoder) -> fmt::Result {
    let kills: Series = s
        .oom_kills
        .lock()
        .map(|k| k.iter().map(|(l, v)| (l.clone(), *v as f64)).collect())
        .unwrap_or_default();
    family(
        enc,
        Counter,
        "kernel_gossip_oom_kills",
        "Tasks killed by the OOM killer, by the victim's memory cgroup.",
        None,
        &kills,
    )
}
