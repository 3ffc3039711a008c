//! Personal data never reaches a CI log by accident: every value of a personal column is masked
//! for display unless the user asks to see it (`--show-pii`, or the toggle in the TUI).

/// Whether a column (by name, from any table or check result) holds personal data.
pub fn is_personal_column(name: &str) -> bool {
    let name = name.to_lowercase();
    // A rejected record's raw text holds whatever the record held, names and emails included.
    name == "user"
        || name.ends_with("_user")
        || name == "raw_record"
        // A time named after one (`phone_consent_at`: when the phone's user consented) is not.
        || (["email", "customername", "phone", "birthday"].iter().any(|p| name.contains(p)) && !name.ends_with("_at"))
}

/// Keep the shape, hide the person: `Santosh.Clayton@test.com` -> `S******.C******@test.com`,
/// `Santosh Clayton` -> `S****** C******`, digits and dates become `*`.
pub fn mask_value(value: &str) -> String {
    let (local, domain) = match value.rsplit_once('@') {
        Some((local, domain)) => (local, Some(domain)),
        None => (value, None),
    };
    let mut masked = String::with_capacity(value.len());
    let chars: Vec<char> = local.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let word_start = i == 0 || !chars[i - 1].is_alphanumeric();
        // A word's first letter stays, unless it is the whole word (`a@b.c` would be unmasked).
        let longer = chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        let shown = !c.is_alphanumeric() || (word_start && longer && c.is_alphabetic());
        masked.push(if shown { c } else { '*' });
    }
    if let Some(domain) = domain {
        masked.push('@');
        masked.push_str(domain);
    }
    masked
}

/// Mask `value` when `column` is personal and `show_pii` is off. A rejected record's raw text is
/// masked field by field ([`mask_record`]), never as one string.
pub fn display_value(column: &str, value: &str, show_pii: bool) -> String {
    if show_pii || !is_personal_column(column) {
        value.to_string()
    } else if column.eq_ignore_ascii_case("raw_record") {
        mask_record(value)
    } else {
        mask_value(value)
    }
}

/// A rejected record's raw text with its personal data masked: a record that did not fit its
/// columns may hold anything anywhere (a name in the consent field, an email where a number
/// belongs), so every text in it is masked as a personal value is, and so is every value of a
/// personal field; numbers, booleans and nulls of other fields stay, with every field name.
/// Text that is not JSON (a malformed or truncated record) cannot be split into fields, so all of
/// it is hidden, leaving its length and a short hash.
pub fn mask_record(raw: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(value) => mask_json(value, false).to_string(),
        Err(_) => {
            use sha2::{Digest, Sha256};
            let digest = Sha256::digest(raw.as_bytes());
            let short: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
            format!("‹unparsed record: {} bytes, sha256 {short}…›", raw.len())
        }
    }
}

/// `value` masked: every text, and all of it when `personal` (it sits in a personal field); the
/// fields of its objects by their own names.
fn mask_json(value: serde_json::Value, personal: bool) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(mask_value(&s)),
        Value::Number(n) if personal => Value::String(mask_value(&n.to_string())),
        Value::Bool(_) if personal => Value::String("*".to_string()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| {
                    let personal = personal || is_personal_column(&k);
                    (k, mask_json(v, personal))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| mask_json(v, personal)).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_emails_names_phones_and_dates() {
        assert_eq!(mask_value("Santosh.Clayton@test.com"), "S******.C******@test.com");
        assert_eq!(mask_value("Santosh Clayton"), "S****** C******");
        assert_eq!(mask_value("8015551212"), "**********");
        assert_eq!(mask_value("1900-01-01"), "****-**-**");
        assert_eq!(mask_value("a@b.c"), "*@b.c");
        assert_eq!(mask_value("J. R. Ewing"), "*. *. E****");
    }

    #[test]
    fn personal_columns_by_name() {
        for c in ["email", "user", "customerName", "phone", "birthDay", "device_owner_email"] {
            assert!(is_personal_column(c), "{c}");
        }
        for c in ["serialNumber", "timestamp", "x", "shareWithResearchAsOfDate", "phone_consent_at"] {
            assert!(!is_personal_column(c), "{c}");
        }
        assert_eq!(display_value("email", "a.b@c.d", true), "a.b@c.d");
    }

    #[test]
    fn rejected_records_are_masked_field_by_field() {
        let raw = r#"{"customerName":"Ann Lee","email":"Ann.Lee@x.com","phone":"8015551212","birthDay":"1961-02-30","serialNumber":"abc-1","shareWithResearchAsOfDate":true,"phone2":8015551212,"notes":{"mail":"a@b.c"}}"#;
        let masked = display_value("raw_record", raw, false);
        for secret in ["Ann Lee", "Ann.Lee@x.com", "8015551212", "1961-02-30", "a@b.c"] {
            assert!(!masked.contains(secret), "{secret} in {masked}");
        }
        assert!(masked.contains(r#""serialNumber":"a**-*""#), "{masked}");
        assert!(masked.contains(r#""shareWithResearchAsOfDate":true"#), "{masked}");
        assert!(masked.contains(r#""customerName":"A** L**""#), "{masked}");
        // Not JSON (malformed, or cut at 2,000 characters): nothing of it is shown.
        let broken = r#"{"email":"Ann.Lee@x.com","phone":"80155"#;
        let masked = display_value("raw_record", broken, false);
        assert!(masked.starts_with("‹unparsed record: 39 bytes, sha256 "), "{masked}");
        assert!(!masked.contains("Ann") && !masked.contains("80155"), "{masked}");
        assert_eq!(display_value("raw_record", broken, true), broken);
        // A name, a phone number or an email in a field of any name is hidden too.
        assert_eq!(
            mask_record(r#"{"x":"8015551212","y":"Ann.Lee@x.com","z":"Ann Lee","t":1655564376361}"#),
            r#"{"t":1655564376361,"x":"**********","y":"A**.L**@x.com","z":"A** L**"}"#
        );
    }
}
