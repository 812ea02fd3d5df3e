//! CFS bandwidth and usage from cgroupfs, read at scrape time.
//! All readers return None when the cgroup vanished mid-read: containers
//! exit all the time and that is not an error.

use std::fs;
use std::path::Path;

use crate::host::CgroupLayout;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuStat {
    pub nr_periods: u64,
    pub nr_throttled: u64,
    pub throttled_seconds: f64,
    /// Total CPU time used, if the host exposes it for this cgroup.
    pub usage_seconds: Option<f64>,
    /// quota / period in cores; None when unlimited.
    pub limit_cores: Option<f64>,
}

fn read(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok()
}

/// `key value` lines (cpu.stat format).
pub fn parse_kv(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next()? == key).then(|| f.next()?.parse().ok())?
    })
}

/// v2 `cpu.max`: "max 100000" or "<quota> <period>" (microseconds).
pub fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut f = text.split_whitespace();
    let quota = f.next()?;
    let period: f64 = f.next()?.parse().ok()?;
    if quota == "max" || period <= 0.0 {
        return None;
    }
    Some(quota.parse::<f64>().ok()? / period)
}

/// Read one cgroup's CPU accounting; `rel` is the path relative to the
/// hierarchy root ("/a/b").
pub fn read_cpu(layout: &CgroupLayout, rel: &str) -> Option<CpuStat> {
    let rel = rel.trim_start_matches('/');
    let dir = layout.cpu_root.join(rel);
    let stat = read(&dir.join("cpu.stat"))?;
    if layout.v2 {
        return Some(CpuStat {
            nr_periods: parse_kv(&stat, "nr_periods").unwrap_or(0),
            nr_throttled: parse_kv(&stat, "nr_throttled").unwrap_or(0),
            throttled_seconds: parse_kv(&stat, "throttled_usec").unwrap_or(0) as f64 / 1e6,
            usage_seconds: parse_kv(&stat, "usage_usec").map(|u| u as f64 / 1e6),
            limit_cores: read(&dir.join("cpu.max"))
                .as_deref()
                .and_then(parse_cpu_max),
        });
    }
    let quota: i64 = read(&dir.join("cpu.cfs_quota_us"))?.trim().parse().ok()?;
    let period: i64 = read(&dir.join("cpu.cfs_period_us"))?.trim().parse().ok()?;
    // v1 usage lives in cpuacct (its own hierarchy on some hosts); fall back
    // to the unified hierarchy's cpu.stat, which always has usage_usec.
    let usage = layout
        .cpuacct_root
        .as_ref()
        .and_then(|r| read(&r.join(rel).join("cpuacct.usage")))
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|ns| ns as f64 / 1e9)
        .or_else(|| {
            let u = layout.unified_root.as_ref()?;
            let s = read(&u.join(rel).join("cpu.stat"))?;
            parse_kv(&s, "usage_usec").map(|u| u as f64 / 1e6)
        });
    Some(CpuStat {
        nr_periods: parse_kv(&stat, "nr_periods").unwrap_or(0),
        nr_throttled: parse_kv(&stat, "nr_throttled").unwrap_or(0),
        throttled_seconds: parse_kv(&stat, "throttled_time").unwrap_or(0) as f64 / 1e9,
        usage_seconds: usage,
        limit_cores: (quota > 0 && period > 0).then(|| quota as f64 / period as f64),
    })
}

/// PSI "some"/"full" total stall time (seconds) from a `*.pressure` file.
pub fn parse_psi_totals(text: &str) -> Vec<(&'static str, f64)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let kind = if line.starts_with("some ") {
            "some"
        } else if line.starts_with("full ") {
            "full"
        } else {
            continue;
        };
        if let Some(total) = line
            .split_whitespace()
            .find_map(|f| f.strip_prefix("total="))
        {
            if let Ok(us) = total.parse::<u64>() {
                out.push((kind, us as f64 / 1e6));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v1_and_v2_cpu_stat() {
        let v1 =
            "nr_periods 10\nnr_throttled 4\nthrottled_time 123456789\nnr_bursts 0\nburst_time 0\n";
        assert_eq!(parse_kv(v1, "nr_throttled"), Some(4));
        assert_eq!(parse_kv(v1, "throttled_time"), Some(123456789));
        assert_eq!(parse_kv(v1, "missing"), None);
        let v2 = "usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\nnr_periods 7\nnr_throttled 2\nthrottled_usec 900\n";
        assert_eq!(parse_kv(v2, "throttled_usec"), Some(900));
    }

    #[test]
    fn parses_cpu_max() {
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("50000 100000\n"), Some(0.5));
        assert_eq!(parse_cpu_max("garbage"), None);
    }

    #[test]
    fn reads_a_v2_tree() {
        let root = std::env::temp_dir().join(format!("kg-v2-{}", std::process::id()));
        let pod = root.join("kubepods.slice/pod.slice");
        fs::create_dir_all(&pod).unwrap();
        fs::write(root.join("cgroup.controllers"), "cpu memory\n").unwrap();
        fs::write(
            pod.join("cpu.stat"),
            "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 40\nnr_throttled 10\nthrottled_usec 750000\n",
        )
        .unwrap();
        fs::write(pod.join("cpu.max"), "25000 100000\n").unwrap();
        let layout = CgroupLayout::detect_at(&root).unwrap();
        assert!(layout.v2);
        assert_eq!(layout.hierarchies_for_id(0).len(), 2);
        let st = read_cpu(&layout, "/kubepods.slice/pod.slice").unwrap();
        assert_eq!(st.nr_periods, 40);
        assert_eq!(st.nr_throttled, 10);
        assert_eq!(st.throttled_seconds, 0.75);
        assert_eq!(st.usage_seconds, Some(2.5));
        assert_eq!(st.limit_cores, Some(0.25));
        // A cgroup that vanished is None, not an error.
        assert_eq!(read_cpu(&layout, "/gone"), None);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn parses_psi() {
        let t = "some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=250\n";
        assert_eq!(parse_psi_totals(t), vec![("some", 1.5), ("full", 0.00025)]);
    }
}
