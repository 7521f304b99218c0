//! C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, byte-compatible
//! with Go's `golang.org/x/mod/sumdb/note`.
//!
//! A note is UTF-8 text ending in a newline, a blank line, then signature lines
//! `— <key name> <base64(key id ‖ signature)>`. The key id is the first four bytes of
//! SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key); the signature covers the text.
//!
//! Written here rather than taken from the `signed_note` crate, which pins an older
//! ed25519-dalek/base64/thiserror stack that would double those crates in the build;
//! the format is small and the reference vector from Go checks this implementation.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type byte for Ed25519 keys.
const ALG_ED25519: u8 = 0x01;
/// Notes larger than this are refused before parsing (Go's limit is similar).
pub const MAX_NOTE_BYTES: usize = 1 << 20;
/// At most this many signature lines (Go's limit).
pub const MAX_SIGNATURES: usize = 100;
/// The em dash and space that open a signature line.
const SIG_PREFIX: &str = "\u{2014} ";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error(
        "key name {0:?} is invalid: it must be non-empty UTF-8 without spaces, control characters or '+'"
    )]
    BadName(String),
    #[error("malformed signer key: {0}")]
    BadSignerKey(&'static str),
    #[error("malformed verifier key: {0}")]
    BadVerifierKey(&'static str),
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    #[error("note is larger than {MAX_NOTE_BYTES} bytes")]
    TooLarge,
    #[error("signature by {0} does not verify")]
    BadSignature(String),
    #[error("note has no signature by a trusted key (trusted: {0})")]
    Unverified(String),
    #[error("cannot generate a key: {0}")]
    Random(String),
}

/// `name` as the spec allows it: non-empty, no Unicode space, no '+', and no control
/// character (a note may hold none, so a signature line naming one could never be
/// read back).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
}

/// The key id: first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key), big-endian.
pub fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A private signing key: `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ seed)>`.
pub struct SignerKey {
    name: String,
    id: u32,
    key: SigningKey,
}

impl std::fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "SignerKey({}+{:08x})", self.name, self.id)
    }
}

impl SignerKey {
    /// A new random key.
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        if !is_valid_name(name) {
            return Err(NoteError::BadName(name.to_string()));
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| NoteError::Random(e.to_string()))?;
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, &key.verifying_key().to_bytes());
        Ok(Self {
            name: name.to_string(),
            id,
            key,
        })
    }

    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let t = text.trim_end_matches('\n');
        // The base64 key may itself contain '+': split off the first four fields only.
        let parts: Vec<&str> = t.splitn(5, '+').collect();
        if parts.len() != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
            return Err(NoteError::BadSignerKey("expected PRIVATE+KEY+name+id+key"));
        }
        let name = parts[2];
        if !is_valid_name(name) {
            return Err(NoteError::BadName(name.to_string()));
        }
        let id = parse_id(parts[3]).ok_or(NoteError::BadSignerKey("key id is not 8 hex digits"))?;
        let raw = B64
            .decode(parts[4])
            .map_err(|_| NoteError::BadSignerKey("key is not base64"))?;
        if raw.len() != 33 || raw[0] != ALG_ED25519 {
            return Err(NoteError::BadSignerKey("key is not an Ed25519 seed"));
        }
        let seed: [u8; 32] = raw[1..]
            .try_into()
            .map_err(|_| NoteError::BadSignerKey("key is not 32 bytes"))?;
        let key = SigningKey::from_bytes(&seed);
        if key_id(name, &key.verifying_key().to_bytes()) != id {
            return Err(NoteError::BadSignerKey("key id does not match the key"));
        }
        Ok(Self {
            name: name.to_string(),
            id,
            key,
        })
    }

    /// The private key text (what a key file holds).
    pub fn encode(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(&self.key.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            B64.encode(raw)
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// The signature line this key gives `text`.
    pub fn signature_line(&self, text: &str) -> String {
        let sig = self.key.sign(text.as_bytes());
        let mut raw = self.id.to_be_bytes().to_vec();
        raw.extend_from_slice(&sig.to_bytes());
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }
}

fn parse_id(s: &str) -> Option<u32> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// A public verifier key: `<name>+<hex id>+<base64(0x01 ‖ public key)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    pub name: String,
    pub id: u32,
    key: VerifyingKey,
}

