//! The environment-override blocklist: one table, used for `params.env` and for the
//! `NAME=VALUE` operands of `env` in argv (and by the runner for what reaches a child).
//!
//! Source of the official part: `openclaw@2026.9.6`, `dist/host-env-security-D7wdDMke.mjs`,
//! region `src/infra/host-env-security-policy.json` (`blockedEverywhereKeys`,
//! `blockedOverrideOnlyKeys`, `blockedOverridePrefixes`, `blockedPrefixes`) and the
//! `CARGO_TARGET_*_LINKER|RUNNER` rule of `isDangerousHostEnvOverrideVarName`. Like the
//! official host, names are compared upper-cased (`ld_preload` is `LD_PRELOAD`).
//!
//! ClawNode's additions ([`OUR_KEYS`], [`OUR_PREFIXES`]) are stricter: `PATH` and `HOME`
//! always, option variables that make a tool run a command (`TAR_OPTIONS`, …), loader
//! and locale paths, and any key that is not a portable variable name
//! (`[A-Za-z_][A-Za-z0-9_]*`: this rejects the empty key, `=`, NUL and the exported-function
//! shapes `BASH_FUNC_x%%` / `x()`). The official host's "no pager" value exception
//! (`PAGER=cat`) is not kept: the decision depends on the key only.

