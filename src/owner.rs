//! Who owns a file. A secret or a store that belongs to another user is under
//! that user's control, whatever its mode says (root ignores modes altogether).

use std::os::unix::fs::MetadataExt;

/// The effective user id of this process.
pub fn running_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// The owner of `meta` when it is someone else than the running user; root is
/// accepted too when `root_ok` (a folder such as `/var/lib`).
pub fn foreign_owner(meta: &std::fs::Metadata, root_ok: bool) -> Option<u32> {
    foreign(meta.uid(), running_uid(), root_ok)
}

fn foreign(owner: u32, me: u32, root_ok: bool) -> Option<u32> {
    (owner != me && !(root_ok && owner == 0)).then_some(owner)
}

#[cfg(test)]
mod tests {
    use super::foreign;

    #[test]
    fn only_the_running_user_or_root_where_allowed_owns_safely() {
        assert_eq!(foreign(1000, 1000, false), None);
        assert_eq!(foreign(1001, 1000, false), Some(1001));
        assert_eq!(foreign(0, 1000, false), Some(0));
        assert_eq!(foreign(0, 1000, true), None);
        assert_eq!(foreign(65534, 0, true), Some(65534));
    }
}
