//! Test harness: the real observer binary, real cgroups, real network
//! namespaces. Every resource is owned by a guard whose Drop cleans it up,
//! so a failing assertion does not leak cgroups, namespaces or processes.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Scenario tests share two CPUs and measure timing-sensitive kernel
/// accounting: run them one at a time even under the default parallel runner.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// A name unique across processes and runs: kg-test-<pid>-<counter>-<nanos>.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{}-{:x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos % 0xffff
    )
}

/// How much slower than real hardware this machine runs: 1 by default; the
/// QEMU kernel matrix (tests/vm) sets `KG_TEST_TIME_SCALE` because TCG
/// emulation is many times slower. Only waits and the observer's own
/// timeouts scale; what the tests compare (kernel counters) does not.
pub fn time_scale() -> f64 {
    std::env::var("KG_TEST_TIME_SCALE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v >= 1.0)
        .unwrap_or(1.0)
}

/// `d` stretched by [`time_scale`].
pub fn scaled(d: Duration) -> Duration {
    d.mul_f64(time_scale())
}

/// Milliseconds stretched by [`time_scale`], as a flag value.
pub fn scaled_ms(ms: u64) -> String {
    ((ms as f64) * time_scale()).round().to_string()
}

pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let timeout = scaled(timeout);
    let start = Instant::now();
    loop {
        if let Some(t) = f() {
            return t;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------- observer

pub struct Observer {
    child: Child,
    pub addr: String,
}

impl Observer {
    pub fn start(extra: &[&str]) -> Self {
        Self::start_with_env(extra, &[])
    }

    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kernel-gossip-observer"))
            .envs(env.iter().copied())
            .args([
                "run",
                "--listen",
                "127.0.0.1:0",
                "--sample-interval-ms",
                "200",
            ])
            .args(if extra.contains(&"--node-name") {
                &[][..]
            } else {
                &["--node-name", "test-node"][..]
            })
            .args(extra)
            // A KG_LOG of the caller (e.g. `KG_LOG=libbpf=debug ./kg vm 6.1`)
            // wins over the quiet default.
            .env(
                "KG_LOG",
                std::env::var("KG_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn observer");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(rest) = l.split("http://").nth(1) {
                        break rest.split_whitespace().next().unwrap().to_string();
                    }
                }
                _ => {
                    let _ = child.kill();
                    panic!("observer exited before listening: {:?}", child.wait());
                }
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Observer { child, addr }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM and wait (at most 10 s) for the exit status.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        // SAFETY: sending SIGTERM to our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn get(&self, path: &str) -> String {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read response");
        let (head, body) = out.split_once("\r\n\r\n").expect("http response");
        assert!(
            head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
            "GET {path}: {head}"
        );
        body.to_string()
    }

    pub fn metrics(&self) -> Metrics {
        Metrics::parse(&self.get("/metrics"))
    }

    /// Events from `/events?since=0`, reading until `done` accepts the list
    /// or the timeout passes.
    pub fn events_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let timeout = scaled(timeout);
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        write!(s, "GET /events?since=0 HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
        let start = Instant::now();
        let mut buf = Vec::new();
        let mut events = Vec::new();
        while start.elapsed() < timeout {
            let mut chunk = [0u8; 8192];
            match s.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(_) => {}
            }
            // Chunked transfer encoding: pick out the JSON lines.
            events = String::from_utf8_lossy(&buf)
                .lines()
                .filter(|l| l.starts_with('{'))
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            if done(&events) {
                break;
            }
        }
        events
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        // SAFETY: sending SIGTERM to our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the observer read from this kernel's BTF (`doctor --json`'s
/// `kernel`): the scenario tests expect exactly the degradations it names.
pub fn kernel_facts() -> serde_json::Value {
    static FACTS: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    FACTS
        .get_or_init(|| {
            let out = Command::new(env!("CARGO_BIN_EXE_kernel-gossip-observer"))
                .args(["doctor", "--json"])
                .env("KG_LOG", "error")
                .output()
                .expect("run doctor");
            let report: serde_json::Value =
                serde_json::from_slice(&out.stdout).expect("doctor --json output");
            report["kernel"].clone()
        })
        .clone()
}

// ----------------------------------------------------------------- metrics

#[derive(Debug)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

pub struct Metrics {
    pub samples: Vec<Sample>,
    pub text: String,
}

impl Metrics {
    pub fn parse(text: &str) -> Self {
        let mut samples = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let mut map = BTreeMap::new();
            // Values in these tests contain no '",' sequences.
            for kv in labels.split("\",").filter(|s| !s.is_empty()) {
                let (k, v) = kv.split_once('=').unwrap();
                map.insert(k.to_string(), v.trim_matches('"').to_string());
            }
            let value = if value == "+Inf" {
                f64::INFINITY
            } else {
                value.parse().unwrap()
            };
            samples.push(Sample {
                name: name.into(),
                labels: map,
                value,
            });
        }
        Metrics {
            samples,
            text: text.to_string(),
        }
    }

    /// Sum of samples of `name` whose labels include all of `want`.
    pub fn sum(&self, name: &str, want: &[(&str, &str)]) -> Option<f64> {
        let hits: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| {
                s.name == name
                    && want
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .collect();
        (!hits.is_empty()).then(|| hits.iter().sum())
    }
}

// ------------------------------------------------------------------ cgroup

pub const CG: &str = "/sys/fs/cgroup";

/// The host's cgroup layout. Tests run on both: this project's development
/// VM is v1 hybrid (v1 controllers, cgroup2 at /sys/fs/cgroup/unified); the
/// nodes users run, and the QEMU kernel matrix (tests/vm), are pure v2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Hybrid,
    V2,
}

pub fn layout() -> Layout {
    if Path::new(CG).join("cgroup.controllers").exists() {
        Layout::V2
    } else {
        Layout::Hybrid
    }
}

/// The kernel's CFS accounting of a cgroup, in one unit whatever the layout.
#[derive(Clone, Copy, Debug)]
pub struct CpuStat {
    pub periods: u64,
    pub throttled: u64,
    pub throttled_ns: u64,
    pub usage_ns: u64,
}

/// A test cgroup `kg-test-N[/levels...]`. On v1 it exists with the same
/// relative path in each named controller's hierarchy ("unified" is the
/// cgroup2 tree of a hybrid host); on v2 there is one directory and the
/// controller names only say which controllers it needs enabled.
pub struct Cgroup {
    pub name: String,
    pub controllers: Vec<&'static str>,
    pub layout: Layout,
}

impl Cgroup {
    pub fn new(controllers: &[&'static str]) -> Self {
        Self::nested(controllers, &[])
    }

    /// A nested cgroup `kg-test-N/<levels...>` (e.g. a kubelet-style tree);
    /// Drop removes the levels deepest first. The guard exists before the
    /// first mkdir, so a failure half-way still cleans up.
    pub fn nested(controllers: &[&'static str], levels: &[&str]) -> Self {
        let top = unique("kg-test");
        let mut name = top.clone();
        for l in levels {
            name = format!("{name}/{l}");
        }
        let cg = Cgroup {
            name,
            controllers: controllers.to_vec(),
            layout: layout(),
        };
        let mut rel = top;
        for depth in 0..=levels.len() {
            if depth > 0 {
                if cg.layout == Layout::V2 {
                    // v2: a child gets a controller only when its parent
                    // delegates it (the root's is set by systemd, or by the
                    // VM harness's init).
                    enable_controllers(&Path::new(CG).join(&rel));
                }
                rel = format!("{rel}/{}", levels[depth - 1]);
            }
            for root in cg.roots() {
                fs::create_dir(root.join(&rel))
                    .unwrap_or_else(|e| panic!("mkdir {}/{rel}: {e}", root.display()));
            }
        }
        cg
    }

    /// Hierarchy roots this cgroup lives in (one on v2).
    fn roots(&self) -> Vec<PathBuf> {
        match self.layout {
            Layout::V2 => vec![PathBuf::from(CG)],
            Layout::Hybrid => self
                .controllers
                .iter()
                .map(|c| Path::new(CG).join(c))
                .collect(),
        }
    }

    pub fn path(&self) -> String {
        format!("/{}", self.name)
    }

    /// The directory holding `controller`'s files for this cgroup.
    pub fn dir(&self, controller: &str) -> PathBuf {
        match self.layout {
            Layout::V2 => Path::new(CG).join(&self.name),
            Layout::Hybrid => Path::new(CG).join(controller).join(&self.name),
        }
    }

    /// Every distinct directory of this cgroup.
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.roots().iter().map(|r| r.join(&self.name)).collect()
    }

    pub fn write(&self, controller: &str, file: &str, value: &str) {
        fs::write(self.dir(controller).join(file), value)
            .unwrap_or_else(|e| panic!("write {file}={value}: {e}"));
    }

    pub fn read(&self, controller: &str, file: &str) -> String {
        fs::read_to_string(self.dir(controller).join(file))
            .unwrap_or_else(|e| panic!("read {file}: {e}"))
    }

    /// The value of `key` in a flat-keyed file (cpu.stat, memory.events…).
    pub fn stat(&self, controller: &str, file: &str, key: &str) -> u64 {
        self.read(controller, file)
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!("{key} "))
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or_else(|| panic!("{key} not in {file}"))
    }

    /// CFS bandwidth limit: `quota_us` per `period_us` (v1 cfs_quota_us /
    /// cfs_period_us, v2 cpu.max).
    pub fn set_cpu_limit(&self, quota_us: u64, period_us: u64) {
        match self.layout {
            Layout::Hybrid => {
                self.write("cpu", "cpu.cfs_period_us", &period_us.to_string());
                self.write("cpu", "cpu.cfs_quota_us", &quota_us.to_string());
            }
            Layout::V2 => self.write("cpu", "cpu.max", &format!("{quota_us} {period_us}")),
        }
    }

    /// Memory limit (v1 memory.limit_in_bytes, v2 memory.max).
    pub fn set_memory_limit(&self, bytes: u64) {
        let file = match self.layout {
            Layout::Hybrid => "memory.limit_in_bytes",
            Layout::V2 => "memory.max",
        };
        self.write("memory", file, &bytes.to_string());
    }

    /// cpu.stat and CPU usage, in ns (v1: cpu.stat throttled_time and
    /// cpuacct.usage; v2: cpu.stat's *_usec fields).
    pub fn cpu_stat(&self) -> CpuStat {
        let s = |k: &str| self.stat("cpu", "cpu.stat", k);
        match self.layout {
            Layout::Hybrid => CpuStat {
                periods: s("nr_periods"),
                throttled: s("nr_throttled"),
                throttled_ns: s("throttled_time"),
                usage_ns: self
                    .read("cpuacct", "cpuacct.usage")
                    .trim()
                    .parse()
                    .unwrap(),
            },
            Layout::V2 => CpuStat {
                periods: s("nr_periods"),
                throttled: s("nr_throttled"),
                throttled_ns: s("throttled_usec") * 1000,
                usage_ns: s("usage_usec") * 1000,
            },
        }
    }

    /// OOM kills the kernel counted in this memory cgroup.
    pub fn oom_kills(&self) -> u64 {
        match self.layout {
            Layout::Hybrid => self.stat("memory", "memory.oom_control", "oom_kill"),
            Layout::V2 => self.stat("memory", "memory.events", "oom_kill"),
        }
    }

    /// Times a charge hit the memory limit (v1 memory.failcnt, v2
    /// memory.events `max`).
    pub fn limit_hits(&self) -> u64 {
        match self.layout {
            Layout::Hybrid => self
                .read("memory", "memory.failcnt")
                .trim()
                .parse()
                .unwrap(),
            Layout::V2 => self.stat("memory", "memory.events", "max"),
        }
    }

    /// `some` total of memory.pressure (µs): the cgroup2 directory ("unified"
    /// on hybrid hosts).
    pub fn memory_stall_some_us(&self) -> u64 {
        let psi = self.read("unified", "memory.pressure");
        psi.lines()
            .find(|l| l.starts_with("some "))
            .and_then(|l| l.split_whitespace().find_map(|f| f.strip_prefix("total=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no some total in memory.pressure: {psi}"))
    }

    /// Directory inodes (= the kernel's cgroup ids), one per hierarchy.
    pub fn inodes(&self) -> Vec<u64> {
        use std::os::unix::fs::MetadataExt;
        self.dirs()
            .iter()
            .map(|d| fs::metadata(d).unwrap().ino())
            .collect()
    }

    pub fn add(&self, pid: u32) {
        for d in self.dirs() {
            fs::write(d.join("cgroup.procs"), pid.to_string())
                .unwrap_or_else(|e| panic!("add {pid} to {}: {e}", d.display()));
        }
    }

    fn procs(&self) -> Vec<i32> {
        self.dirs()
            .iter()
            .filter_map(|d| fs::read_to_string(d.join("cgroup.procs")).ok())
            .flat_map(|t| {
                t.lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect::<Vec<i32>>()
            })
            .collect()
    }
}

/// Delegate every controller `dir` has to its children (v2
/// cgroup.subtree_control), one at a time so one the kernel refuses does not
/// stop the rest.
pub fn enable_controllers(dir: &Path) {
    let Ok(avail) = fs::read_to_string(dir.join("cgroup.controllers")) else {
        return;
    };
    for c in avail.split_whitespace() {
        let _ = fs::write(dir.join("cgroup.subtree_control"), format!("+{c}"));
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        for _ in 0..50 {
            let procs = self.procs();
            for pid in &procs {
                // SAFETY: killing processes that live in our own test cgroup.
                unsafe { libc::kill(*pid, libc::SIGKILL) };
            }
            if procs.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Deepest level first: "a/b/c", "a/b", "a".
        let parts: Vec<&str> = self.name.split('/').collect();
        for depth in (1..=parts.len()).rev() {
            let rel = parts[..depth].join("/");
            for root in self.roots() {
                let dir = root.join(&rel);
                for _ in 0..50 {
                    if fs::remove_dir(&dir).is_ok() || !dir.exists() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
}

// ------------------------------------------------------------ processes

/// A child that blocks on stdin until released, so it can be put into a
/// cgroup before it does anything. Killed on drop.
pub struct Held {
    pub child: Child,
    stdin: Option<ChildStdin>,
}

impl Held {
    /// `sh -c 'read x; <script>'` (optionally prefixed, e.g. ip netns exec).
    pub fn spawn(prefix: &[&str], script: &str) -> Self {
        let mut argv: Vec<&str> = prefix.to_vec();
        let full = format!("read x; {script}");
        argv.extend(["sh", "-c", &full]);
        let mut child = Command::new(argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let stdin = child.stdin.take();
        Held { child, stdin }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn release(&mut self) {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.write_all(b"go\n");
        }
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ----------------------------------------------------------------- netns

pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Two network namespaces joined by a veth pair: a = 10.213.<n>.1, b = .2.
/// The addresses exist only inside these private namespaces.
pub struct NetnsPair {
    pub a: String,
    pub b: String,
    pub ip_a: String,
    pub ip_b: String,
}

impl NetnsPair {
    pub fn new() -> Self {
        let id = unique("kg");
        let (a, b) = (format!("{id}-a"), format!("{id}-b"));
        let n = (std::process::id() % 200) + 20;
        let pair = NetnsPair {
            ip_a: format!("10.213.{n}.1"),
            ip_b: format!("10.213.{n}.2"),
            a,
            b,
        };
        sh(&format!("ip netns add {}", pair.a));
        sh(&format!("ip netns add {}", pair.b));
        sh(&format!(
            "ip -n {} link add veth0 type veth peer name veth0 netns {}",
            pair.a, pair.b
        ));
        for (ns, ip) in [(&pair.a, &pair.ip_a), (&pair.b, &pair.ip_b)] {
            sh(&format!("ip -n {ns} addr add {ip}/24 dev veth0 && ip -n {ns} link set veth0 up && ip -n {ns} link set lo up"));
        }
        pair
    }

    pub fn exec(&self, ns: &str, cmd: &str) -> String {
        sh(&format!("ip netns exec {ns} {cmd}"))
    }

    /// Run `f` on a thread that joined namespace `ns` (setns is per thread).
    pub fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/var/run/netns/{ns}");
        std::thread::spawn(move || {
            let fd = fs::File::open(&path).expect("open netns");
            use std::os::fd::AsRawFd;
            // SAFETY: setns on a valid netns fd affects only this thread.
            let rc = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .expect("netns thread")
    }

    /// A counter from /proc/net/snmp (e.g. "Tcp", "RetransSegs") in `ns`.
    pub fn snmp(&self, ns: &str, proto: &str, field: &str) -> u64 {
        self.proc_net(ns, "snmp", proto, field)
    }

    /// A counter from /proc/net/<file> ("snmp", "netstat") in `ns`.
    pub fn proc_net(&self, ns: &str, file: &str, proto: &str, field: &str) -> u64 {
        let text = self.exec(ns, &format!("cat /proc/net/{file}"));
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with(&format!("{proto}:")))
            .collect();
        let names: Vec<&str> = rows[0].split_whitespace().collect();
        let vals: Vec<&str> = rows[1].split_whitespace().collect();
        let i = names.iter().position(|n| *n == field).unwrap();
        vals[i].parse().unwrap()
    }

    pub fn netns_inode(ns: &str) -> u64 {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(format!("/var/run/netns/{ns}")).unwrap().ino()
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        // Deleting the namespaces removes the veth pair and their iptables rules.
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}