/// Official `blockedEverywhereKeys`.
pub const OFFICIAL_BLOCKED_EVERYWHERE_KEYS: &[&str] = &[
    "NODE_OPTIONS",
    "NODE_PATH",
    "NODE_REDIRECT_WARNINGS",
    "NODE_REPL_EXTERNAL_MODULE",
    "NODE_REPL_HISTORY",
    "NODE_V8_COVERAGE",
    "PYTHONHOME",
    "PYTHONPATH",
    "PERL5LIB",
    "PERL5OPT",
    "RUBYLIB",
    "RUBYOPT",
    "BASHOPTS",
    "BASH_ENV",
    "ENV",
    "KSH_ENV",
    "BROWSER",
    "GIT_ALLOW_PROTOCOL",
    "GIT_EDITOR",
    "GIT_EXTERNAL_DIFF",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_EXEC_PATH",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PROTOCOL_FROM_USER",
    "GIT_SEQUENCE_EDITOR",
    "GIT_TEMPLATE_DIR",
    "GIT_SSL_NO_VERIFY",
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
    "CC",
    "CPP",
    "CXX",
    "CXXCPP",
    "CARGO_BUILD_RUSTC",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTDOC",
    "RUSTC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTDOC",
    "CMAKE_C_COMPILER",
    "CMAKE_CXX_COMPILER",
    "SHELL",
    "SHELLOPTS",
    "PS4",
    "GCONV_PATH",
    "IFS",
    "SSLKEYLOGFILE",
    "JAVA_OPTS",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "PYTHONBREAKPOINT",
    "DOTNET_STARTUP_HOOKS",
    "DOTNET_ADDITIONAL_DEPS",
    "FPATH",
    "GLIBC_TUNABLES",
    "MAVEN_OPTS",
    "MAKE",
    "MAKEFLAGS",
    "MFLAGS",
    "SBT_OPTS",
    "GRADLE_OPTS",
    "ANT_OPTS",
    "HGRCPATH",
    "HGEDITOR",
    "HGMERGE",
    "EXINIT",
    "VIMINIT",
    "MYVIMRC",
    "GVIMINIT",
    "LUA_INIT",
    "LUA_INIT_5_1",
    "LUA_INIT_5_2",
    "LUA_INIT_5_3",
    "LUA_INIT_5_4",
    "EMACSLOADPATH",
    "RUBYSHELL",
    "GIT_HOOK_PATH",
    "SVN_EDITOR",
    "SVN_SSH",
    "BZR_EDITOR",
    "BZR_SSH",
    "BZR_PLUGIN_PATH",
    "SUDO_ASKPASS",
    "JULIA_EDITOR",
    "CONFIG_SITE",
    "CONFIG_SHELL",
    "CMAKE_TOOLCHAIN_FILE",
    "CATALINA_OPTS",
    "CORECLR_PROFILER",
    "HELM_PLUGINS",
    "PACKER_PLUGIN_PATH",
    "VAGRANT_VAGRANTFILE",
    "ERL_AFLAGS",
    "ERL_FLAGS",
    "ERL_ZFLAGS",
    "ELIXIR_ERL_OPTIONS",
    "R_ENVIRON",
    "R_PROFILE",
    "R_ENVIRON_USER",
    "R_PROFILE_USER",
    "TCLLIBPATH",
    "HOSTALIASES",
];
/// Official `blockedOverrideOnlyKeys`.
pub const OFFICIAL_BLOCKED_OVERRIDE_ONLY_KEYS: &[&str] = &[
    "HOME",
    "GRADLE_USER_HOME",
    "ZDOTDIR",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_SSH_COMMAND",
    "GIT_SSH",
    "GIT_PROXY_COMMAND",
    "GIT_ASKPASS",
    "GIT_SSL_NO_VERIFY",
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
    "SSH_ASKPASS",
    "LESSOPEN",
    "LESSCLOSE",
    "PAGER",
    "MANPAGER",
    "GIT_PAGER",
    "EDITOR",
    "VISUAL",
    "FCEDIT",
    "SUDO_EDITOR",
    "PROMPT_COMMAND",
    "HISTFILE",
    "PERL5DB",
    "PERL5DBCMD",
    "OPENSSL_CONF",
    "OPENSSL_ENGINES",
    "PYTHONSTARTUP",
    "WGETRC",
    "CURL_HOME",
    "CLASSPATH",
    "CFLAGS",
    "CGO_CFLAGS",
    "CGO_LDFLAGS",
    "GOFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "CORECLR_PROFILER_PATH",
    "PHPRC",
    "PHP_INI_SCAN_DIR",
    "DENO_DIR",
    "BUN_CONFIG_REGISTRY",
    "YARN_RC_FILENAME",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "NODE_TLS_REJECT_UNAUTHORIZED",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "DOCKER_HOST",
    "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH",
    "PIP_INDEX_URL",
    "PIP_PYPI_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_CONFIG_FILE",
    "PIP_FIND_LINKS",
    "PIP_TRUSTED_HOST",
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_PYTHON",
    "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "DOCKER_CONTEXT",
    "LIBRARY_PATH",
    "LDFLAGS",
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH",
    "GOPROXY",
    "GONOSUMCHECK",
    "GONOSUMDB",
    "GONOPROXY",
    "GOPRIVATE",
    "GOENV",
    "GOPATH",
    "HGRCPATH",
    "PYTHONUSERBASE",
    "RUSTC_WRAPPER",
    "RUSTFLAGS",
    "RUSTUP_DIST_ROOT",
    "RUSTUP_DIST_SERVER",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "RUSTUP_UPDATE_ROOT",
    "CARGO_HOME",
    "VIRTUAL_ENV",
    "LUA_PATH",
    "LUA_CPATH",
    "GEM_HOME",
    "GEM_PATH",
    "BUNDLE_GEMFILE",
    "COMPOSER_HOME",
    "CONDA_DEFAULT_ENV",
    "CONDA_PREFIX",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_DIRS",
    "XDG_CONFIG_HOME",
    "XDG_DATA_DIRS",
    "XDG_DATA_HOME",
    "XDG_RUNTIME_DIR",
    "XDG_STATE_HOME",
    "AWS_CONFIG_FILE",
    "KUBECONFIG",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AZURE_AUTH_LOCATION",
    "HELM_HOME",
    "ANSIBLE_CONFIG",
    "ANSIBLE_LIBRARY",
    "ANSIBLE_CALLBACK_PLUGINS",
    "ANSIBLE_COLLECTIONS_PATH",
    "ANSIBLE_CONNECTION_PLUGINS",
    "ANSIBLE_FILTER_PLUGINS",
    "ANSIBLE_INVENTORY_PLUGINS",
    "ANSIBLE_LOOKUP_PLUGINS",
    "ANSIBLE_MODULE_UTILS",
    "ANSIBLE_REMOTE_TEMP",
    "ANSIBLE_ROLES_PATH",
    "ANSIBLE_STRATEGY_PLUGINS",
    "R_LIBS_USER",
    "TF_CLI_CONFIG_FILE",
    "TF_PLUGIN_CACHE_DIR",
    "AMQP_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SECURITY_TOKEN",
    "AWS_SESSION_TOKEN",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "DATABASE_URL",
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "GITLAB_TOKEN",
    "MONGODB_URI",
    "NODE_AUTH_TOKEN",
    "NPM_TOKEN",
    "REDIS_URL",
    "SSH_AUTH_SOCK",
    "SYSTEMROOT",
    "WINDIR",
];
/// Official `blockedOverridePrefixes`.
pub const OFFICIAL_BLOCKED_OVERRIDE_PREFIXES: &[&str] = &["GIT_CONFIG_", "NPM_CONFIG_", "CARGO_REGISTRIES_", "TF_VAR_"];
/// Official `blockedPrefixes`.
pub const OFFICIAL_BLOCKED_PREFIXES: &[&str] = &["DYLD_", "LD_", "BASH_FUNC_"];

