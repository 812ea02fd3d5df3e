//! Pod UID -> names. Filled from the Kubernetes API when configured
//! (`k8s`), else from kubelet's log directory layout
//! `/var/log/pods/<namespace>_<pod>_<uid>/<container>/`, which exists on
//! every kubelet node without any API access.

use std::collections::HashMap;
use std::fs;
use std::time::{Duration, Instant};

use crate::workload::Workload;

pub const VAR_LOG_PODS: &str = "/var/log/pods";
const RESCAN_EVERY: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    /// container id -> container name (from the API only).
    pub containers: HashMap<String, String>,
}

#[derive(Default)]
pub struct PodNames {
    /// From the Kubernetes API: authoritative.
    pub api: HashMap<String, PodInfo>,
    /// From /var/log/pods: fallback.
    logdir: HashMap<String, PodInfo>,
    last_scan: Option<Instant>,
}

/// "<namespace>_<pod>_<uid>" (namespace and pod names cannot contain '_').
pub fn parse_log_dir(name: &str) -> Option<(String, String, String)> {
    let mut it = name.splitn(3, '_');
    let ns = it.next()?;
    let pod = it.next()?;
    let uid = it.next()?;
    (!ns.is_empty() && !pod.is_empty() && !uid.is_empty())
        .then(|| (ns.into(), pod.into(), uid.into()))
}

impl PodNames {
    pub fn len(&self) -> usize {
        self.api.len().max(self.logdir.len())
    }

    fn lookup(&mut self, uid: &str) -> Option<&PodInfo> {
        if self.api.contains_key(uid) {
            return self.api.get(uid);
        }
        if !self.logdir.contains_key(uid)
            && self.last_scan.is_none_or(|t| t.elapsed() >= RESCAN_EVERY)
        {
            self.scan_logdir();
        }
        self.logdir.get(uid)
    }

    fn scan_logdir(&mut self) {
        self.last_scan = Some(Instant::now());
        let Ok(dir) = fs::read_dir(VAR_LOG_PODS) else {
            return;
        };
        self.logdir = dir
            .flatten()
            .filter_map(|e| {
                let (namespace, name, uid) = parse_log_dir(e.file_name().to_str()?)?;
                Some((
                    uid,
                    PodInfo {
                        namespace,
                        name,
                        containers: HashMap::new(),
                    },
                ))
            })
            .collect();
    }

    /// Fill namespace/pod/container names into a parsed workload.
    pub fn enrich(&mut self, mut w: Workload) -> Workload {
        let Some(uid) = w.pod_uid.clone() else {
            return w;
        };
        if let Some(info) = self.lookup(&uid) {
            w.namespace = Some(info.namespace.clone());
            w.pod = Some(info.name.clone());
            if let Some(cid) = &w.container_id {
                w.container = info.containers.get(cid).cloned();
            }
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubelet_log_dir_names() {
        assert_eq!(
            parse_log_dir(
                "kube-system_coredns-5d78c9869d-abcde_0f3b9c2e-6a1d-4e7b-9c5a-2b8d7e6f1a30"
            ),
            Some((
                "kube-system".into(),
                "coredns-5d78c9869d-abcde".into(),
                "0f3b9c2e-6a1d-4e7b-9c5a-2b8d7e6f1a30".into()
            ))
        );
        assert_eq!(parse_log_dir("nounderscore"), None);
    }

    #[test]
    fn api_names_fill_workload() {
        let uid = "0f3b9c2e-6a1d-4e7b-9c5a-2b8d7e6f1a30";
        let cid = "4c1f0e8d2b7a6c5e9f3d1b0a8e7c6d5f4b3a2e1d0c9f8e7d6c5b4a3f2e1d0c9b";
        let mut names = PodNames::default();
        let mut containers = HashMap::new();
        containers.insert(cid.to_string(), "app".to_string());
        names.api.insert(
            uid.into(),
            PodInfo {
                namespace: "ns".into(),
                name: "web".into(),
                containers,
            },
        );
        let w = names.enrich(crate::workload::parse(&format!("/kubepods/pod{uid}/{cid}")));
        assert_eq!(w.namespace.as_deref(), Some("ns"));
        assert_eq!(w.pod.as_deref(), Some("web"));
        assert_eq!(w.container.as_deref(), Some("app"));
    }
}
