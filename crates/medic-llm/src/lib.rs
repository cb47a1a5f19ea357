//! # medic-llm
//!
//! An optional second opinion from a local language model, behind the rules.
//!
//! [`LlmDiagnoser::consult`] takes the rules' [`Finding`], the symptoms and
//! the remedy names the target allows, asks the model (Ollama or any
//! OpenAI-compatible server) for `{category, root_cause, remedy, confidence,
//! rationale}` under a JSON schema, validates the answer against closed
//! lists, and combines it with the rules' finding:
//!
//! | the model… | the diagnosis | its remedy |
//! | --- | --- | --- |
//! | agrees with the rules' category | confidence rises (`r + (1 − r)·l/2`, at most 0.95), sources `[rules, llm]` | preferred among the plan's remedies |
//! | names a category where the rules had `unknown` | takes that category with confidence `min(l, 0.6)`, sources `[rules, llm]` | preferred among the plan's remedies |
//! | disagrees with the rules | unchanged: the rules stand | ignored |
//! | is down, slow, open-circuited, or answers nonsense | unchanged | — |
//!
//! A model alone never reaches 0.6 confidence, below the default
//! `min_confidence` (0.8): what it decides alone waits for a human's approval.
//!
//! **Safety.** The model's text is data: it is parsed as JSON and matched
//! against the category names and the allowed remedy names; nothing else in
//! it has any effect, and nothing in it is executed. The suggested remedy can
//! only move a remedy the plan already holds (same `when`, same policy
//! decision) to the front — see [`prefer_remedy`]. Log lines are redacted
//! ([`redact`]) and quoted as data before they are sent.
//!
//! **Bounded.** Each call runs under a timeout and a circuit breaker (from
//! `medic-resilience`): when the model is slow or down the rules decide within
//! the timeout, and after repeated failures calls are skipped without touching
//! the network until the breaker lets a trial through. Answers are cached by
//! fingerprint, so a repeated failure does not ask again.

pub mod answer;
mod cache;
pub mod prompt;
pub mod provider;
/// The redactor, shared with every other surface (see `medic_engine::redact`).
pub use medic_engine::redact;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use medic_engine::diagnosis::{Finding, Symptoms};
use medic_engine::plan::{Decision, Step};
use medic_model::{Category, DiagnosisSource, Grounds};
use medic_resilience::Error as PolicyError;
use medic_resilience::breaker::CircuitBreaker;
use medic_resilience::timeout::Timeout;

pub use answer::Answer;
pub use provider::ProviderKind;

use crate::cache::Cache;
use crate::prompt::PromptInput;

/// Highest confidence of a category only the model named.
pub const MODEL_ALONE_MAX_CONFIDENCE: f64 = 0.6;

/// Highest confidence of a category the rules and the model agree on.
pub const AGREED_MAX_CONFIDENCE: f64 = 0.95;

/// How to reach the model and how patient to be with it.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Which API.
    pub provider: ProviderKind,
    /// The server's base URL.
    pub url: String,
    /// The model's name.
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    /// The longest a consultation may take.
    pub timeout: Duration,
    /// Log lines sent with the prompt (the last ones).
    pub max_log_lines: usize,
    /// Failures in a row that open the breaker.
    pub breaker_failures: u32,
    /// How long an open breaker skips the model.
    pub breaker_open: Duration,
    /// Answers kept by fingerprint.
    pub cache_capacity: usize,
    /// How long a cached answer stays valid.
    pub cache_ttl: Duration,
    /// Outbound TLS for an `https://` server (already over `[tls]`).
    pub tls: medic_client::ClientTls,
}

impl Settings {
    /// The defaults around a provider, URL and model: 5 s timeout, 30 log
    /// lines, breaker open for 30 s after 3 failures in a row, 256 answers
    /// cached for an hour.
    pub fn new(provider: ProviderKind, url: &str, model: &str) -> Self {
        Self {
            provider,
            url: url.to_string(),
            model: model.to_string(),
            api_key: None,
            timeout: Duration::from_secs(5),
            max_log_lines: 30,
            breaker_failures: 3,
            breaker_open: Duration::from_secs(30),
            cache_capacity: 256,
            cache_ttl: Duration::from_secs(3600),
            tls: medic_client::ClientTls::default(),
        }
    }

