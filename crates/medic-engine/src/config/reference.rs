//! `docs/configuration.md`, generated from this module's own source: the
//! doc comments of `schema.rs` are the reference, so it cannot drift from
//! the structs serde reads. A small line-based reader is enough because
//! `schema.rs` keeps one shape (doc comments, `pub` fields, serde
//! attributes); defaults come from the real `Default` impls.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use medic_model::{Category, Severity};

use super::schema::{
    AlertmanagerWebhook, CiWebhook, Cluster, Health, Llm, Log, Policy, Server, Storage,
};

const SCHEMA: &str = include_str!("schema.rs");

/// One `pub` field or enum variant with its doc comment.
#[derive(Debug, Default)]
struct Member {
    name: String,
    /// The field's type, or the variant's payload type.
    ty: Option<String>,
    doc: String,
    /// `#[serde(default…)]` on the field.
    defaulted: bool,
}

/// One `pub struct` or `pub enum` of the schema.
#[derive(Debug, Default)]
struct Item {
    doc: String,
    is_enum: bool,
    /// The struct carries `#[serde(default)]`: every field is optional.
    defaulted: bool,
    rename_all: Option<String>,
    /// Tagged by `kind` (probes, actions).
    tagged: bool,
    members: Vec<Member>,
}

fn parse_schema() -> BTreeMap<String, Item> {
    let mut items = BTreeMap::new();
    let mut doc = Vec::<String>::new();
    let mut attrs = Vec::<String>::new();
    let mut current: Option<(String, Item)> = None;
    let mut member_attrs = String::new();
    for line in SCHEMA.lines() {
        let trimmed = line.trim();
        if let Some(text) = trimmed.strip_prefix("///") {
            doc.push(text.trim().to_string());
            continue;
        }
        if trimmed.starts_with("#[") {
            if current.is_some() {
                member_attrs.push_str(trimmed);
            } else {
                attrs.push(trimmed.to_string());
            }
            continue;
        }
        if let Some((name, item)) = current.as_mut() {
            if trimmed == "}" {
                let (name, item) = (name.clone(), std::mem::take(item));
                items.insert(name, item);
                current = None;
                doc.clear();
                continue;
            }
            if let Some(member) = parse_member(trimmed, item.is_enum) {
                item.members.push(Member {
                    doc: doc.join(" "),
                    defaulted: member_attrs.contains("default"),
                    ..member
                });
            }
            doc.clear();
            member_attrs.clear();
            continue;
        }
        let declared = trimmed
            .strip_prefix("pub struct ")
            .map(|rest| (rest, false))
            .or_else(|| trimmed.strip_prefix("pub enum ").map(|rest| (rest, true)));
        if let Some((rest, is_enum)) = declared {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let serde = attrs.join(" ");
            let item = Item {
                doc: doc.join(" "),
                is_enum,
                defaulted: serde.contains("serde(") && serde.contains("default"),
                rename_all: serde
                    .split("rename_all = \"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .map(str::to_string),
                tagged: serde.contains("tag = \"kind\""),
                members: Vec::new(),
            };
            if rest.trim_end().ends_with('{') {
                current = Some((name, item));
            } else {
                // `pub struct RestartAction {}`: no fields.
                items.insert(name, item);
            }
        }
        doc.clear();
        attrs.clear();
    }
    items
}

fn parse_member(line: &str, is_enum: bool) -> Option<Member> {
    if is_enum {
        let line = line.trim_end_matches(',');
        let (name, ty) = match line.split_once('(') {
            Some((name, rest)) => (name, Some(rest.trim_end_matches(')').to_string())),
            None => (line, None),
        };
        if name.is_empty() || !name.chars().all(char::is_alphanumeric) {
            return None;
        }
        return Some(Member {
            name: name.to_string(),
            ty,
            ..Member::default()
        });
    }
    let rest = line.strip_prefix("pub ")?;
    let (name, ty) = rest.split_once(": ")?;
    Some(Member {
        name: name.to_string(),
        ty: Some(ty.trim_end_matches(',').to_string()),
        ..Member::default()
    })
}

/// A variant's name as written in the config.
fn renamed(variant: &str, rename_all: Option<&str>) -> String {
    match rename_all {
        Some("lowercase") => variant.to_lowercase(),
        Some("kebab-case") | Some("snake_case") => {
            let separator = if rename_all == Some("kebab-case") {
                '-'
            } else {
                '_'
            };
            let mut out = String::new();
            for (i, c) in variant.chars().enumerate() {
                if c.is_uppercase() && i > 0 {
                    out.push(separator);
                }
                out.extend(c.to_lowercase());
            }
            out
        }
        _ => variant.to_string(),
    }
}

/// The inside of `Wrapper<…>`, if `ty` is one.
fn inner<'a>(ty: &'a str, wrapper: &str) -> Option<&'a str> {
    ty.strip_prefix(wrapper)?
        .strip_prefix('<')?
        .strip_suffix('>')
}

