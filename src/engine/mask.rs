//! Personal data never reaches a CI log by accident: every value of a personal column is masked
//! for display unless the user asks to see it (`--show-pii`, or the toggle in the TUI).

/// Whether a column (by name, from any table or check result) holds personal data.
pub fn is_personal_column(name: &str) -> bool {
    let name = name.to_lowercase();
    // A rejected record's raw text holds whatever the record held, names and emails included.
    name == "user"
        || name.ends_with("_user")
        || name == "raw_record"
        || ["email", "customername", "phone", "birthday"].iter().any(|p| name.contains(p))
}

/// Keep the shape, hide the person: `Santosh.Clayton@test.com` -> `S******.C******@test.com`,
/// `Santosh Clayton` -> `S****** C******`, digits and dates become `*`.
pub fn mask_value(value: &str) -> String {
    let (local, domain) = match value.rsplit_once('@') {
        Some((local, domain)) => (local, Some(domain)),
        None => (value, None),
    };
    let mut masked = String::with_capacity(value.len());
    let mut word_start = true;
    for c in local.chars() {
        if c.is_alphanumeric() {
            masked.push(if word_start && c.is_alphabetic() { c } else { '*' });
            word_start = false;
        } else {
            masked.push(c);
            word_start = true;
        }
    }
    if let Some(domain) = domain {
        masked.push('@');
        masked.push_str(domain);
    }
    masked
}

/// Mask `value` when `column` is personal and `show_pii` is off.
pub fn display_value(column: &str, value: &str, show_pii: bool) -> String {
    if !show_pii && is_personal_column(column) {
        mask_value(value)
    } else {
        value.to_string()
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
    }

    #[test]
    fn personal_columns_by_name() {
        for c in ["email", "user", "customerName", "phone", "birthDay", "device_owner_email"] {
            assert!(is_personal_column(c), "{c}");
        }
        for c in ["serialNumber", "timestamp", "x", "shareWithResearchAsOfDate"] {
            assert!(!is_personal_column(c), "{c}");
        }
        assert_eq!(display_value("email", "a.b@c.d", true), "a.b@c.d");
    }
}
