//! What can be said about a title before asking the wiki.
//!
//! The wiki is the authority on titles (namespaces, case, Unicode); locally we
//! only refuse what can never name a page: empty titles, fragments and characters
//! MediaWiki forbids. Nothing here changes case.

/// Why a title was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TitleError {
    /// Empty or only whitespace.
    #[error("the title is empty")]
    Empty,
    /// `Foo#Bar` names a section, not a page.
    #[error("`{0}` names a section (after `#`); give the page title alone")]
    Fragment(String),
    /// Characters MediaWiki never allows in titles.
    #[error("`{title}` contains `{character}`, which no page title may contain")]
    IllegalCharacter {
        /// The title as given.
        title: String,
        /// The first offending character.
        character: char,
    },
    /// Over MediaWiki's 255-byte limit.
    #[error("the title is {0} bytes long; page titles have at most 255")]
    TooLong(usize),
    /// The wiki says the title is invalid.
    #[error("the wiki says `{title}` is not a valid title: {reason}")]
    Invalid {
        /// The title as given.
        title: String,
        /// The wiki's reason.
        reason: String,
    },
    /// A link to another wiki.
    #[error("`{0}` points to another wiki (interwiki prefix); adminibot acts only on this wiki")]
    Interwiki(String),
    /// Special or Media pages cannot be deleted.
    #[error("`{0}` is a special page, which cannot be deleted or undeleted")]
    Special(String),
}

/// The title as the wiki normalises it (`draft:my_page` → `Draft:My page`),
/// refusing invalid, interwiki and special titles.
pub async fn normalise(wiki: &super::Wiki, title: &str) -> Result<String, super::WikiError> {
    let title = precheck(title)?;
    let answer = wiki.query(&[("titles".into(), title.to_string())]).await?;
    let query = &answer["query"];
    if query["interwiki"].as_array().is_some_and(|a| !a.is_empty()) {
        return Err(TitleError::Interwiki(title.to_string()).into());
    }
    let page = &query["pages"][0];
    if page["invalid"].as_bool() == Some(true) {
        return Err(TitleError::Invalid {
            title: title.to_string(),
            reason: invalid_reason(page),
        }
        .into());
    }
    if page["ns"].as_i64().is_some_and(|ns| ns < 0) {
        return Err(TitleError::Special(title.to_string()).into());
    }
    page["title"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| super::WikiError::Unexpected("no normalised title".into()))
}

/// Why the wiki called a page entry `invalid`. With `errorformat=bc` the reason
/// is a string; with the other formats (mwapi asks for `plaintext`) it is
/// `{"code": "title-invalid-leading-colon", "text": "..."}`.
pub(super) fn invalid_reason(page: &serde_json::Value) -> String {
    let reason = &page["invalidreason"];
    reason
        .as_str()
        .or_else(|| reason["text"].as_str())
        .or_else(|| reason["code"].as_str())
        .unwrap_or("the wiki refused it")
        .to_string()
}

/// Refuses titles that can never name a page; returns the title trimmed.
pub fn precheck(title: &str) -> Result<&str, TitleError> {
    let trimmed = title.trim();
    if trimmed.is_empty() {
        return Err(TitleError::Empty);
    }
    if trimmed.contains('#') {
        return Err(TitleError::Fragment(trimmed.to_string()));
    }
    if let Some(character) = trimmed
        .chars()
        .find(|c| matches!(c, '<' | '>' | '[' | ']' | '{' | '}' | '|') || c.is_control())
    {
        return Err(TitleError::IllegalCharacter {
            title: trimmed.to_string(),
            character,
        });
    }
    if trimmed.len() > 255 + 64 {
        // Namespace prefixes are not counted by MediaWiki; leave room for them.
        return Err(TitleError::TooLong(trimmed.len()));
    }
    Ok(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_titles_pass_untouched() {
        assert_eq!(precheck("  draft:my page "), Ok("draft:my page"));
        assert_eq!(precheck("ßtraße"), Ok("ßtraße"));
    }

    /// T-9: the wiki's reason reaches the user whatever the error format.
    #[test]
    fn the_wikis_reason_for_an_invalid_title_is_kept() {
        let text = "The requested page title contains an invalid colon at the beginning.";
        let plaintext = serde_json::json!({"invalid": true, "invalidreason":
            {"code": "title-invalid-leading-colon", "text": text}});
        assert_eq!(invalid_reason(&plaintext), text);
        let bc = serde_json::json!({"invalid": true, "invalidreason": text});
        assert_eq!(invalid_reason(&bc), text);
        let code_only = serde_json::json!({"invalidreason": {"code": "title-invalid-empty"}});
        assert_eq!(invalid_reason(&code_only), "title-invalid-empty");
        assert_eq!(
            invalid_reason(&serde_json::json!({"invalid": true})),
            "the wiki refused it"
        );
    }

    #[test]
    fn impossible_titles_are_refused() {
        assert_eq!(precheck(" "), Err(TitleError::Empty));
        assert!(matches!(precheck("Foo#Bar"), Err(TitleError::Fragment(_))));
        assert!(matches!(
            precheck("Foo|Bar"),
            Err(TitleError::IllegalCharacter { character: '|', .. })
        ));
        assert!(matches!(
            precheck("a[[b]]"),
            Err(TitleError::IllegalCharacter { character: '[', .. })
        ));
        assert!(matches!(
            precheck("a\u{7}b"),
            Err(TitleError::IllegalCharacter { .. })
        ));
        assert!(matches!(
            precheck(&"x".repeat(400)),
            Err(TitleError::TooLong(400))
        ));
    }
}
