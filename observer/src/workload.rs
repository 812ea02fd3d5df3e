//! Cgroup path -> workload identity.
//!
//! Kubelet and container runtimes encode who owns a cgroup in its path. This
//! module only parses paths (no I/O) so it is cheap and fully unit-testable;
//! names that are not in the path (pod name, namespace, container name) are
//! filled in later from the Kubernetes API or /var/log/pods (see `names`).

use serde::Serialize;

/// What kind of thing owns a cgroup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A pod-level cgroup (all containers of one pod).
    Pod,
    /// One container (of a pod, or a standalone Docker/containerd container).
    Container,
    /// A systemd service unit.
    Service,
    /// Anything else: a plain cgroup path.
    Cgroup,
}

/// Who owns a cgroup. Serialized as-is into `/events` (camelCase keys).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct Workload {
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(rename = "podUID", skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(rename = "containerID", skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// Path relative to the cgroup hierarchy root, always starting with '/'.
    pub cgroup: String,
}

impl Workload {
    /// A plain cgroup with no further identity.
    pub fn cgroup(path: &str) -> Self {
        Workload {
            kind: Kind::Cgroup,
            namespace: None,
            pod: None,
            pod_uid: None,
            container: None,
            container_id: None,
            cgroup: normalize(path),
        }
    }

    /// Prometheus labels: `namespace,pod,container` for pod workloads,
    /// `cgroup` for everything else. Unknown names fall back to the UID /
    /// short container id so series stay distinct before names are known.
    pub fn labels(&self) -> Vec<(&'static str, String)> {
        match self.kind {
            Kind::Pod | Kind::Container if self.pod_uid.is_some() => {
                let pod = self
                    .pod
                    .clone()
                    .or_else(|| self.pod_uid.clone())
                    .unwrap_or_default();
                let container = self
                    .container
                    .clone()
                    .or_else(|| self.container_id.as_deref().map(short_id))
                    .unwrap_or_default();
                vec![
                    ("namespace", self.namespace.clone().unwrap_or_default()),
                    ("pod", pod),
                    ("container", container),
                ]
            }
            _ => vec![("cgroup", self.cgroup.clone())],
        }
    }

    /// The pod-level identity of a container (network namespaces belong to
    /// pods, not containers).
    pub fn pod_level(&self) -> Self {
        let mut w = self.clone();
        if w.kind == Kind::Container && w.pod_uid.is_some() {
            w.kind = Kind::Pod;
            w.container = None;
            w.container_id = None;
            // The pod cgroup is the parent of the container cgroup.
            if let Some((parent, _)) = w.cgroup.rsplit_once('/') {
                w.cgroup = if parent.is_empty() {
                    "/".into()
                } else {
                    parent.into()
                };
            }
        }
        w
    }
}

/// First 12 characters of a container id, as `docker ps` / `crictl ps` show.
pub fn short_id(id: &str) -> String {
    id.chars().take(12).collect()
}

fn normalize(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

/// Parse a cgroup path (relative to its hierarchy root).
pub fn parse(path: &str) -> Workload {
    let cgroup = normalize(path);
    let parts: Vec<&str> = cgroup.split('/').filter(|p| !p.is_empty()).collect();

    // Kubernetes: a pod component somewhere under a kubepods component.
    if let Some(kube_idx) = parts.iter().position(|p| p.starts_with("kubepods")) {
        for (i, part) in parts.iter().enumerate().skip(kube_idx) {
            if let Some(uid) = pod_uid_of(part) {
                let container_id = parts.get(i + 1).and_then(|c| container_id_of(c));
                let kind = if container_id.is_some() {
                    Kind::Container
                } else {
                    Kind::Pod
                };
                return Workload {
                    kind,
                    namespace: None,
                    pod: None,
                    pod_uid: Some(uid),
                    container: None,
                    container_id,
                    cgroup,
                };
            }
        }
    }

    // Standalone containers: /docker/<id>, /system.slice/docker-<id>.scope,
    // /machine.slice/libpod-<id>.scope, ...
    if let Some(last) = parts.last() {
        if let Some(id) = container_id_of(last) {
            let under_runtime = parts.len() >= 2
                && matches!(
                    parts[parts.len() - 2],
                    "docker" | "containerd" | "lxc" | "libpod"
                );
            if under_runtime || last.ends_with(".scope") {
                return Workload {
                    kind: Kind::Container,
                    container_id: Some(id),
                    ..Workload::cgroup(&cgroup)
                };
            }
        }
        if last.ends_with(".service") {
            return Workload {
                kind: Kind::Service,
                ..Workload::cgroup(&cgroup)
            };
        }
    }
    Workload::cgroup(&cgroup)
}

/// Pod UID from one path component:
/// systemd driver `kubepods-burstable-pod<uid with '_' for '-'>.slice`,
/// `kubepods-pod<uid>.slice` (guaranteed QoS); cgroupfs driver `pod<uid>`.
fn pod_uid_of(part: &str) -> Option<String> {
    let candidate = if let Some(stem) = part.strip_suffix(".slice") {
        let idx = stem.rfind("-pod")?;
        stem[idx + 4..].replace('_', "-")
    } else {
        part.strip_prefix("pod")?.to_string()
    };
    is_pod_uid(&candidate).then_some(candidate)
}

/// A UUID (8-4-4-4-12 hex) or a static pod's 32-hex config hash.
fn is_pod_uid(s: &str) -> bool {
    let hex = |c: char| c.is_ascii_hexdigit();
    if s.len() == 32 {
        return s.chars().all(hex);
    }
    if s.len() != 36 {
        return false;
    }
    s.char_indices().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => c == '-',
        _ => hex(c),
    })
}