    /// From the config's `[llm]`; `None` when the provider is `none`.
    /// `api_key_env` is read from the environment here.
    pub fn from_config(llm: &medic_engine::config::Llm) -> Option<Self> {
        use medic_engine::config::LlmProvider;
        let provider = match llm.provider {
            LlmProvider::None => return None,
            LlmProvider::Ollama => ProviderKind::Ollama,
            LlmProvider::Openai => ProviderKind::Openai,
        };
        let mut settings = Self::new(provider, &llm.url, &llm.model);
        settings.timeout = llm.timeout.get();
        settings.max_log_lines = llm.max_log_lines;
        settings.api_key = llm
            .api_key_env
            .as_deref()
            .and_then(|var| std::env::var(var).ok())
            .filter(|key| !key.is_empty());
        Some(settings)
    }
}

/// A setting that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// A bad timeout or breaker setting.
    #[error(transparent)]
    Config(#[from] medic_resilience::ConfigError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// What became of the model's opinion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Same category as the rules: confidence rose.
    Agreed,
    /// The rules had no category; the model's was taken (capped confidence).
    Refined,
    /// A different category than the rules': the rules stand.
    Disagreed,
    /// An answer came but said nothing usable (unknown category…).
    Ignored,
    /// No usable answer: down, slow, an error status, not JSON.
    Failed,
    /// Not asked: the breaker is open.
    Skipped,
}

impl Verdict {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Agreed => "agreed",
            Verdict::Refined => "refined",
            Verdict::Disagreed => "disagreed",
            Verdict::Ignored => "ignored",
            Verdict::Failed => "failed",
            Verdict::Skipped => "skipped",
        }
    }
}

/// What the model said, and what medic made of it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Opinion {
    /// Always `llm`.
    pub source: DiagnosisSource,
    /// `ollama` or `openai`.
    pub provider: ProviderKind,
    /// The model asked.
    pub model: String,
    /// How the opinion counted.
    pub verdict: Verdict,
    /// Why, in one line.
    pub reason: String,
    /// The validated answer, when one came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// The remedy the combined diagnosis prefers (allowed, and only when the
    /// opinion counted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_remedy: Option<String>,
    /// Whether the answer came from the cache.
    pub cached: bool,
    /// How long the consultation took.
    pub latency_ms: u64,
}

/// The combined finding and the opinion behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Consultation {
    /// The rules' finding, refined by the model or unchanged. The fingerprint
    /// is always the rules'.
    pub finding: Finding,
    /// What the model said and how it counted.
    pub opinion: Opinion,
}

/// Asks a language model for a second opinion; see the crate docs.
#[derive(Debug)]
pub struct LlmDiagnoser {
    settings: Settings,
    client: reqwest::Client,
    timeout: Timeout,
    breaker: CircuitBreaker,
    cache: Mutex<Cache>,
}

/// Why a call gave no answer object.
#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error("{0}")]
    Transport(String),
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the response is not the provider's JSON shape: {0}")]
    Shape(String),
    #[error(transparent)]
    NotJson(#[from] answer::NotJson),
}

impl LlmDiagnoser {
    /// A diagnoser for `settings`; fails on a zero timeout or breaker setting.
    pub fn new(settings: Settings) -> Result<Self, LlmError> {
        let timeout = Timeout::try_new(settings.timeout)?;
        let breaker = CircuitBreaker::builder(&format!("llm:{}", settings.provider.as_str()))
            .consecutive_failures(settings.breaker_failures)
            .open_duration(settings.breaker_open)
            .build()?;
        let client = medic_client::builder(&settings.tls)
            .map_err(|e| LlmError::Client(format!("llm.tls: {e}")))?
            // A backstop: the Timeout policy normally ends the call first.
            .timeout(settings.timeout + Duration::from_secs(1))
            .connect_timeout(settings.timeout)
            .build()
            .map_err(|e| LlmError::Client(e.to_string()))?;
        let cache = Mutex::new(Cache::new(settings.cache_capacity, settings.cache_ttl));
        Ok(Self {
            settings,
            client,
            timeout,
            breaker,
            cache,
        })
    }

