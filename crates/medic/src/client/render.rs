//! Human tables for the operator commands. They read the API's JSON by
//! field name and show "-" for anything missing, so an older or newer agent
//! still prints what it can; `--json` is the stable interface for scripts.

use std::fmt::Write as _;

use serde_json::Value;

/// Columns padded to their widest cell; the last column is not padded.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// A field as display text: strings bare, null or missing as "-".
fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An RFC 3339 timestamp shortened to `YYYY-MM-DD HH:MM:SS` (UTC).
fn when(value: &Value) -> String {
    match value.as_str() {
        Some(at) => at.get(..19).unwrap_or(at).replace('T', " "),
        None => "-".into(),
    }
}

fn percent(value: &Value) -> String {
    value
        .as_f64()
        .map_or("-".into(), |rate| format!("{:.1}%", rate * 100.0))
}

fn items<'a>(value: &'a Value, field: &str) -> &'a [Value] {
    value[field].as_array().map_or(&[], Vec::as_slice)
}

pub(super) fn status(
    health: &Value,
    components: &Value,
    approvals: &Value,
    monitoring: &Value,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "system: {} (error rate {}) {}",
        text(&health["system_status"]),
        percent(&health["error_rate"]),
        health["message"].as_str().unwrap_or_default()
    );
    let probing = match monitoring["running"].as_bool() {
        Some(true) => "running",
        Some(false) => "paused",
        None => "-",
    };
    let _ = writeln!(out, "monitoring: {probing}");
    for issue in items(health, "issues") {
        let _ = writeln!(out, "  issue: {}", text(issue));
    }
    let rows: Vec<Vec<String>> = items(components, "components")
        .iter()
        .map(|c| {
            vec![
                text(&c["name"]),
                text(&c["state"]),
                percent(&c["health"]["error_rate"]),
                c["health"]["last_error"].as_str().unwrap_or("").to_string(),
            ]
        })
        .collect();
    out.push('\n');
    if rows.is_empty() {
        out.push_str("no targets\n");
    } else {
        out.push_str(&table(&["TARGET", "STATE", "ERRORS", "LAST ERROR"], &rows));
    }
    let pending = items(approvals, "approvals");
    out.push('\n');
    if pending.is_empty() {
        out.push_str("no approvals pending\n");
    } else {
        let _ = writeln!(
            out,
            "{} approval(s) pending (medic approve|reject ID):",
            pending.len()
        );
        out.push_str(&approval_table(pending));
    }
    out
}

