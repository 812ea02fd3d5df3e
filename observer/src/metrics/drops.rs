//! Packet drops by reason, per network namespace's workload (netdrop probe).

use std::fmt;

use prometheus_client::encoding::DescriptorEncoder;

use super::encode::{add, family, with, Counter, Series};
use crate::state::State;

pub(super) fn encode(s: &State, enc: &mut DescriptorEncoder) -> fmt::Result {
    let Some(n) = &s.probes.netdrop else {
        return Ok(());
    };
    let mut agg = Series::new();
    for d in n.read() {
        let l = s.labels(&s.netns_workload(d.netns));
        add(&mut agg, with(l, "reason", d.reason), d.count as f64);
    }
    family(enc,Counter, "kernel_gossip_packet_drops", "Packets dropped by the kernel, by drop reason (skb_drop_reason) and owning network namespace's workload.", None, &agg)
}
