//! `kernel-gossip-observer run`: load probes, start the event and sampling
//! threads, serve HTTP until SIGTERM/SIGINT, then detach cleanly.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::serve::ListenerExt;
use libbpf_rs::RingBufferBuilder;
use prometheus_client::registry::Registry;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::birth::hierarchies::Hierarchies;
use crate::birth::Tracker;
use crate::cgroups::CgroupIndex;
use crate::events::EventHub;
use crate::host::{self, CgroupLayout};
use crate::labels::Labeler;
use crate::metrics::ObserverCollector;
use crate::names::PodNames;
use crate::netns::NetnsResolver;
use crate::probes::{self, LoadCfg};
use crate::signals::Signal;
use crate::state::{Probes, Settings, SignalStatus, State};
use crate::{http, k8s, sampler};

pub struct RunOpts {
    pub listen: SocketAddr,
    pub settings: Settings,
    pub kubeconfig: Option<std::path::PathBuf>,
    pub signals: Vec<Signal>,
    pub bpf_stats: bool,
}

/// Load the probes for the requested signals. A probe the kernel refuses
/// disables its signal with one warning; the rest keep running.
pub fn load_probes(
    layout: &CgroupLayout,
    cfg: LoadCfg,
    signals: &[Signal],
) -> (Probes, Vec<SignalStatus>) {
    let mut p = Probes::default();
    let mut status = Vec::new();
    fn note<T>(
        status: &mut Vec<SignalStatus>,
        signal: Signal,
        r: Result<T>,
        mode: impl Fn(&T) -> String,
    ) -> Option<T> {
        match r {
            Ok(t) => {
                status.push(SignalStatus {
                    signal,
                    source: Some(mode(&t)),
                    detail: String::new(),
                });
                Some(t)
            }
            Err(e) => {
                tracing::warn!(signal = %signal, error = %format!("{e:#}"), "signal disabled");
                status.push(SignalStatus {
                    signal,
                    source: None,
                    detail: format!("{e:#}"),
                });
                None
            }
        }
    }
    for &sig in signals {
        match sig {
            Signal::Cgroups => {
                p.cgroup_events = note(&mut status, sig, probes::cgroup_events::load(cfg), |t| {
                    t.attached.mode.to_string()
                });
            }
            Signal::Cpu => {
                let ok = layout.cpu_root.join("cpu.stat").exists();
                let r = if ok {
                    Ok(())
                } else {
                    Err(anyhow::anyhow!(
                        "no cpu.stat under {}",
                        layout.cpu_root.display()
                    ))
                };
                note(&mut status, sig, r, |_| "cgroupfs".to_string());
            }
            Signal::Runqueue => {
                p.runqlat = note(&mut status, sig, probes::runqlat::load(cfg), |t| {
                    t.attached.mode.to_string()
                });
            }
            Signal::Oom => {
                p.oom = note(&mut status, sig, probes::oom::load(cfg), |t| {
                    t.attached.mode.to_string()
                });
            }
            Signal::Memory => {
                // memcg reclaim time from the vmscan tracepoints (attributed to
                // the reclaiming task's memory cgroup: v1 memory controller or
                // v2 cgroup); PSI is read wherever a cgroup2 tree is mounted.
                let psi = layout
                    .unified_root
                    .as_ref()
                    .is_some_and(|_| std::path::Path::new("/proc/pressure/memory").exists());
                let reclaim = Some(probes::memreclaim::load(cfg));
                match (reclaim, psi) {
                    (Some(Ok(m)), psi) => {
                        let src = format!("{}{}", m.attached.mode, if psi { "+psi" } else { "" });
                        p.memreclaim = Some(m);
                        status.push(SignalStatus {
                            signal: sig,
                            source: Some(src),
                            detail: String::new(),
                        });
                    }
                    (Some(Err(e)), true) => {
                        tracing::warn!(error = %format!("{e:#}"), "memcg reclaim probe disabled; PSI only");
                        status.push(SignalStatus {
                            signal: sig,
                            source: Some("psi".into()),
                            detail: format!("{e:#}"),
                        });
                    }
                    (None, true) => status.push(SignalStatus {
                        signal: sig,
                        source: Some("psi".into()),
                        detail: String::new(),
                    }),
                    (r, false) => {
                        let detail = match r {
                            Some(Err(e)) => format!("{e:#}; PSI unavailable"),
                            _ => "PSI unavailable (boot with psi=1)".to_string(),
                        };
                        tracing::warn!(signal = %sig, error = %detail, "signal disabled");
                        status.push(SignalStatus {
                            signal: sig,
                            source: None,
                            detail,
                        });
                    }
                }
            }
            Signal::Drops => {
                p.netdrop = note(&mut status, sig, probes::netdrop::load(cfg), |t| {
                    t.attached.mode.to_string()
                });
            }
            Signal::Births => {
                p.birth = note(&mut status, sig, probes::birth::load(cfg), |t| {
                    t.attached.mode.to_string()
                });
            }
            Signal::Tcp => {
                p.tcp = note(&mut status, sig, probes::tcp::load(cfg), |t| {
                    t.attached.mode.to_string()
                });
            }
        }
    }
    (p, status)
}