/// ClawNode's own exact keys (beyond the official lists).
pub const OUR_KEYS: &[&str] = &[
    "PATH",
    "HOME",
    "TAR_OPTIONS",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_ASKPASS",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_PROXY_COMMAND",
    "GIT_PAGER",
    "GIT_ATTR_SOURCE",
    "PERLLIB",
    "PERL5DB",
    "PYTHONSTARTUP",
    "PYTHONINSPECT",
    "PYTHONWARNINGS",
    "PYTHONEXECUTABLE",
    "PYTHONPLATLIBDIR",
    "ZDOTDIR",
    "PROMPT_COMMAND",
    "BASH_XTRACEFD",
    "BASH_LOADABLES_PATH",
    "INPUTRC",
    "LOCPATH",
    "NLSPATH",
    "TZDIR",
    "TERMINFO",
    "TERMINFO_DIRS",
    "LESSKEY",
    "LESSKEYIN",
    "LESSOPEN",
    "LESSCLOSE",
    "SYSTEMD_PAGER",
    "SYSTEMD_PAGERSECURE",
    "SYSTEMD_EDITOR",
    "SYSTEMD_LESS",
    "ZIPOPT",
    "UNZIP",
    "GZIP",
    "XZ_OPT",
    "XZ_DEFAULTS",
    "ZSTD_CLEVEL",
    "BZIP",
    "BZIP2",
    "RSYNC_RSH",
    "RSYNC_CONNECT_PROG",
    "CVS_RSH",
    "SSH_ASKPASS",
    "SSH_ASKPASS_REQUIRE",
    "MANOPT",
    "MANPAGER",
    "PAGER",
    "EDITOR",
    "VISUAL",
    "SHELL",
    "ENV",
    "BASH_ENV",
    "NODE_OPTIONS",
    "PS4",
    "IFS",
    "OPENSSL_CONF",
    "RESOLV_HOST_CONF",
    "RES_OPTIONS",
    "LOCALDOMAIN",
];

/// ClawNode's own prefixes (beyond the official lists; `GIT_TEST_` because release git
/// honours `GIT_TEST_FSMONITOR` as an fsmonitor hook run by `sh -c`); the node's own keys
/// ([`super::child_env::RESERVED_ENV_PREFIXES`]) are refused as well.
pub const OUR_PREFIXES: &[&str] = &["LD_", "DYLD_", "BASH_FUNC_", "GIT_CONFIG_", "GIT_TRACE", "GIT_TEST_"];

/// Why an override key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockedKey {
    /// Not a portable variable name (empty, `=`, NUL, `%%`, `()`, spaces, …).
    #[error("not a valid environment variable name")]
    InvalidName,
    /// Named by the official host's lists.
    #[error("blocked by the official host's list ({rule})")]
    Official {
        /// The key or prefix that matched.
        rule: &'static str,
    },
    /// Named by ClawNode's own additions.
    #[error("blocked by ClawNode ({rule})")]
    Ours {
        /// The key or prefix that matched.
        rule: &'static str,
    },
}

fn portable_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn find_exact(table: &'static [&'static str], upper: &str) -> Option<&'static str> {
    table.iter().copied().find(|k| *k == upper)
}

fn find_prefix(table: &'static [&'static str], upper: &str) -> Option<&'static str> {
    table.iter().copied().find(|p| upper.starts_with(p))
}

