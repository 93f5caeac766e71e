//! The command registry: name → async handler. Declared caps and commands derive from it.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use super::context::InvokeContext;
use crate::command_error::CommandError;
use crate::commands::{self, CatalogCommand, CommandSpec, PlatformFamily};

/// A boxed handler future.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, CommandError>> + Send + 'static>>;

/// Handles one command. Implemented for every `Fn(InvokeContext) -> impl Future`.
pub trait CommandHandler: Send + Sync + 'static {
    /// Runs the command.
    fn call(&self, ctx: InvokeContext) -> HandlerFuture;
}

impl<F, Fut> CommandHandler for F
where
    F: Fn(InvokeContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, CommandError>> + Send + 'static,
{
    fn call(&self, ctx: InvokeContext) -> HandlerFuture {
        Box::pin(self(ctx))
    }
}

/// Why a command could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Not a valid command name (`[a-z][a-zA-Z0-9._-]*`, ≤ 128 chars).
    #[error("invalid command name {0:?}")]
    InvalidName(String),
    /// Registered twice.
    #[error("command {0:?} is already registered")]
    Duplicate(String),
}

#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) cap: String,
    pub(crate) handler: Arc<dyn CommandHandler>,
    /// Explicitly marked as needing the foreground (any platform).
    pub(crate) needs_foreground: bool,
    /// The catalog entry when `name` is a catalog command registered with its rules:
    /// params are validated and normalized, the platform's foreground rule and the result
    /// budget apply.
    pub(crate) spec: Option<&'static CommandSpec>,
}

impl Entry {
    /// Explicitly marked, or the catalog's rule for `platform` (commands.md §4).
    pub(crate) fn needs_foreground_on(&self, platform: PlatformFamily) -> bool {
        self.needs_foreground || self.spec.is_some_and(|s| s.needs_foreground(platform))
    }
}

/// The set of commands a node offers.
#[derive(Clone, Default)]
pub struct CommandRegistry {
    pub(crate) entries: BTreeMap<String, Entry>,
}

impl std::fmt::Debug for CommandRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandRegistry").field("commands", &self.commands()).finish()
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl CommandRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `name`. A command of the typed catalog ([`crate::commands`]) gets its
    /// catalog rules: the catalog's cap family, params validated and normalized (defaults,
    /// clamps; bad params answer `INVALID_REQUEST` without running the handler), the
    /// platform's foreground rule and the result size budget (`PAYLOAD_TOO_LARGE`). Other
    /// names get the cap category of [`default_cap`] (their first segment, `acme.gpio.read`
    /// → `acme`, except the families commands.md §1.1 names otherwise) and their raw params.
    pub fn register(&mut self, name: &str, handler: impl CommandHandler) -> Result<&mut Self, RegistryError> {
        match commands::spec(name) {
            Some(spec) => self.insert(name, spec.cap, Arc::new(handler), Some(spec)),
            None => self.insert(name, default_cap(name), Arc::new(handler), None),
        }
    }

    /// Registers `name` under an explicit cap category, with raw params and no catalog rules
    /// (also for catalog names, e.g. a host with its own param handling).
    pub fn register_with_cap(
        &mut self,
        name: &str,
        cap: &str,
        handler: impl CommandHandler,
    ) -> Result<&mut Self, RegistryError> {
        self.insert(name, cap, Arc::new(handler), None)
    }

    /// Registers a typed handler for catalog command `C`: it receives `C::Params` with the
    /// platform's defaults and clamps applied and returns `C::Result`, e.g.
    /// `registry.register_typed::<LocationGet, _, _>(|p, ctx| async move { … })`.
    pub fn register_typed<C, F, Fut>(&mut self, handler: F) -> Result<&mut Self, RegistryError>
    where
        C: CatalogCommand,
        F: Fn(C::Params, InvokeContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<C::Result, CommandError>> + Send + 'static,
    {
        let spec = commands::spec(C::NAME).ok_or_else(|| RegistryError::InvalidName(C::NAME.to_string()))?;
        let handler = Arc::new(handler);
        let typed = move |ctx: InvokeContext| {
            let handler = handler.clone();
            async move {
                // The router already normalized the params with the node's platform, so
                // this parse only reads back the normalized form.
                let params = C::parse(&ctx.params, PlatformFamily::Other)?;
                let result = handler(params, ctx).await?;
                serde_json::to_value(result)
                    .map_err(|e| CommandError::unavailable(format!("result does not serialize: {e}")))
            }
        };
        self.insert(C::NAME, spec.cap, Arc::new(typed), Some(spec))
    }

    fn insert(
        &mut self,
        name: &str,
        cap: &str,
        handler: Arc<dyn CommandHandler>,
        spec: Option<&'static CommandSpec>,
    ) -> Result<&mut Self, RegistryError> {
        if !valid_name(name) {
            return Err(RegistryError::InvalidName(name.to_string()));
        }
        if self.entries.contains_key(name) {
            return Err(RegistryError::Duplicate(name.to_string()));
        }
        self.entries.insert(name.to_string(), Entry { cap: cap.to_string(), handler, needs_foreground: false, spec });
        Ok(self)
    }

    /// Registers `name` as a command that needs the app in the foreground (commands.md §4:
    /// `camera.*`, `screen.*`, `canvas.*`, `talk.*` on mobile). While the node is
    /// backgrounded ([`crate::Node::set_foreground`]) it is answered
    /// `NODE_BACKGROUND_UNAVAILABLE` without running the handler.
    pub fn register_foreground(
        &mut self,
        name: &str,
        handler: impl CommandHandler,
    ) -> Result<&mut Self, RegistryError> {
        self.register(name, handler)?;
        self.set_needs_foreground(name, true);
        Ok(self)
    }

    /// Marks (or unmarks) a registered command as needing the foreground; returns false
    /// when `name` is not registered.
    pub fn set_needs_foreground(&mut self, name: &str, needs: bool) -> bool {
        match self.entries.get_mut(name) {
            Some(e) => {
                e.needs_foreground = needs;
                true
            }
            None => false,
        }
    }

    /// Whether `name` was explicitly marked as needing the foreground (false for unknown
    /// commands). See [`CommandRegistry::needs_foreground_on`] for the catalog rules.
    pub fn needs_foreground(&self, name: &str) -> bool {
        self.entries.get(name).is_some_and(|e| e.needs_foreground)
    }

    /// Whether `name` needs the foreground on `platform`: explicitly marked, or a catalog
    /// command whose rule for that platform says so (commands.md §4).
    pub fn needs_foreground_on(&self, name: &str, platform: PlatformFamily) -> bool {
        self.entries
            .get(name)
            .is_some_and(|e| e.needs_foreground || e.spec.is_some_and(|s| s.needs_foreground(platform)))
    }

    /// The catalog rules applied to `name`, when it was registered with them.
    pub fn catalog_spec(&self, name: &str) -> Option<&'static CommandSpec> {
        self.entries.get(name).and_then(|e| e.spec)
    }

    /// Declared commands, sorted.
    pub fn commands(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    /// Declared caps, sorted and deduplicated.
    pub fn caps(&self) -> Vec<String> {
        self.entries.values().map(|e| e.cap.clone()).collect::<BTreeSet<_>>().into_iter().collect()
    }

    /// Whether `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    pub(crate) fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name)
    }
}

