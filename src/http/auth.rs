//! HTTP Basic authentication (RFC 7617) against argon2id hashes, with a verification
//! cache and a failed-login throttle.
//!
//! DAV clients send Basic credentials on every request and an argon2id check costs
//! ~30 ms and ~19 MiB, so a successful verification is cached under a keyed BLAKE3 hash of
//! (number, password, password-change time) for a short TTL: a password change makes the
//! old key unreachable. argon2 runs on the blocking pool, never on the async workers.
//! Repeated failures for one user name are throttled with `governor` (429 + Retry-After).
//!
//! Does not: create accounts or collections (see `dav::context`).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::storage::{Account, Storage, StorageError};

/// What authentication concluded.
#[derive(Debug)]
pub enum AuthOutcome {
    Authenticated(Account),
    /// No (or non-Basic) credentials: answer 401 with a challenge.
    Missing,
    /// Wrong number or password: 401.
    Failed,
    /// Too many failures for this user name: 429 with this Retry-After.
    Throttled(Duration),
}

/// Shared authenticator state.
pub struct Authenticator {
    key: [u8; 32],
    ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], Instant>>,
    limiter: DefaultKeyedRateLimiter<String>,
    blocked: Mutex<HashMap<String, Instant>>,
}

const CACHE_MAX: usize = 50_000;

impl Authenticator {
    pub fn new(failed_per_minute: u32, ttl: Duration) -> Self {
        let per_minute = NonZeroU32::new(failed_per_minute.max(1)).expect("nonzero");
        let mut key = [0u8; 32];
        rand::Rng::fill(&mut rand::thread_rng(), &mut key);
        Authenticator {
            key,
            ttl,
            cache: Mutex::new(HashMap::new()),
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// Checks the `Authorization` header value. `region` is the default region used to
    /// read the user name as a phone number.
    pub async fn authenticate(
        &self,
        storage: &dyn Storage,
        region: Option<&str>,
        header: Option<&[u8]>,
    ) -> Result<AuthOutcome, StorageError> {
        let Some((user, password)) = header.and_then(parse_basic) else {
            return Ok(AuthOutcome::Missing);
        };
        let throttle_key = crate::phone::normalize(&user, region).unwrap_or(user);
        if let Some(wait) = self.blocked_for(&throttle_key) {
            return Ok(AuthOutcome::Throttled(wait));
        }
        let account = match storage.account_by_phone(&throttle_key).await? {
            Some(a) => a,
            None => {
                // Spend comparable time so unknown numbers are not distinguishable.
                let _ = verify_blocking(DUMMY_HASH.clone(), password).await;
                return Ok(self.failure(throttle_key));
            }
        };
        let cache_key = self.cache_key(&account, &password);
        if self.cached(&cache_key) {
            return Ok(AuthOutcome::Authenticated(account));
        }
        if verify_blocking(account.password_hash.clone(), password).await {
            self.remember(cache_key);
            Ok(AuthOutcome::Authenticated(account))
        } else {
            Ok(self.failure(throttle_key))
        }
    }

    fn failure(&self, key: String) -> AuthOutcome {
        match self.limiter.check_key(&key) {
            Ok(()) => AuthOutcome::Failed,
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let wait = wait.max(Duration::from_secs(1));
                let mut blocked = self.blocked.lock().expect("auth lock");
                blocked.retain(|_, until| *until > Instant::now());
                blocked.insert(key, Instant::now() + wait);
                AuthOutcome::Throttled(wait)
            }
        }
    }

    fn blocked_for(&self, key: &str) -> Option<Duration> {
        let blocked = self.blocked.lock().expect("auth lock");
        let until = blocked.get(key)?;
        until.checked_duration_since(Instant::now())
    }

    fn cache_key(&self, account: &Account, password: &str) -> [u8; 32] {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(account.phone.as_bytes());
        h.update(&[0]);
        h.update(password.as_bytes());
        h.update(&[0]);
        h.update(&account.password_changed_at.to_le_bytes());
        h.update(account.password_hash.as_bytes());
        *h.finalize().as_bytes()
    }

    fn cached(&self, key: &[u8; 32]) -> bool {
        let cache = self.cache.lock().expect("auth lock");
        cache.get(key).is_some_and(|exp| *exp > Instant::now())
    }

    fn remember(&self, key: [u8; 32]) {
        let mut cache = self.cache.lock().expect("auth lock");
        if cache.len() >= CACHE_MAX {
            let now = Instant::now();
            cache.retain(|_, exp| *exp > now);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(key, Instant::now() + self.ttl);
    }
}

/// An argon2id hash of a random password, verified against when the number is unknown so
/// that the response time does not reveal which numbers have accounts.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password_sync(&generate_password()).unwrap_or_default());

/// Decodes `Basic base64(user:password)`.
pub fn parse_basic(header: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(header).ok()?.trim();
    let (scheme, rest) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Hashes a password with argon2id (default parameters) on the blocking pool.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_password_sync(&password)).await?
}

/// Hashes a password with argon2id on the current thread (CLI use).
pub fn hash_password_sync(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

async fn verify_blocking(hash: String, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A random password for a new account: 20 characters from an unambiguous alphabet.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| ALPHABET[rand::Rng::gen_range(&mut rng, 0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_decodes_user_and_password_with_colons() {
        let h = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("+4420:pa:ss")
        );
        assert_eq!(
            parse_basic(h.as_bytes()),
            Some(("+4420".into(), "pa:ss".into()))
        );
    }

    #[test]
    fn non_basic_scheme_is_not_credentials() {
        assert_eq!(parse_basic(b"Bearer abc"), None);
        assert_eq!(parse_basic(b"Basic !!!"), None);
    }

    #[test]
    fn hashed_password_verifies_and_wrong_one_does_not() {
        let h = hash_password_sync("secret").unwrap();
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"secret", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"other", &parsed)
                .is_err()
        );
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(&DUMMY_HASH).is_ok());
    }

    #[test]
    fn generated_passwords_differ_and_have_length_20() {
        let (a, b) = (generate_password(), generate_password());
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
    }
}
