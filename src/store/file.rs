//! Creating the store's file privately and vetting it before SQLite opens it.

use super::StoreError;
use std::fs::{File, OpenOptions, Permissions};
use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Permission bits that let group or other write.
const OTHERS_WRITE: u32 = 0o022;

/// Creates `path` with mode 0600 if it does not exist, then refuses it if group
/// or other may write it or its folder, or another user owns either.
///
/// The modes are read from the opened handles (fstat), so what is checked is what
/// was opened. The handles are closed before SQLite opens the file: closing a
/// descriptor drops every POSIX lock the process holds on that file, SQLite's too
/// (sqlite.org/howtocorrupt.html §2.2), so none may stay open beside SQLite's.
pub(super) fn prepare(path: &Path) -> Result<(), StoreError> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let dir = File::open(folder).map_err(|source| io(folder, source))?;
    refuse_if_others_write(folder, &dir)?;

    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    let file = match created {
        Ok(file) => {
            // The umask may have removed more than group and other bits.
            file.set_permissions(Permissions::from_mode(0o600))
                .map_err(|source| io(path, source))?;
            file
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            File::open(path).map_err(|source| io(path, source))?
        }
        Err(source) => return Err(io(path, source)),
    };
    let meta = file.metadata().map_err(|source| io(path, source))?;
    if !meta.is_file() {
        let source = std::io::Error::new(ErrorKind::InvalidInput, "not a regular file");
        return Err(io(path, source));
    }
    refuse_if_others_write(path, &file)
}

/// Refuses `path` if group or other may write it, or if it belongs to another
/// user (a folder may also belong to root).
fn refuse_if_others_write(path: &Path, handle: &File) -> Result<(), StoreError> {
    let meta = handle.metadata().map_err(|source| io(path, source))?;
    let mode = meta.mode();
    if mode & OTHERS_WRITE != 0 {
        return Err(StoreError::Writable {
            path: path.to_path_buf(),
            mode,
        });
    }
    if let Some(owner) = crate::owner::foreign_owner(&meta, meta.is_dir()) {
        return Err(StoreError::Owner {
            path: path.to_path_buf(),
            owner,
        });
    }
    Ok(())
}

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}