/// Command prefixes whose cap family is not their first segment (commands.md §1.1: the
/// `mobile_ui` tool requires the cap `mobileUI` for `mobile.ui.observe` / `mobile.ui.act`).
const CAP_BY_PREFIX: &[(&str, &str)] = &[("mobile.ui.", "mobileUI")];

/// The cap family a command outside the typed catalog is declared under: the one
/// [`CAP_BY_PREFIX`] names, else its first name segment.
pub fn default_cap(name: &str) -> &str {
    CAP_BY_PREFIX
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, cap)| *cap)
        .unwrap_or_else(|| name.split('.').next().unwrap_or(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_caps_and_commands() {
        let mut r = CommandRegistry::new();
        r.register("system.which", |_ctx: InvokeContext| async { Ok(Value::Null) }).unwrap();
        r.register("device.info", |_ctx: InvokeContext| async { Ok(Value::Null) }).unwrap();
        r.register_with_cap("device.status", "device", |_ctx: InvokeContext| async { Ok(Value::Null) }).unwrap();
        assert_eq!(r.commands(), vec!["device.info", "device.status", "system.which"]);
        assert_eq!(r.caps(), vec!["device", "system"]);
        assert_eq!(
            r.register("device.info", |_ctx: InvokeContext| async { Ok(Value::Null) }).err(),
            Some(RegistryError::Duplicate("device.info".into()))
        );
        assert!(!r.needs_foreground("device.info"));
        r.register_foreground("camera.snap", |_ctx: InvokeContext| async { Ok(Value::Null) }).unwrap();
        assert!(r.needs_foreground("camera.snap"));
        assert!(r.set_needs_foreground("device.info", true) && r.needs_foreground("device.info"));
        assert!(!r.set_needs_foreground("nope", true));
        for bad in ["", "Camera.snap", "a b", "x/y"] {
            assert!(r.register(bad, |_ctx: InvokeContext| async { Ok(Value::Null) }).is_err(), "{bad}");
        }
    }

    #[test]
    fn mobile_ui_commands_declare_the_mobile_ui_cap() {
        assert_eq!(default_cap("mobile.ui.observe"), "mobileUI");
        assert_eq!(default_cap("mobile.ui.act"), "mobileUI");
        assert_eq!(default_cap("mobile.other"), "mobile");
        assert_eq!(default_cap("acme.gpio.read"), "acme");
        let mut r = CommandRegistry::new();
        r.register("mobile.ui.observe", |_ctx: InvokeContext| async { Ok(Value::Null) }).unwrap();
        assert_eq!(r.caps(), vec!["mobileUI"]);
    }
}
