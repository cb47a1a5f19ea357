//! Randomness for exploration: a seeded generator and Beta draws.
//!
//! The engine reads no clock and no entropy: the caller seeds an
//! [`Explorer`] (tests with a constant, the agent from the clock), so a
//! seeded sequence of plans is reproducible. No `rand` dependency: the few
//! distributions needed are a screen of code each.

/// A seeded source of the random draws Thompson sampling needs.
///
/// ```
/// use medic_engine::plan::Explorer;
/// let mut a = Explorer::seeded(7);
/// let mut b = Explorer::seeded(7);
/// let x = a.beta(3.0, 2.0);
/// assert_eq!(x, b.beta(3.0, 2.0));
/// assert!((0.0..=1.0).contains(&x));
/// ```
#[derive(Debug, Clone)]
pub struct Explorer {
    /// SplitMix64 state (Steele, Lea and Flood, 2014): fast, seedable, and
    /// plenty for choosing an order, which needs spread, not secrecy.
    state: u64,
}

impl Explorer {
    /// A generator whose draws follow from `seed` alone.
    pub fn seeded(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on `(0, 1)`: never exactly 0, so logarithms stay finite.
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal, by Box–Muller.
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Gamma(`shape`, 1) by Marsaglia and Tsang (2000); shapes below 1 use
    /// the boost `Gamma(a) = Gamma(a + 1) · U^(1/a)`.
    fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let boost = self.uniform().powf(1.0 / shape);
            return self.gamma(shape + 1.0) * boost;
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.uniform();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }

    /// A draw from Beta(`alpha`, `beta`), as `X / (X + Y)` with
    /// `X ~ Gamma(alpha)`, `Y ~ Gamma(beta)`. Parameters that are not
    /// finite and positive (never from a posterior) give 0.5: the sampler's
    /// loop would otherwise never end on NaN.
    pub fn beta(&mut self, alpha: f64, beta: f64) -> f64 {
        let usable = |p: f64| p.is_finite() && p > 0.0;
        if !(usable(alpha) && usable(beta)) {
            return 0.5;
        }
        let x = self.gamma(alpha);
        let y = self.gamma(beta);
        if x + y > 0.0 { x / (x + y) } else { 0.5 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_parameters_give_a_neutral_draw_instead_of_looping() {
        let mut explorer = Explorer::seeded(7);
        for (alpha, beta) in [
            (f64::NAN, 1.0),
            (1.0, f64::INFINITY),
            (0.0, 2.0),
            (-1.0, -1.0),
        ] {
            assert_eq!(explorer.beta(alpha, beta), 0.5);
        }
    }

    #[test]
    fn beta_draws_have_the_right_mean_and_spread() {
        let mut explorer = Explorer::seeded(42);
        for (alpha, beta) in [(1.0, 1.0), (2.8, 1.2), (0.5, 0.5), (30.0, 3.0)] {
            let n = 20_000;
            let draws: Vec<f64> = (0..n).map(|_| explorer.beta(alpha, beta)).collect();
            assert!(draws.iter().all(|x| (0.0..=1.0).contains(x)));
            let mean = draws.iter().sum::<f64>() / n as f64;
            let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            let want_mean = alpha / (alpha + beta);
            let want_var = alpha * beta / ((alpha + beta).powi(2) * (alpha + beta + 1.0));
            assert!(
                (mean - want_mean).abs() < 0.01,
                "Beta({alpha},{beta}) mean {mean}"
            );
            assert!(
                (var - want_var).abs() < 0.01,
                "Beta({alpha},{beta}) var {var}"
            );
        }
    }

    #[test]
    fn the_same_seed_draws_the_same() {
        let (mut a, mut b) = (Explorer::seeded(1), Explorer::seeded(1));
        for _ in 0..100 {
            assert_eq!(a.beta(2.0, 3.0), b.beta(2.0, 3.0));
        }
    }
}
