//! Reconnect delays as X documents them for its streams: linear for network errors (+250 ms each
//! attempt, up to 16 s), exponential for HTTP errors (from 5 s, doubling, up to 320 s), exponential
//! for 429 (from 60 s, doubling; capped here at 15 min). A stall counts as a network error.
//! `scale` shrinks every delay for tests.

use std::time::Duration;

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Connect failure, reset, end of stream, or stall.
    Network,
    /// An HTTP error status worth retrying (5xx and the like).
    Http,
    /// HTTP 429, including TooManyConnections.
    RateLimited,
}

const NETWORK_STEP: Duration = Duration::from_millis(250);
const NETWORK_MAX: Duration = Duration::from_secs(16);
const HTTP_FIRST: Duration = Duration::from_secs(5);
const HTTP_MAX: Duration = Duration::from_secs(320);
const RATE_FIRST: Duration = Duration::from_secs(60);
const RATE_MAX: Duration = Duration::from_secs(15 * 60);

/// The reconnect schedule; [`Backoff::reset`] after a good connection.
#[derive(Debug, Clone)]
pub struct Backoff {
    scale: f64,
    network: u32,
    http: u32,
    rate: u32,
}

impl Backoff {
    /// A fresh schedule with every delay multiplied by `scale`.
    pub fn new(scale: f64) -> Self {
        Backoff {
            scale,
            network: 0,
            http: 0,
            rate: 0,
        }
    }

    /// Forgets past failures (the connection worked).
    pub fn reset(&mut self) {
        self.network = 0;
        self.http = 0;
        self.rate = 0;
    }

    /// The unscaled delay before the next attempt after `failure`.
    pub fn next_unscaled(&mut self, failure: Failure) -> Duration {
        match failure {
            Failure::Network => {
                self.network = self.network.saturating_add(1);
                (NETWORK_STEP * self.network).min(NETWORK_MAX)
            }
            Failure::Http => {
                let d = HTTP_FIRST.saturating_mul(1u32 << self.http.min(16));
                self.http = self.http.saturating_add(1);
                d.min(HTTP_MAX)
            }
            Failure::RateLimited => {
                let d = RATE_FIRST.saturating_mul(1u32 << self.rate.min(16));
                self.rate = self.rate.saturating_add(1);
                d.min(RATE_MAX)
            }
        }
    }

    /// The delay before the next attempt after `failure`, scaled.
    pub fn next(&mut self, failure: Failure) -> Duration {
        self.next_unscaled(failure).mul_f64(self.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(b: &mut Backoff, f: Failure, n: usize) -> Vec<u64> {
        (0..n)
            .map(|_| b.next_unscaled(f).as_millis() as u64)
            .collect()
    }

    #[test]
    fn schedules_follow_x_guidance() {
        let mut b = Backoff::new(1.0);
        assert_eq!(ms(&mut b, Failure::Network, 3), [250, 500, 750]);
        let mut b = Backoff::new(1.0);
        let net = ms(&mut b, Failure::Network, 70);
        assert_eq!(net[63], 16_000);
        assert_eq!(net[69], 16_000);
        assert_eq!(
            ms(&mut b, Failure::Http, 8),
            [5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 320_000]
        );
        assert_eq!(
            ms(&mut b, Failure::RateLimited, 5),
            [60_000, 120_000, 240_000, 480_000, 900_000]
        );
        b.reset();
        assert_eq!(ms(&mut b, Failure::Http, 1), [5_000]);
        let mut scaled = Backoff::new(0.001);
        assert_eq!(scaled.next(Failure::RateLimited), Duration::from_millis(60));
    }
}
