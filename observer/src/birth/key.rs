//! Which capture window a cgroup belongs to: one per pod (by UID), or one per
//! bare container (by its cgroup), from the path alone (workload.rs).

use crate::workload::{self, Kind};

/// Where a pod or container cgroup belongs.
pub(super) struct WindowKey {
    /// "pod:<uid>" or "ctr:<cgroup>".
    pub key: String,
    /// Workload cgroup: the pod's, or the bare container's.
    pub cgroup: String,
    /// (container id, container cgroup) when the path is a container's.
    pub container: Option<(String, String)>,
}

/// The window key of a cgroup path, when it is a pod or container cgroup.
pub(super) fn window_key(path: &str) -> Option<WindowKey> {
    let w = workload::parse(path);
    let container = w
        .container_id
        .clone()
        .filter(|_| w.kind == Kind::Container)
        .map(|id| (id, w.cgroup.clone()));
    match (&w.kind, &w.pod_uid) {
        (Kind::Pod | Kind::Container, Some(uid)) => Some(WindowKey {
            key: format!("pod:{uid}"),
            cgroup: w.pod_level().cgroup,
            container,
        }),
        (Kind::Container, None) => Some(WindowKey {
            key: format!("ctr:{}", w.cgroup),
            cgroup: w.cgroup.clone(),
            container,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "11111111-2222-3333-4444-555555555555";

    #[test]
    fn pods_key_by_uid_and_bare_containers_by_cgroup() {
        let id = "a".repeat(64);
        let pod = window_key(&format!("/kubepods/besteffort/pod{UID}")).unwrap();
        assert_eq!(pod.key, format!("pod:{UID}"));
        assert!(pod.container.is_none());
        let ctr = window_key(&format!("/kubepods/besteffort/pod{UID}/{id}")).unwrap();
        assert_eq!(ctr.key, pod.key, "a pod's containers share its window");
        assert_eq!(ctr.cgroup, format!("/kubepods/besteffort/pod{UID}"));
        assert_eq!(ctr.container.map(|c| c.0), Some(id.clone()));
        let bare = window_key(&format!("/system.slice/docker-{id}.scope")).unwrap();
        assert_eq!(bare.key, format!("ctr:{}", bare.cgroup));
        assert!(window_key("/kubepods/besteffort").is_none());
    }
}
