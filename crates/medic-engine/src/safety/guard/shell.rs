//! Shell scripts, read with a real parser (`brush-parser`, MIT, the parser
//! of the brush shell): every simple command, redirection, command
//! substitution and function body is judged, with the script's own
//! assignments followed (`X=/; rm -rf $X` is `rm -rf /`).

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use brush_parser::ast::{
    self, Command, CommandPrefixOrSuffixItem, CompoundCommand, CompoundList, IoFileRedirectTarget,
    IoRedirect, Pipeline,
};
use brush_parser::word::{self, Parameter, ParameterExpr, TildeExpr, WordPiece};
use brush_parser::{Parser, ParserOptions};

use super::arg::{Arg, normalise};
use super::{Guard, Refusal, unreadable};

/// Scripts longer than this are not parsed (nobody writes a remedy this long).
const MAX_SCRIPT: usize = 64 * 1024;

/// Judges every command `script` would run.
pub(crate) fn judge(guard: &Guard, script: &str, depth: usize) -> Result<(), Refusal> {
    if script.len() > MAX_SCRIPT {
        return Err(unreadable(
            "script-size",
            "the script is longer than 64 KiB",
        ));
    }
    let options = ParserOptions::default();
    // A parser is code we did not write: a panic in it is a refusal, not a crash.
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        Parser::new(std::io::Cursor::new(script.as_bytes()), &options).parse_program()
    }));
    let program = match parsed {
        Ok(Ok(program)) => program,
        Ok(Err(error)) => {
            return Err(unreadable(
                "script-syntax",
                format!("the script does not parse: {error}"),
            ));
        }
        Err(_) => {
            return Err(unreadable(
                "script-syntax",
                "the shell parser failed on the script",
            ));
        }
    };
    let mut walk = Walk {
        guard,
        depth,
        options,
        vars: HashMap::new(),
        cwd: Cwd::Start,
    };
    for list in &program.complete_commands {
        walk.list(list)?;
    }
    Ok(())
}

struct Walk<'g> {
    guard: &'g Guard,
    depth: usize,
    options: ParserOptions,
    /// Variables the script set, with their value when it is known.
    vars: HashMap<String, Option<String>>,
    /// Where `cd` took the script.
    cwd: Cwd,
}

/// The script's working directory.
enum Cwd {
    /// Where the action started (relative paths stay relative).
    Start,
    /// A known directory.
    At(String),
    /// A directory chosen at run time.
    Unknown,
}

fn looks_relative(word: &str) -> bool {
    !word.starts_with('/')
        && !word.starts_with('-')
        && !word.starts_with('~')
        && (matches!(word, "." | "..")
            || word.starts_with("./")
            || word.starts_with("../")
            || word.contains(['*', '?', '[']))
}

