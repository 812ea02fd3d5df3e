//! cgroup id -> path index, per hierarchy.
//!
//! BPF programs report cgroup ids (kernfs inode numbers). The index is
//! filled by walking cgroupfs at start and kept current by the
//! cgroup_events probe (mkdir/rmdir), so lookups never touch the filesystem.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::host::{CgroupLayout, Hierarchy};

/// Upper bound on indexed cgroups per hierarchy: far above any real node,
/// it only protects memory against a runaway mkdir loop.
pub const MAX_CGROUPS: usize = 200_000;

#[derive(Default, Debug)]
pub struct CgroupIndex {
    maps: HashMap<Hierarchy, HashMap<u64, String>>,
}

impl CgroupIndex {
    /// Walk every hierarchy we attribute to.
    pub fn scan(layout: &CgroupLayout) -> Self {
        let mut idx = CgroupIndex::default();
        for h in [Hierarchy::Cpu, Hierarchy::Memory] {
            let root = layout.root(h).to_path_buf();
            let map = idx.maps.entry(h).or_default();
            walk(&root, &root, map);
        }
        idx
    }

    pub fn path(&self, h: Hierarchy, id: u64) -> Option<&str> {
        self.maps.get(&h)?.get(&id).map(String::as_str)
    }

    pub fn insert(&mut self, h: Hierarchy, id: u64, path: String) {
        let map = self.maps.entry(h).or_default();
        if map.len() < MAX_CGROUPS || map.contains_key(&id) {
            map.insert(id, path);
        }
    }

    pub fn remove(&mut self, h: Hierarchy, id: u64) {
        if let Some(m) = self.maps.get_mut(&h) {
            m.remove(&id);
        }
    }

    pub fn len(&self, h: Hierarchy) -> usize {
        self.maps.get(&h).map_or(0, HashMap::len)
    }

    /// All (id, path) pairs of one hierarchy, sorted by path.
    pub fn entries(&self, h: Hierarchy) -> Vec<(u64, String)> {
        let mut v: Vec<(u64, String)> = self
            .maps
            .get(&h)
            .map(|m| m.iter().map(|(k, v)| (*k, v.clone())).collect())
            .unwrap_or_default();
        v.sort_by(|a, b| a.1.cmp(&b.1));
        v
    }
}

/// Recursive directory walk; a directory vanishing mid-walk is normal (a
/// container exited) and simply skipped.
fn walk(root: &Path, dir: &Path, out: &mut HashMap<u64, String>) {
    let Ok(meta) = fs::metadata(dir) else { return };
    if out.len() >= MAX_CGROUPS {
        return;
    }
    let rel = dir
        .strip_prefix(root)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.insert(meta.ino(), format!("/{rel}"));
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            walk(root, &e.path(), out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_maps_inode_to_relative_path() {
        let dir = std::env::temp_dir().join(format!("kg-walk-{}", std::process::id()));
        fs::create_dir_all(dir.join("a/b")).unwrap();
        let mut m = HashMap::new();
        walk(&dir, &dir, &mut m);
        let ino = fs::metadata(dir.join("a/b")).unwrap().ino();
        assert_eq!(m.get(&ino).map(String::as_str), Some("/a/b"));
        let root_ino = fs::metadata(&dir).unwrap().ino();
        assert_eq!(m.get(&root_ino).map(String::as_str), Some("/"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
