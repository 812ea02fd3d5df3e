//! Writing constant metric families: one sample per label set, summed per
//! workload before encoding (prometheus-client's descriptor encoder).

use std::collections::BTreeMap;
use std::fmt;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
pub(super) use prometheus_client::metrics::MetricType::{Counter, Gauge};
use prometheus_client::registry::Unit;

use crate::labels::Labels;

/// Samples by label set.
pub(super) type Series = BTreeMap<Labels, f64>;

/// `l` plus one label.
pub(super) fn with(mut l: Labels, k: &'static str, v: impl Into<String>) -> Labels {
    l.push((k, v.into()));
    l
}

/// Adds `v` to the sample of `l` (several cgroups can map to one workload).
pub(super) fn add(map: &mut Series, l: Labels, v: f64) {
    *map.entry(l).or_insert(0.0) += v;
}

/// One label-less sample.
pub(super) fn one(v: f64) -> Series {
    BTreeMap::from([(Vec::new(), v)])
}

/// One metric family of constant counters or gauges, one sample per label
/// set; nothing at all when there is no sample.
pub(super) fn family(
    enc: &mut DescriptorEncoder,
    kind: MetricType,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    series: &Series,
) -> fmt::Result {
    if series.is_empty() {
        return Ok(());
    }
    let mut m = enc.encode_descriptor(name, help, unit, kind)?;
    for (l, v) in series {
        if l.is_empty() {
            // A label-less metric: no `{}` in the output.
            return sample(kind, *v, m);
        }
        sample(kind, *v, m.encode_family(l)?)?;
    }
    Ok(())
}

fn sample(kind: MetricType, v: f64, e: MetricEncoder<'_>) -> fmt::Result {
    match kind {
        MetricType::Counter => ConstCounter::new(v).encode(e),
        _ => ConstGauge::new(v).encode(e),
    }
}