impl Walk<'_> {
    fn list(&mut self, list: &CompoundList) -> Result<(), Refusal> {
        for item in &list.0 {
            for (_, pipeline) in item.0.iter() {
                self.pipeline(pipeline)?;
            }
        }
        Ok(())
    }

    fn pipeline(&mut self, pipeline: &Pipeline) -> Result<(), Refusal> {
        for command in &pipeline.seq {
            self.command(command)?;
        }
        Ok(())
    }

    fn command(&mut self, command: &Command) -> Result<(), Refusal> {
        match command {
            Command::Simple(simple) => self.simple(simple),
            Command::Compound(compound, redirects) => {
                self.compound(compound)?;
                self.redirects(redirects.iter().flat_map(|r| r.0.iter()))
            }
            Command::Function(function) => {
                self.compound(&function.body.0)?;
                self.redirects(function.body.1.iter().flat_map(|r| r.0.iter()))
            }
            Command::ExtendedTest(test, redirects) => {
                self.text_with_substitutions(&test.to_string())?;
                self.redirects(redirects.iter().flat_map(|r| r.0.iter()))
            }
        }
    }

    fn compound(&mut self, compound: &CompoundCommand) -> Result<(), Refusal> {
        match compound {
            CompoundCommand::Arithmetic(arithmetic) => {
                self.text_with_substitutions(&arithmetic.expr.value)
            }
            CompoundCommand::ArithmeticForClause(clause) => self.list(&clause.body.list),
            CompoundCommand::BraceGroup(group) => self.list(&group.list),
            CompoundCommand::Subshell(subshell) => self.list(&subshell.list),
            CompoundCommand::ForClause(clause) => {
                for value in clause.values.iter().flatten() {
                    self.word(value)?;
                }
                // The loop variable takes each value in turn: not one known value.
                self.vars.insert(clause.variable_name.clone(), None);
                self.list(&clause.body.list)
            }
            CompoundCommand::CaseClause(clause) => {
                self.word(&clause.value)?;
                for case in &clause.cases {
                    if let Some(list) = &case.cmd {
                        self.list(list)?;
                    }
                }
                Ok(())
            }
            CompoundCommand::IfClause(clause) => {
                self.list(&clause.condition)?;
                self.list(&clause.then)?;
                for other in clause.elses.iter().flatten() {
                    if let Some(condition) = &other.condition {
                        self.list(condition)?;
                    }
                    self.list(&other.body)?;
                }
                Ok(())
            }
            CompoundCommand::WhileClause(clause) | CompoundCommand::UntilClause(clause) => {
                self.list(&clause.0)?;
                self.list(&clause.1.list)
            }
            CompoundCommand::Coprocess(coprocess) => self.command(&coprocess.body),
        }
    }

    fn simple(&mut self, simple: &ast::SimpleCommand) -> Result<(), Refusal> {
        let mut words = Vec::new();
        let mut redirects = Vec::new();
        let mut assignments = Vec::new();
        for item in simple.prefix.iter().flat_map(|p| p.0.iter()) {
            match item {
                CommandPrefixOrSuffixItem::AssignmentWord(assignment, _) => {
                    assignments.push(assignment)
                }
                CommandPrefixOrSuffixItem::IoRedirect(redirect) => redirects.push(redirect),
                CommandPrefixOrSuffixItem::ProcessSubstitution(_, subshell) => {
                    self.list(&subshell.list)?
                }
                CommandPrefixOrSuffixItem::Word(word) => words.extend(self.word(word)?),
            }
        }
        if let Some(word) = &simple.word_or_name {
            words.extend(self.word(word)?);
        }
        for item in simple.suffix.iter().flat_map(|s| s.0.iter()) {
            match item {
                CommandPrefixOrSuffixItem::IoRedirect(redirect) => redirects.push(redirect),
                CommandPrefixOrSuffixItem::ProcessSubstitution(_, subshell) => {
                    self.list(&subshell.list)?;
                    // `<(…)` is a file name the command reads code or data from.
                    words.push(Arg::Unknown);
                }
                CommandPrefixOrSuffixItem::Word(word)
                | CommandPrefixOrSuffixItem::AssignmentWord(_, word) => {
                    words.extend(self.word(word)?)
                }
            }
        }
        for assignment in assignments {
            self.assign(assignment)?;
        }
        // `export X=/`, `local X=/`: the words are assignments too.
        if words.first().is_some_and(|w| {
            matches!(
                w.known(),
                Some("export" | "local" | "readonly" | "declare" | "typeset")
            )
        }) {
            for word in &words[1..] {
                if let Some((name, value)) = word.known().and_then(|w| w.split_once('=')) {
                    self.vars.insert(name.into(), Some(value.into()));
                }
            }
        }
        if words
            .first()
            .is_some_and(|w| w.is("read") || w.is("mapfile") || w.is("readarray"))
        {
            for word in words[1..].iter().filter_map(Arg::known) {
                self.vars.insert(word.into(), None);
            }
        }
        self.redirects(redirects.into_iter())?;
        let words = self.in_directory(words);
        if words.first().is_some_and(|w| w.is("cd") || w.is("pushd")) {
            self.cwd = match words.get(1) {
                Some(Arg::Known(dir)) if dir.starts_with('/') => Cwd::At(normalise(dir)),
                Some(Arg::Known(dir)) if dir.starts_with('~') => Cwd::At("~".into()),
                Some(Arg::Known(_)) if matches!(self.cwd, Cwd::Start) => Cwd::Start,
                None => Cwd::At("~".into()),
                _ => Cwd::Unknown,
            };
        }
        self.guard.argv(&words, self.depth + 1)
    }

    /// After `cd /`, `rm -rf *` is `rm -rf /*`: path-looking relative words
    /// (`*`, `.`, `..`, `./x`, globs) are resolved against the directory.
    fn in_directory(&self, words: Vec<Arg>) -> Vec<Arg> {
        if matches!(self.cwd, Cwd::Start) {
            return words;
        }
        words
            .into_iter()
            .enumerate()
            .map(|(i, word)| match (&self.cwd, word.known()) {
                (_, Some(text)) if i == 0 || !looks_relative(text) => word,
                (Cwd::At(dir), Some(text)) => Arg::Known(format!("{dir}/{text}")),
                (_, Some(_)) => Arg::Unknown,
                (_, None) => word,
            })
            .collect()
    }

    fn assign(&mut self, assignment: &ast::Assignment) -> Result<(), Refusal> {
        let name = match &assignment.name {
            ast::AssignmentName::VariableName(name) => name.clone(),
            ast::AssignmentName::ArrayElementName(name, _) => name.clone(),
        };
        let value = match &assignment.value {
            ast::AssignmentValue::Scalar(word) => {
                let words = self.word(word)?;
                match words.as_slice() {
                    [Arg::Known(text)] if !assignment.append => Some(text.clone()),
                    _ => None,
                }
            }
            ast::AssignmentValue::Array(items) => {
                for (_, word) in items {
                    self.word(word)?;
                }
                None
            }
        };
        self.vars.insert(name, value);
        Ok(())
    }

    fn redirects<'a>(
        &mut self,
        redirects: impl Iterator<Item = &'a IoRedirect>,
    ) -> Result<(), Refusal> {
        for redirect in redirects {
            match redirect {
                IoRedirect::File(_, kind, target) => {
                    let writes = !matches!(
                        kind,
                        ast::IoFileRedirectKind::Read
                            | ast::IoFileRedirectKind::DuplicateInput
                            | ast::IoFileRedirectKind::DuplicateOutput
                    );
                    match target {
                        IoFileRedirectTarget::Filename(word) if writes => {
                            for path in self.word(word)? {
                                self.guard.write_to(&path)?;
                            }
                        }
                        IoFileRedirectTarget::Filename(word)
                        | IoFileRedirectTarget::Duplicate(word) => {
                            self.word(word)?;
                        }
                        IoFileRedirectTarget::ProcessSubstitution(_, subshell) => {
                            self.list(&subshell.list)?
                        }
                        IoFileRedirectTarget::Fd(_) => {}
                    }
                }
                IoRedirect::OutputAndError(word, _) => {
                    for path in self.word(word)? {
                        self.guard.write_to(&path)?;
                    }
                }
                IoRedirect::HereString(_, word) => {
                    self.word(word)?;
                }
                IoRedirect::HereDocument(_, doc) if doc.requires_expansion => {
                    self.text_with_substitutions(&doc.doc.value)?
                }
                IoRedirect::HereDocument(..) => {}
            }
        }
        Ok(())
    }

    /// Text that is not parsed as words (arithmetic, `[[ ]]`, here-documents)
    /// may still run commands through `$(…)` or backquotes.
    fn text_with_substitutions(&mut self, text: &str) -> Result<(), Refusal> {
        if text.contains("$(") || text.contains('`') {
            return Err(unreadable(
                "substitution",
                "a command substitution inside arithmetic, a test or a here-document",
            ));
        }
        Ok(())
    }

    /// A word after expansion: one or more arguments. Command substitutions
    /// are judged as scripts of their own; their output is unknown.
    fn word(&mut self, word: &ast::Word) -> Result<Vec<Arg>, Refusal> {
        let pieces = catch_unwind(AssertUnwindSafe(|| word::parse(&word.value, &self.options)));
        let Ok(Ok(pieces)) = pieces else {
            return Err(unreadable(
                "word-syntax",
                format!("cannot read the word {:?}", word.value),
            ));
        };
        let mut text = String::new();
        let mut known = true;
        let mut split = false;
        for piece in &pieces {
            self.piece(&piece.piece, &mut text, &mut known, &mut split, false)?;
        }
        if !known {
            return Ok(vec![Arg::Unknown]);
        }
        let words: Vec<String> = if split {
            text.split_whitespace().map(String::from).collect()
        } else {
            vec![text]
        };
        Ok(words
            .iter()
            .flat_map(|w| expand_braces(w, 0))
            .map(Arg::Known)
            .collect())
    }

    fn piece(
        &mut self,
        piece: &WordPiece,
        text: &mut String,
        known: &mut bool,
        split: &mut bool,
        quoted: bool,
    ) -> Result<(), Refusal> {
        match piece {
            WordPiece::Text(t) | WordPiece::SingleQuotedText(t) | WordPiece::AnsiCQuotedText(t) => {
                text.push_str(t)
            }
            WordPiece::EscapeSequence(e) => text.push_str(e.trim_start_matches('\\')),
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => {
                for p in inner {
                    self.piece(&p.piece, text, known, split, true)?;
                }
            }
            WordPiece::TildeExpansion(TildeExpr::Home) => text.push('~'),
            WordPiece::TildeExpansion(TildeExpr::UserHome(user)) => {
                text.push('~');
                text.push_str(user);
            }
            WordPiece::TildeExpansion(_) => *known = false,
            WordPiece::ParameterExpansion(expr) => match self.parameter(expr) {
                Some(value) => {
                    *split |= !quoted;
                    text.push_str(&value);
                }
                None => *known = false,
            },
            WordPiece::CommandSubstitution(script)
            | WordPiece::BackquotedCommandSubstitution(script) => {
                judge(self.guard, script, self.depth + 1)?;
                *known = false;
            }
            WordPiece::ArithmeticExpression(expr) => {
                self.text_with_substitutions(&expr.value)?;
                *known = false;
            }
        }
        Ok(())
    }

    fn parameter(&self, expr: &ParameterExpr) -> Option<String> {
        let ParameterExpr::Parameter {
            parameter: Parameter::Named(name),
            indirect: false,
        } = expr
        else {
            return None;
        };
        match self.vars.get(name) {
            Some(value) => value.clone(),
            None if name == "HOME" => Some("~".into()),
            None => None,
        }
    }
}

/// `/{usr,etc}` is two paths: expands `{a,b}` alternatives (bounded).
fn expand_braces(word: &str, depth: usize) -> Vec<String> {
    let Some(open) = word.find('{') else {
        return vec![word.into()];
    };
    let Some(close) = word[open..].find('}').map(|c| open + c) else {
        return vec![word.into()];
    };
    let body = &word[open + 1..close];
    if depth > 4 || !body.contains(',') {
        return vec![word.into()];
    }
    let (head, tail) = (&word[..open], &word[close + 1..]);
    body.split(',')
        .flat_map(|alternative| expand_braces(&format!("{head}{alternative}{tail}"), depth + 1))
        .take(64)
        .collect()
}
