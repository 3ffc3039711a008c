//! The key of the strict machine_learning_curated table's pseudonyms. The SQL computes the
//! pseudonym (`reference/customer_pseudonyms.sql`: a keyed SHA-256 of the email); this module only
//! carries the key, never shows it (its `Debug` is redacted, errors never include it), and hands it
//! to DuckDB as a bound parameter of `SET VARIABLE`, never as SQL text.
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use duckdb::Connection;
use sha2::{Digest, Sha256};

use super::error::{EngineError, Result};

/// The environment variable a key may come from (preferred to `--salt`, which `ps` shows).
pub const KEY_ENV: &str = "STEDI_PSEUDONYM_KEY";
/// Shorter keys could be found by trying them all against a list of known emails.
pub const MIN_KEY_CHARS: usize = 16;
/// A key of one or two repeated characters is no secret, however long.
pub const MIN_DISTINCT_CHARS: usize = 4;
pub const MISSING_KEY: &str =
    "strict mode needs a pseudonym key: set STEDI_PSEUDONYM_KEY (or pass --salt KEY), at least 16 characters";

#[derive(Clone, PartialEq, Eq)]
pub struct PseudonymKey(String);

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymKey(<redacted>)")
    }
}

impl PseudonymKey {
    /// A key given by the user; refused (without echoing it) when too short.
    pub fn new(key: impl Into<String>) -> std::result::Result<PseudonymKey, String> {
        let key = key.into();
        if key.chars().count() < MIN_KEY_CHARS {
            return Err(format!("the pseudonym key is too short: it needs at least {MIN_KEY_CHARS} characters"));
        }
        // Length alone is not strength: 16 spaces or `aaaa…` are guessed first. Whitespace does
        // not count, and the key needs a few different characters.
        let solid: Vec<char> = key.chars().filter(|c| !c.is_whitespace()).collect();
        if solid.len() < MIN_KEY_CHARS {
            return Err(format!(
                "the pseudonym key is mostly whitespace: it needs at least {MIN_KEY_CHARS} characters that are not spaces"
            ));
        }
        let distinct: std::collections::BTreeSet<char> = solid.into_iter().collect();
        if distinct.len() < MIN_DISTINCT_CHARS {
            return Err(format!(
                "the pseudonym key repeats too few characters: it needs at least {MIN_DISTINCT_CHARS} different ones"
            ));
        }
        Ok(PseudonymKey(key))
    }

    /// `--salt` if given, else STEDI_PSEUDONYM_KEY if set (and not empty), else none.
    pub fn from_flag_or_env(flag: Option<&str>) -> std::result::Result<Option<PseudonymKey>, String> {
        let key = match flag {
            Some(k) => Some(k.to_string()),
            None => std::env::var(KEY_ENV).ok().filter(|k| !k.is_empty()),
        };
        key.map(PseudonymKey::new).transpose()
    }

    /// A random key for one run, for commands that compare pseudonyms within the run but never
    /// write one out (`diff`, `forget`). 256 bits from the OS-seeded hasher keys, the clock and the pid.
    pub fn ephemeral() -> PseudonymKey {
        let mut digest = Sha256::new();
        for _ in 0..4 {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
            h.write_u32(std::process::id());
            digest.update(h.finish().to_le_bytes());
        }
        PseudonymKey(digest.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A one-way digest of the key, for the cache's fingerprints: results made with another key
    /// are never reused, and the key itself is never stored.
    pub fn fingerprint(&self) -> String {
        let mut digest = Sha256::new();
        digest.update(b"stedi-tui cache: pseudonym key\0");
        digest.update(self.0.as_bytes());
        digest.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Make the key the session variable `pseudonym_key` that the SQL reads with getvariable().
    pub fn set_on(&self, conn: &Connection) -> Result<()> {
        conn.execute("SET VARIABLE pseudonym_key = ?", [&self.0])
            .map(|_| ())
            .map_err(|_| EngineError::Duck("cannot set the pseudonym key".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = PseudonymKey::new("very-secret-key-123456").unwrap();
        assert!(!format!("{key:?}").contains("secret"));
        let err = PseudonymKey::new("short-key").unwrap_err();
        assert!(!err.contains("short-key"), "{err}");
    }

    #[test]
    fn weak_keys_are_refused() {
        for weak in [" ".repeat(16), " ".repeat(40), "a".repeat(32), "abab".repeat(8), format!("abc{}", " ".repeat(20))]
        {
            let err = PseudonymKey::new(weak.clone()).unwrap_err();
            assert!(err.contains("pseudonym key"), "{err}");
        }
        assert!(PseudonymKey::new("correct horse battery staple").is_ok());
        assert!(PseudonymKey::new("0123456789abcdef").is_ok());
    }

    #[test]
    fn ephemeral_keys_differ() {
        assert_ne!(PseudonymKey::ephemeral(), PseudonymKey::ephemeral());
        assert_eq!(PseudonymKey::ephemeral().0.len(), 64);
    }
}