fn ringbuf_loop(state: Arc<State>) -> Result<()> {
    let mut builder = RingBufferBuilder::new();
    let mut any = false;
    if let Some(c) = &state.probes.cgroup_events {
        let s = state.clone();
        builder.add(&c.ringbuf, move |data: &[u8]| {
            if let Some(e) = probes::cgroup_events::decode(data) {
                s.on_cgroup_event(&e);
            }
            0
        })?;
        any = true;
    }
    if let Some(o) = &state.probes.oom {
        let s = state.clone();
        builder.add(&o.ringbuf, move |data: &[u8]| {
            if let Some(r) = probes::oom::decode(data) {
                s.on_oom(&r);
            }
            0
        })?;
        any = true;
    }
    // However this thread ends (stop, error, panic), close the birth windows
    // and detach the syscall program.
    struct BirthGuard(Arc<State>);
    impl Drop for BirthGuard {
        fn drop(&mut self) {
            self.0.birth_shutdown();
        }
    }
    let _guard = BirthGuard(state.clone());
    if let Some(b) = &state.probes.birth {
        let s = state.clone();
        builder.add(&b.ringbuf, move |data: &[u8]| {
            if let Some(r) = probes::birth::decode(data) {
                s.on_birth_record(r);
            }
            0
        })?;
        any = true;
    }
    if !any {
        return Ok(());
    }
    let rb = builder.build()?;
    while !state.stop.load(Ordering::Relaxed) {
        // EINTR during shutdown is fine; any other error is logged once per poll.
        if let Err(e) = rb.poll(Duration::from_millis(100)) {
            tracing::debug!(error = %e, "ring buffer poll");
        }
        // poll() only drains rings that signalled; birth records are mostly
        // submitted without a wake-up (ADR 0016), so drain every ring.
        if let Err(e) = rb.consume() {
            tracing::debug!(error = %e, "ring buffer consume");
        }
        state.birth_tick();
    }
    Ok(())
}

