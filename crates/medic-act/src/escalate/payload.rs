//! The three bodies an escalation webhook may receive.

use medic_engine::config::EscalationFormat;
use serde_json::{Value, json};

use crate::context::ActionContext;

/// PagerDuty caps `payload.summary` at 1024 characters.
const PAGERDUTY_SUMMARY_CHARS: usize = 1024;

/// Slack caps a text object at 3000 characters; leave room for the labels.
const SLACK_TEXT_CHARS: usize = 2900;

/// The JSON body of an escalation in `format`.
///
/// - `generic`: medic's own flat object.
/// - `pagerduty`: an Events API v2 `trigger`, deduplicated per incident
///   (`dedup_key = "medic-<incident id>"`), so repeated escalations of one
///   incident update one PagerDuty alert instead of paging again.
/// - `slack`: an incoming-webhook message with a fallback `text` and blocks
///   (diagnosis, evidence, and a button to the incident on the dashboard).
///
/// `link` is the incident on the dashboard (from `[server] public_url`).
///
/// ```
/// use medic_act::{ActionContext, escalation_payload};
/// use medic_engine::config::EscalationFormat;
/// let ctx = ActionContext { target: "payments".into(), incident_id: 7, severity: "high".into(), ..Default::default() };
/// let body = escalation_payload(EscalationFormat::Pagerduty, &ctx, "KEY", Some("https://medic.example/#incident=7"));
/// assert_eq!(body["dedup_key"], "medic-7");
/// assert_eq!(body["payload"]["severity"], "error");
/// assert_eq!(body["links"][0]["href"], "https://medic.example/#incident=7");
/// ```
pub fn escalation_payload(
    format: EscalationFormat,
    ctx: &ActionContext,
    routing_key: &str,
    link: Option<&str>,
) -> Value {
    let mut body = match format {
        EscalationFormat::Generic => generic(ctx, link),
        EscalationFormat::Pagerduty => pagerduty(ctx, "", link),
        EscalationFormat::Slack => slack(ctx, link),
    };
    // The incident's text leaves the machine here: secrets out. The routing
    // key is the one secret meant to go, so it goes in after.
    medic_engine::redact::redact_json(&mut body);
    if format == EscalationFormat::Pagerduty {
        body["routing_key"] = Value::from(routing_key);
    }
    body
}

/// The incident's page on the dashboard at `public_url`.
pub fn incident_link(public_url: &str, incident_id: i64) -> String {
    format!(
        "{}/#incident={incident_id}",
        public_url.trim_end_matches('/')
    )
}

/// PagerDuty's dedup key for an incident: one PagerDuty alert per medic incident.
pub(crate) fn dedup_key(incident_id: i64) -> String {
    format!("medic-{incident_id}")
}

/// An Events API v2 `resolve` for the alert `trigger` opened.
pub(crate) fn pagerduty_resolve(ctx: &ActionContext, routing_key: &str) -> Value {
    json!({
        "routing_key": routing_key,
        "event_action": "resolve",
        "dedup_key": dedup_key(ctx.incident_id),
    })
}

fn generic(ctx: &ActionContext, link: Option<&str>) -> Value {
    json!({
        "dashboard_url": link,
        "source": "medic",
        "target": ctx.target,
        "incident_id": ctx.incident_id,
        "title": ctx.title,
        "category": ctx.category,
        "severity": ctx.severity,
        "root_cause": ctx.root_cause,
        "evidence": ctx.evidence,
        "fingerprint": ctx.fingerprint,
        "remedy": ctx.remedy,
    })
}

fn pagerduty(ctx: &ActionContext, routing_key: &str, link: Option<&str>) -> Value {
    let links: Vec<Value> = link
        .map(|href| json!({"href": href, "text": format!("medic incident #{}", ctx.incident_id)}))
        .into_iter()
        .collect();
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(ctx.incident_id),
        "client": "medic",
        "client_url": link,
        "links": links,
        "payload": {
            "summary": cut(&summary(ctx), PAGERDUTY_SUMMARY_CHARS),
            "source": ctx.target,
            "severity": pagerduty_severity(&ctx.severity),
            "custom_details": {
                "incident_id": ctx.incident_id,
                "category": ctx.category,
                "severity": ctx.severity,
                "root_cause": ctx.root_cause,
                "evidence": ctx.evidence,
                "fingerprint": ctx.fingerprint,
                "remedy": ctx.remedy,
            },
        },
    })
}

