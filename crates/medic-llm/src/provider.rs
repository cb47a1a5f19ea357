//! The two wire formats: Ollama's `/api/chat` and the OpenAI-compatible
//! `/v1/chat/completions` (OpenAI, llama.cpp's `llama-server`, vLLM, LM
//! Studio…). Both are asked for an answer constrained by a JSON schema and
//! deterministic sampling; both return the model's text, which the caller
//! parses and validates.

use serde_json::{Value, json};

use crate::prompt::Message;

/// Most tokens a model may generate for one answer.
pub const MAX_ANSWER_TOKENS: u32 = 256;

/// Which API to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Ollama's `POST /api/chat` with `format` set to the schema.
    Ollama,
    /// `POST /v1/chat/completions` with `response_format: json_schema`.
    Openai,
}

impl ProviderKind {
    /// `ollama` or `openai`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Ollama => "ollama",
            ProviderKind::Openai => "openai",
        }
    }

    /// The endpoint under the configured base URL. An OpenAI base URL may
    /// end in `/v1` or not.
    pub fn endpoint(self, base: &str) -> String {
        let base = base.trim_end_matches('/');
        match self {
            ProviderKind::Ollama => format!("{base}/api/chat"),
            ProviderKind::Openai if base.ends_with("/v1") => format!("{base}/chat/completions"),
            ProviderKind::Openai => format!("{base}/v1/chat/completions"),
        }
    }

    /// The request body.
    pub fn body(self, model: &str, messages: &[Message], schema: &Value) -> Value {
        match self {
            ProviderKind::Ollama => json!({
                "model": model,
                "messages": messages,
                "format": schema,
                "stream": false,
                "options": { "temperature": 0, "num_predict": MAX_ANSWER_TOKENS },
            }),
            ProviderKind::Openai => json!({
                "model": model,
                "messages": messages,
                "temperature": 0,
                "max_tokens": MAX_ANSWER_TOKENS,
                "stream": false,
                "response_format": {
                    "type": "json_schema",
                    "json_schema": { "name": "medic_diagnosis", "strict": true, "schema": schema },
                },
            }),
        }
    }

    /// The model's text from a response body.
    pub fn content(self, body: &Value) -> Option<&str> {
        match self {
            ProviderKind::Ollama => body.pointer("/message/content")?.as_str(),
            ProviderKind::Openai => body.pointer("/choices/0/message/content")?.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            ProviderKind::Ollama.endpoint("http://127.0.0.1:11434/"),
            "http://127.0.0.1:11434/api/chat"
        );
        assert_eq!(
            ProviderKind::Openai.endpoint("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        assert_eq!(
            ProviderKind::Openai.endpoint("http://127.0.0.1:8080/v1"),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
    }

    #[test]
    fn bodies_carry_the_schema_each_provider_expects() {
        let schema = json!({"type": "object"});
        let ollama = ProviderKind::Ollama.body("m", &[], &schema);
        assert_eq!(ollama["format"], schema);
        assert_eq!(ollama["stream"], false);
        let openai = ProviderKind::Openai.body("m", &[], &schema);
        assert_eq!(openai["response_format"]["type"], "json_schema");
        assert_eq!(openai["response_format"]["json_schema"]["schema"], schema);
    }

    #[test]
    fn content_is_read_from_each_shape() {
        let ollama = json!({"model": "m", "created_at": "x", "message": {"role": "assistant", "content": "{}"}, "done": true});
        assert_eq!(ProviderKind::Ollama.content(&ollama), Some("{}"));
        let openai =
            json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": "{}"}}]});
        assert_eq!(ProviderKind::Openai.content(&openai), Some("{}"));
        assert_eq!(ProviderKind::Openai.content(&ollama), None);
    }
}