    /// The settings in use.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The breaker around the model (for display and tests).
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// Asks the model about `finding` (the rules'), combines the answer and
    /// says how it counted. Never fails and never takes much longer than
    /// the timeout: when the model does not help, the rules' finding comes
    /// back unchanged.
    pub async fn consult(
        &self,
        finding: &Finding,
        symptoms: &Symptoms<'_>,
        allowed_remedies: &[String],
        target: &str,
    ) -> Consultation {
        let started = Instant::now();
        let key = cache::key(&finding.fingerprint, allowed_remedies);
        let cached = self.cached(&key);
        let was_cached = cached.is_some();
        let result = match cached {
            Some(answer) => Ok(answer),
            None => {
                let input = PromptInput {
                    target,
                    signal: &symptoms.signal.message,
                    rules_category: finding.diagnosis.category,
                    rules_confidence: finding.diagnosis.confidence,
                    rules_root_cause: &finding.diagnosis.root_cause,
                    log_lines: symptoms.log_lines,
                    max_lines: self.settings.max_log_lines,
                    allowed_remedies,
                };
                let asked = self.ask(&input, allowed_remedies).await;
                if let Ok(answer) = &asked {
                    self.remember(key, answer.clone());
                }
                asked
            }
        };
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut opinion = Opinion {
            source: DiagnosisSource::Llm,
            provider: self.settings.provider,
            model: self.settings.model.clone(),
            verdict: Verdict::Failed,
            reason: String::new(),
            answer: None,
            preferred_remedy: None,
            cached: was_cached,
            latency_ms,
        };
        let finding = match result {
            Ok(answer) => {
                let (combined, verdict, reason, preferred) = combine(finding, &answer);
                opinion.verdict = verdict;
                opinion.reason = reason;
                opinion.preferred_remedy = preferred;
                opinion.answer = Some(answer);
                combined
            }
            Err((verdict, reason)) => {
                opinion.verdict = verdict;
                opinion.reason = reason;
                finding.clone()
            }
        };
        tracing::debug!(
            target_name = target,
            verdict = ?opinion.verdict,
            reason = %opinion.reason,
            latency_ms,
            "llm consulted"
        );
        Consultation { finding, opinion }
    }

    fn cached(&self, key: &str) -> Option<Answer> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(key, Instant::now())
    }

    fn remember(&self, key: String, answer: Answer) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.put(key, answer, Instant::now());
    }

    /// One call through the breaker and the timeout.
    async fn ask(
        &self,
        input: &PromptInput<'_>,
        allowed: &[String],
    ) -> Result<Answer, (Verdict, String)> {
        let call = self.call(input, allowed);
        match self.breaker.execute(self.timeout.call(call)).await {
            Ok(object) => Ok(answer::validate(&object, allowed)),
            Err(PolicyError::CircuitOpen { retry_in }) => Err((
                Verdict::Skipped,
                format!(
                    "circuit open after repeated failures; next try in {:.0}s",
                    retry_in.as_secs_f64().ceil()
                ),
            )),
            Err(PolicyError::Timeout(after)) => Err((
                Verdict::Failed,
                format!("no answer within {}ms", after.as_millis()),
            )),
            Err(PolicyError::Inner(e)) => Err((Verdict::Failed, e.to_string())),
            Err(other) => Err((Verdict::Failed, other.to_string())),
        }
    }

    async fn call(
        &self,
        input: &PromptInput<'_>,
        allowed: &[String],
    ) -> Result<serde_json::Map<String, serde_json::Value>, CallError> {
        let kind = self.settings.provider;
        let body = kind.body(
            &self.settings.model,
            &prompt::messages(input),
            &prompt::answer_schema(allowed),
        );
        let mut request = self
            .client
            .post(kind.endpoint(&self.settings.url))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(key) = &self.settings.api_key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let response = request
            .send()
            .await
            .map_err(|e| CallError::Transport(describe(&e)))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| CallError::Transport(describe(&e)))?;
        if !status.is_success() {
            return Err(CallError::Status {
                status: status.as_u16(),
                body: prompt::clean(&text, 200),
            });
        }
        let envelope: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| CallError::Shape(e.to_string()))?;
        let content = kind
            .content(&envelope)
            .ok_or_else(|| CallError::Shape(prompt::clean(&text, 200)))?;
        Ok(answer::parse_object(content)?)
    }
}

