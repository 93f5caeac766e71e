//! `cargo xtask api [--check]`: the public API of the core crate `clawnode`, as a sorted
//! listing committed in `core/public-api.txt`, so every API change shows up in review.
//!
//! The listing is rendered from rustdoc's JSON output (an unstable rustdoc flag: only stable
//! Rust is available, so rustdoc — and nothing else — runs with `RUSTC_BOOTSTRAP=1`, through
//! this binary acting as the `RUSTDOC` wrapper; setting it for the whole cargo run would
//! rerun proc-macro2's build script and rebuild every proc macro). It walks what a user can
//! name: public modules, re-exports, and for every reachable item its fields, variants,
//! inherent methods and explicit trait impls, with signatures. `--check` (run by
//! `cargo xtask test`) fails on any difference and prints it.
//!
//! After an intended API change, regenerate: `cargo xtask api`.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The committed listing (relative to the workspace).
const LISTING: &str = "core/public-api.txt";
/// Environment variable that turns this binary into the `RUSTDOC` wrapper: the real rustdoc.
pub const WRAP_ENV: &str = "XTASK_REAL_RUSTDOC";

/// When run as the `RUSTDOC` wrapper: runs the real rustdoc with `RUSTC_BOOTSTRAP=1`.
pub fn rustdoc_wrapper() -> Option<std::process::ExitCode> {
    let real = std::env::var_os(WRAP_ENV)?;
    let status = Command::new(real).args(std::env::args_os().skip(1)).env("RUSTC_BOOTSTRAP", "1").status();
    Some(match status {
        Ok(s) if s.success() => std::process::ExitCode::SUCCESS,
        Ok(s) => std::process::ExitCode::from(u8::try_from(s.code().unwrap_or(1)).unwrap_or(1)),
        Err(e) => {
            eprintln!("xtask (rustdoc wrapper): {e}");
            std::process::ExitCode::FAILURE
        }
    })
}

/// `cargo xtask api [--check]`.
pub fn main(root: &Path, check: bool) -> Result<(), String> {
    let json = rustdoc_json(root)?;
    // The listing's first line names the rustdoc JSON format it was rendered from: another
    // toolchain may render the same API differently, which is not an API change.
    let header = format!("# rustdoc JSON format {}\n", json["format_version"]);
    let listing = format!("{header}{}", render(&json)?);
    let path = root.join(LISTING);
    if !check {
        std::fs::write(&path, &listing).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("{LISTING}: {} lines", listing.lines().count());
        return Ok(());
    }
    let committed = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if committed == listing {
        println!("{LISTING}: up to date ({} lines)", listing.lines().count());
        return Ok(());
    }
    if !committed.starts_with(&header) {
        eprintln!(
            "warning: {LISTING} was rendered from another rustdoc JSON format than this toolchain's ({}): \
             not compared; run `cargo xtask api` with this toolchain and commit",
            header.trim_start_matches("# ").trim_end()
        );
        return Ok(());
    }
    let old: BTreeSet<&str> = committed.lines().collect();
    let new: BTreeSet<&str> = listing.lines().collect();
    for gone in old.difference(&new) {
        eprintln!("- {gone}");
    }
    for added in new.difference(&old) {
        eprintln!("+ {added}");
    }
    Err(format!(
        "the public API of `clawnode` differs from {LISTING} (rendered from rustdoc JSON format {}): \
         if intended, run `cargo xtask api` and commit",
        json["format_version"]
    ))
}

/// The target directory, asked of cargo (it honours `CARGO_TARGET_DIR` and config).
fn target_dir(root: &Path) -> Result<PathBuf, String> {
    let out = super::cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let meta: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    meta["target_directory"].as_str().map(PathBuf::from).ok_or_else(|| "cargo metadata: no target_directory".into())
}

