//! The requester's wiki session kept between client runs, as Pywikibot keeps
//! its `.lwp` cookie jar: a cold client then signs without logging in.
//!
//! The file holds the API URL, the session's cookie header and its CSRF token,
//! never the BotPassword. It lives in `$XDG_CACHE_HOME/adminibot/` (else
//! `~/.cache/adminibot/`), is created 0600, and is used only while it is the
//! running user's own and nobody else may read it. A session the wiki has
//! forgotten is refused at the first edit (nothing saved), then a fresh login
//! replaces it.

use crate::config::Secret;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tracing::{debug, warn};

/// Where `user`'s session for `api` is kept, if the user has a cache folder.
pub fn path_for(user: &str) -> Option<PathBuf> {
    let base = crate::config::user_folders()?.cache_dir().to_path_buf();
    // A BotPassword name is `Name@app`; keep the file name to safe characters.
    let name: String = user
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    Some(base.join(format!("session-{name}")))
}

/// A wiki session kept between runs.
pub struct KeptSession {
    /// The session's cookie header.
    pub cookies: Secret,
    /// Its CSRF token, if it was read: the next run then signs with no request
    /// before its edit.
    pub csrf: Option<Secret>,
}

/// The session kept for `api` at `path`, if there is a usable one.
pub fn load(path: &Path, api: &str) -> Option<KeptSession> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file()
        || meta.uid() != rustix::process::geteuid().as_raw()
        || meta.permissions().mode() & 0o077 != 0
    {
        warn!(path = %path.display(), "ignoring a kept session that is not yours alone");
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let (kept_api, cookies) = (lines.next()?, lines.next()?.trim_end());
    let csrf = lines
        .next()
        .map(str::trim_end)
        .filter(|t| !t.is_empty())
        .map(Secret::new);
    (kept_api == api && !cookies.is_empty()).then(|| KeptSession {
        cookies: Secret::new(cookies),
        csrf,
    })
}

/// Keeps `session` for `api` at `path` (0600, replacing any earlier file);
/// a failure only means the next run logs in again.
pub fn store(path: &Path, api: &str, session: &KeptSession) {
    let written = (|| -> std::io::Result<()> {
        let folder = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(folder)?;
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700))?;
        let partial = path.with_extension(format!("{}", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&partial)?;
        let csrf = session.csrf.as_ref().map_or("", Secret::expose);
        file.write_all(format!("{api}\n{}\n{csrf}\n", session.cookies.expose()).as_bytes())?;
        std::fs::rename(&partial, path)
    })();
    if let Err(e) = written {
        debug!(path = %path.display(), error = %e, "could not keep the wiki session");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_session_is_read_back_only_for_its_own_wiki() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adminibot").join("session-Alice_adminibot");
        let kept = KeptSession {
            cookies: Secret::new("s=1; t=2"),
            csrf: Some(Secret::new("abc+\\")),
        };
        store(&path, "https://a.example/w/api.php", &kept);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let back = load(&path, "https://a.example/w/api.php").unwrap();
        assert_eq!(back.cookies.expose(), "s=1; t=2");
        assert_eq!(back.csrf.as_ref().map(Secret::expose), Some("abc+\\"));
        assert!(load(&path, "https://b.example/w/api.php").is_none());
    }

    #[test]
    fn a_kept_session_others_may_read_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session-Alice");
        let kept = KeptSession {
            cookies: Secret::new("s=1"),
            csrf: None,
        };
        store(&path, "https://a.example/w/api.php", &kept);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load(&path, "https://a.example/w/api.php").is_none());
    }
}
