//! Typed events and the hub that fans them out to `/events` clients.
//!
//! Every event has a sequence number, the instance id of this observer run
//! (sequence numbers restart with it, ADR 0075), a timestamp, the node, the
//! workload identity and the evidence numbers. The hub keeps a bounded replay
//! buffer (for `?since=`) and a broadcast channel for live clients; a client
//! that falls behind the channel is dropped (and counted) instead of slowing
//! the observer down.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::broadcast;

use crate::workload::Workload;

/// Events kept for late clients.
pub const REPLAY_CAPACITY: usize = 2048;
/// Events a live client may lag behind before it is dropped.
pub const CLIENT_BUFFER: usize = 1024;

/// A task was killed for memory (kernel: `struct oom_event`).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OomEvent {
    pub pid: u32,
    pub tgid: u32,
    pub comm: String,
    pub anon_rss_bytes: u64,
    pub file_rss_bytes: u64,
    pub shmem_rss_bytes: u64,
    pub total_vm_bytes: u64,
    pub oom_score_adj: i32,
    pub uid: u32,
    /// Memory cgroup of the victim (where the limit was hit, for memcg OOMs).
    pub memcg: String,
}

/// A run of consecutive sampling intervals in which the cgroup was CFS
/// throttled, closed by the first interval without throttling.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleEpisode {
    pub start: String,
    pub end: String,
    pub duration_seconds: f64,
    pub periods: u64,
    pub throttled_periods: u64,
    /// throttled_periods / periods over the episode.
    pub ratio: f64,
    pub throttled_seconds: f64,
    pub limit_cores: Option<f64>,
    /// CPU time the cgroup used over the same window (what an averaged usage
    /// metric would show), when the host exposes usage for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_seconds: Option<f64>,
    /// True for a progress report of an episode still under way.
    pub ongoing: bool,
}

/// Packet drops of one reason in one network namespace above the burst
/// threshold within one sampling interval.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DropBurst {
    pub reason: String,
    pub netns: u32,
    pub drops: u64,
    pub interval_seconds: f64,
}

/// TCP retransmits in one network namespace above the burst threshold.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RetransmitBurst {
    pub netns: u32,
    pub retransmits: u64,
    pub interval_seconds: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CgroupChange {
    pub id: u64,
    /// "cpu" or "memory" (v1 controller hierarchy) or "unified".
    pub hierarchy: String,
    pub level: u32,
}

/// Who acted in one step of a birth timeline.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BirthActor {
    Kubelet,
    Runtime,
    Kernel,
    Container,
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BirthCloseReason {
    Entrypoint,
    Timeout,
    Shutdown,
}

/// One step of a birth timeline (TS `BirthStep`).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BirthStep {
    /// Since the window's first event.
    pub offset_microseconds: u64,
    pub actor: BirthActor,
    /// cgroup-created, cgroup-file-written, task-attached, namespace-created,
    /// namespace-joined, fork, exec.
    pub action: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
}

/// One container of a birth (TS `BirthContainer`).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BirthContainer {
    pub id: String,
    pub cgroup: String,
    pub sandbox: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint_offset_microseconds: Option<u64>,
}

/// Namespaces created during a birth, by type (absent = none seen).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct NamespacesCreated {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mnt: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uts: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
}

