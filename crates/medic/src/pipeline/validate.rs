//! The `validate` step: expectations about values of the state. The first
//! expectation that does not hold fails the step, named with the value found.

use serde_json::Value;

use super::flow::{Check, Expectation};
use super::steps::Done;
use super::values::Scope;

pub(crate) fn run(checks: &[Check], scope: Scope<'_>) -> Result<Done, String> {
    let mut passed = 0;
    for check in checks {
        let actual = scope.lookup(&check.path);
        for expectation in &check.expect {
            holds(expectation, actual.as_ref(), scope)
                .map_err(|why| format!("{}: {why}", check.path))?;
            passed += 1;
        }
    }
    Ok(Done {
        output: serde_json::json!({ "passed": passed }),
        note: format!("{passed} expectation(s) hold"),
    })
}

/// Whether one expectation holds; if not, what was found and what was expected.
fn holds(
    expectation: &Expectation,
    actual: Option<&Value>,
    scope: Scope<'_>,
) -> Result<(), String> {
    let found = || actual.map_or_else(|| "missing".to_string(), Value::to_string);
    match expectation {
        Expectation::Exists(wanted) => {
            if actual.is_some() == *wanted {
                return Ok(());
            }
            let expected = if *wanted { "to exist" } else { "to be absent" };
            Err(format!("is {}, expected {expected}", found()))
        }
        Expectation::Equals(template) => {
            let expected = scope.render_value(template)?;
            if actual.is_some_and(|actual| same(actual, &expected)) {
                return Ok(());
            }
            Err(format!("is {}, expected equals {expected}", found()))
        }
        Expectation::Min(template) | Expectation::Max(template) => {
            let (name, bound_ok): (&str, fn(f64, f64) -> bool) = match expectation {
                Expectation::Min(_) => ("min", |actual, bound| actual >= bound),
                _ => ("max", |actual, bound| actual <= bound),
            };
            let bound = scope.render_value(template)?;
            let Some(limit) = bound.as_f64() else {
                return Err(format!("the {name} bound {bound} is not a number"));
            };
            match actual.and_then(Value::as_f64) {
                Some(number) if bound_ok(number, limit) => Ok(()),
                _ => Err(format!("is {}, expected {name} {bound}", found())),
            }
        }
        Expectation::Length(wanted) => {
            let length = match actual {
                Some(Value::Array(items)) => Some(items.len()),
                Some(Value::String(text)) => Some(text.chars().count()),
                Some(Value::Object(map)) => Some(map.len()),
                _ => None,
            };
            if length.is_some_and(|length| length as u64 == *wanted) {
                return Ok(());
            }
            let what = length.map_or_else(found, |length| format!("of length {length}"));
            Err(format!("is {what}, expected length {wanted}"))
        }
    }
}

/// JSON equality where numbers compare by value (3 equals 3.0).
fn same(actual: &Value, expected: &Value) -> bool {
    match (actual.as_f64(), expected.as_f64()) {
        (Some(a), Some(b)) if actual.is_number() && expected.is_number() => a == b,
        _ => actual == expected,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::pipeline::values::Reference;
    use serde_json::json;

    fn check(path: &str, expect: Vec<Expectation>) -> Check {
        Check {
            path: Reference::parse(path).expect("reference"),
            expect,
        }
    }

    #[test]
    fn expectations_pass_and_fail_with_the_value_named() {
        let state = json!({"orders": {"count": 3, "orders": [1, 2, 3]}, "tax": {"count": 3.0, "total_cents": 12149, "subtotal_cents": 11249}});
        let vars = BTreeMap::new();
        let scope = Scope {
            state: &state,
            vars: &vars,
        };
        let good = [
            check(
                "steps.tax.count",
                vec![Expectation::Equals(json!("{{steps.orders.count}}"))],
            ),
            check(
                "steps.tax.total_cents",
                vec![
                    Expectation::Min(json!("{{steps.tax.subtotal_cents}}")),
                    Expectation::Max(json!(20000)),
                ],
            ),
            check(
                "steps.orders.orders",
                vec![Expectation::Length(3), Expectation::Exists(true)],
            ),
            check("steps.tax.refund", vec![Expectation::Exists(false)]),
        ];
        let done = run(&good, scope).expect("all hold");
        assert_eq!(done.output, json!({"passed": 6}));

        let cases = [
            (
                check("steps.tax.total_cents", vec![Expectation::Max(json!(100))]),
                "steps.tax.total_cents: is 12149, expected max 100",
            ),
            (
                check("steps.tax.missing", vec![Expectation::Min(json!(1))]),
                "steps.tax.missing: is missing, expected min 1",
            ),
            (
                check("steps.orders.orders", vec![Expectation::Length(2)]),
                "steps.orders.orders: is of length 3, expected length 2",
            ),
            (
                check("steps.orders.count", vec![Expectation::Equals(json!("3"))]),
                "steps.orders.count: is 3, expected equals \"3\"",
            ),
            (
                check("steps.tax", vec![Expectation::Exists(false)]),
                "steps.tax: is {",
            ),
        ];
        for (bad, expected) in cases {
            let error = run(&[bad], scope).expect_err("fails");
            assert!(error.starts_with(expected), "{error:?} vs {expected:?}");
        }
    }
}