/// Runs rustdoc (JSON output) on the core crate and parses the result.
fn rustdoc_json(root: &Path) -> Result<Value, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let real = std::env::var_os("RUSTDOC").unwrap_or_else(|| "rustdoc".into());
    let status = super::cargo()
        .args([
            "rustdoc",
            "--quiet",
            "-p",
            "clawnode",
            "--lib",
            "--",
            "-Z",
            "unstable-options",
            "--output-format",
            "json",
            "-A",
            "warnings",
        ])
        .env("RUSTDOC", exe)
        .env(WRAP_ENV, real)
        .status()
        .map_err(|e| format!("cargo rustdoc: {e}"))?;
    if !status.success() {
        return Err(format!("cargo rustdoc (JSON) failed: {status}"));
    }
    let file = target_dir(root)?.join("doc/clawnode.json");
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))
}

/// Walks every public path from the crate root and renders one line per item.
fn render(doc: &Value) -> Result<String, String> {
    let root = doc["root"].to_string();
    let mut w = Walker { doc, lines: BTreeSet::new(), seen: HashSet::new() };
    w.module(&root, "clawnode")?;
    let mut out = String::new();
    for (_, line) in &w.lines {
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

struct Walker<'a> {
    doc: &'a Value,
    /// (path of the item it belongs to, line): sorted by path, the lines of one type stay together.
    lines: BTreeSet<(String, String)>,
    /// (item id, path) pairs already rendered: a glob or re-export cycle ends here.
    seen: HashSet<(String, String)>,
}

/// The kind of an item (`"module"`, `"struct"`, …) and its inner value.
fn inner(item: &Value) -> Option<(&str, &Value)> {
    match &item["inner"] {
        Value::Object(m) => m.iter().next().map(|(k, v)| (k.as_str(), v)),
        Value::String(s) => Some((s.as_str(), &Value::Null)),
        _ => None,
    }
}

fn key(id: &Value) -> String {
    id.to_string()
}

impl<'a> Walker<'a> {
    fn add(&mut self, path: &str, line: String) {
        self.lines.insert((path.to_string(), line));
    }

    fn item(&self, id: &Value) -> Option<&'a Value> {
        let doc: &'a Value = self.doc;
        doc["index"].get(key(id).trim_matches('"'))
    }

    fn module(&mut self, id: &str, path: &str) -> Result<(), String> {
        let doc: &'a Value = self.doc;
        let item = doc["index"].get(id.trim_matches('"')).ok_or_else(|| format!("no module {id}"))?;
        let Some(("module", m)) = inner(item) else { return Err(format!("{path} is not a module")) };
        if path != "clawnode" {
            self.add(path, format!("pub mod {path}"));
        }
        for child in m["items"].as_array().into_iter().flatten() {
            self.public(child, path, None)?;
        }
        Ok(())
    }

    /// Renders the item `id` as seen at `parent::name` (`name` overrides for re-exports).
    fn public(&mut self, id: &Value, parent: &str, name: Option<&str>) -> Result<(), String> {
        let Some(item) = self.item(id) else { return Ok(()) }; // external or stripped
        let Some((kind, v)) = inner(item) else { return Ok(()) };
        if kind == "use" {
            let target = &v["id"];
            if v["is_glob"].as_bool() == Some(true) {
                if let Some(Some(("module", m))) = self.item(target).map(inner) {
                    for child in m["items"].as_array().into_iter().flatten() {
                        self.public(child, parent, None)?;
                    }
                }
                return Ok(());
            }
            if target.is_null() || self.item(target).is_none() {
                // A re-export of another crate's item.
                self.add(
                    parent,
                    format!(
                        "pub use {parent}::{} = {}",
                        v["name"].as_str().unwrap_or("?"),
                        v["source"].as_str().unwrap_or("?")
                    ),
                );
                return Ok(());
            }
            return self.public(target, parent, v["name"].as_str());
        }
        let Some(name) = name.or(item["name"].as_str()) else { return Ok(()) };
        let path = format!("{parent}::{name}");
        if !self.seen.insert((key(id), path.clone())) {
            return Ok(());
        }
        let ne = if is_non_exhaustive(item) { "#[non_exhaustive] " } else { "" };
        match kind {
            "module" => self.module(&key(id), &path)?,
            "struct" => {
                self.add(&path, format!("{ne}pub struct {path}{}", generics(&v["generics"])));
                match &v["kind"] {
                    Value::Object(k) if k.contains_key("plain") => {
                        for f in k["plain"]["fields"].as_array().into_iter().flatten() {
                            self.field(f, &path);
                        }
                    }
                    Value::Object(k) if k.contains_key("tuple") => {
                        for (i, f) in k["tuple"].as_array().into_iter().flatten().enumerate() {
                            if let Some(field) = self.item(f) {
                                self.add(&path, format!("pub {path}::{i}: {}", ty(&field["inner"]["struct_field"])));
                            }
                        }
                    }
                    _ => {}
                }
                self.impls(&v["impls"], &path);
            }
            "enum" => {
                self.add(&path, format!("{ne}pub enum {path}{}", generics(&v["generics"])));
                for var in v["variants"].as_array().into_iter().flatten() {
                    self.variant(var, &path);
                }
                self.impls(&v["impls"], &path);
            }
            "union" => {
                self.add(&path, format!("pub union {path}"));
                self.impls(&v["impls"], &path);
            }
            "trait" => {
                self.add(&path, format!("pub trait {path}{}", generics(&v["generics"])));
                for m in v["items"].as_array().into_iter().flatten() {
                    if let Some(it) = self.item(m) {
                        self.assoc(it, &path, "");
                    }
                }
            }
            "function" => {
                self.add(&path, format!("pub {}", function(&path, v)));
            }
            "constant" => {
                self.add(&path, format!("pub const {path}: {}", ty(&v["type"])));
            }
            "static" => {
                self.add(&path, format!("pub static {path}: {}", ty(&v["type"])));
            }
            "type_alias" => {
                self.add(&path, format!("pub type {path}{} = {}", generics(&v["generics"]), ty(&v["type"])));
            }
            "macro" | "proc_macro" => {
                self.add(&path, format!("pub macro {path}!"));
            }
            other => {
                self.add(&path, format!("pub {other} {path}"));
            }
        }
        Ok(())
    }

    fn field(&mut self, id: &Value, path: &str) {
        if let Some(f) = self.item(id)
            && let Some(name) = f["name"].as_str()
        {
            self.add(path, format!("pub {path}::{name}: {}", ty(&f["inner"]["struct_field"])));
        }
    }

    fn variant(&mut self, id: &Value, path: &str) {
        let Some(var) = self.item(id) else { return };
        let Some(name) = var["name"].as_str() else { return };
        let kind = &var["inner"]["variant"]["kind"];
        let shape = match kind {
            Value::Object(k) if k.contains_key("tuple") => {
                let fields: Vec<String> = k["tuple"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|f| self.item(f).map(|f| ty(&f["inner"]["struct_field"])).unwrap_or_else(|| "_".into()))
                    .collect();
                format!("({})", fields.join(", "))
            }
            Value::Object(k) if k.contains_key("struct") => {
                let fields: Vec<String> = k["struct"]["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| self.item(f))
                    .map(|f| format!("{}: {}", f["name"].as_str().unwrap_or("?"), ty(&f["inner"]["struct_field"])))
                    .collect();
                let more = if k["struct"]["has_stripped_fields"].as_bool() == Some(true) { ", .." } else { "" };
                format!(" {{ {}{more} }}", fields.join(", "))
            }
            _ => String::new(),
        };
        let ne = if is_non_exhaustive(var) { "#[non_exhaustive] " } else { "" };
        self.add(path, format!("{ne}pub {path}::{name}{shape}"));
    }

    /// Inherent items and explicit (non-synthetic, non-blanket) trait impls of a type.
    fn impls(&mut self, impls: &Value, path: &str) {
        for id in impls.as_array().into_iter().flatten() {
            let Some(imp) = self.item(id) else { continue };
            let v = &imp["inner"]["impl"];
            let derive_detail = v["trait"]["path"].as_str() == Some("StructuralPartialEq");
            if v["is_synthetic"].as_bool() == Some(true) || !v["blanket_impl"].is_null() || derive_detail {
                continue;
            }
            let trait_ = &v["trait"];
            if trait_.is_null() {
                for m in v["items"].as_array().into_iter().flatten() {
                    if let Some(it) = self.item(m)
                        && is_public(it)
                    {
                        self.assoc(it, path, "");
                    }
                }
            } else {
                self.add(path, format!("impl{} {} for {path}", generics(&v["generics"]), path_ty(trait_)));
            }
        }
    }

    fn assoc(&mut self, it: &Value, path: &str, prefix: &str) {
        let Some(name) = it["name"].as_str() else { return };
        let full = format!("{path}::{name}");
        let line = match inner(it) {
            Some(("function", f)) => format!("{prefix}pub {}", function(&full, f)),
            Some(("assoc_const", c)) => format!("{prefix}pub const {full}: {}", ty(&c["type"])),
            Some(("constant", c)) => format!("{prefix}pub const {full}: {}", ty(&c["type"])),
            Some(("assoc_type", _)) => format!("{prefix}pub type {full}"),
            Some((k, _)) => format!("{prefix}pub {k} {full}"),
            None => return,
        };
        self.add(path, line);
    }
}

fn is_public(item: &Value) -> bool {
    item["visibility"].as_str() == Some("public")
}

fn is_non_exhaustive(item: &Value) -> bool {
    item["attrs"].as_array().into_iter().flatten().any(|a| a.to_string().contains("non_exhaustive"))
}

fn function(path: &str, f: &Value) -> String {
    let header = &f["header"];
    let mut out = String::new();
    if header["is_const"].as_bool() == Some(true) {
        out.push_str("const ");
    }
    if header["is_async"].as_bool() == Some(true) {
        out.push_str("async ");
    }
    if header["is_unsafe"].as_bool() == Some(true) {
        out.push_str("unsafe ");
    }
    let args: Vec<String> = f["sig"]["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|pair| {
            let name = pair[0].as_str().unwrap_or("_");
            let t = &pair[1];
            if name == "self" { self_arg(t) } else { format!("{name}: {}", ty(t)) }
        })
        .collect();
    out.push_str(&format!("fn {path}{}({})", generics(&f["generics"]), args.join(", ")));
    if !f["sig"]["output"].is_null() {
        out.push_str(&format!(" -> {}", ty(&f["sig"]["output"])));
    }
    out.push_str(&where_clause(&f["generics"]));
    out
}

