//! Run-queue delay per cpu cgroup (src/bpf/runqlat.bpf.c).

use std::mem::MaybeUninit;

use anyhow::Result;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapHandle};

use super::{
    attach_all, percpu_entries, percpu_u64_sums, set_mode, u64_key, with_fallback, Attached,
    LoadCfg, Mode,
};

skeleton!("runqlat");

/// log2(ns) slots, must match RUNQLAT_SLOTS in runqlat.h.
pub const SLOTS: usize = 37;

pub struct Runqlat {
    pub attached: Attached,
    hists: MapHandle,
}

/// One cgroup's delay histogram summed over CPUs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hist {
    /// slots[i] counts delays in [2^i, 2^(i+1)) ns.
    pub slots: Vec<u64>,
    pub sum_ns: u64,
}

impl Hist {
    pub fn count(&self) -> u64 {
        self.slots.iter().sum()
    }

    pub fn add(&mut self, other: &Hist) {
        if self.slots.len() < other.slots.len() {
            self.slots.resize(other.slots.len(), 0);
        }
        for (a, b) in self.slots.iter_mut().zip(&other.slots) {
            *a += b;
        }
        self.sum_ns += other.sum_ns;
    }

    /// Prometheus buckets (upper bound in seconds, non-cumulative count):
    /// slots below 1 µs are folded into the first bucket, the last slot is
    /// +Inf.
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        const FIRST: usize = 10; // 2^10 ns ~ 1 µs
        let mut out = Vec::new();
        let mut low = 0;
        for (i, c) in self.slots.iter().enumerate() {
            if i < FIRST {
                low += c;
                continue;
            }
            if i == FIRST {
                out.push(((1u64 << FIRST) as f64 / 1e9, low));
            }
            let upper = if i + 1 == self.slots.len() {
                f64::MAX
            } else {
                (1u64 << (i + 1)) as f64 / 1e9
            };
            out.push((upper, *c));
        }
        out
    }
}

pub fn load(cfg: LoadCfg) -> Result<Runqlat> {
    // First choice: the scheduler's own enqueue timestamps (one program,
    // exact schedstat semantics); then wakeup tracking in task storage.
    if std::env::var_os("KG_PROG_TYPE").is_none() {
        match load_mode(cfg, Mode::SchedInfo) {
            Ok(r) => return Ok(r),
            Err(e) => {
                tracing::debug!(error = %format!("{e:#}"), "runqlat sched_info variant unavailable")
            }
        }
    }
    with_fallback("runqlat", |mode| load_mode(cfg, mode))
}

fn load_mode(cfg: LoadCfg, mode: Mode) -> Result<Runqlat> {
    {
        let mut storage = MaybeUninit::uninit();
        let mut open = skel::RunqlatSkelBuilder::default().open(&mut storage)?;
        let k = cfg.kernel;
        if let Some(ro) = open.maps.rodata_data.as_deref_mut() {
            ro.kg_cgroup_v2 = cfg.cgroup_v2;
            ro.kg_task_storage = k.task_storage;
            ro.kg_switch_prev_state = k.sched_switch_prev_state();
        }
        // Per-task state: task storage where the kernel has it and the
        // program holds trusted task pointers (tp_btf); else pid-keyed.
        let task = k.task_storage && mode != Mode::RawTp;
        let m = &mut open.maps;
        m.runqlat_start
            .set_autocreate(mode == Mode::TpBtf && task)?;
        m.runqlat_start_pid
            .set_autocreate(mode == Mode::RawTp || (mode == Mode::TpBtf && !task))?;
        m.runqlat_delay_base
            .set_autocreate(mode == Mode::SchedInfo && task)?;
        m.runqlat_delay_base_pid
            .set_autocreate(mode == Mode::SchedInfo && !task)?;
        // 16 MiB of per-CPU histograms at most (304 B x CPUs per cgroup).
        let entries = percpu_entries((SLOTS + 1) * 8, 16 << 20, 256, 4096);
        open.maps.runqlat_hists.set_max_entries(entries)?;
        set_mode(open.open_object_mut(), mode);
        let skel = open.load()?;
        let attached = attach_all(skel.object(), mode)?;
        let hists = MapHandle::try_from(&skel.maps.runqlat_hists)?;
        Ok(Runqlat { attached, hists })
    }
}

impl Runqlat {
    /// (cgroup id, histogram) for every cgroup seen.
    pub fn read(&self) -> Vec<(u64, Hist)> {
        let mut out = Vec::new();
        for key in self.hists.keys() {
            let Some(id) = u64_key(&key) else { continue };
            let Some(v) = percpu_u64_sums(&self.hists, &key, SLOTS + 1) else {
                continue;
            };
            out.push((
                id,
                Hist {
                    slots: v[..SLOTS].to_vec(),
                    sum_ns: v[SLOTS],
                },
            ));
        }
        out
    }

    /// Forget a removed cgroup so the LRU map holds live ones.
    pub fn forget(&self, id: u64) {
        let _ = self.hists.delete(&id.to_ne_bytes());
    }

    pub fn len(&self) -> usize {
        self.hists.keys().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_fold_small_slots_and_end_in_inf() {
        let mut slots = vec![0u64; SLOTS];
        slots[3] = 2; // 8..16 ns -> first bucket
        slots[10] = 5; // 1.024..2.048 µs
        slots[SLOTS - 1] = 1;
        let h = Hist { slots, sum_ns: 0 };
        let b = h.buckets();
        assert_eq!(b[0], (1024.0 / 1e9, 2));
        assert_eq!(b[1], (2048.0 / 1e9, 5));
        assert_eq!(b.last().map(|x| x.0), Some(f64::MAX));
        assert_eq!(b.iter().map(|x| x.1).sum::<u64>(), 8);
    }
}
