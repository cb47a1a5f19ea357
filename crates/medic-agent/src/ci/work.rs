//! What happens to one finished CI job, after the intake has stored the
//! delivery and answered: a failure is diagnosed from its log and either
//! re-run (transient, within the run's budget) or escalated with the
//! evidence; a success ends the incident its failure opened.

use std::sync::Arc;

use chrono::Utc;
use medic_act::ActionContext;
use medic_engine::config::{Action, Mode};
use medic_engine::pipeline::{Catalog, Kind};
use medic_model::{
    ActionState, Category, Diagnosis, DiagnosisSource, Grounds, Incident, IncidentStatus, Severity,
    TimelineKind,
};
use medic_store::{NewIncident, StoreError};
use serde_json::json;

use super::{CiJob, CiPlatforms, JobLog};
use crate::agent::{Agent, Inner};
use crate::alerts::ALERTS_TARGET;
use crate::incident::{intent, note, record_diagnosis, send_escalations, set_status};
use crate::live::LiveEvent;

/// The remedy name re-runs are recorded (and learned) under.
const RERUN: &str = "ci-rerun";
/// Lines of an unrecognised log shown as evidence: its end, where jobs fail.
const UNKNOWN_TAIL_LINES: usize = 8;

impl Agent {
    /// Acts on a failed job in the background: the intake must not wait
    /// for the platform's API (GitHub wants an answer within 10 s).
    pub fn ci_failed(&self, platforms: Arc<CiPlatforms>, job: CiJob) {
        let agent = self.clone();
        tokio::spawn(async move {
            if let Err(error) = agent.handle_ci_failure(&platforms, &job).await {
                tracing::error!(project = %job.project, job = %job.job_name, %error, "CI failure stored but not acted on");
            }
        });
    }

    /// A job that succeeded ends the incident its failure opened, if one is
    /// live (typically the re-run medic asked for).
    pub fn ci_succeeded(&self, job: CiJob) {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            if let Err(error) = resolve_passed(&inner, &job).await {
                tracing::error!(project = %job.project, job = %job.job_name, %error, "cannot resolve a CI incident");
            }
        });
    }

    /// The target a job belongs to: a configured target named like the
    /// project, the project's last path segment, or the job; else the
    /// `alerts` pseudo-target.
    async fn ci_target(&self, job: &CiJob) -> String {
        let short = job.project.rsplit('/').next().unwrap_or(&job.project);
        let found = {
            let targets = self.inner.targets();
            [job.project.as_str(), short, job.job_name.as_str()]
                .into_iter()
                .find(|name| *name != ALERTS_TARGET && targets.contains_key(*name))
                .map(String::from)
        };
        if let Some(target) = found {
            return target;
        }
        if let Err(error) = self.attach_alerts_target().await {
            // The incident is recorded on the name all the same.
            tracing::warn!(%error, "the alerts target could not be watched");
        }
        ALERTS_TARGET.to_string()
    }

    async fn handle_ci_failure(&self, ci: &CiPlatforms, job: &CiJob) -> Result<(), StoreError> {
        let inner = &self.inner;
        let target = self.ci_target(job).await;
        let logs = ci.logs(job).await;
        let verdict = match &logs {
            Ok(logs) => judge(&ci.catalog, logs, job),
            Err(_) => Verdict::unknown(job, Vec::new()),
        };
        let diagnosis = verdict.diagnosis();
        let fingerprint = job.fingerprint();
        let mut new = NewIncident::new(
            &target,
            &fingerprint,
            &format!(
                "{}: {} {} on {}",
                job.project,
                job.job_name,
                job.conclusion,
                job.platform.as_str()
            ),
            Utc::now(),
        );
        new.category = Some(diagnosis.category);
        new.severity = Some(diagnosis.severity);
        let (mut incident, created) = inner.store.open_or_join_incident(&new).await?;
        if created {
            inner
                .metrics
                .incident_opened(&target, diagnosis.category.as_str());
            inner.live.send(LiveEvent::Incident(incident.clone()));
        }
        let opened = if created { "opened" } else { "joined" };
        let message = format!(
            "{opened}: {} job {:?} of {} {} (attempt {})",
            job.platform.as_str(),
            job.job_name,
            job.project,
            job.conclusion,
            job.attempt
        );
        let signal = json!({"platform": job.platform.as_str(), "project": job.project, "run": job.run,
            "job": job.job_name, "attempt": job.attempt, "conclusion": job.conclusion, "url": job.url});
        note(inner, &incident, TimelineKind::Signal, &message, signal).await?;
        if let Err(error) = &logs {
            let message = format!("could not read the job's log: {error}");
            note(inner, &incident, TimelineKind::Note, &message, json!({})).await?;
        }
        let summary = format!(
            "{} ({}): {}",
            verdict.kind.map_or("unknown", Kind::as_str),
            diagnosis.category,
            diagnosis.root_cause
        );
        record_diagnosis(inner, &mut incident, &diagnosis, &summary).await?;

        let ctx = Ctx {
            inner,
            target: &target,
            diagnosis: &diagnosis,
            fingerprint: &fingerprint,
        };
        match verdict.kind {
            Some(Kind::Transient) => {
                rerun(ctx, ci, job, &mut incident).await?;
                if incident.status == IncidentStatus::Verifying {
                    let deadline = VerifyDeadline {
                        incident: incident.id,
                        target: target.clone(),
                        diagnosis: diagnosis.clone(),
                        fingerprint: fingerprint.clone(),
                        after: ci.verify_timeout(job.platform),
                    };
                    tokio::spawn(deadline.watch(self.inner.clone()));
                }
                Ok(())
            }
            Some(Kind::Deterministic) => {
                let why = "a deterministic failure: re-running cannot help";
                escalate(ctx, &mut incident, why).await
            }
            Some(Kind::Fixable) => {
                let why = "a failure with a known fix, which must be applied in the pipeline";
                escalate(ctx, &mut incident, why).await
            }
            None => {
                let why = "a failure the catalog does not know: never re-run blindly";
                escalate(ctx, &mut incident, why).await
            }
        }
    }
}

