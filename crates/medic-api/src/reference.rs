//! The tables of `docs/api.md`, generated from the route table ([`ROUTES`])
//! and the error table ([`ERROR_CODES`]), so the page cannot drift from the
//! router: a test compares the page with [`reference_markdown`].

use std::fmt::Write as _;

use crate::error::ERROR_CODES;
use crate::routes::{Access, ROUTES};

/// Where the generated part of `docs/api.md` begins.
pub const BEGIN_MARKER: &str =
    "<!-- generated from crates/medic-api/src/routes/mod.rs and error.rs: begin -->";
/// Where it ends.
pub const END_MARKER: &str = "<!-- generated: end -->";

/// The routes table and the error codes table, between the markers.
pub fn reference_markdown() -> String {
    let mut out = String::new();
    out.push_str(BEGIN_MARKER);
    out.push_str(
        "\n\n## Routes\n\n| method | path | who may call it | what it does |\n|---|---|---|---|\n",
    );
    for route in ROUTES {
        let who = match route.access {
            Access::Public => "anyone".to_string(),
            Access::Key(scope) => format!("`{}` key", crate::auth::scope_name(scope)),
            Access::KeyOrSignature => "`write` key, or `X-Medic-Signature`".to_string(),
            Access::Webhook(name) => {
                format!("the sender's credentials (`[webhooks.{name}]`), else a `write` key")
            }
        };
        let summary = route.summary.replace('|', "\\|");
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {who} | {summary} |",
            route.method, route.path
        );
    }
    out.push_str("\n## Error codes\n\n| code | status | when |\n|---|---|---|\n");
    for (code, status, meaning) in ERROR_CODES {
        let _ = writeln!(
            out,
            "| `{code}` | {status} | {} |",
            meaning.replace('|', "\\|")
        );
    }
    out.push('\n');
    out.push_str(END_MARKER);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/api.md` holds exactly the generated tables; when a route or an
    /// error code changes, regenerate them (the message says how).
    #[test]
    fn docs_api_md_matches_the_route_and_error_tables() {
        let page = include_str!("../../../docs/api.md");
        let begin = page
            .find(BEGIN_MARKER)
            .expect("docs/api.md has the begin marker");
        let end = page
            .find(END_MARKER)
            .expect("docs/api.md has the end marker")
            + END_MARKER.len()
            + 1;
        let generated = reference_markdown();
        assert!(
            page.get(begin..end) == Some(generated.as_str()),
            "docs/api.md is stale: replace its generated part with\n{generated}"
        );
    }
}
