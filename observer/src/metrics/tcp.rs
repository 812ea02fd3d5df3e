//! TCP retransmits and resets per network namespace's workload (tcp probe).

use std::fmt;

use prometheus_client::encoding::DescriptorEncoder;

use super::encode::{add, family, with, Counter, Series};
use crate::state::State;

pub(super) fn encode(s: &State, enc: &mut DescriptorEncoder) -> fmt::Result {
    let Some(t) = &s.probes.tcp else {
        return Ok(());
    };
    let (mut retrans, mut resets) = (Series::new(), Series::new());
    for (netns, c) in t.read() {
        let l = s.labels(&s.netns_workload(netns));
        add(&mut retrans, l.clone(), c.retransmits as f64);
        add(
            &mut resets,
            with(l.clone(), "direction", "sent"),
            c.resets_sent as f64,
        );
        add(
            &mut resets,
            with(l, "direction", "received"),
            c.resets_received as f64,
        );
    }
    family(
        enc,
        Counter,
        "kernel_gossip_tcp_retransmits",
        "TCP segments retransmitted, by network namespace's workload.",
        None,
        &retrans,
    )?;
    family(
        enc,
        Counter,
        "kernel_gossip_tcp_resets",
        "TCP resets sent/received, by network namespace's workload.",
        None,
        &resets,
    )
}