/// The title, or something readable when the incident has none.
fn summary(ctx: &ActionContext) -> String {
    if ctx.title.trim().is_empty() {
        format!("incident {} on {}", ctx.incident_id, ctx.target)
    } else {
        ctx.title.clone()
    }
}

/// medic's severities onto PagerDuty's; anything unknown is an `error`: a
/// human is being paged, so it is not nothing.
pub(crate) fn pagerduty_severity(severity: &str) -> &'static str {
    match severity.trim().to_ascii_lowercase().as_str() {
        "critical" => "critical",
        "high" => "error",
        "medium" => "warning",
        "low" => "info",
        _ => "error",
    }
}

/// Evidence lines a Slack message shows, at most.
const SLACK_EVIDENCE_LINES: usize = 5;

fn slack(ctx: &ActionContext, link: Option<&str>) -> Value {
    let title = slack_escape(&summary(ctx));
    let target = slack_escape(&ctx.target);
    let text = format!("medic: incident #{} on {target}: {title}", ctx.incident_id);
    let incident = match link {
        // Slack's link markup; the URL is ours (public_url), not the incident's text.
        Some(href) => format!("<{href}|incident #{}>", ctx.incident_id),
        None => format!("incident #{}", ctx.incident_id),
    };
    let headline = format!("*{title}*\n{incident} on `{target}`");
    let mut blocks = vec![
        json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": cut(&headline, SLACK_TEXT_CHARS) },
        }),
        json!({
            "type": "context",
            "elements": [
                { "type": "mrkdwn", "text": format!("category: *{}*", slack_escape(&ctx.category)) },
                { "type": "mrkdwn", "text": format!("severity: *{}*", slack_escape(&ctx.severity)) },
                {
                    "type": "mrkdwn",
                    "text": cut(&format!("root cause: {}", slack_escape(&ctx.root_cause)), SLACK_TEXT_CHARS),
                },
            ],
        }),
    ];
    if !ctx.evidence.is_empty() {
        // Backticks would close the code block early.
        let lines: Vec<String> = ctx
            .evidence
            .iter()
            .take(SLACK_EVIDENCE_LINES)
            .map(|line| slack_escape(&line.replace('`', "'")))
            .collect();
        blocks.push(json!({
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": cut(&format!("evidence:\n```{}```", lines.join("\n")), SLACK_TEXT_CHARS),
            },
        }));
    }
    if let Some(href) = link {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": { "type": "plain_text", "text": "Open in medic" },
                "url": href,
            }],
        }));
    }
    json!({
        "text": cut(&text, SLACK_TEXT_CHARS),
        "blocks": blocks,
    })
}

/// Slack reads `&`, `<` and `>` as markup (links, mentions); escape them so
/// an error message cannot ping `<!channel>`.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => text[..end].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_map_onto_pagerduty() {
        assert_eq!(pagerduty_severity("critical"), "critical");
        assert_eq!(pagerduty_severity("HIGH"), "error");
        assert_eq!(pagerduty_severity("medium"), "warning");
        assert_eq!(pagerduty_severity("low"), "info");
        assert_eq!(pagerduty_severity(""), "error");
    }

    #[test]
    fn slack_markup_is_escaped() {
        let ctx = ActionContext {
            root_cause: "<!channel> a & b".into(),
            ..ActionContext::default()
        };
        let body = slack(&ctx, None);
        let cause = body["blocks"][1]["elements"][2]["text"]
            .as_str()
            .expect("text");
        assert_eq!(cause, "root cause: &lt;!channel&gt; a &amp; b");
    }

    #[test]
    fn summaries_are_never_empty_and_bounded() {
        let ctx = ActionContext {
            target: "db".into(),
            incident_id: 3,
            ..ActionContext::default()
        };
        assert_eq!(summary(&ctx), "incident 3 on db");
        let long = ActionContext {
            title: "x".repeat(5000),
            ..ctx
        };
        let body = pagerduty(&long, "", None);
        let summary = body["payload"]["summary"].as_str().expect("summary");
        assert_eq!(summary.chars().count(), PAGERDUTY_SUMMARY_CHARS);
    }
}
