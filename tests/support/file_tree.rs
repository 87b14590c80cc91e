//! A local directory tree as a value, to compare a mirror with its source (mirror_real's and
//! the CLI's tests; the CLI's tests include this file by path).

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Regular files under `root` by relative path, with their bytes; directories with None.
/// Symbolic links are left out.
pub fn tree(root: &Path) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
    fn visit(root: &Path, dir: &Path, out: &mut BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().as_os_str().as_bytes().to_vec();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                out.insert(rel, None);
                visit(root, &path, out);
            } else if kind.is_file() {
                out.insert(rel, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    visit(root, root, &mut out);
    out
}