fn self_arg(t: &Value) -> String {
    if let Some(r) = t.get("borrowed_ref")
        && r["type"].get("generic").and_then(Value::as_str) == Some("Self")
    {
        return if r["is_mutable"].as_bool() == Some(true) { "&mut self".into() } else { "&self".into() };
    }
    if t.get("generic").and_then(Value::as_str) == Some("Self") {
        return "self".into();
    }
    format!("self: {}", ty(t))
}

fn generics(g: &Value) -> String {
    let params: Vec<String> = g["params"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let name = p["name"].as_str()?;
            match p["kind"].as_object().and_then(|k| k.iter().next()).map(|(k, v)| (k.as_str(), v)) {
                Some(("lifetime", _)) => Some(name.to_string()),
                Some(("type", t)) => {
                    if t["is_synthetic"].as_bool() == Some(true) {
                        return None; // `impl Trait` in argument position
                    }
                    let bounds = bounds(&t["bounds"]);
                    Some(if bounds.is_empty() { name.to_string() } else { format!("{name}: {bounds}") })
                }
                Some(("const", c)) => Some(format!("const {name}: {}", ty(&c["type"]))),
                _ => Some(name.to_string()),
            }
        })
        .collect();
    if params.is_empty() { String::new() } else { format!("<{}>", params.join(", ")) }
}