/// The value type in words, for the table.
fn describe_type(ty: &str, items: &BTreeMap<String, Item>) -> String {
    if let Some(t) = inner(ty, "Option") {
        return describe_type(t, items);
    }
    if let Some(t) = inner(ty, "Vec") {
        return format!("list of {}", describe_type(t, items));
    }
    if inner(ty, "BTreeMap").is_some() {
        return "table of strings".into();
    }
    match ty {
        "String" => "string".into(),
        "u16" | "u32" | "u64" | "usize" => "integer".into(),
        "f64" => "number".into(),
        "bool" => "boolean".into(),
        "HumanDuration" => "duration (`500ms`, `10s`, `5m`, `1h`)".into(),
        "Category" => one_of(Category::ALL.iter().map(|c| c.as_str().to_string())),
        "Severity" => one_of(Severity::ALL.iter().map(|s| s.as_str().to_string())),
        other => match items.get(other) {
            Some(item) if item.is_enum && !item.tagged => one_of(
                item.members
                    .iter()
                    .map(|m| renamed(&m.name, item.rename_all.as_deref())),
            ),
            Some(item) if item.tagged => {
                format!("table with `kind` (see [{other}](#{}))", anchor(other))
            }
            Some(_) => format!("table (see [{other}](#{}))", anchor(other)),
            None => format!("`{other}`"),
        },
    }
}

fn one_of(names: impl Iterator<Item = String>) -> String {
    let names: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    format!("one of {}", names.join(", "))
}

fn anchor(name: &str) -> String {
    name.to_lowercase()
}

/// The struct behind a field's type, if any (through `Option` and `Vec`).
fn struct_of<'a>(ty: &'a str, items: &BTreeMap<String, Item>) -> Option<&'a str> {
    let bare = inner(ty, "Option")
        .or_else(|| inner(ty, "Vec"))
        .unwrap_or(ty);
    items
        .get(bare)
        .filter(|item| !item.is_enum || item.tagged)
        .map(|_| bare)
}

/// Defaults of the sections that have a `Default`, as TOML values.
fn defaults() -> BTreeMap<&'static str, toml::Table> {
    fn table<T: serde::Serialize>(value: &T) -> toml::Table {
        toml::Table::try_from(value).unwrap_or_default()
    }
    BTreeMap::from([
        ("Server", table(&Server::default())),
        ("Storage", table(&Storage::default())),
        ("Cluster", table(&Cluster::default())),
        ("Llm", table(&Llm::default())),
        ("Policy", table(&Policy::default())),
        ("Health", table(&Health::default())),
        ("Log", table(&Log::default())),
        (
            "AlertmanagerWebhook",
            table(&AlertmanagerWebhook::default()),
        ),
        ("CiWebhook", table(&CiWebhook::default())),
    ])
}