/// A re-run's incident that no passing job resolves in time is escalated:
/// a pipeline that never reports back must not leave it verifying for ever.
struct VerifyDeadline {
    incident: i64,
    target: String,
    diagnosis: Diagnosis,
    fingerprint: String,
    after: std::time::Duration,
}

impl VerifyDeadline {
    async fn watch(self, inner: Arc<Inner>) {
        tokio::time::sleep(self.after).await;
        let ctx = Ctx {
            inner: &inner,
            target: &self.target,
            diagnosis: &self.diagnosis,
            fingerprint: &self.fingerprint,
        };
        let ended = async {
            let mut incident = inner.store.incident(self.incident).await?;
            if incident.status != IncidentStatus::Verifying {
                return Ok(());
            }
            let why = format!(
                "no passing job within {} (verify_timeout) after the re-run",
                medic_engine::config::HumanDuration::new(self.after)
            );
            escalate(ctx, &mut incident, &why).await
        };
        if let Err(error) = ended.await {
            tracing::error!(incident = self.incident, %error, "cannot escalate a CI incident past its verify timeout");
        }
    }
}

/// What the incident steps share.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    inner: &'a Inner,
    target: &'a str,
    diagnosis: &'a Diagnosis,
    fingerprint: &'a str,
}

/// Re-runs the job unless the run's budget is spent (then escalates).
async fn rerun(
    ctx: Ctx<'_>,
    ci: &CiPlatforms,
    job: &CiJob,
    incident: &mut Incident,
) -> Result<(), StoreError> {
    let inner = ctx.inner;
    let mode = inner.config.policy.mode;
    if mode == Mode::Approve {
        let why = "policy.mode = approve: a re-run waits for a human";
        return escalate(ctx, incident, why).await;
    }
    let max = ci.max_reruns(job.platform);
    // Count and record under one lock: two deliveries of the same run must
    // not both take the last re-run.
    let guard = ci.rerun_lock.lock().await;
    let actions = inner.store.actions(incident.id).await?;
    let reruns = actions
        .iter()
        .filter(|a| a.kind == "rerun" && !a.dry_run && a.state != ActionState::Skipped)
        .count();
    if reruns >= usize::try_from(max).unwrap_or(usize::MAX) {
        drop(guard);
        let why = format!("still failing after {reruns} re-run(s) (max_reruns = {max})");
        return escalate(ctx, incident, &why).await;
    }
    let step = actions.iter().map(|a| a.step).max().unwrap_or(0) + 1;
    let dry_run = mode == Mode::DryRun;
    let recorded = inner
        .store
        .record_intent(&intent(incident, RERUN, "rerun", step, dry_run))
        .await?;
    drop(guard);
    if dry_run {
        let why = "dry-run: recorded, not executed";
        let finished = inner
            .store
            .finish_action(
                recorded.id,
                ActionState::Skipped,
                None,
                Some(why),
                Utc::now(),
            )
            .await?;
        let message = format!("{RERUN}: {why}");
        return note(
            inner,
            incident,
            TimelineKind::Action,
            &message,
            json!(finished),
        )
        .await;
    }
    set_status(inner, incident, IncidentStatus::Remediating).await?;
    inner.store.mark_running(recorded.id, Utc::now()).await?;
    let result = ci.rerun(job).await;
    let (state, output, error) = match &result {
        Ok(output) => (ActionState::Succeeded, Some(output.as_str()), None),
        Err(error) => (ActionState::Failed, None, Some(error.as_str())),
    };
    inner
        .metrics
        .action_finished(RERUN, "rerun", result.is_ok());
    let finished = inner
        .store
        .finish_action(recorded.id, state, output, error, Utc::now())
        .await?;
    let message = match &result {
        Ok(_) => format!("re-run {} of {max} requested", reruns + 1),
        Err(error) => format!("{RERUN} failed: {error}"),
    };
    note(
        inner,
        incident,
        TimelineKind::Action,
        &message,
        json!(finished),
    )
    .await?;
    match result {
        Ok(_) => set_status(inner, incident, IncidentStatus::Verifying).await,
        Err(_) => {
            inner
                .store
                .record_outcome(ctx.fingerprint, RERUN, false, None)
                .await?;
            escalate(ctx, incident, "the re-run could not be started").await
        }
    }
}