/// Container id from one path component, for every runtime layout:
/// `cri-containerd-<id>.scope`, `crio-<id>.scope`, `docker-<id>.scope`,
/// `libpod-<id>.scope`, or a bare `<id>` / `crio-<id>` (cgroupfs driver).
/// CRI-O's `crio-conmon-<id>.scope` is the monitor process, not the
/// container, so it does not match.
fn container_id_of(part: &str) -> Option<String> {
    let stem = part.strip_suffix(".scope").unwrap_or(part);
    let id = [
        "cri-containerd-",
        "crio-",
        "docker-",
        "libpod-",
        "containerd-",
    ]
    .iter()
    .find_map(|p| stem.strip_prefix(p))
    .unwrap_or(stem);
    let ok = id.len() == 64 && id.chars().all(|c| c.is_ascii_hexdigit());
    ok.then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "0f3b9c2e-6a1d-4e7b-9c5a-2b8d7e6f1a30";
    const CID: &str = "4c1f0e8d2b7a6c5e9f3d1b0a8e7c6d5f4b3a2e1d0c9f8e7d6c5b4a3f2e1d0c9b";

    #[test]
    fn systemd_driver_containerd_burstable() {
        let p = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/cri-containerd-{CID}.scope",
            UID.replace('-', "_")
        );
        let w = parse(&p);
        assert_eq!(w.kind, Kind::Container);
        assert_eq!(w.pod_uid.as_deref(), Some(UID));
        assert_eq!(w.container_id.as_deref(), Some(CID));
        assert_eq!(w.cgroup, p);
    }

    #[test]
    fn systemd_driver_guaranteed_pod_level() {
        let p = format!(
            "/kubepods.slice/kubepods-pod{}.slice",
            UID.replace('-', "_")
        );
        let w = parse(&p);
        assert_eq!(w.kind, Kind::Pod);
        assert_eq!(w.pod_uid.as_deref(), Some(UID));
        assert_eq!(w.container_id, None);
    }

    #[test]
    fn systemd_driver_crio_and_conmon() {
        let pod = format!(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{}.slice",
            UID.replace('-', "_")
        );
        let w = parse(&format!("{pod}/crio-{CID}.scope"));
        assert_eq!(w.kind, Kind::Container);
        assert_eq!(w.container_id.as_deref(), Some(CID));
        let conmon = parse(&format!("{pod}/crio-conmon-{CID}.scope"));
        assert_eq!(conmon.kind, Kind::Pod, "conmon is not the container");
    }

    #[test]
    fn systemd_driver_docker_shim() {
        let p = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/docker-{CID}.scope",
            UID.replace('-', "_")
        );
        assert_eq!(parse(&p).container_id.as_deref(), Some(CID));
    }

    #[test]
    fn cgroupfs_driver_burstable_and_guaranteed() {
        let w = parse(&format!("/kubepods/burstable/pod{UID}/{CID}"));
        assert_eq!(w.kind, Kind::Container);
        assert_eq!(w.pod_uid.as_deref(), Some(UID));
        assert_eq!(w.container_id.as_deref(), Some(CID));

        let g = parse(&format!("/kubepods/pod{UID}/{CID}"));
        assert_eq!(g.pod_uid.as_deref(), Some(UID));
        assert_eq!(g.kind, Kind::Container);

        let crio = parse(&format!("/kubepods/besteffort/pod{UID}/crio-{CID}"));
        assert_eq!(crio.container_id.as_deref(), Some(CID));
    }

    #[test]
    fn static_pod_uid_is_32_hex() {
        let uid = "7d5f9c6e2a1b4c3d8e9f0a1b2c3d4e5f";
        let w = parse(&format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid}.slice"
        ));
        assert_eq!(w.kind, Kind::Pod);
        assert_eq!(w.pod_uid.as_deref(), Some(uid));
        let w = parse(&format!("/kubepods/burstable/pod{uid}/{CID}"));
        assert_eq!(w.pod_uid.as_deref(), Some(uid));
    }

    #[test]
    fn kind_cluster_nested_under_node_cgroup() {
        // kind/k3d nodes nest kubelet's tree under the node container's cgroup.
        let p = format!("/docker/{CID}/kubepods/burstable/pod{UID}/{CID}");
        let w = parse(&p);
        assert_eq!(w.kind, Kind::Container);
        assert_eq!(w.pod_uid.as_deref(), Some(UID));
    }

    #[test]
    fn qos_slices_are_plain_cgroups() {
        assert_eq!(
            parse("/kubepods.slice/kubepods-burstable.slice").kind,
            Kind::Cgroup
        );
        assert_eq!(parse("/kubepods/burstable").kind, Kind::Cgroup);
        // "pod" prefix but not a UID.
        assert_eq!(parse("/kubepods/podman-thing").kind, Kind::Cgroup);
    }

    #[test]
    fn standalone_docker_and_services() {
        let d = parse(&format!("/docker/{CID}"));
        assert_eq!(d.kind, Kind::Container);
        assert_eq!(d.pod_uid, None);
        let d = parse(&format!("/system.slice/docker-{CID}.scope"));
        assert_eq!(d.container_id.as_deref(), Some(CID));
        let s = parse("/system.slice/containerd.service");
        assert_eq!(s.kind, Kind::Service);
        assert_eq!(
            s.labels(),
            vec![("cgroup", "/system.slice/containerd.service".to_string())]
        );
    }

    #[test]
    fn root_and_normalization() {
        assert_eq!(parse("/").cgroup, "/");
        assert_eq!(parse("").cgroup, "/");
        assert_eq!(parse("a/b/").cgroup, "/a/b");
    }

    #[test]
    fn labels_for_pods_fall_back_to_ids() {
        let w = parse(&format!("/kubepods/burstable/pod{UID}/{CID}"));
        let l = w.labels();
        assert_eq!(l[0], ("namespace", String::new()));
        assert_eq!(l[1], ("pod", UID.to_string()));
        assert_eq!(l[2], ("container", CID[..12].to_string()));
        let named = Workload {
            namespace: Some("default".into()),
            pod: Some("web-0".into()),
            container: Some("nginx".into()),
            ..w.clone()
        };
        assert_eq!(named.labels()[2], ("container", "nginx".to_string()));
        let pod = w.pod_level();
        assert_eq!(pod.kind, Kind::Pod);
        assert_eq!(pod.cgroup, format!("/kubepods/burstable/pod{UID}"));
    }
}