fn where_clause(g: &Value) -> String {
    let preds: Vec<String> = g["where_predicates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let b = p.get("bound_predicate")?;
            Some(format!("{}: {}", ty(&b["type"]), bounds(&b["bounds"])))
        })
        .collect();
    if preds.is_empty() { String::new() } else { format!(" where {}", preds.join(", ")) }
}

fn bounds(b: &Value) -> String {
    let parts: Vec<String> = b
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            if let Some(t) = b.get("trait_bound") {
                let m = if t["modifier"].as_str() == Some("maybe") { "?" } else { "" };
                format!("{m}{}", path_ty(&t["trait"]))
            } else if let Some(l) = b.get("outlives") {
                l.as_str().unwrap_or("'_").to_string()
            } else {
                "?".into()
            }
        })
        .collect();
    parts.join(" + ")
}

/// A path type (`Vec<u8>`, `Result<T, E>`) by its last segment: how the source names it
/// (`crate::x::T`, `x::T`, `T`) is not API.
fn path_ty(p: &Value) -> String {
    let full = p["path"].as_str().or(p["name"].as_str()).unwrap_or("?");
    let name = full.rsplit("::").next().unwrap_or(full).to_string();
    match p.get("args") {
        Some(a) if !a.is_null() => format!("{name}{}", generic_args(a)),
        _ => name,
    }
}

