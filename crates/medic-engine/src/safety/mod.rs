//! Safety: what medic will never run, and how values reach a command.

pub mod child_env;
mod guard;
mod template;

pub use guard::{Refusal, check_command, check_command_template};
pub use template::{
    Escape, PLACEHOLDERS, TemplateError, Values, render, render_argv, validate_template,
};
