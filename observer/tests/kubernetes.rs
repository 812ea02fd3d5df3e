//! Pod names from a real Kubernetes API server (etcd + kube-apiserver from
//! the repo's test cluster helper). The test plays kubelet: it binds a pod to
//! a node name, reports a container id in the pod status, and creates the
//! kubelet-style cgroup tree; the observer must label that cgroup's metrics
//! and events with namespace/pod/container names from its pod watch.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The repo's `tests/env/cluster-cli.ts`, in its own process group so the
/// whole tree (npx, tsx, etcd, kube-apiserver) is stopped on drop.
struct Cluster {
    child: Child,
    kubeconfig: String,
    kubectl: String,
    _dir: TempDir,
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Cluster {
    fn start() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf();
        let dir = TempDir(std::env::temp_dir().join(unique("kg-cluster")));
        std::fs::create_dir_all(&dir.0).unwrap();
        let ready = dir.0.join("ready.json");
        use std::os::unix::process::CommandExt;
        let child = Command::new("npx")
            .args(["tsx", "tests/env/cluster-cli.ts", "--ready-file"])
            .arg(&ready)
            .current_dir(&root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("start tests/env/cluster-cli.ts (needs node and the repo's npm packages)");
        let mut c = Cluster {
            child,
            kubeconfig: String::new(),
            kubectl: String::new(),
            _dir: dir,
        };
        let start = Instant::now();
        let info: serde_json::Value = loop {
            if let Ok(t) = std::fs::read_to_string(&ready) {
                if let Ok(v) = serde_json::from_str(&t) {
                    break v;
                }
            }
            if let Ok(Some(st)) = c.child.try_wait() {
                panic!("cluster helper exited: {st}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(180),
                "cluster not ready after 180 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        c.kubeconfig = info["kubeconfig"].as_str().unwrap().to_string();
        c.kubectl = info["kubectl"].as_str().unwrap().to_string();
        c
    }

    fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut child = Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut i = child.stdin.take().unwrap();
            if let Some(s) = stdin {
                i.write_all(s.as_bytes()).unwrap();
            }
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let pgid = self.child.id() as i32;
        // SAFETY: signalling the process group we created for the helper.
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // SAFETY: as above; anything still alive in our group is ours.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

#[test]
fn pod_names_come_from_the_api_server() {
    let cluster = Cluster::start();
    let node = unique("kg-node");
    let obs = Observer::start(&["--kubeconfig", &cluster.kubeconfig, "--node-name", &node]);

    // The pod is created after the observer started: its names arrive via the watch.
    let pod = unique("web");
    cluster.kubectl(
        &["apply", "-f", "-"],
        Some(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {pod}, namespace: default}}\nspec:\n  nodeName: {node}\n  automountServiceAccountToken: false\n  containers: [{{name: app, image: example.invalid/app}}]\n"
        )),
    );
    let uid = cluster.kubectl(
        &["get", "pod", &pod, "-o", "jsonpath={.metadata.uid}"],
        None,
    );
    let cid: String = format!(
        "{:0>64}",
        format!("{:x}", std::process::id() as u64 * 7919 + 0xabc)
    );
    cluster.kubectl(
        &["patch", "pod", &pod, "--subresource=status", "--type=merge", "-p",
          &format!(r#"{{"status":{{"containerStatuses":[{{"name":"app","containerID":"containerd://{cid}","ready":true,"restartCount":0,"image":"example.invalid/app","imageID":"","state":{{"running":{{}}}}}}]}}}}"#)],
        None,
    );
    wait_for(
        "pod watch to deliver the pod",
        Duration::from_secs(20),
        || {
            let m = obs.metrics();
            (m.sum("kernel_gossip_cache_entries", &[("cache", "pod_names")])? >= 1.0).then_some(())
        },
    );

    // kubelet's cgroupfs-driver layout under a test-owned parent.
    let cg = Cgroup::nested(
        &["cpu"],
        &["kubepods", "burstable", &format!("pod{uid}"), &cid],
    );
    cg.set_cpu_limit(50_000, 100_000);
    let want = [
        ("namespace", "default"),
        ("pod", pod.as_str()),
        ("container", "app"),
    ];
    let limit = wait_for("named series", Duration::from_secs(10), || {
        obs.metrics().sum("kernel_gossip_cpu_limit_cores", &want)
    });
    assert_eq!(limit, 0.5);

    let path = cg.path();
    let ev = obs.events_until(Duration::from_secs(5), |e| {
        e.iter()
            .any(|e| e["type"] == "cgroup_created" && e["workload"]["cgroup"] == path.as_str())
    });
    let created = ev
        .iter()
        .find(|e| e["type"] == "cgroup_created" && e["workload"]["cgroup"] == path.as_str())
        .unwrap_or_else(|| panic!("no cgroup_created for {path}: {ev:?}"));
    let w = &created["workload"];
    assert_eq!(w["kind"], "container");
    assert_eq!(w["namespace"], "default");
    assert_eq!(w["pod"], pod.as_str());
    assert_eq!(w["podUID"], uid.as_str());
    assert_eq!(w["container"], "app");
    assert_eq!(w["containerID"], cid.as_str());

    // Deleting the pod removes its names (watch DELETED): the series falls
    // back to the UID as pod label.
    cluster.kubectl(
        &["delete", "pod", &pod, "--grace-period=0", "--force"],
        None,
    );
    wait_for("names to be dropped", Duration::from_secs(20), || {
        let m = obs.metrics();
        m.sum(
            "kernel_gossip_cpu_limit_cores",
            &[("pod", uid.as_str()), ("container", &cid[..12])],
        )
    });
}