fn generic_args(a: &Value) -> String {
    if let Some(ab) = a.get("angle_bracketed") {
        let mut parts: Vec<String> = ab["args"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| {
                if let Some(t) = x.get("type") {
                    ty(t)
                } else if let Some(l) = x.get("lifetime") {
                    l.as_str().unwrap_or("'_").to_string()
                } else if let Some(c) = x.get("const") {
                    c["expr"].as_str().unwrap_or("_").to_string()
                } else {
                    "_".into()
                }
            })
            .collect();
        for c in ab["constraints"].as_array().into_iter().flatten() {
            let name = c["name"].as_str().unwrap_or("?");
            if let Some(t) = c["binding"].get("equality").and_then(|e| e.get("type")) {
                parts.push(format!("{name} = {}", ty(t)));
            } else if let Some(b) = c["binding"].get("constraint") {
                parts.push(format!("{name}: {}", bounds(b)));
            }
        }
        if parts.is_empty() { String::new() } else { format!("<{}>", parts.join(", ")) }
    } else if let Some(p) = a.get("parenthesized") {
        let inputs: Vec<String> = p["inputs"].as_array().into_iter().flatten().map(ty).collect();
        let out = if p["output"].is_null() { String::new() } else { format!(" -> {}", ty(&p["output"])) };
        format!("({}){out}", inputs.join(", "))
    } else {
        String::new()
    }
}