pub(super) fn incidents(page: &Value) -> String {
    let rows: Vec<Vec<String>> = items(page, "incidents")
        .iter()
        .map(|i| {
            vec![
                text(&i["id"]),
                text(&i["status"]),
                text(&i["target"]),
                text(&i["category"]),
                when(&i["opened_at"]),
                i["title"].as_str().unwrap_or_default().to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        return "no incidents\n".into();
    }
    let mut out = table(
        &[
            "ID",
            "STATUS",
            "TARGET",
            "CATEGORY",
            "OPENED (UTC)",
            "TITLE",
        ],
        &rows,
    );
    if let Some(cursor) = page["next_cursor"].as_str() {
        let _ = writeln!(out, "(more: medic incidents --before {cursor})");
    }
    out
}

pub(super) fn incident(full: &Value) -> String {
    let i = &full["incident"];
    let mut out = String::new();
    let _ = writeln!(out, "incident {}: {}", text(&i["id"]), text(&i["title"]));
    let _ = writeln!(
        out,
        "  target {}   status {}   opened {}   closed {}",
        text(&i["target"]),
        text(&i["status"]),
        when(&i["opened_at"]),
        when(&i["closed_at"])
    );
    if let Some(ms) = i["time_to_recover_ms"].as_i64() {
        let _ = writeln!(out, "  recovered in {ms} ms");
    }
    if let Some(by) = i["acknowledged_by"].as_str() {
        let _ = writeln!(
            out,
            "  acknowledged by {by} at {}",
            when(&i["acknowledged_at"])
        );
    }
    let d = &full["diagnosis"];
    if !d.is_null() {
        let _ = writeln!(
            out,
            "diagnosis: {} ({}), confidence {:.2}: {}",
            text(&d["category"]),
            text(&d["severity"]),
            d["confidence"].as_f64().unwrap_or_default(),
            text(&d["root_cause"])
        );
    }
    let actions: Vec<Vec<String>> = items(full, "actions")
        .iter()
        .map(|a| {
            vec![
                text(&a["id"]),
                text(&a["remedy"]),
                text(&a["kind"]),
                text(&a["state"]),
                a["error"].as_str().unwrap_or_default().to_string(),
            ]
        })
        .collect();
    if !actions.is_empty() {
        out.push_str("actions:\n");
        for line in table(&["ID", "REMEDY", "KIND", "STATE", "ERROR"], &actions).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out.push_str("timeline:\n");
    for entry in items(full, "timeline") {
        let _ = writeln!(
            out,
            "  {}  {:<12} {}",
            when(&entry["at"]),
            text(&entry["kind"]),
            text(&entry["message"])
        );
    }
    out
}

pub(super) fn changed_incident(what: &str, incident: &Value) -> String {
    format!(
        "incident {} {what} (status {})\n",
        text(&incident["id"]),
        text(&incident["status"])
    )
}

fn approval_table(approvals: &[Value]) -> String {
    let rows: Vec<Vec<String>> = approvals
        .iter()
        .map(|a| {
            vec![
                text(&a["id"]),
                text(&a["status"]),
                text(&a["incident_id"]),
                text(&a["target"]),
                text(&a["remedy"]),
                when(&a["expires_at"]),
                text(&a["reason"]),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "STATUS",
            "INCIDENT",
            "TARGET",
            "REMEDY",
            "EXPIRES (UTC)",
            "REASON",
        ],
        &rows,
    )
}

pub(super) fn approvals(list: &Value) -> String {
    let approvals = items(list, "approvals");
    if approvals.is_empty() {
        return "no approvals\n".into();
    }
    approval_table(approvals)
}

pub(super) fn decided(approval: &Value) -> String {
    // The answer is the approval as decided; fall back to the raw JSON.
    let approval = if approval["approval"].is_object() {
        &approval["approval"]
    } else {
        approval
    };
    if approval["id"].is_null() {
        return format!("{approval}\n");
    }
    format!(
        "approval {} {} (incident {}, remedy {})\n",
        text(&approval["id"]),
        text(&approval["status"]),
        text(&approval["incident_id"]),
        text(&approval["remedy"])
    )
}

pub(super) fn stats(stats: &Value) -> String {
    let o = &stats["overall"];
    let mut out = format!(
        "recoveries: {} remedies run ({} healed, verified; {} did not heal), healed {}, mean {} ms\n",
        text(&o["total_recoveries"]),
        text(&o["successful_recoveries"]),
        text(&o["failed_recoveries"]),
        percent(&o["success_rate"]),
        o["avg_duration_ms"]
            .as_f64()
            .map_or("-".into(), |ms| format!("{ms:.0}"))
    );
    for (title, field) in [("REMEDY", "by_action"), ("TARGET", "by_component")] {
        let Some(groups) = stats[field].as_object() else {
            continue;
        };
        if groups.is_empty() {
            continue;
        }
        let rows: Vec<Vec<String>> = groups
            .iter()
            .map(|(name, s)| {
                vec![
                    name.clone(),
                    text(&s["total_recoveries"]),
                    text(&s["successful_recoveries"]),
                    percent(&s["success_rate"]),
                    s["avg_duration_ms"]
                        .as_f64()
                        .map_or("-".into(), |ms| format!("{ms:.0} ms")),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table(&[title, "RUN", "HEALED", "RATE", "MEAN"], &rows));
    }
    out
}

/// `medic maintenance list`.
pub(super) fn maintenance(list: &Value) -> String {
    let windows = items(list, "windows");
    if windows.is_empty() {
        return "no maintenance windows\n".into();
    }
    let rows: Vec<Vec<String>> = windows
        .iter()
        .map(|w| {
            let state = if w["active"].as_bool() == Some(true) {
                "in force"
            } else {
                "upcoming"
            };
            let covers: Vec<String> = items(w, "covers").iter().map(text).collect();
            vec![
                text(&w["id"]),
                text(&w["name"]),
                state.to_string(),
                when(&w["starts_at"]),
                when(&w["ends_at"]),
                text(&w["source"]),
                if covers.is_empty() {
                    "-".into()
                } else {
                    covers.join(", ")
                },
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "NAME",
            "STATE",
            "FROM (UTC)",
            "UNTIL (UTC)",
            "SOURCE",
            "COVERS",
        ],
        &rows,
    )
}

/// `medic maintenance start|end`.
pub(super) fn window_changed(what: &str, window: &Value) -> String {
    let covers: Vec<String> = items(window, "covers").iter().map(text).collect();
    format!(
        "maintenance window {} ({}) {what}: until {} UTC, covers {}\n",
        text(&window["id"]),
        text(&window["name"]),
        when(&window["ends_at"]),
        if covers.is_empty() {
            "no target yet".to_string()
        } else {
            covers.join(", ")
        }
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn tables_align_columns_and_show_missing_fields_as_a_dash() {
        let page = json!({"incidents": [
            {"id": 12, "status": "resolved", "target": "shop", "category": "api",
             "opened_at": "2026-12-05T12:00:01.5Z", "title": "shop: HTTP 500"},
            {"id": 9, "status": "escalated", "target": "payments-eu", "category": null,
             "opened_at": "2026-12-05T11:00:00Z", "title": "down"}
        ], "next_cursor": null});
        let text = super::incidents(&page);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("ID  STATUS     TARGET"), "{text}");
        assert!(lines[1].contains("2026-12-05 12:00:01"), "{text}");
        assert!(lines[2].contains(" - "), "{text}");
        let title_column = lines[0].find("TITLE").expect("title");
        assert_eq!(
            lines[1].find("shop: HTTP 500"),
            Some(title_column),
            "{text}"
        );
    }
}