/// Tells a human through the target's `escalate` remedies, with the
/// diagnosis and its evidence, and marks the incident escalated.
async fn escalate(ctx: Ctx<'_>, incident: &mut Incident, why: &str) -> Result<(), StoreError> {
    let inner = ctx.inner;
    let config = inner
        .targets()
        .get(ctx.target)
        .map(|runtime| runtime.config.clone());
    let escalations: Vec<String> = config
        .iter()
        .flat_map(|c| &c.remedies)
        .filter(|r| matches!(r.action, Action::Escalate(_)))
        .map(|r| r.name.clone())
        .collect();
    let message = if escalations.is_empty() {
        format!(
            "{why}; {} has no escalate remedy: left for a human",
            ctx.target
        )
    } else {
        format!("{why}; escalating")
    };
    note(inner, incident, TimelineKind::Note, &message, json!({})).await?;
    if let Some(config) = &config {
        let contexts = escalations
            .into_iter()
            .map(|remedy| ActionContext {
                target: ctx.target.to_string(),
                endpoint: String::new(),
                incident_id: incident.id,
                fingerprint: ctx.fingerprint.to_string(),
                title: incident.title.clone(),
                category: ctx.diagnosis.category.to_string(),
                severity: ctx.diagnosis.severity.to_string(),
                root_cause: format!("{}: {why}", ctx.diagnosis.root_cause),
                evidence: ctx.diagnosis.evidence.clone(),
                remedy,
                alert: Default::default(),
            })
            .collect();
        send_escalations(inner, incident, config, contexts).await?;
    }
    set_status(inner, incident, IncidentStatus::Escalated).await
}

/// Resolves the live incidents a job's earlier failure opened.
async fn resolve_passed(inner: &Inner, job: &CiJob) -> Result<(), StoreError> {
    let fingerprint = job.fingerprint();
    let live = inner.store.open_incidents().await?;
    for mut incident in live.into_iter().filter(|i| i.fingerprint == fingerprint) {
        let reran = inner
            .store
            .actions(incident.id)
            .await?
            .iter()
            .any(|a| a.kind == "rerun" && a.state == ActionState::Succeeded);
        if reran {
            let recover_ms = (Utc::now() - incident.opened_at).num_milliseconds().max(0) as u64;
            inner
                .store
                .record_outcome(&fingerprint, RERUN, true, Some(recover_ms))
                .await?;
        }
        let message = format!("{} passed (attempt {})", job.job_name, job.attempt);
        let data = json!({"url": job.url, "conclusion": job.conclusion});
        note(inner, &incident, TimelineKind::Verification, &message, data).await?;
        set_status(inner, &mut incident, IncidentStatus::Resolved).await?;
    }
    Ok(())
}

/// The catalog's reading of a failure's log(s).
#[derive(Debug, Clone, PartialEq)]
struct Verdict {
    /// `None`: the catalog knows nothing that matches.
    kind: Option<Kind>,
    entry: Option<String>,
    category: Category,
    root_cause: String,
    evidence: Vec<String>,
}

impl Verdict {
    /// Nothing matched: the log's last lines are the evidence a human needs.
    fn unknown(job: &CiJob, evidence: Vec<String>) -> Verdict {
        let category = if job.conclusion.contains("timed_out") {
            Category::Timeout
        } else {
            Category::Unknown
        };
        Verdict {
            kind: None,
            entry: None,
            category,
            root_cause: format!(
                "{} {}: no known failure in its log",
                job.job_name, job.conclusion
            ),
            evidence,
        }
    }