/// A transport error with its causes (reqwest's own message is terse).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The rules' finding combined with a validated answer; see the crate docs.
/// Returns the finding, the verdict, the reason and the preferred remedy.
pub fn combine(rules: &Finding, answer: &Answer) -> (Finding, Verdict, String, Option<String>) {
    let mut finding = rules.clone();
    let diagnosis = &mut finding.diagnosis;
    let Some(category) = answer.category else {
        let why = answer
            .notes
            .first()
            .cloned()
            .unwrap_or_else(|| "no usable category".into());
        return (finding, Verdict::Ignored, why, None);
    };
    let (verdict, reason) = if category == diagnosis.category {
        let before = diagnosis.confidence;
        diagnosis.confidence =
            round2((before + (1.0 - before) * answer.confidence / 2.0).min(AGREED_MAX_CONFIDENCE))
                .max(before);
        (
            Verdict::Agreed,
            format!(
                "agrees with the rules on {category}: confidence {before:.2} -> {:.2}",
                diagnosis.confidence
            ),
        )
    } else if diagnosis.category == Category::Unknown {
        diagnosis.category = category;
        // The category now rests on the model's reading of the text.
        diagnosis.grounds = Grounds::Text;
        diagnosis.confidence = round2(answer.confidence.min(MODEL_ALONE_MAX_CONFIDENCE));
        (
            Verdict::Refined,
            format!(
                "the rules had no category; the model's {category} is taken at confidence {:.2}",
                diagnosis.confidence
            ),
        )
    } else {
        return (
            finding.clone(),
            Verdict::Disagreed,
            format!(
                "says {category}, the rules say {}: the rules stand",
                finding.diagnosis.category
            ),
            None,
        );
    };
    if !diagnosis.sources.contains(&DiagnosisSource::Llm) {
        diagnosis.sources.push(DiagnosisSource::Llm);
    }
    (finding, verdict, reason, answer.remedy.clone())
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Moves the plan's step for `preferred` to the front, when the plan holds
/// it and the policy did not skip it. Nothing is added and no decision
/// changes: the model can only reorder what the plan already allows.
/// Escalations are never moved (a human stays the last resort).
///
/// Returns whether the order changed.
pub fn prefer_remedy(steps: &mut Vec<Step<'_>>, preferred: &str) -> bool {
    let Some(index) = steps.iter().position(|s| {
        s.remedy.name == preferred
            && !matches!(s.decision, Decision::Skip { .. })
            && !matches!(s.remedy.action, medic_engine::config::Action::Escalate(_))
    }) else {
        return false;
    };
    if index == 0 {
        return false;
    }
    let step = steps.remove(index);
    steps.insert(0, step);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use medic_model::Severity;

    /// A rules finding with the given category and confidence (built by the
    /// rules, so this does not depend on every field of `Diagnosis`).
    fn rules(category: Category, confidence: f64) -> Finding {
        let mut finding = medic_engine::diagnosis::RulesDiagnoser::default()
            .diagnose_text("ERROR db: connection refused");
        finding.diagnosis.category = category;
        finding.diagnosis.severity = Severity::High;
        finding.diagnosis.confidence = confidence;
        finding.diagnosis.sources = vec![DiagnosisSource::Rules];
        finding.fingerprint = "database:1".into();
        finding
    }

    fn answer(category: Option<Category>, remedy: Option<&str>, confidence: f64) -> Answer {
        Answer {
            category,
            remedy: remedy.map(String::from),
            confidence,
            root_cause: String::new(),
            rationale: String::new(),
            notes: vec![],
        }
    }

    #[test]
    fn agreement_raises_confidence_and_adds_the_source() {
        let (finding, verdict, _, remedy) = combine(
            &rules(Category::Database, 0.7),
            &answer(Some(Category::Database), Some("reconnect-db"), 0.8),
        );
        assert_eq!(verdict, Verdict::Agreed);
        assert_eq!(finding.diagnosis.confidence, 0.82);
        assert_eq!(
            finding.diagnosis.sources,
            vec![DiagnosisSource::Rules, DiagnosisSource::Llm]
        );
        assert_eq!(remedy.as_deref(), Some("reconnect-db"));
        let (high, ..) = combine(
            &rules(Category::Database, 0.9),
            &answer(Some(Category::Database), None, 1.0),
        );
        assert_eq!(high.diagnosis.confidence, AGREED_MAX_CONFIDENCE);
    }

    #[test]
    fn disagreement_leaves_the_rules_standing() {
        let before = rules(Category::Database, 0.7);
        let (finding, verdict, reason, remedy) = combine(
            &before,
            &answer(Some(Category::Network), Some("restart"), 1.0),
        );
        assert_eq!(verdict, Verdict::Disagreed);
        assert_eq!(finding, before);
        assert_eq!(remedy, None);
        assert!(reason.contains("rules stand"), "{reason}");
    }

    #[test]
    fn the_model_alone_stays_below_the_default_threshold() {
        let (finding, verdict, ..) = combine(
            &rules(Category::Unknown, 0.3),
            &answer(Some(Category::Resource), None, 0.99),
        );
        assert_eq!(verdict, Verdict::Refined);
        assert_eq!(finding.diagnosis.category, Category::Resource);
        assert_eq!(finding.diagnosis.confidence, MODEL_ALONE_MAX_CONFIDENCE);
        assert_eq!(
            finding.fingerprint, "database:1",
            "the fingerprint is the rules'"
        );
    }

    #[test]
    fn no_category_no_change() {
        let before = rules(Category::Database, 0.7);
        let (finding, verdict, ..) = combine(&before, &answer(None, Some("reconnect-db"), 0.9));
        assert_eq!(verdict, Verdict::Ignored);
        assert_eq!(finding, before);
    }
}
