//! Resolution of a command's `argv[0]` to an executable: PATH lookup in the host's sanitised
//! PATH (never the caller's environment), relative paths against the run's cwd, `.`/`..`
//! components refused, symlinks followed to a canonical path.

use std::path::{Path, PathBuf};

/// The sanitized PATH used for lookups and for children when the host gives none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// An executable a command resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `argv[0]` had no `/` and was found in the PATH.
    pub bare: bool,
    /// The path as found (PATH dir + name, or cwd + relative path), not canonicalised.
    pub path: PathBuf,
    /// `std::fs::canonicalize(path)`: symlinks followed.
    pub canonical: PathBuf,
}

/// Why `argv[0]` did not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// A path with a `.` or `..` component (`<dir>/tools/../../../usr/bin/id`).
    #[error("`.`/`..` path components are refused in a command path")]
    DotComponent,
    /// Not found in the PATH, or not an executable file.
    #[error("command not found on the node host")]
    NotFound,
}

/// The basename of an argv[0].
pub fn basename(arg0: &str) -> &str {
    arg0.rsplit('/').next().unwrap_or(arg0)
}

/// Whether a `/`-separated path has a `.` or `..` component.
pub fn has_dot_component(path: &str) -> bool {
    path.split('/').any(|c| c == "." || c == "..")
}

/// Looks `name` up in `path_env` (names with `/` are not looked up; empty and relative PATH
/// entries are skipped).
pub fn which(name: &str, path_env: &str) -> Option<PathBuf> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return None;
    }
    path_env.split(':').filter(|d| d.starts_with('/')).map(|d| Path::new(d).join(name)).find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Resolves `arg0`: a path (relative to `cwd`, else the process cwd) or a PATH lookup.
pub fn resolve(arg0: &str, cwd: Option<&Path>, path_env: &str) -> Result<Resolved, ResolveError> {
    let (bare, path) = if arg0.contains('/') {
        if has_dot_component(arg0) {
            return Err(ResolveError::DotComponent);
        }
        let p = Path::new(arg0);
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            let base = match cwd {
                Some(c) => c.to_path_buf(),
                None => std::env::current_dir().map_err(|_| ResolveError::NotFound)?,
            };
            base.join(p)
        };
        (false, p)
    } else {
        (true, which(arg0, path_env).ok_or(ResolveError::NotFound)?)
    };
    if !is_executable(&path) {
        return Err(ResolveError::NotFound);
    }
    let canonical = std::fs::canonicalize(&path).map_err(|_| ResolveError::NotFound)?;
    Ok(Resolved { bare, path, canonical })
}

/// Resolves `arg0` for the compatibility API: the resolved (not canonical) path.
pub fn resolve_executable(arg0: &str, cwd: Option<&Path>, path_env: &str) -> Option<PathBuf> {
    resolve(arg0, cwd, path_env).ok().map(|r| r.path)
}
