//! The "acting" part of `medic eval`: what the confidence bar for text
//! (the higher of `[policy] min_confidence` and `min_confidence_from_text`;
//! every case here is text) would let medic do on its own.
//!
//! A diagnosis below its bar is not acted on: the plan asks for approval
//! instead. So the figure that matters to an operator is not only
//! how often the category is wrong, but how often medic would run a remedy
//! *without asking* on a wrong category. This pass answers that for the
//! config's own threshold and for a sweep of others, from the same
//! diagnoses the headline figures score, so a threshold can be chosen on
//! one's own labelled failures.

use medic_model::Category;

use super::percent;

/// How one case's diagnosis compared with its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Grade {
    /// The expected category, or one of its acceptable alternatives.
    Right,
    /// A category that is neither: a confident wrong answer.
    Wrong,
    /// The rules said `unknown`: nothing to act on.
    Unknown,
}

impl Grade {
    pub(super) fn of(got: Category, expected: Category, acceptable: &[Category]) -> Self {
        if got == expected || acceptable.contains(&got) {
            Self::Right
        } else if got == Category::Unknown {
            Self::Unknown
        } else {
            Self::Wrong
        }
    }
}

/// The figures at one `min_confidence`.
#[derive(Debug, serde::Serialize)]
pub(super) struct AtThreshold {
    pub min_confidence: f64,
    /// Percent of all cases medic would act on without approval (a known
    /// category at or above the threshold).
    pub acted: f64,
    /// Percent of the acted-on cases whose category was right (expected or
    /// acceptable).
    pub acted_right: f64,
    /// Percent of all cases acted on with a wrong category: the remedy of
    /// another failure, run without asking.
    pub acted_wrong: f64,
    /// Percent of all cases whose right category waits for approval because
    /// its confidence is below the threshold: the price of the threshold.
    pub right_held_back: f64,
}

/// The thresholds every report sweeps, besides the config's own.
const SWEEP: [f64; 5] = [0.5, 0.6, 0.7, 0.8, 0.9];

/// The figures at `configured` and at each threshold of the sweep, in
/// ascending order; `graded` holds each case's confidence and grade.
pub(super) fn sweep(graded: &[(f64, Grade)], configured: f64) -> Vec<AtThreshold> {
    let mut thresholds = SWEEP.to_vec();
    if !thresholds.iter().any(|t| (t - configured).abs() < 1e-9) {
        thresholds.push(configured);
    }
    thresholds.sort_by(f64::total_cmp);
    thresholds
        .into_iter()
        .map(|threshold| at(graded, threshold))
        .collect()
}

fn at(graded: &[(f64, Grade)], threshold: f64) -> AtThreshold {
    let (mut acted, mut acted_right, mut acted_wrong, mut held_back) = (0, 0, 0, 0);
    for &(confidence, grade) in graded {
        let confident = confidence >= threshold;
        match grade {
            Grade::Right if confident => {
                acted += 1;
                acted_right += 1;
            }
            Grade::Right => held_back += 1,
            Grade::Wrong if confident => {
                acted += 1;
                acted_wrong += 1;
            }
            Grade::Wrong | Grade::Unknown => {}
        }
    }
    AtThreshold {
        min_confidence: threshold,
        acted: percent(acted, graded.len()),
        acted_right: percent(acted_right, acted),
        acted_wrong: percent(acted_wrong, graded.len()),
        right_held_back: percent(held_back, graded.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_follow_the_label_its_alternatives_and_unknown() {
        let acceptable = [Category::Network];
        assert_eq!(
            Grade::of(Category::Database, Category::Database, &acceptable),
            Grade::Right
        );
        assert_eq!(
            Grade::of(Category::Network, Category::Database, &acceptable),
            Grade::Right
        );
        assert_eq!(
            Grade::of(Category::Unknown, Category::Database, &acceptable),
            Grade::Unknown
        );
        assert_eq!(
            Grade::of(Category::Timeout, Category::Database, &acceptable),
            Grade::Wrong
        );
    }

    #[test]
    fn a_threshold_holds_back_what_is_below_it_right_or_wrong() {
        let graded = [
            (0.9, Grade::Right),
            (0.6, Grade::Right),
            (0.55, Grade::Wrong),
            (0.8, Grade::Wrong),
            (0.0, Grade::Unknown),
        ];
        let rows = sweep(&graded, 0.65);
        let thresholds: Vec<f64> = rows.iter().map(|r| r.min_confidence).collect();
        assert_eq!(thresholds, [0.5, 0.6, 0.65, 0.7, 0.8, 0.9]);
        let low = &rows[0];
        assert_eq!(
            (low.acted, low.acted_wrong, low.right_held_back),
            (80.0, 40.0, 0.0)
        );
        assert_eq!(low.acted_right, 50.0);
        let configured = &rows[2];
        assert_eq!(configured.acted, 40.0);
        assert_eq!(configured.acted_right, 50.0);
        assert_eq!(configured.acted_wrong, 20.0);
        assert_eq!(configured.right_held_back, 20.0);
        let high = &rows[5];
        assert_eq!(
            (high.acted, high.acted_wrong, high.right_held_back),
            (20.0, 0.0, 20.0)
        );
        assert_eq!(high.acted_right, 100.0);
    }

    #[test]
    fn an_empty_corpus_gives_zeroes_not_a_division_by_zero() {
        let rows = sweep(&[], 0.5);
        assert_eq!(rows.len(), SWEEP.len());
        assert!(rows.iter().all(|r| r.acted == 0.0 && r.acted_right == 0.0));
    }
}