impl VerifierKey {
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let t = text.trim();
        let parts: Vec<&str> = t.splitn(3, '+').collect();
        if parts.len() != 3 {
            return Err(NoteError::BadVerifierKey("expected name+id+key"));
        }
        let name = parts[0];
        if !is_valid_name(name) {
            return Err(NoteError::BadName(name.to_string()));
        }
        let id =
            parse_id(parts[1]).ok_or(NoteError::BadVerifierKey("key id is not 8 hex digits"))?;
        let raw = B64
            .decode(parts[2])
            .map_err(|_| NoteError::BadVerifierKey("key is not base64"))?;
        if raw.len() != 33 || raw[0] != ALG_ED25519 {
            return Err(NoteError::BadVerifierKey(
                "key is not an Ed25519 public key",
            ));
        }
        let pk: [u8; 32] = raw[1..]
            .try_into()
            .map_err(|_| NoteError::BadVerifierKey("key is not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&pk)
            .map_err(|_| NoteError::BadVerifierKey("not a valid Ed25519 point"))?;
        if key_id(name, &pk) != id {
            return Err(NoteError::BadVerifierKey("key id does not match the key"));
        }
        Ok(Self {
            name: name.to_string(),
            id,
            key,
        })
    }

    pub fn encode(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(&self.key.to_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub id: u32,
    pub sig: Vec<u8>,
    /// The line as it appeared, newline included.
    pub line: String,
}

/// A parsed note: its text and signature lines (not yet verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Text with no signatures yet. The text must end in a newline and hold no blank
    /// line and no control character other than newline.
    pub fn unsigned(text: &str) -> Result<Self, NoteError> {
        check_text(text)?;
        Ok(Self {
            text: text.to_string(),
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note (at least one signature line).
    pub fn parse(msg: &str) -> Result<Self, NoteError> {
        if msg.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge);
        }
        if msg.chars().any(|c| c.is_control() && c != '\n') {
            return Err(NoteError::Malformed("control character"));
        }
        let split = msg
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let text = &msg[..split + 1];
        check_text(text)?;
        let sigs = &msg[split + 2..];
        if !sigs.ends_with('\n') {
            return Err(NoteError::Malformed(
                "signature block does not end in a newline",
            ));
        }
        let mut signatures = Vec::new();
        for line in sigs.split_inclusive('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::Malformed("too many signatures"));
            }
            signatures.push(parse_sig_line(line)?);
        }
        if signatures.is_empty() {
            return Err(NoteError::Malformed("no signature lines"));
        }
        Ok(Self {
            text: text.to_string(),
            signatures,
        })
    }

    /// Adds this key's signature (replacing an older one by the same key).
    pub fn sign(&mut self, key: &SignerKey) {
        let line = key.signature_line(&self.text);
        self.signatures
            .retain(|s| !(s.name == key.name && s.id == key.id));
        if let Ok(s) = parse_sig_line(&line) {
            self.signatures.push(s);
        }
    }

    /// The note as text: the text, a blank line, the signature lines.
    pub fn encode(&self) -> String {
        let mut s = self.text.clone();
        if !self.signatures.is_empty() {
            s.push('\n');
            for sig in &self.signatures {
                s.push_str(&sig.line);
            }
        }
        s
    }

    /// Checks the signatures made by the given keys. Signatures by other keys are
    /// ignored; a signature by a given key that does not verify is an error; at least
    /// one must verify. Returns the names that signed, each once.
    pub fn verify(&self, keys: &[VerifierKey]) -> Result<Vec<String>, NoteError> {
        let mut ok = Vec::new();
        for s in &self.signatures {
            let Some(k) = keys.iter().find(|k| k.name == s.name && k.id == s.id) else {
                continue;
            };
            let sig = ed25519_dalek::Signature::from_slice(&s.sig)
                .map_err(|_| NoteError::BadSignature(s.name.clone()))?;
            k.key
                .verify(self.text.as_bytes(), &sig)
                .map_err(|_| NoteError::BadSignature(s.name.clone()))?;
            // A key that signed twice (or two trusted keys of one name) is named once.
            if !ok.contains(&s.name) {
                ok.push(s.name.clone());
            }
        }
        if ok.is_empty() {
            let names: Vec<String> = keys
                .iter()
                .map(|k| format!("{}+{:08x}", k.name, k.id))
                .collect();
            return Err(NoteError::Unverified(names.join(", ")));
        }
        Ok(ok)
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(NoteError::Malformed("text does not end in a newline"));
    }
    if text.contains("\n\n") || text.starts_with('\n') {
        return Err(NoteError::Malformed("text holds a blank line"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteError::Malformed("control character in text"));
    }
    Ok(())
}

fn parse_sig_line(line: &str) -> Result<NoteSignature, NoteError> {
    let body = line.strip_suffix('\n').ok_or(NoteError::Malformed(
        "signature line does not end in a newline",
    ))?;
    let rest = body.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed(
        "signature line does not start with an em dash",
    ))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or(NoteError::Malformed("signature line has no signature"))?;
    if !is_valid_name(name) {
        return Err(NoteError::Malformed("bad key name in a signature line"));
    }
    let raw = B64
        .decode(b64)
        .map_err(|_| NoteError::Malformed("signature is not base64"))?;
    if raw.len() < 5 {
        return Err(NoteError::Malformed("signature too short"));
    }
    Ok(NoteSignature {
        name: name.to_string(),
        id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
        sig: raw[4..].to_vec(),
        line: line.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vector() -> serde_json::Value {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/signed-note-ed25519.json"
        );
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    /// Go's sumdb/note reference: signing the text with the signer key must give the
    /// note byte for byte, and the verifier key must accept it.
    #[test]
    fn reproduces_the_go_reference_note() {
        let v = vector();
        let key = SignerKey::parse(v["signer_key"].as_str().unwrap()).unwrap();
        assert_eq!(key.verifier().encode(), v["verifier_key"].as_str().unwrap());
        assert_eq!(key.encode(), v["signer_key"].as_str().unwrap());
        let mut n = Note::unsigned(v["text"].as_str().unwrap()).unwrap();
        n.sign(&key);
        assert_eq!(n.encode(), v["note"].as_str().unwrap());
        let parsed = Note::parse(v["note"].as_str().unwrap()).unwrap();
        let vk = VerifierKey::parse(v["verifier_key"].as_str().unwrap()).unwrap();
        assert_eq!(
            parsed.verify(&[vk]).unwrap(),
            vec!["PeterNeumann".to_string()]
        );
    }

    #[test]
    fn tampering_is_caught() {
        let v = vector();
        let note = v["note"].as_str().unwrap();
        let vk = VerifierKey::parse(v["verifier_key"].as_str().unwrap()).unwrap();
        let changed = note.replacen("cryptography", "cryptograph!", 1);
        assert!(matches!(
            Note::parse(&changed)
                .unwrap()
                .verify(std::slice::from_ref(&vk)),
            Err(NoteError::BadSignature(_))
        ));
        let other = SignerKey::generate("someone").unwrap().verifier();
        assert!(matches!(
            Note::parse(note).unwrap().verify(&[other]),
            Err(NoteError::Unverified(_))
        ));
        for bad in [
            "",
            "no newline",
            "text\n\n",
            "text\n\n— x\n",
            "text\n\n— PeterNeumann !!!\n",
            "a\n\nb\n\n",
        ] {
            assert!(Note::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn generated_keys_round_trip() {
        let k = SignerKey::generate("newsroom.example/leaks").unwrap();
        let k2 = SignerKey::parse(&k.encode()).unwrap();
        assert_eq!(k.verifier(), k2.verifier());
        assert!(VerifierKey::parse(&k.verifier().encode()).is_ok());
        assert!(SignerKey::generate("bad name").is_err());
        assert!(SignerKey::generate("a+b").is_err());
        assert!(
            !format!("{k:?}").contains(&k.encode()[12..]),
            "Debug must not show the secret"
        );
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,200}") {
            let _ = Note::parse(&s);
            let _ = VerifierKey::parse(&s);
            let _ = SignerKey::parse(&s);
        }
    }
}