/// A type as written in a signature.
fn ty(t: &Value) -> String {
    let Some((kind, v)) = t.as_object().and_then(|m| m.iter().next()) else {
        return "?".into();
    };
    match kind.as_str() {
        "resolved_path" => path_ty(v),
        "generic" | "primitive" => v.as_str().unwrap_or("?").to_string(),
        "borrowed_ref" => {
            let lt = v["lifetime"].as_str().map(|l| format!("{l} ")).unwrap_or_default();
            let m = if v["is_mutable"].as_bool() == Some(true) { "mut " } else { "" };
            format!("&{lt}{m}{}", ty(&v["type"]))
        }
        "raw_pointer" => {
            let m = if v["is_mutable"].as_bool() == Some(true) { "mut" } else { "const" };
            format!("*{m} {}", ty(&v["type"]))
        }
        "tuple" => {
            let parts: Vec<String> = v.as_array().into_iter().flatten().map(ty).collect();
            format!("({})", parts.join(", "))
        }
        "slice" => format!("[{}]", ty(v)),
        "array" => format!("[{}; {}]", ty(&v["type"]), v["len"].as_str().unwrap_or("_")),
        "impl_trait" => format!("impl {}", bounds(v)),
        "dyn_trait" => {
            let traits: Vec<String> =
                v["traits"].as_array().into_iter().flatten().map(|p| path_ty(&p["trait"])).collect();
            let lt = v["lifetime"].as_str().map(|l| format!(" + {l}")).unwrap_or_default();
            format!("dyn {}{lt}", traits.join(" + "))
        }
        "qualified_path" => {
            let self_ty = ty(&v["self_type"]);
            let name = v["name"].as_str().unwrap_or("?");
            match v.get("trait").map(path_ty) {
                Some(tr) if !tr.is_empty() && tr != "?" => format!("<{self_ty} as {tr}>::{name}"),
                _ => format!("{self_ty}::{name}"),
            }
        }
        "function_pointer" => {
            let inputs: Vec<String> = v["sig"]["inputs"].as_array().into_iter().flatten().map(|p| ty(&p[1])).collect();
            let out =
                if v["sig"]["output"].is_null() { String::new() } else { format!(" -> {}", ty(&v["sig"]["output"])) };
            format!("fn({}){out}", inputs.join(", "))
        }
        "infer" => "_".into(),
        other => format!("<{other}>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A crate root with a private module whose items are re-exported, a public module, a
    /// `#[non_exhaustive]` enum and a function: every public path is listed, with the
    /// signature, and nothing of the private module under its own path.
    #[test]
    fn lists_reachable_paths_with_signatures() {
        let string = json!({"resolved_path": {"path": "std::string::String", "id": 90, "args": null}});
        let doc = json!({
            "root": 0,
            "format_version": 0,
            "index": {
                "0": {"id": 0, "name": "clawnode", "visibility": "public", "attrs": [],
                      "inner": {"module": {"is_crate": true, "items": [1, 2, 5], "is_stripped": false}}},
                "1": {"id": 1, "name": null, "visibility": "public", "attrs": [],
                      "inner": {"use": {"source": "inner::Thing", "name": "Thing", "id": 3, "is_glob": false}}},
                "2": {"id": 2, "name": "store", "visibility": "public", "attrs": [],
                      "inner": {"module": {"is_crate": false, "items": [4], "is_stripped": false}}},
                "3": {"id": 3, "name": "Thing", "visibility": "public", "attrs": [{"other": "#[non_exhaustive]"}],
                      "inner": {"enum": {"generics": {"params": [], "where_predicates": []},
                                         "has_stripped_variants": false, "variants": [6], "impls": []}}},
                "4": {"id": 4, "name": "load", "visibility": "public", "attrs": [],
                      "inner": {"function": {
                          "sig": {"inputs": [["path", {"borrowed_ref": {"lifetime": null, "is_mutable": false,
                                                        "type": {"primitive": "str"}}}]],
                                  "output": {"resolved_path": {"path": "Option", "id": 91, "args": {"angle_bracketed": {
                                      "args": [{"type": string}], "constraints": []}}}},
                                  "is_c_variadic": false},
                          "generics": {"params": [], "where_predicates": []},
                          "header": {"is_const": false, "is_unsafe": false, "is_async": true, "abi": "Rust"},
                          "has_body": true}}},
                "5": {"id": 5, "name": "VERSION", "visibility": "public", "attrs": [],
                      "inner": {"constant": {"type": {"primitive": "u16"}, "const": {"expr": "1", "value": null, "is_literal": true}}}},
                "6": {"id": 6, "name": "Named", "visibility": "default", "attrs": [],
                      "inner": {"variant": {"kind": {"tuple": [7]}, "discriminant": null}}},
                "7": {"id": 7, "name": "0", "visibility": "default", "attrs": [],
                      "inner": {"struct_field": string}}
            }
        });
        let listing = render(&doc).unwrap();
        assert_eq!(
            listing.lines().collect::<Vec<_>>(),
            vec![
                "#[non_exhaustive] pub enum clawnode::Thing",
                "pub clawnode::Thing::Named(String)",
                "pub const clawnode::VERSION: u16",
                "pub mod clawnode::store",
                "pub async fn clawnode::store::load(path: &str) -> Option<String>",
            ]
        );
    }
}
