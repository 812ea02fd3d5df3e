//! Prometheus exposition. Everything is computed at scrape time by one
//! Collector: cgroupfs files and BPF maps are read when Prometheus asks, so
//! there is no background polling cost and no stale cache of counters.
//!
//! One module per metric family (`cpu.rs`, `runqueue.rs`, `oom.rs`,
//! `stolen.rs`, `drops.rs`, `tcp.rs`, `memory.rs`, `cgroups.rs`, `births.rs`; `bpf.rs` and
//! `observer.rs` for the observer's own health); `encode.rs` writes the
//! samples. The collector only wires them, in a fixed order.

mod births;
mod bpf;
mod cgroups;
mod cpu;
mod drops;
mod encode;
mod memory;
mod observer;
mod oom;
mod runqueue;
mod stolen;
mod tcp;

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;

use crate::signals::Signal;
use crate::state::State;

/// Encodes one signal's families.
type Families = fn(&State, &mut DescriptorEncoder) -> fmt::Result;

/// Each signal's families, in /metrics order; each only when the signal is
/// enabled.
const SIGNALS: [(Signal, Families); 9] = [
    (Signal::Cpu, cpu::encode),
    (Signal::Runqueue, runqueue::encode),
    (Signal::Runqueue, stolen::encode),
    (Signal::Oom, oom::encode),
    (Signal::Drops, drops::encode),
    (Signal::Tcp, tcp::encode),
    (Signal::Memory, memory::encode),
    (Signal::Cgroups, cgroups::encode),
    (Signal::Births, births::encode),
];

pub struct ObserverCollector {
    pub state: Arc<State>,
}

impl fmt::Debug for ObserverCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ObserverCollector")
    }
}

impl Collector for ObserverCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let start = Instant::now();
        let s = &self.state;
        for (signal, families) in SIGNALS {
            if s.enabled(signal) {
                families(s, &mut enc)?;
            }
        }
        bpf::encode(s, &mut enc)?;
        observer::encode(s, &mut enc)?;
        s.last_scrape_ns
            .store(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        s.scrapes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