impl NamespacesCreated {
    /// Set the count of the namespace type at `index` of `birth_record.ns[]`
    /// (birth.h's enum birth_ns_index; names in `probes::birth::NAMESPACES`).
    pub fn set(&mut self, index: usize, n: u64) {
        use crate::probes::birth::birth_ns_index as Ns;
        let slot = match Ns(index as u32) {
            Ns::BIRTH_NS_MNT => &mut self.mnt,
            Ns::BIRTH_NS_UTS => &mut self.uts,
            Ns::BIRTH_NS_IPC => &mut self.ipc,
            Ns::BIRTH_NS_PID => &mut self.pid,
            Ns::BIRTH_NS_NET => &mut self.net,
            Ns::BIRTH_NS_USER => &mut self.user,
            Ns::BIRTH_NS_CGROUP => &mut self.cgroup,
            Ns::BIRTH_NS_TIME => &mut self.time,
            _ => return,
        };
        *slot = (n > 0).then_some(n);
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CgroupCreated {
    /// Controller(s) of the v1 hierarchy ("cpu", "memory", "systemd"…) or "unified".
    pub hierarchy: String,
    pub path: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CgroupFileWrite {
    /// Filesystem path of the control file.
    pub path: String,
    /// Bytes passed to write(2) (first 63), trailing newline removed.
    pub value: String,
}

/// A pod (or bare container) start: one capture window (TS `BirthEvent`).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BirthEvent {
    pub window_id: u64,
    pub start: String,
    pub complete: bool,
    pub close_reason: BirthCloseReason,
    pub duration_seconds: f64,
    pub syscalls: u64,
    pub forks: u64,
    pub execs: u64,
    pub namespaces_created: NamespacesCreated,
    pub cgroups_created: Vec<CgroupCreated>,
    pub cgroup_files_written: Vec<CgroupFileWrite>,
    pub containers: Vec<BirthContainer>,
    pub timeline: Vec<BirthStep>,
    pub truncated: bool,
    /// Events the kernel skipped in the birth programs, node-wide, while the
    /// window was open (recursion misses): when not 0, a fork, exec or write
    /// of this start may be missing from the evidence.
    pub skipped_kernel_events: u64,
}

/// The event payload; `type` names the noun shared with the TS side.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "type", content = "evidence", rename_all = "snake_case")]
pub enum Evidence {
    OomKill(OomEvent),
    ThrottleEpisode(ThrottleEpisode),
    DropBurst(DropBurst),
    RetransmitBurst(RetransmitBurst),
    CgroupCreated(CgroupChange),
    CgroupRemoved(CgroupChange),
    Birth(BirthEvent),
    CpuStolen(crate::stolen::CpuStolen),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    seq: u64,
    instance: &'a str,
    ts: String,
    ts_unix_ms: u128,
    node: &'a str,
    workload: &'a Workload,
    #[serde(flatten)]
    evidence: &'a Evidence,
}

pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// One serialized event line with its sequence number.
pub type Line = (u64, Arc<str>);

pub struct EventHub {
    node: String,
    instance: String,
    tx: broadcast::Sender<Line>,
    replay: Mutex<VecDeque<Line>>,
    next_seq: AtomicU64,
    pub published: AtomicU64,
    pub clients_dropped: AtomicU64,
}

/// A fresh id per observer run: the kernel's random UUID, else start time and pid.
fn new_instance_id() -> String {
    match std::fs::read_to_string("/proc/sys/kernel/random/uuid") {
        Ok(id) if !id.trim().is_empty() => id.trim().to_string(),
        _ => format!(
            "{:x}-{:x}",
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .as_nanos(),
            std::process::id()
        ),
    }
}

impl EventHub {
    pub fn new(node: String) -> Self {
        let (tx, _) = broadcast::channel(CLIENT_BUFFER);
        EventHub {
            node,
            instance: new_instance_id(),
            tx,
            replay: Mutex::new(VecDeque::with_capacity(REPLAY_CAPACITY)),
            next_seq: AtomicU64::new(1),
            published: AtomicU64::new(0),
            clients_dropped: AtomicU64::new(0),
        }
    }

    pub fn publish(&self, at: SystemTime, workload: &Workload, evidence: Evidence) {
        let Ok(mut replay) = self.replay.lock() else {
            return;
        };
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let env = Envelope {
            seq,
            instance: &self.instance,
            ts: rfc3339(at),
            ts_unix_ms: at
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .as_millis(),
            node: &self.node,
            workload,
            evidence: &evidence,
        };
        let Ok(mut line) = serde_json::to_string(&env) else {
            return;
        };
        line.push('\n');
        let line: Arc<str> = line.into();
        if replay.len() >= REPLAY_CAPACITY {
            replay.pop_front();
        }
        replay.push_back((seq, line.clone()));
        // No receivers is fine: nobody is streaming right now.
        let _ = self.tx.send((seq, line));
        self.published.fetch_add(1, Ordering::Relaxed);
    }

    /// Buffered events with seq > `since` plus a live receiver, taken under
    /// one lock so a client sees every event exactly once; and the last
    /// sequence number published before it (0: none), where a live-only
    /// client resumes from if it reconnects.
    pub fn subscribe(&self, since: Option<u64>) -> (Vec<Line>, broadcast::Receiver<Line>, u64) {
        let replay = match self.replay.lock() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        let rx = self.tx.subscribe();
        let backlog = match since {
            Some(s) => replay.iter().filter(|(seq, _)| *seq > s).cloned().collect(),
            None => Vec::new(),
        };
        // Publishing takes the same lock, so no event is between this and `rx`.
        let last = self.next_seq.load(Ordering::Relaxed).saturating_sub(1);
        (backlog, rx, last)
    }

    /// This observer run's id: `seq` values are only comparable within one instance.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn replay_len(&self) -> usize {
        self.replay.lock().map(|r| r.len()).unwrap_or(0)
    }

    pub fn live_clients(&self) -> usize {
        self.tx.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_counts_land_under_the_names_the_birth_table_gives() {
        for ns in &crate::probes::birth::NAMESPACES {
            let mut c = NamespacesCreated::default();
            c.set(ns.index, 3);
            assert_eq!(
                serde_json::to_value(&c).unwrap(),
                serde_json::json!({ ns.name: 3 }),
                "{}",
                ns.name
            );
        }
    }

    #[test]
    fn envelope_shape_and_replay() {
        let hub = EventHub::new("node-a".into());
        let w = crate::workload::parse("/kg");
        for id in 0..3 {
            hub.publish(
                SystemTime::now(),
                &w,
                Evidence::CgroupCreated(CgroupChange {
                    id,
                    hierarchy: "cpu".into(),
                    level: 1,
                }),
            );
        }
        let (backlog, _rx, last) = hub.subscribe(Some(1));
        assert_eq!(last, 3);
        assert_eq!(backlog.len(), 2);
        let v: serde_json::Value = serde_json::from_str(backlog[0].1.trim()).unwrap();
        assert_eq!(v["type"], "cgroup_created");
        assert_eq!(v["seq"], 2);
        assert_eq!(v["instance"], hub.instance());
        assert_eq!(v["node"], "node-a");
        assert_eq!(v["workload"]["cgroup"], "/kg");
        assert_eq!(v["workload"]["kind"], "cgroup");
        assert_eq!(v["evidence"]["id"], 1);
        let (none, _rx, _) = hub.subscribe(None);
        assert!(none.is_empty());
    }

    #[test]
    fn each_hub_is_its_own_instance() {
        let (a, b) = (EventHub::new("n".into()), EventHub::new("n".into()));
        assert!(!a.instance().is_empty());
        assert_ne!(a.instance(), b.instance());
    }

    #[test]
    fn a_client_that_falls_behind_sees_lag_not_backpressure() {
        let hub = EventHub::new("n".into());
        let (_, mut rx, _) = hub.subscribe(None);
        let w = crate::workload::parse("/");
        // Publishing never blocks, however slow the receiver is.
        for id in 0..(CLIENT_BUFFER as u64 + 5) {
            hub.publish(
                SystemTime::now(),
                &w,
                Evidence::CgroupCreated(CgroupChange {
                    id,
                    hierarchy: "cpu".into(),
                    level: 1,
                }),
            );
        }
        // The /events handler disconnects (and counts) on Lagged.
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
    }

    #[test]
    fn replay_is_bounded() {
        let hub = EventHub::new("n".into());
        let w = crate::workload::parse("/");
        for id in 0..(REPLAY_CAPACITY as u64 + 10) {
            hub.publish(
                SystemTime::now(),
                &w,
                Evidence::CgroupRemoved(CgroupChange {
                    id,
                    hierarchy: "cpu".into(),
                    level: 1,
                }),
            );
        }
        assert_eq!(hub.replay_len(), REPLAY_CAPACITY);
        let (b, _, _) = hub.subscribe(Some(0));
        assert_eq!(b.first().map(|x| x.0), Some(11));
    }
}
