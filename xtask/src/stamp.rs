//! Install stamps: a file inside an installed tool directory that records a
//! hash of what the install was made from (lock files, interpreter version).
//! A missing or different stamp means the directory is missing or stale.

use std::path::Path;

use crate::Result;

/// A stamp value: FNV-1a 64 over the given parts, each followed by a 0 byte.
/// Not cryptographic; it only tells "same inputs" from "changed inputs".
pub fn of(parts: &[&[u8]]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(&[0u8]) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}\n")
}

/// Whether the stamp file holds `value`.
pub fn matches(file: &Path, value: &str) -> bool {
    std::fs::read_to_string(file).is_ok_and(|old| old == value)
}

pub fn write(file: &Path, value: &str) -> Result {
    std::fs::write(file, value).map_err(|e| format!("cannot write {}: {e}", file.display()))
}

/// Reads a file that the stamp is made from.
pub fn input(file: &Path) -> Result<Vec<u8>> {
    std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::of;

    #[test]
    fn parts_are_separated() {
        assert_ne!(of(&[b"ab", b"c"]), of(&[b"a", b"bc"]));
        assert_eq!(of(&[b"x"]), of(&[b"x"]));
    }
}
