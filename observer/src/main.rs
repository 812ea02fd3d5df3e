//! kernel-gossip-observer: per-node agent turning kernel signals (eBPF
//! tracepoints, cgroupfs) into per-workload Prometheus metrics and events.

mod birth;
mod cgroups;
mod cpustat;
mod doctor;
mod events;
mod host;
mod http;
mod k8s;
mod labels;
mod metrics;
mod names;
mod netns;
mod probes;
mod run;
mod sampler;
mod signals;
mod state;
mod stolen;
mod workload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "kernel-gossip-observer",
    version,
    about = "Per-node eBPF observer: kernel truth per workload"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Load probes and serve /metrics, /healthz and /events.
    Run(RunArgs),
    /// Check what this host supports and which signals will work.
    Doctor {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Address to listen on (port 0 picks a free port; the chosen one is printed).
    #[arg(long, env = "KG_LISTEN", default_value = "127.0.0.1:9464")]
    listen: SocketAddr,
    /// Node name put on every event (default: the hostname).
    #[arg(long, env = "KG_NODE_NAME")]
    node_name: Option<String>,
    /// kubeconfig for pod names (in-cluster config is used when present).
    #[arg(long, env = "KG_KUBECONFIG")]
    kubeconfig: Option<PathBuf>,
    /// Signals to collect: "all" or a comma list of cgroups,cpu,runqueue,oom,memory,drops,tcp,births.
    #[arg(long, env = "KG_SIGNALS", default_value = "all", value_parser = signals::parse_list)]
    signals: std::vec::Vec<signals::Signal>,
    /// Distinct workloads with their own series before folding into an overflow label.
    #[arg(long, env = "KG_MAX_WORKLOADS", default_value_t = 2000)]
    max_workloads: usize,
    /// Sampling interval for throttle episodes and burst events, in milliseconds.
    #[arg(long, env = "KG_SAMPLE_INTERVAL_MS", default_value_t = 1000)]
    sample_interval_ms: u64,
    /// Drops of one reason in one netns per interval that make a drop_burst event.
    #[arg(long, env = "KG_DROP_BURST_THRESHOLD", default_value_t = 100)]
    drop_burst_threshold: u64,
    /// Retransmits in one netns per interval that make a retransmit_burst event.
    #[arg(long, env = "KG_RETRANSMIT_BURST_THRESHOLD", default_value_t = 10)]
    retransmit_burst_threshold: u64,
    /// Birth capture: grace after the last entrypoint exec before a window closes.
    #[arg(long, env = "KG_BIRTH_GRACE_MS", default_value_t = 1000)]
    birth_grace_ms: u64,
    /// Birth capture: grace when only a pod's first (sandbox) container has started.
    #[arg(long, env = "KG_BIRTH_SANDBOX_GRACE_MS", default_value_t = 5000)]
    birth_sandbox_grace_ms: u64,
    /// Birth capture: a window without an entrypoint closes incomplete after this long.
    #[arg(long, env = "KG_BIRTH_TIMEOUT_MS", default_value_t = 60000)]
    birth_timeout_ms: u64,
    /// Birth capture: how long a container runtime's exec keeps syscall capture armed waiting for its cgroup.
    #[arg(long, env = "KG_BIRTH_PREARM_MS", default_value_t = 5000)]
    birth_prearm_ms: u64,
    /// Enable kernel BPF run-time statistics (run count and time per program, as
    /// bpftop shows). Off by default: while on, every BPF program on the host
    /// pays for them, and a container start measured ~3% slower (ADR 0056).
    /// Needs CAP_SYS_ADMIN.
    #[arg(long, env = "KG_BPF_STATS")]
    bpf_stats: bool,
    /// Split each cgroup's run-queue waits by the cgroups that ran on that CPU
    /// meanwhile, in the kernel (ADR 0095). `false` leaves the sched_switch
    /// program to the delay histogram alone.
    #[arg(long, env = "KG_RUNQUEUE_ATTRIBUTION", default_value_t = true, action = clap::ArgAction::Set)]
    runqueue_attribution: bool,
    /// Culprits per victim in metrics and cpu_stolen events; the rest fold into culprit "_other_".
    #[arg(long, env = "KG_MAX_CULPRITS", default_value_t = 5)]
    max_culprits: usize,
    /// Time other cgroups took from one cgroup's waiting tasks within one sampling interval that makes a cpu_stolen event, in milliseconds.
    #[arg(long, env = "KG_STOLEN_EVENT_MS", default_value_t = 100)]
    stolen_event_ms: u64,
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KG_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // libbpf's own messages go through our logger at debug level.
    libbpf_rs::set_print(Some((libbpf_rs::PrintLevel::Debug, |level, msg| {
        let msg = msg.trim_end();
        match level {
            libbpf_rs::PrintLevel::Warn => tracing::debug!(target: "libbpf", "{msg}"),
            _ => tracing::trace!(target: "libbpf", "{msg}"),
        }
    })));
    let cli = Cli::parse();
    let code = match cli.cmd {
        Cmd::Doctor { json } => doctor::run(json),
        Cmd::Run(a) => {
            let opts = run::RunOpts {
                listen: a.listen,
                kubeconfig: a.kubeconfig,
                signals: a.signals,
                bpf_stats: a.bpf_stats,
                settings: state::Settings {
                    node: a.node_name.unwrap_or_else(hostname),
                    max_workloads: a.max_workloads,
                    drop_burst_threshold: a.drop_burst_threshold.max(1),
                    retransmit_burst_threshold: a.retransmit_burst_threshold.max(1),
                    sample_interval: Duration::from_millis(a.sample_interval_ms.max(100)),
                    birth: birth::BirthSettings {
                        grace: Duration::from_millis(a.birth_grace_ms),
                        sandbox_grace: Duration::from_millis(a.birth_sandbox_grace_ms),
                        timeout: Duration::from_millis(a.birth_timeout_ms.max(100)),
                        prearm: Duration::from_millis(a.birth_prearm_ms),
                    },
                    stolen: stolen::StolenSettings {
                        attribution: a.runqueue_attribution,
                        max_culprits: a.max_culprits.max(1),
                        event_threshold: Duration::from_millis(a.stolen_event_ms.max(1)),
                    },
                },
            };
            match run::run(opts) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("kernel-gossip-observer: {e:#}");
                    1
                }
            }
        }
    };
    std::process::exit(code);
}
