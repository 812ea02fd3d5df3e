//! Once per sampling interval: turn counters into episodes and bursts for
//! `/events` (throttle_episode, drop_burst, retransmit_burst, cpu_stolen). Metrics do not
//! depend on this loop; it only derives events.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::cgroups::CgroupIndex;
use crate::cpustat::{self, CpuStat};
use crate::events::{rfc3339, DropBurst, Evidence, RetransmitBurst, ThrottleEpisode};
use crate::host::Hierarchy;
use crate::state::State;
use crate::workload;

/// While an episode lasts, report it this often (`ongoing: true`), so a
/// workload throttled without pause is visible before the episode ends.
const ONGOING_EVERY: Duration = Duration::from_secs(10);

struct Episode {
    /// Time of the last unthrottled sample: the counters in `base` were read then,
    /// so every number of the episode covers exactly [start, last_throttled_at].
    start: SystemTime,
    base: CpuStat,
    last_throttled_at: SystemTime,
    last: CpuStat,
    reported_at: SystemTime,
}

/// How long a cgroup without a CPU limit is left unread: only a quota can
/// throttle it, and most cgroups of a node (slices, services, unlimited
/// pods) never get one. Reading three files of every cgroup every second was
/// most of the idle observer's CPU on a node with a few hundred cgroups; a
/// limit set later is picked up within this delay.
const UNLIMITED_RECHECK: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Track {
    prev: Option<CpuStat>,
    prev_at: Option<SystemTime>,
    episode: Option<Episode>,
    /// Unlimited and never throttled when last read: not read again before.
    skip_until: Option<Instant>,
}

#[derive(Default)]
pub struct Sampler {
    cpu: HashMap<String, Track>,
    drops: HashMap<(u32, String), u64>,
    retrans: HashMap<u32, u64>,
    last: Option<Instant>,
    cgroup_events_lost: u64,
    stolen: crate::stolen::StolenSampler,
}

/// Build an episode's event: a progress report while `ongoing`, else the close.
fn report(ep: &Episode, ongoing: bool) -> ThrottleEpisode {
    let periods = ep.last.nr_periods.saturating_sub(ep.base.nr_periods);
    let throttled = ep.last.nr_throttled.saturating_sub(ep.base.nr_throttled);
    let duration = ep
        .last_throttled_at
        .duration_since(ep.start)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    ThrottleEpisode {
        start: rfc3339(ep.start),
        end: rfc3339(ep.last_throttled_at),
        duration_seconds: duration,
        periods,
        throttled_periods: throttled,
        ratio: if periods > 0 {
            throttled as f64 / periods as f64
        } else {
            0.0
        },
        throttled_seconds: (ep.last.throttled_seconds - ep.base.throttled_seconds).max(0.0),
        limit_cores: ep.last.limit_cores,
        usage_seconds: match (ep.last.usage_seconds, ep.base.usage_seconds) {
            (Some(last), Some(base)) => Some((last - base).max(0.0)),
            _ => None,
        },
        ongoing,
    }
}