/// `docs/configuration.md`.
pub fn reference_markdown() -> String {
    let items = parse_schema();
    let defaults = defaults();
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated by `medic config-reference` from the doc comments of\n\
         crates/medic-engine/src/config/schema.rs. Do not edit by hand. -->\n\n\
         medic reads one TOML file (`--config`, default `medic.toml`, or `MEDIC_CONFIG`).\n\
         Unknown keys are errors, reported with their key path. Scalar keys of\n\
         `[server]`, `[storage]`, `[cluster]`, `[policy]`, `[llm]` and `[log]` can be\n\
         overridden by environment variables: `MEDIC_POLICY_MODE=dry-run` sets `policy.mode`.\n\
         `medic check` validates a file; `medic init` writes a commented starter;\n\
         `examples/` holds complete configs.\n",
    );
    let mut sections = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    if let Some(config) = items.get("Config") {
        for field in &config.members {
            let Some(ty) = field.ty.as_deref() else {
                continue;
            };
            if let Some(name) = struct_of(ty, &items) {
                let header = if inner(ty, "Vec").is_some() {
                    format!("[[{}]]", field.name)
                } else {
                    format!("[{}]", field.name)
                };
                sections.push((header, name.to_string()));
            }
        }
    }
    let mut first_header = BTreeMap::new();
    while !sections.is_empty() {
        let (header, name) = sections.remove(0);
        if !seen.insert(name.clone()) {
            if let Some(first) = first_header.get(&name) {
                let _ = write!(out, "\n## {header}\n\nThe same keys as {first}.\n");
            }
            continue;
        }
        first_header.insert(name.clone(), header.clone());
        let Some(item) = items.get(&name) else {
            continue;
        };
        let _ = write!(
            out,
            "\n## {header} <a id=\"{}\"></a>\n\n{}\n",
            anchor(&name),
            item.doc
        );
        let mut nested = Vec::new();
        if item.tagged {
            for variant in &item.members {
                let kind = renamed(&variant.name, item.rename_all.as_deref());
                let _ = write!(out, "\n### `kind = \"{kind}\"`\n\n{}\n", variant.doc);
                if let Some(payload) = variant.ty.as_deref().and_then(|t| items.get(t)) {
                    fields_table(&mut out, payload, &items, None, &mut nested, &header);
                }
            }
        } else {
            fields_table(
                &mut out,
                item,
                &items,
                defaults.get(name.as_str()),
                &mut nested,
                &header,
            );
        }
        // Subsections right after their parent, in field order.
        for (i, entry) in nested.into_iter().enumerate() {
            sections.insert(i, entry);
        }
    }
    out
}

fn fields_table(
    out: &mut String,
    item: &Item,
    items: &BTreeMap<String, Item>,
    defaults: Option<&toml::Table>,
    nested: &mut Vec<(String, String)>,
    parent: &str,
) {
    if item.members.is_empty() {
        out.push_str("\nNo other keys.\n");
        return;
    }
    out.push_str("\n| key | type | default | description |\n|---|---|---|---|\n");
    for field in &item.members {
        let Some(ty) = field.ty.as_deref() else {
            continue;
        };
        let optional = item.defaulted || field.defaulted || inner(ty, "Option").is_some();
        let default = match defaults.and_then(|d| d.get(&field.name)) {
            Some(toml::Value::Table(t)) if t.is_empty() => "—".into(),
            Some(toml::Value::Array(a)) if a.is_empty() => "—".into(),
            Some(value) => format!("`{value}`"),
            None if optional => "—".into(),
            None => "**required**".into(),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            field.name,
            describe_type(ty, items),
            default,
            field.doc.replace('|', "\\|")
        );
        if let Some(child) = struct_of(ty, items) {
            let base = parent.trim_matches(|c| c == '[' || c == ']');
            let header = if items.get(child).is_some_and(|i| i.tagged) {
                format!("{base}.{}", field.name)
            } else if inner(ty, "Vec").is_some() {
                format!("[[{base}.{}]]", field.name)
            } else {
                format!("[{base}.{}]", field.name)
            };
            nested.push((header, child.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_section_and_kind_is_documented() {
        let text = super::reference_markdown();
        for needle in [
            "## [server]",
            "## [server.tls]",
            "## [policy]",
            "## [[targets]]",
            "## targets.probes",
            "### `kind = \"http\"`",
            "## [[targets.remedies]]",
            "### `kind = \"escalate\"`",
            "## [log]",
            "| `mode` | one of `auto`, `dry-run`, `approve` | `\"auto\"` |",
            "| `name` | string | **required** |",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }
}
