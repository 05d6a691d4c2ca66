//! Category members, oldest entry first: the work queues (`adminibot queue`)
//! and the charters' live condition ("category X has an entry older than 1
//! hour") read categories the same way.

use super::facts::{redirects_in, template_redirect_params};
use super::{parse_timestamp, Wiki, WikiError};
use crate::facts::Timestamp;

/// A page in a category, and when it was added there (`cl_timestamp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The page's title.
    pub title: String,
    /// When the page entered the category.
    pub added: Timestamp,
}

/// The first `limit` members of `category`, oldest entry first, 500 per request.
/// With `tags`, the first request also reads the wiki's redirects to those
/// templates (they are returned too), saving a request of its own.
pub async fn members(
    wiki: &Wiki,
    category: &str,
    limit: usize,
    tags: &[String],
) -> Result<(Vec<Member>, Option<Vec<(String, String)>>), WikiError> {
    let mut found = Vec::new();
    let mut redirects = None;
    let mut tags_asked = false;
    let mut next: Option<String> = None;
    while found.len() < limit {
        let mut params = vec![
            ("list".to_string(), "categorymembers".to_string()),
            ("cmtitle".to_string(), category.to_string()),
            ("cmprop".to_string(), "title|timestamp".to_string()),
            ("cmsort".to_string(), "timestamp".to_string()),
            ("cmdir".to_string(), "asc".to_string()),
            (
                "cmlimit".to_string(),
                (limit - found.len()).min(500).to_string(),
            ),
        ];
        let with_tags = !tags_asked && !tags.is_empty() && tags.len() <= 50;
        if with_tags {
            params.extend(template_redirect_params(tags));
        }
        if let Some(cont) = &next {
            params.push(("cmcontinue".to_string(), cont.clone()));
        }
        let answer = wiki.query(&params).await?;
        if with_tags {
            tags_asked = true;
            // More redirects than one answer holds: the caller reads them alone.
            let complete = answer["continue"]["rdcontinue"].is_null();
            redirects = complete.then(|| redirects_in(&answer));
        }
        for member in answer["query"]["categorymembers"]
            .as_array()
            .into_iter()
            .flatten()
        {
            found.push(Member {
                title: member["title"].as_str().unwrap_or_default().to_string(),
                added: parse_timestamp(&member["timestamp"])?,
            });
        }
        next = answer["continue"]["cmcontinue"]
            .as_str()
            .map(str::to_string);
        if next.is_none() {
            break;
        }
    }
    found.truncate(limit);
    Ok((found, redirects))
}

/// When the longest-waiting member of `category` was added (None: the
/// category is empty).
pub async fn oldest_member(wiki: &Wiki, category: &str) -> Result<Option<Timestamp>, WikiError> {
    let (members, _) = members(wiki, category, 1, &[]).await?;
    Ok(members.first().map(|m| m.added))
}
