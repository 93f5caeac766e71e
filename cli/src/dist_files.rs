//! Files a package ships, generated from the one definition of each (feature `dist-files`,
//! never in the shipped binary): the man pages and shell completions from the clap
//! definition of [`crate::Cli`], the packaged systemd unit from [`service::unit_text`] (the
//! very text `clawnode service install` writes), and the sysusers.d/tmpfiles.d entries
//! from [`service::SERVICE_USER`] and [`service::SYSTEM_STATE_DIR`].
//!
//! `cargo xtask dist` runs the host build as `clawnode __dist-files <dir>`.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::service;

/// The hidden argv[1] that selects this mode.
pub const SUBCOMMAND: &str = "__dist-files";

/// Where the package installs the binary.
const PACKAGED_EXE: &str = "/usr/bin/clawnode";
/// The package's config file (a conffile; an empty file is a valid config).
pub const PACKAGED_CONFIG: &str = "/etc/clawnode/config.toml";
/// The packaged unit's environment file (secrets; written by the administrator, 0600).
const PACKAGED_ENV: &str = "/etc/clawnode/clawnode.env";

/// The unit the package ships in /lib/systemd/system: a system unit run by the dedicated
/// user, confined, with the package's config file and the system state directory.
pub fn packaged_unit() -> String {
    service::unit_text(&service::UnitSpec {
        exe: PACKAGED_EXE.into(),
        run_args: vec![
            "--state-dir".into(),
            service::SYSTEM_STATE_DIR.into(),
            "--config".into(),
            PACKAGED_CONFIG.into(),
        ],
        state_dir: service::SYSTEM_STATE_DIR.into(),
        env_file: PACKAGED_ENV.into(),
        user: false,
        profile: service::ExecProfile::Confined,
        service_user: Some(service::SERVICE_USER.into()),
    })
}

/// sysusers.d(5): the system user and group, home = the state directory.
pub fn sysusers() -> String {
    format!(
        "# ClawNode node host: runs as this unprivileged system user.\nu {u} - \"ClawNode node host\" {d} /usr/sbin/nologin\n",
        u = service::SERVICE_USER,
        d = service::SYSTEM_STATE_DIR
    )
}

/// tmpfiles.d(5): the state directory, 0700, owned by the user (so `clawnode pair` can run
/// as that user before the unit's `StateDirectory=` ever did).
pub fn tmpfiles() -> String {
    format!("d {d} 0700 {u} {u} -\n", d = service::SYSTEM_STATE_DIR, u = service::SERVICE_USER)
}

/// The package's default config: comments only (every section is optional).
pub fn default_config() -> String {
    format!(
        "# ClawNode config ({PACKAGED_CONFIG}), read by the packaged unit.\n\
         # Empty is fine: after `clawnode pair <setup code>` the unit uses the endpoint saved\n\
         # in {state}. Secrets belong in {PACKAGED_ENV} (mode 0600), never here.\n",
        state = service::SYSTEM_STATE_DIR
    )
}

fn write(dir: &Path, rel: &str, text: &[u8]) -> std::io::Result<PathBuf> {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&p, text)?;
    Ok(p)
}

/// One page per (sub)command; `cmd` is built, so subcommands carry their display name
/// (`clawnode-pair`), which clap_mangen uses for the page's name and title.
fn man_pages(dir: &Path, cmd: &clap::Command) -> std::io::Result<()> {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name()).to_string();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    write(dir, &format!("man/{name}.1"), &out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        man_pages(dir, sub)?;
    }
    Ok(())
}

/// Writes everything under `dir`: `man/*.1`, `completions/{clawnode.bash,_clawnode,
/// clawnode.fish}`, `clawnode.service`, `sysusers.conf`, `tmpfiles.conf`, `config.toml`.
pub fn generate(dir: &Path) -> std::io::Result<()> {
    let mut cmd = crate::Cli::command();
    cmd.build();
    man_pages(dir, &cmd)?;
    for (shell, file) in [
        (clap_complete::Shell::Bash, "clawnode.bash"),
        (clap_complete::Shell::Zsh, "_clawnode"),
        (clap_complete::Shell::Fish, "clawnode.fish"),
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut crate::Cli::command(), "clawnode", &mut out);
        write(dir, &format!("completions/{file}"), &out)?;
    }
    write(dir, "clawnode.service", packaged_unit().as_bytes())?;
    write(dir, "sysusers.conf", sysusers().as_bytes())?;
    write(dir, "tmpfiles.conf", tmpfiles().as_bytes())?;
    write(dir, "config.toml", default_config().as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packaged_unit_is_the_installer_unit_for_the_package_paths() {
        let u = packaged_unit();
        for line in [
            "ExecStart=/usr/bin/clawnode run --on-pause exit --state-dir /var/lib/clawnode --config /etc/clawnode/config.toml",
            "EnvironmentFile=-/etc/clawnode/clawnode.env",
            "User=clawnode",
            "StateDirectory=clawnode",
            "StateDirectoryMode=0700",
            "ProtectSystem=strict",
        ] {
            assert!(u.lines().any(|l| l == line), "{line} missing:\n{u}");
        }
        assert_eq!(
            sysusers().lines().nth(1),
            Some("u clawnode - \"ClawNode node host\" /var/lib/clawnode /usr/sbin/nologin")
        );
        assert_eq!(tmpfiles(), "d /var/lib/clawnode 0700 clawnode clawnode -\n");
        // The default config parses as a ClawNode config.
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), default_config()).unwrap();
        crate::config::FileConfig::load(f.path(), true).unwrap();
    }

    #[test]
    fn man_pages_and_completions_come_from_the_cli_definition() {
        let d = tempfile::tempdir().unwrap();
        generate(d.path()).unwrap();
        let man = std::fs::read_to_string(d.path().join("man/clawnode.1")).unwrap();
        assert!(man.contains(".TH clawnode 1") && man.contains("pair"), "{man}");
        let pair = std::fs::read_to_string(d.path().join("man/clawnode-pair.1")).unwrap();
        assert!(pair.contains("setup code"), "{pair}");
        let bash = std::fs::read_to_string(d.path().join("completions/clawnode.bash")).unwrap();
        assert!(bash.contains("import-openclaw") && !bash.contains(SUBCOMMAND), "{bash}");
    }
}