pub fn run(opts: RunOpts) -> Result<()> {
    host::ensure_tracefs()?;
    let layout = CgroupLayout::detect().context("detecting cgroup layout")?;
    let cfg = LoadCfg {
        cgroup_v2: layout.v2,
        page_size: host::page_size(),
        kernel: probes::kernel::Kernel::get(),
        attribution: opts.settings.stolen.attribution,
    };
    tracing::info!(v2 = layout.v2, cpu = %layout.cpu_root.display(), memory = %layout.memory_root.display(), "cgroup layout");

    // Attach before scanning cgroupfs so no mkdir/rmdir falls in between.
    let (mut probes, status) = load_probes(&layout, cfg, &opts.signals);
    if opts.bpf_stats {
        match probes::stats::enable() {
            Ok(g) => probes.stats = Some(g),
            Err(e) => tracing::warn!(error = %e, "BPF run-time stats unavailable"),
        }
    }
    let index = CgroupIndex::scan(&layout);
    let mono_offset_ns = host::monotonic_to_unix_offset_ns();
    let birth_tracker = Tracker::new(
        opts.settings.birth,
        Hierarchies::detect(),
        layout.cpu_hierarchy_id,
        mono_offset_ns,
    );

    let state = Arc::new(State {
        hub: EventHub::new(opts.settings.node.clone()),
        labeler: Mutex::new(Labeler::new(opts.settings.max_workloads)),
        settings: opts.settings,
        layout,
        cgroups: RwLock::new(index),
        probes,
        status,
        names: Mutex::new(PodNames::default()),
        netns: Mutex::new(NetnsResolver::new()),
        oom_kills: Mutex::new(Default::default()),
        cgroups_created: AtomicU64::new(0),
        cgroups_removed: AtomicU64::new(0),
        last_scrape_ns: AtomicU64::new(0),
        scrapes: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        mono_offset_ns,
        births: Mutex::new(birth_tracker),
        birth_stats: Mutex::new(Default::default()),
    });

    let rb_state = state.clone();
    let rb_thread = std::thread::Builder::new()
        .name("kg-ringbuf".into())
        .spawn(move || {
            if let Err(e) = ringbuf_loop(rb_state) {
                tracing::error!(error = %format!("{e:#}"), "ring buffer consumer stopped");
            }
        })?;
    let sampler_state = state.clone();
    let sampler_thread = std::thread::Builder::new()
        .name("kg-sampler".into())
        .spawn(move || sampler::run(sampler_state))?;

    let mut threads = vec![rb_thread, sampler_thread];
    if let Some(kc) = k8s::Config::discover(opts.kubeconfig.as_deref())? {
        let s = state.clone();
        threads.push(
            std::thread::Builder::new()
                .name("kg-k8s".into())
                .spawn(move || k8s::watch_pods(kc, s))?,
        );
    }

    let mut registry = Registry::default();
    registry.register_collector(Box::new(ObserverCollector {
        state: state.clone(),
    }));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4)
        .enable_all()
        .build()?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let app = Arc::new(http::App {
        registry,
        state: state.clone(),
        shutdown: shutdown_rx.clone(),
    });
    let served: Result<()> = rt.block_on(async {
        // Install the signal handlers before announcing the port, so a
        // SIGTERM right after the announcement is a clean shutdown.
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .with_context(|| format!("binding {}", opts.listen))?;
        let addr = listener.local_addr()?;
        // Tests and humans read this line to find the port.
        println!(
            "kernel-gossip-observer listening on http://{addr} (GET /metrics, /healthz, /events)"
        );
        let enabled: Vec<String> = state
            .status
            .iter()
            .map(|s| {
                format!(
                    "{}={}",
                    s.signal,
                    s.source.as_deref().unwrap_or("unavailable")
                )
            })
            .collect();
        println!("signals: {}", enabled.join(" "));
        let mut rx = shutdown_rx.clone();
        let listener = listener.tap_io(|tcp| {
            // Bound the kernel send buffer per connection (loopback autotunes
            // it to 4 MiB): a stalled /events client then backs up into its
            // bounded queue quickly and is dropped, instead of parking megabytes
            // in the kernel per client.
            http::limit_send_buffer(tcp, http::SEND_BUFFER_BYTES);
        });
        let server = axum::serve(listener, http::router(app))
            .with_graceful_shutdown(async move {
                let _ = rx.changed().await;
            })
            .into_future();
        tokio::pin!(server);
        tokio::select! {
            r = &mut server => return r.map_err(Into::into),
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("shutting down");
        // Ends /events streams and stops accepting; let in-flight requests finish.
        let _ = shutdown_tx.send(true);
        match tokio::time::timeout(Duration::from_secs(5), server).await {
            Ok(r) => r.map_err(Into::into),
            Err(_) => Ok(()),
        }
    });
    state.stop.store(true, Ordering::Relaxed);
    for t in threads {
        // The pod watch may sit in a blocking read for up to its 60 s server
        // timeout; do not wait for it.
        if t.thread().name() == Some("kg-k8s") {
            continue;
        }
        let _ = t.join();
    }
    drop(rt);
    // Dropping the last State drops the links: programs detach here.
    tracing::info!("observer stopped");
    served
}
