//! Pod names from the Kubernetes API: list + watch pods bound to this node
//! (`fieldSelector=spec.nodeName=<node>`) over plain HTTPS, and keep
//! pod UID -> {namespace, name, container id -> container name}. A small
//! blocking client on its own thread: one list/watch stream does not justify
//! a full Kubernetes client library.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};

use crate::names::PodInfo;
use crate::state::State;

const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// How to reach and authenticate to the API server.
pub struct Config {
    pub server: String,
    ca: Option<Vec<u8>>,
    client: Option<(Vec<u8>, Vec<u8>)>,
    token: Option<String>,
    insecure: bool,
}

// ------------------------------------------------------------ kubeconfig

#[derive(Deserialize)]
struct KubeConfig {
    #[serde(rename = "current-context", default)]
    current_context: String,
    #[serde(default)]
    contexts: Vec<Named<ContextSpec>>,
    #[serde(default)]
    clusters: Vec<Named<ClusterSpec>>,
    #[serde(default)]
    users: Vec<Named<UserSpec>>,
}

#[derive(Deserialize)]
struct Named<T> {
    name: String,
    #[serde(alias = "context", alias = "cluster", alias = "user")]
    spec: T,
}

#[derive(Deserialize)]
struct ContextSpec {
    cluster: String,
    user: String,
}

#[derive(Deserialize)]
struct ClusterSpec {
    server: String,
    #[serde(rename = "certificate-authority")]
    ca_file: Option<PathBuf>,
    #[serde(rename = "certificate-authority-data")]
    ca_data: Option<String>,
    #[serde(rename = "insecure-skip-tls-verify", default)]
    insecure: bool,
}

#[derive(Deserialize, Default)]
struct UserSpec {
    #[serde(rename = "client-certificate")]
    cert_file: Option<PathBuf>,
    #[serde(rename = "client-certificate-data")]
    cert_data: Option<String>,
    #[serde(rename = "client-key")]
    key_file: Option<PathBuf>,
    #[serde(rename = "client-key-data")]
    key_data: Option<String>,
    token: Option<String>,
    #[serde(rename = "tokenFile")]
    token_file: Option<PathBuf>,
}

fn b64(s: &str) -> Result<Vec<u8>> {
    // Kubeconfig *-data fields are standard base64 (with padding).
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = T
            .iter()
            .position(|&t| t == c)
            .ok_or_else(|| anyhow!("invalid base64"))? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

/// Resolve a kubeconfig-relative path.
fn rel(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.parent().unwrap_or(Path::new(".")).join(p)
    }
}

fn data_or_file(
    base: &Path,
    data: &Option<String>,
    file: &Option<PathBuf>,
) -> Result<Option<Vec<u8>>> {
    if let Some(d) = data {
        return Ok(Some(b64(d)?));
    }
    if let Some(f) = file {
        let p = rel(base, f);
        return Ok(Some(
            fs::read(&p).with_context(|| format!("reading {}", p.display()))?,
        ));
    }
    Ok(None)
}

impl Config {
    /// --kubeconfig if given, else in-cluster service account config, else None.
    pub fn discover(kubeconfig: Option<&Path>) -> Result<Option<Config>> {
        if let Some(p) = kubeconfig {
            return Self::from_kubeconfig(p).map(Some);
        }
        let (host, port) = (
            std::env::var("KUBERNETES_SERVICE_HOST"),
            std::env::var("KUBERNETES_SERVICE_PORT"),
        );
        if let (Ok(h), Ok(p)) = (host, port) {
            let host = if h.contains(':') { format!("[{h}]") } else { h };
            return Ok(Some(Config {
                server: format!("https://{host}:{p}"),
                ca: fs::read(Path::new(SA_DIR).join("ca.crt")).ok(),
                client: None,
                token: fs::read_to_string(Path::new(SA_DIR).join("token"))
                    .ok()
                    .map(|t| t.trim().to_string()),
                insecure: false,
            }));
        }
        Ok(None)
    }