/// `CARGO_TARGET_<TRIPLE>_LINKER` / `_RUNNER` (official rule).
fn cargo_target_executable(upper: &str) -> bool {
    upper.strip_prefix("CARGO_TARGET_").is_some_and(|rest| {
        let triple = rest.strip_suffix("_LINKER").or_else(|| rest.strip_suffix("_RUNNER"));
        triple.is_some_and(|t| {
            !t.is_empty() && t.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
    })
}

/// Whether `key` may be set as an override for a child (`params.env`, `env NAME=VALUE`).
pub fn check_override_key(key: &str) -> Result<(), BlockedKey> {
    if !portable_name(key) {
        return Err(BlockedKey::InvalidName);
    }
    let upper = key.to_ascii_uppercase();
    let official = find_exact(OFFICIAL_BLOCKED_EVERYWHERE_KEYS, &upper)
        .or_else(|| find_exact(OFFICIAL_BLOCKED_OVERRIDE_ONLY_KEYS, &upper))
        .or_else(|| find_prefix(OFFICIAL_BLOCKED_PREFIXES, &upper))
        .or_else(|| find_prefix(OFFICIAL_BLOCKED_OVERRIDE_PREFIXES, &upper))
        .or_else(|| cargo_target_executable(&upper).then_some("CARGO_TARGET_*_LINKER|RUNNER"));
    if let Some(rule) = official {
        return Err(BlockedKey::Official { rule });
    }
    if let Some(rule) = find_exact(OUR_KEYS, &upper)
        .or_else(|| find_prefix(OUR_PREFIXES, &upper))
        .or_else(|| find_prefix(super::child_env::RESERVED_ENV_PREFIXES, &upper))
    {
        return Err(BlockedKey::Ours { rule });
    }
    Ok(())
}

/// The keys of `keys` that [`check_override_key`] refuses, sorted and deduplicated (as given).
pub fn blocked_env_keys<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = keys.filter(|k| check_override_key(k).is_err()).map(str::to_string).collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_and_own_rules() {
        for (key, blocked) in [
            ("LANG", false),
            ("FOO_BAR", false),
            ("TERM", false),
            ("LD_PRELOAD", true),
            ("ld_library_path", true),
            ("DYLD_INSERT_LIBRARIES", true),
            ("BASH_FUNC_uname%%", true),
            ("BASH_FUNC_x", true),
            ("uname()", true),
            ("", true),
            ("A=B", true),
            ("A\0B", true),
            ("A B", true),
            (" PATH", true),
            ("PATH", true),
            ("path", true),
            ("HOME", true),
            ("GIT_CONFIG_COUNT", true),
            ("GIT_CONFIG_KEY_0", true),
            ("GIT_CONFIG_VALUE_0", true),
            ("git_config_global", true),
            ("NPM_CONFIG_PREFIX", true),
            ("npm_config_script_shell", true),
            ("TAR_OPTIONS", true),
            ("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER", true),
            ("CARGO_TARGET_DIR", false),
            ("HOSTALIASES", true),
            ("OPENCLAW_GATEWAY_TOKEN", true),
            // Attack: `git status` (argPattern `^status$`) with
            // `env:{GIT_TEST_FSMONITOR:"id"}` runs the value through `sh -c` as the
            // fsmonitor hook when `core.fsmonitor` is unset (git >= 2.17, release builds).
            ("GIT_TEST_FSMONITOR", true),
            ("git_test_fsmonitor", true),
        ] {
            assert_eq!(check_override_key(key).is_err(), blocked, "{key:?}");
        }
        assert_eq!(check_override_key("TF_VAR_x"), Err(BlockedKey::Official { rule: "TF_VAR_" }));
        assert_eq!(check_override_key("TAR_OPTIONS"), Err(BlockedKey::Ours { rule: "TAR_OPTIONS" }));
    }

    #[test]
    fn official_list_sizes() {
        // The lists as shipped in openclaw@2026.9.6 (a changed copy shows up here).
        assert_eq!(OFFICIAL_BLOCKED_EVERYWHERE_KEYS.len(), 110);
        assert_eq!(OFFICIAL_BLOCKED_OVERRIDE_ONLY_KEYS.len(), 156);
        assert_eq!(OFFICIAL_BLOCKED_OVERRIDE_PREFIXES, &["GIT_CONFIG_", "NPM_CONFIG_", "CARGO_REGISTRIES_", "TF_VAR_"]);
        assert_eq!(OFFICIAL_BLOCKED_PREFIXES, &["DYLD_", "LD_", "BASH_FUNC_"]);
    }

    #[test]
    fn sorted_unique() {
        let keys = ["LANG", "PATH", "LD_PRELOAD", "ld_library_path", "FOO", "PATH"];
        assert_eq!(blocked_env_keys(keys.into_iter()), vec!["LD_PRELOAD", "PATH", "ld_library_path"]);
    }
}
