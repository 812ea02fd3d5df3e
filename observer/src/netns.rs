//! Network namespace inode -> workload. Packet events are attributed to a
//! netns in the kernel; the owner is found from the processes living in it
//! (the lowest pid — usually a pod's sandbox/pause process — wins).

use std::collections::HashMap;
use std::fs;
use std::time::{Duration, Instant};

use crate::host::CgroupLayout;
use crate::workload::{self, Workload};

/// Rescans of /proc at most this often (an unknown netns triggers one).
const RESCAN_EVERY: Duration = Duration::from_secs(2);
/// Bound on remembered namespaces.
const MAX_NETNS: usize = 65_536;

pub struct NetnsResolver {
    map: HashMap<u32, Workload>,
    last_scan: Option<Instant>,
    host_netns: Option<u32>,
}

/// "net:[4026531840]" -> 4026531840
pub fn parse_ns_link(link: &str) -> Option<u32> {
    link.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
}

/// The cgroup path of `pid` in the cpu hierarchy (v1) or the unified one.
pub fn pid_cgroup(layout: &CgroupLayout, pid: u32) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    cgroup_from_proc(&text, layout.v2)
}

/// Parse /proc/<pid>/cgroup: "hier:controllers:path" lines.
pub fn cgroup_from_proc(text: &str, v2: bool) -> Option<String> {
    text.lines().find_map(|l| {
        let mut f = l.splitn(3, ':');
        let (id, ctrls, path) = (f.next()?, f.next()?, f.next()?);
        let hit = if v2 {
            id == "0" && ctrls.is_empty()
        } else {
            ctrls.split(',').any(|c| c == "cpu")
        };
        hit.then(|| path.to_string())
    })
}

impl NetnsResolver {
    pub fn new() -> Self {
        NetnsResolver {
            map: HashMap::new(),
            last_scan: None,
            host_netns: None,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn resolve(&mut self, layout: &CgroupLayout, inum: u32) -> Workload {
        if let Some(w) = self.map.get(&inum) {
            return w.clone();
        }
        let due = self.last_scan.is_none_or(|t| t.elapsed() >= RESCAN_EVERY);
        if due {
            self.scan(layout);
            if let Some(w) = self.map.get(&inum) {
                return w.clone();
            }
        }
        if inum == 0 {
            return Workload::cgroup("netns:unknown");
        }
        Workload::cgroup(&format!("netns:{inum}"))
    }

    fn scan(&mut self, layout: &CgroupLayout) {
        self.last_scan = Some(Instant::now());
        self.host_netns = fs::read_link("/proc/1/ns/net")
            .ok()
            .and_then(|l| parse_ns_link(&l.to_string_lossy()));
        let mut lowest: HashMap<u32, u32> = HashMap::new();
        let Ok(dir) = fs::read_dir("/proc") else {
            return;
        };
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            // Processes exit during the scan: skip them.
            let Ok(link) = fs::read_link(format!("/proc/{pid}/ns/net")) else {
                continue;
            };
            let Some(inum) = parse_ns_link(&link.to_string_lossy()) else {
                continue;
            };
            let slot = lowest.entry(inum).or_insert(pid);
            *slot = (*slot).min(pid);
        }
        let mut map = HashMap::new();
        for (inum, pid) in lowest {
            if map.len() >= MAX_NETNS {
                break;
            }
            let w = if Some(inum) == self.host_netns {
                // The node's own namespace: host processes and hostNetwork pods.
                Workload::cgroup("/")
            } else {
                match pid_cgroup(layout, pid) {
                    Some(path) => workload::parse(&path).pod_level(),
                    None => continue,
                }
            };
            map.insert(inum, w);
        }
        self.map = map;
    }
}

impl Default for NetnsResolver {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_links_and_proc_cgroup() {
        assert_eq!(parse_ns_link("net:[4026531840]"), Some(4026531840));
        assert_eq!(parse_ns_link("mnt:[1]"), None);
        let v1 = "4:memory:/m\n2:cpuacct:/\n1:cpu:/kg-a\n0::/\n";
        assert_eq!(cgroup_from_proc(v1, false).as_deref(), Some("/kg-a"));
        let co = "3:cpu,cpuacct:/x\n";
        assert_eq!(cgroup_from_proc(co, false).as_deref(), Some("/x"));
        assert_eq!(cgroup_from_proc("0::/y\n", true).as_deref(), Some("/y"));
    }
}