    pub fn from_kubeconfig(path: &Path) -> Result<Config> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("reading kubeconfig {}", path.display()))?;
        let kc: KubeConfig = serde_yaml::from_str(&text)
            .with_context(|| format!("parsing kubeconfig {}", path.display()))?;
        let ctx = kc
            .contexts
            .iter()
            .find(|c| c.name == kc.current_context)
            .or(kc.contexts.first())
            .ok_or_else(|| anyhow!("kubeconfig has no context"))?;
        let cluster = kc
            .clusters
            .iter()
            .find(|c| c.name == ctx.spec.cluster)
            .ok_or_else(|| anyhow!("kubeconfig: cluster {} not found", ctx.spec.cluster))?;
        let default_user = UserSpec::default();
        let user = kc
            .users
            .iter()
            .find(|u| u.name == ctx.spec.user)
            .map(|u| &u.spec)
            .unwrap_or(&default_user);
        let ca = data_or_file(path, &cluster.spec.ca_data, &cluster.spec.ca_file)?;
        let cert = data_or_file(path, &user.cert_data, &user.cert_file)?;
        let key = data_or_file(path, &user.key_data, &user.key_file)?;
        let token = match (&user.token, &user.token_file) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(f)) => Some(fs::read_to_string(rel(path, f))?.trim().to_string()),
            _ => None,
        };
        Ok(Config {
            server: cluster.spec.server.trim_end_matches('/').to_string(),
            ca,
            client: cert.zip(key),
            token,
            insecure: cluster.spec.insecure,
        })
    }

    fn agent(&self) -> Result<ureq::Agent> {
        let mut tls = TlsConfig::builder();
        if let Some(ca) = &self.ca {
            let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(ca)
                .filter_map(|i| match i {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                bail!("no certificate in the cluster CA data");
            }
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        }
        if let Some((cert, key)) = &self.client {
            let chain: Vec<Certificate<'static>> = ureq::tls::parse_pem(cert)
                .filter_map(|i| match i {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            let key = PrivateKey::from_pem(key).map_err(|e| anyhow!("client key: {e}"))?;
            tls = tls.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
        }
        if self.insecure {
            tls = tls.disable_verification(true);
        }
        let cfg = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .build();
        Ok(cfg.into())
    }

    fn get(
        &self,
        agent: &ureq::Agent,
        path_and_query: &str,
    ) -> Result<ureq::http::Response<ureq::Body>> {
        let mut req = agent.get(format!("{}{}", self.server, path_and_query));
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        Ok(req.call()?)
    }
}

// ------------------------------------------------------------- pod model

#[derive(Deserialize)]
struct PodList {
    metadata: ListMeta,
    #[serde(default)]
    items: Vec<Pod>,
}

#[derive(Deserialize)]
struct ListMeta {
    #[serde(rename = "resourceVersion", default)]
    resource_version: String,
}

#[derive(Deserialize)]
struct Pod {
    metadata: PodMeta,
    #[serde(default)]
    status: PodStatus,
}

#[derive(Deserialize)]
struct PodMeta {
    #[serde(default)]
    uid: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(rename = "resourceVersion", default)]
    resource_version: String,
}

#[derive(Deserialize, Default)]
struct PodStatus {
    #[serde(rename = "containerStatuses", default)]
    containers: Vec<ContainerStatus>,
    #[serde(rename = "initContainerStatuses", default)]
    init: Vec<ContainerStatus>,
    #[serde(rename = "ephemeralContainerStatuses", default)]
    ephemeral: Vec<ContainerStatus>,
}

#[derive(Deserialize)]
struct ContainerStatus {
    name: String,
    #[serde(rename = "containerID", default)]
    container_id: String,
}

#[derive(Deserialize)]
struct WatchEvent {
    #[serde(rename = "type")]
    kind: String,
    object: serde_json::Value,
}

/// "containerd://<id>" / "cri-o://<id>" / "docker://<id>" -> "<id>".
pub fn strip_runtime(id: &str) -> &str {
    id.split_once("://").map_or(id, |(_, rest)| rest)
}

fn pod_info(p: &Pod) -> PodInfo {
    let containers: HashMap<String, String> = p
        .status
        .containers
        .iter()
        .chain(&p.status.init)
        .chain(&p.status.ephemeral)
        .filter(|c| !c.container_id.is_empty())
        .map(|c| (strip_runtime(&c.container_id).to_string(), c.name.clone()))
        .collect();
    PodInfo {
        namespace: p.metadata.namespace.clone(),
        name: p.metadata.name.clone(),
        containers,
    }
}

fn selector(node: &str) -> String {
    // fieldSelector=spec.nodeName=<node>, URL-encoded.
    let enc: String = node
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("fieldSelector=spec.nodeName%3D{enc}")
}

/// One list + watch cycle; returns when the watch ends or fails.
fn list_and_watch(cfg: &Config, agent: &ureq::Agent, state: &State) -> Result<()> {
    let sel = selector(&state.settings.node);
    let mut resp = cfg.get(agent, &format!("/api/v1/pods?{sel}"))?;
    if !resp.status().is_success() {
        bail!("list pods: HTTP {}", resp.status());
    }
    let list: PodList = serde_json::from_reader(resp.body_mut().as_reader())?;
    let mut rv = list.metadata.resource_version;
    {
        let mut names = state
            .names
            .lock()
            .map_err(|_| anyhow!("names lock poisoned"))?;
        names.api = list
            .items
            .iter()
            .map(|p| (p.metadata.uid.clone(), pod_info(p)))
            .collect();
        tracing::info!(pods = names.api.len(), node = %state.settings.node, "pod names from the Kubernetes API");
    }
    while !state.stop.load(Ordering::Relaxed) {
        let resp = cfg.get(
            agent,
            &format!("/api/v1/pods?{sel}&watch=1&allowWatchBookmarks=true&timeoutSeconds=60&resourceVersion={rv}"),
        )?;
        if !resp.status().is_success() {
            bail!("watch pods: HTTP {}", resp.status());
        }
        let reader = BufReader::new(resp.into_body().into_reader());
        for line in reader.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let ev: WatchEvent = serde_json::from_str(&line)?;
            if ev.kind == "ERROR" {
                // Usually 410 Gone: our resourceVersion is too old; relist.
                bail!("watch error: {}", ev.object);
            }
            let pod: Pod = serde_json::from_value(ev.object)?;
            if !pod.metadata.resource_version.is_empty() {
                rv = pod.metadata.resource_version.clone();
            }
            if ev.kind == "BOOKMARK" {
                continue;
            }
            let mut names = state
                .names
                .lock()
                .map_err(|_| anyhow!("names lock poisoned"))?;
            if ev.kind == "DELETED" {
                names.api.remove(&pod.metadata.uid);
            } else {
                names.api.insert(pod.metadata.uid.clone(), pod_info(&pod));
            }
            if state.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Keep pod names current until shutdown; errors back off and relist.
pub fn watch_pods(cfg: Config, state: Arc<State>) {
    let agent = match cfg.agent() {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "Kubernetes client setup failed; pod names from paths only");
            return;
        }
    };
    let mut backoff = Duration::from_millis(500);
    while !state.stop.load(Ordering::Relaxed) {
        match list_and_watch(&cfg, &agent, &state) {
            Ok(()) => backoff = Duration::from_millis(500),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), server = %cfg.server, "pod watch; retrying");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubeconfig_with_files_and_flow_context() {
        let dir = std::env::temp_dir().join(format!("kg-kc-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("ca.pem"), b"CA").unwrap();
        let kc = dir.join("kubeconfig");
        fs::write(
            &kc,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443/\n    certificate-authority: ca.pem\nusers:\n- name: u\n  user:\n    token: abc\ncontexts:\n- name: x\n  context: {cluster: c, user: u, namespace: default}\ncurrent-context: x\n",
        )
        .unwrap();
        let cfg = Config::from_kubeconfig(&kc).unwrap();
        assert_eq!(cfg.server, "https://127.0.0.1:6443");
        assert_eq!(cfg.ca.as_deref(), Some(&b"CA"[..]));
        assert_eq!(cfg.token.as_deref(), Some("abc"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn base64_and_helpers() {
        assert_eq!(b64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(b64("aGk=\n").unwrap(), b"hi");
        assert_eq!(strip_runtime("containerd://abc"), "abc");
        assert_eq!(selector("node-1"), "fieldSelector=spec.nodeName%3Dnode-1");
    }
}