impl Sampler {
    pub fn tick(&mut self, s: &Arc<State>) {
        let now = SystemTime::now();
        let interval = self.last.map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0);
        self.last = Some(Instant::now());
        self.resync_cgroups(s);
        if s.enabled(crate::signals::Signal::Cpu) {
            self.throttling(s, now);
        }
        self.bursts(s, now, interval);
        if s.enabled(crate::signals::Signal::Runqueue) {
            self.stolen.tick(s, now, interval);
        }
    }

    /// The cgroup ring buffer overflowed (a mkdir/rmdir storm): the id ->
    /// path index may have missed changes, so rebuild it from cgroupfs.
    fn resync_cgroups(&mut self, s: &Arc<State>) {
        let Some(c) = &s.probes.cgroup_events else {
            return;
        };
        let lost = c.lost();
        if lost <= self.cgroup_events_lost {
            return;
        }
        self.cgroup_events_lost = lost;
        let fresh = CgroupIndex::scan(&s.layout);
        if let Ok(mut idx) = s.cgroups.write() {
            *idx = fresh;
        }
        tracing::info!(lost, "cgroup events were lost; rescanned cgroupfs");
    }

    fn throttling(&mut self, s: &Arc<State>, now: SystemTime) {
        let entries = s
            .cgroups
            .read()
            .map(|i| i.entries(Hierarchy::Cpu))
            .unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        let tick = Instant::now();
        for (_, path) in entries {
            if let Some(t) = self.cpu.get(&path) {
                if t.skip_until.is_some_and(|u| tick < u) {
                    seen.insert(path);
                    continue;
                }
            }
            let Some(st) = cpustat::read_cpu(&s.layout, &path) else {
                continue;
            };
            seen.insert(path.clone());
            let t = self.cpu.entry(path.clone()).or_default();
            if st.limit_cores.is_none() && st.nr_throttled == 0 && t.episode.is_none() {
                t.skip_until = Some(tick + UNLIMITED_RECHECK);
                t.prev = None;
                continue;
            }
            t.skip_until = None;
            if let Some(prev) = t.prev {
                let throttled_now = st.nr_throttled > prev.nr_throttled;
                match (&mut t.episode, throttled_now) {
                    (None, true) => {
                        t.episode = Some(Episode {
                            start: t.prev_at.unwrap_or(now),
                            base: prev,
                            last_throttled_at: now,
                            last: st,
                            reported_at: now,
                        });
                    }
                    (Some(ep), true) => {
                        ep.last_throttled_at = now;
                        ep.last = st;
                        let due = now
                            .duration_since(ep.reported_at)
                            .is_ok_and(|d| d >= ONGOING_EVERY);
                        if due {
                            ep.reported_at = now;
                            let w = s.enrich(workload::parse(&path));
                            s.hub
                                .publish(now, &w, Evidence::ThrottleEpisode(report(ep, true)));
                        }
                    }
                    (Some(ep), false) => {
                        let ev = report(ep, false);
                        t.episode = None;
                        let w = s.enrich(workload::parse(&path));
                        s.hub.publish(now, &w, Evidence::ThrottleEpisode(ev));
                    }
                    (None, false) => {}
                }
            }
            t.prev = Some(st);
            t.prev_at = Some(now);
        }
        // Cgroups that disappeared: close open episodes with what we saw last.
        let gone: Vec<String> = self
            .cpu
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        for path in gone {
            if let Some(Track {
                episode: Some(ep), ..
            }) = self.cpu.remove(&path)
            {
                let w = s.enrich(workload::parse(&path));
                s.hub
                    .publish(now, &w, Evidence::ThrottleEpisode(report(&ep, false)));
            }
        }
    }

    fn bursts(&mut self, s: &Arc<State>, now: SystemTime, interval: f64) {
        let cfg = &s.settings;
        if let Some(n) = &s.probes.netdrop {
            let mut next = HashMap::new();
            for d in n.read() {
                let key = (d.netns, d.reason.clone());
                let prev = self.drops.get(&key).copied();
                if let Some(p) = prev {
                    let delta = d.count.saturating_sub(p);
                    if delta >= cfg.drop_burst_threshold {
                        let w = s.netns_workload(d.netns);
                        let ev = DropBurst {
                            reason: d.reason.clone(),
                            netns: d.netns,
                            drops: delta,
                            interval_seconds: interval,
                        };
                        s.hub.publish(now, &w, Evidence::DropBurst(ev));
                    }
                } else if interval > 0.0 && d.count >= cfg.drop_burst_threshold {
                    // First sight of this key after startup: everything in it
                    // happened within the last interval.
                    let w = s.netns_workload(d.netns);
                    let ev = DropBurst {
                        reason: d.reason.clone(),
                        netns: d.netns,
                        drops: d.count,
                        interval_seconds: interval,
                    };
                    s.hub.publish(now, &w, Evidence::DropBurst(ev));
                }
                next.insert(key, d.count);
            }
            self.drops = next;
        }
        if let Some(t) = &s.probes.tcp {
            let mut next = HashMap::new();
            for (netns, c) in t.read() {
                let delta = match self.retrans.get(&netns) {
                    Some(p) => c.retransmits.saturating_sub(*p),
                    None if interval > 0.0 => c.retransmits,
                    None => 0,
                };
                if delta >= cfg.retransmit_burst_threshold && delta > 0 {
                    let w = s.netns_workload(netns);
                    let ev = RetransmitBurst {
                        netns,
                        retransmits: delta,
                        interval_seconds: interval,
                    };
                    s.hub.publish(now, &w, Evidence::RetransmitBurst(ev));
                }
                next.insert(netns, c.retransmits);
            }
            self.retrans = next;
        }
    }
}

/// Run until `state.stop` is set.
pub fn run(state: Arc<State>) {
    let mut sampler = Sampler::default();
    while !state.stop.load(Ordering::Relaxed) {
        sampler.tick(&state);
        let mut slept = std::time::Duration::ZERO;
        // Sleep in small steps so shutdown is prompt.
        while slept < state.settings.sample_interval && !state.stop.load(Ordering::Relaxed) {
            let step = std::time::Duration::from_millis(100);
            std::thread::sleep(step);
            slept += step;
        }
    }
}
