//! Build script: generates `vmlinux.h` from the build host's kernel BTF and
//! compiles every `src/bpf/*.bpf.c` into a BPF object plus a libbpf-rs
//! skeleton (so the Rust view of maps, programs and shared structs is derived
//! from the same object that gets loaded and cannot drift).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use libbpf_cargo::SkeletonBuilder;

/// Probes compiled into skeletons; each has `src/bpf/<name>.bpf.c`.
const PROBES: &[&str] = &[
    "cgroup_events",
    "runqlat",
    "oom",
    "netdrop",
    "tcp",
    "memreclaim",
    "birth",
    "probe_types",
];

fn main() {
    if let Err(err) = run() {
        // A build script reports failure by panicking; print the whole chain.
        panic!("{err:#}");
    }
}

fn run() -> anyhow::Result<()> {
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let include_dir = out_dir.join("include");
    std::fs::create_dir_all(&include_dir)?;
    generate_vmlinux_h(&include_dir.join("vmlinux.h"))?;

    let bpf_dir = PathBuf::from("src/bpf");
    // Every file, not just the directory: a directory entry only tells cargo
    // about files added or removed.
    println!("cargo:rerun-if-changed=src/bpf");
    for entry in std::fs::read_dir(&bpf_dir)? {
        println!("cargo:rerun-if-changed={}", entry?.path().display());
    }
    let clang = env::var("KG_CLANG").unwrap_or_else(|_| "clang".to_string());
    println!("cargo:rerun-if-env-changed=KG_CLANG");
    println!("cargo:rerun-if-env-changed=KG_VMLINUX_BTF");

    for probe in PROBES {
        let src = bpf_dir.join(format!("{probe}.bpf.c"));
        let skel = out_dir.join(format!("{probe}.skel.rs"));
        SkeletonBuilder::new()
            .source(&src)
            .clang(&clang)
            .clang_args([
                "-I".as_ref(),
                include_dir.as_os_str(),
                "-I".as_ref(),
                bpf_dir.as_os_str(),
                "-Wall".as_ref(),
                "-Werror".as_ref(),
            ])
            .build_and_generate(&skel)
            .map_err(|e| anyhow::anyhow!("compiling {}: {e:#}", src.display()))?;
    }
    Ok(())
}

/// `bpftool btf dump file <btf> format c`. The BPF programs use CO-RE, so the
/// header only has to describe *a* kernel with these types; the loader
/// relocates field offsets against the running kernel's BTF.
fn generate_vmlinux_h(dst: &Path) -> anyhow::Result<()> {
    let btf = env::var("KG_VMLINUX_BTF").unwrap_or_else(|_| "/sys/kernel/btf/vmlinux".into());
    if !Path::new(&btf).exists() {
        anyhow::bail!(
            "{btf} not found: the build needs kernel BTF (CONFIG_DEBUG_INFO_BTF=y) \
             or KG_VMLINUX_BTF pointing at a vmlinux BTF file"
        );
    }
    // Debian installs bpftool in /usr/sbin, which is not on every PATH.
    let bpftool = env::var("KG_BPFTOOL").unwrap_or_else(|_| {
        if Path::new("/usr/sbin/bpftool").exists() {
            "/usr/sbin/bpftool".into()
        } else {
            "bpftool".into()
        }
    });
    println!("cargo:rerun-if-env-changed=KG_BPFTOOL");
    let out = Command::new(&bpftool)
        .args(["btf", "dump", "file", &btf, "format", "c"])
        .output()
        .map_err(|e| anyhow::anyhow!("running {bpftool} (Debian package bpftool): {e}"))?;
    if !out.status.success() {
        anyhow::bail!(
            "{bpftool} btf dump failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Only rewrite when changed so dependent objects are not rebuilt needlessly.
    if std::fs::read(dst).ok().as_deref() != Some(out.stdout.as_slice()) {
        std::fs::write(dst, &out.stdout)?;
    }
    Ok(())
}