    fn diagnosis(&self) -> Diagnosis {
        let (severity, confidence) = match self.kind {
            Some(Kind::Deterministic) => (Severity::High, 0.9),
            Some(Kind::Fixable) => (Severity::Medium, 0.9),
            Some(Kind::Transient) => (Severity::Low, 0.8),
            None => (Severity::Medium, 0.2),
        };
        Diagnosis {
            category: self.category,
            severity,
            root_cause: self.root_cause.clone(),
            evidence: self.evidence.clone(),
            confidence,
            sources: vec![DiagnosisSource::Rules],
            rule: self.entry.as_ref().map(|e| format!("pipeline:{e}")),
            similar_to: None,
            // A job's log is text its steps printed.
            grounds: Grounds::Text,
        }
    }
}

/// Classifies each failed job's log; the run is only as healable as its
/// worst job (one deterministic failure means no re-run for any).
fn judge(catalog: &Catalog, logs: &[JobLog], job: &CiJob) -> Verdict {
    let several = logs.len() > 1;
    let mut verdicts: Vec<Verdict> = logs
        .iter()
        .map(|log| {
            let found = catalog.classify(None, &log.text);
            let prefix = |line: &str| {
                if several {
                    format!("{}: {line}", log.name)
                } else {
                    line.to_string()
                }
            };
            match found.kind {
                None => Verdict::unknown(job, tail_lines(&log.text).map(prefix).collect()),
                Some(kind) => {
                    let evidence: Vec<String> = found.evidence.iter().map(|l| prefix(l)).collect();
                    let entry = found.entry.unwrap_or_default();
                    Verdict {
                        kind: Some(kind),
                        root_cause: format!(
                            "{}: {entry}{}",
                            log.name,
                            evidence
                                .first()
                                .map(|l| format!(" — {l}"))
                                .unwrap_or_default()
                        ),
                        category: category_of(&found.category),
                        entry: Some(entry),
                        evidence,
                    }
                }
            }
        })
        .collect();
    // Deterministic, fixable, unknown, transient: the first rank present decides.
    let rank = |v: &Verdict| match v.kind {
        Some(Kind::Deterministic) => 0,
        Some(Kind::Fixable) => 1,
        None => 2,
        Some(Kind::Transient) => 3,
    };
    verdicts.sort_by_key(rank);
    let Some(mut worst) = verdicts.first().cloned() else {
        return Verdict::unknown(job, Vec::new());
    };
    worst.evidence = verdicts.into_iter().flat_map(|v| v.evidence).collect();
    worst
}

fn tail_lines(text: &str) -> impl Iterator<Item = &str> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let skip = lines.len().saturating_sub(UNKNOWN_TAIL_LINES);
    lines.into_iter().skip(skip)
}

/// The pipeline catalog's categories in the diagnosis vocabulary.
fn category_of(catalog_category: &str) -> Category {
    catalog_category.parse().unwrap_or(match catalog_category {
        "code" => Category::Validation,
        "service" => Category::Dependency,
        "contention" => Category::Resource,
        _ => Category::Unknown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::{CiLocator, CiPlatform};

    fn job() -> CiJob {
        CiJob {
            platform: CiPlatform::Github,
            project: "octo-org/octo-repo".into(),
            run: Some("30433642".into()),
            job_name: "build".into(),
            url: None,
            attempt: 1,
            conclusion: "failure".into(),
            locator: CiLocator::GithubJob {
                repo: "octo-org/octo-repo".into(),
                job_id: 399444496,
            },
        }
    }

    fn log(name: &str, text: &str) -> JobLog {
        JobLog {
            name: name.into(),
            text: text.into(),
        }
    }

    #[test]
    fn a_run_is_only_as_healable_as_its_worst_job() {
        let catalog = Catalog::built_in().expect("catalog");
        let network = log(
            "fetch",
            "step 1\nfatal: unable to access: Could not resolve host: github.com\n",
        );
        let compile = log(
            "build",
            "Compiling app\nerror[E0425]: cannot find value `x` in this scope\n",
        );
        let transient = judge(&catalog, std::slice::from_ref(&network), &job());
        assert_eq!(transient.kind, Some(Kind::Transient));
        assert_eq!(transient.category, Category::Network);
        let both = judge(&catalog, &[network, compile], &job());
        assert_eq!(both.kind, Some(Kind::Deterministic));
        assert_eq!(both.category, Category::Validation);
        assert!(
            both.evidence
                .iter()
                .any(|l| l.starts_with("build: error[E0425]")),
            "{both:?}"
        );
        assert!(
            both.evidence.iter().any(|l| l.starts_with("fetch: ")),
            "{both:?}"
        );
    }

    #[test]
    fn an_unknown_log_shows_its_last_lines() {
        let catalog = Catalog::built_in().expect("catalog");
        let text: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let verdict = judge(&catalog, &[log("build", &text)], &job());
        assert_eq!(verdict.kind, None);
        assert_eq!(verdict.evidence.len(), UNKNOWN_TAIL_LINES);
        assert_eq!(verdict.evidence.last().map(String::as_str), Some("line 20"));
    }
}
