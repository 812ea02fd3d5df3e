//! Birth families: captured births, their duration and syscall histograms,
//! open windows, dropped births and whether the syscall program is attached
//! (birth/stats.rs, the tracker, the birth probe).

use std::fmt;

use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use super::encode::{family, one, Counter, Gauge, Series};
use crate::state::State;

pub(super) fn encode(s: &State, enc: &mut DescriptorEncoder) -> fmt::Result {
    let Ok(st) = s.birth_stats.lock().map(|b| b.clone()) else {
        return Ok(());
    };
    let mut total = Series::new();
    total.insert(vec![("complete", "true".to_string())], st.complete as f64);
    total.insert(
        vec![("complete", "false".to_string())],
        st.incomplete as f64,
    );
    family(
        enc,
        Counter,
        "kernel_gossip_births",
        "Pod/container starts captured (windows closed), by whether the entrypoint exec was seen.",
        None,
        &total,
    )?;
    for (name, help, unit, h) in [
        (
            "kernel_gossip_birth_duration",
            "First event of a capture window to its last entrypoint exec (to the close when incomplete).",
            Some(&Unit::Seconds),
            &st.duration,
        ),
        (
            "kernel_gossip_birth",
            "Syscalls made by the runtime and container processes during a capture window.",
            None,
            &st.syscalls,
        ),
    ] {
        let name = if unit.is_none() {
            format!("{name}_syscalls")
        } else {
            name.to_string()
        };
        let mut m = enc.encode_descriptor(&name, help, unit, MetricType::Histogram)?;
        m.encode_histogram::<NoLabelSet>(h.sum, h.count, &h.buckets(), None)?;
    }
    let (open, dropped) = s
        .births
        .lock()
        .map(|t| (t.open_windows(), t.dropped))
        .unwrap_or((0, 0));
    family(
        enc,
        Gauge,
        "kernel_gossip_birth_windows_open",
        "Capture windows open now.",
        None,
        &one(open as f64),
    )?;
    family(
        enc,
        Counter,
        "kernel_gossip_births_dropped",
        "Births not captured because too many windows were open.",
        None,
        &one(dropped as f64),
    )?;
    let attached = s
        .probes
        .birth
        .as_ref()
        .is_some_and(|b| b.syscalls_attached());
    family(
        enc,
        Gauge,
        "kernel_gossip_birth_syscall_probe_attached",
        "1 while the raw_tp/sys_enter program is attached (only while a window is open or a runtime just started).",
        None,
        &one(if attached { 1.0 } else { 0.0 }),
    )
}
