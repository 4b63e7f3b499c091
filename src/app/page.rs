//! One page of a list: which page a reply asks for (`page:`, `after:`, `before:`), where it
//! starts, and how to reach its neighbours. `/backorders`, `/pos` and `/customer` page alike.

use super::{App, AppError, AppResult};
use crate::domain::page::{PageKey, Seek};
use crate::store::keyset::{KeyColumn, Keyed};

/// Which page a list reply asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest<'a> {
    /// 1-based page (shown; with no key, the page to skip to).
    pub page: u32,
    /// The key of a row shown: the page starts right after it (Next) ...
    pub after: Option<&'a str>,
    /// ... or ends right before it (Prev).
    pub before: Option<&'a str>,
}

impl Default for PageRequest<'_> {
    /// Page 1.
    fn default() -> Self {
        PageRequest {
            page: 1,
            after: None,
            before: None,
        }
    }
}

/// Where a keyset page is and how to reach its neighbours.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageNav {
    /// 1-based page shown.
    pub page: u32,
    /// Number of pages (at least 1).
    pub pages: u32,
    /// Rows in all.
    pub total: i64,
    /// Key to page back from (`before:`), when there are rows before.
    pub prev: Option<String>,
    /// Key to page on from (`after:`), when there are rows after.
    pub next: Option<String>,
}

/// The rows of one page, and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    /// Rows on this page, in list order.
    pub rows: Vec<T>,
    /// Page number, count and neighbours.
    pub nav: PageNav,
}

impl<T> Paged<T> {
    /// The same page with each row turned into what the list shows.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            rows: self.rows.into_iter().map(f).collect(),
            nav: self.nav,
        }
    }
}

/// How long a page key ([`page_keys`]) stays valid after a reply last showed it. A button is
/// pressed while its list is read, seldom days later; each page shown keeps its neighbours'
/// keys alive, and an older button says the list has expired (running the command again is
/// one step). Thirty days bounds the table by a month of long lists.
pub const PAGE_KEYS_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// The keys under which `invocations` (an adapter's text for commands too long for their
/// buttons) are kept for every process on the database, in order; the same text gets the same
/// key. One transaction, which also forgets the invocations not shown for [`PAGE_KEYS_KEPT`].
pub async fn page_keys(app: &App, invocations: &[String]) -> AppResult<Vec<i64>> {
    let now = app.clock.now();
    let mut tx = app.store.begin_write().await?;
    let mut keys = Vec::with_capacity(invocations.len());
    for invocation in invocations {
        keys.push(crate::store::page_invocations::key_for(&mut tx, invocation, now).await?);
    }
    crate::store::page_invocations::prune(&mut tx, now - PAGE_KEYS_KEPT).await?;
    tx.commit().await?;
    Ok(keys)
}

/// The invocation kept under `key` by [`page_keys`]; `None` once it is forgotten.
pub async fn invocation_for_key(app: &App, key: i64) -> AppResult<Option<String>> {
    let mut conn = app.store.conn().await?;
    let since = app.clock.now() - PAGE_KEYS_KEPT;
    Ok(crate::store::page_invocations::get(&mut conn, key, since).await?)
}

/// Reads the page `req` asks for, of the console's page size, of a list in `order`. `list` reads
/// the rows from where the page starts, at most as many as given, with their keys and the number
/// of rows in all.
pub(crate) async fn paged<T>(
    app: &App,
    req: &PageRequest<'_>,
    order: &[KeyColumn],
    list: impl AsyncFnOnce(&Seek, i64) -> anyhow::Result<(Vec<T>, Keyed, i64)>,
) -> AppResult<Paged<T>> {
    let size = i64::from(app.settings.console.page_size);
    // A key of another list (another sort:) has other kinds of parts.
    let shape: String = order.iter().map(|c| c.kind).collect();
    let seek = seek_of(req, size, &shape)?;
    let (rows, keyed, total) = list(&seek, size).await?;
    let nav = nav_of(req.page, &seek, &keyed, total, size)?;
    Ok(Paged { rows, nav })
}

/// Where a page starts: after/before a key (buttons), or `page:` skipped to from the top.
fn seek_of(req: &PageRequest<'_>, size: i64, shape: &str) -> AppResult<Seek> {
    if req.page == 0 {
        return Err(AppError::invalid("page", "pages start at 1"));
    }
    let key = |name: &'static str, raw: &str| {
        PageKey::parse(raw)
            .ok()
            .filter(|k| k.has_shape(shape))
            .ok_or_else(|| {
                AppError::invalid(
                    name,
                    "is not a key of this list (use the buttons, or page:N)",
                )
            })
    };
    Ok(match (req.after, req.before) {
        (Some(_), Some(_)) => {
            return Err(AppError::invalid(
                "after",
                "give after: or before:, not both",
            ))
        }
        (Some(a), None) => Seek::After(key("after", a)?),
        (None, Some(b)) => Seek::Before(key("before", b)?),
        (None, None) if req.page == 1 => Seek::First,
        (None, None) => Seek::Skip((i64::from(req.page) - 1) * size),
    })
}

/// Page number, count and neighbour keys of a keyset page; a `page:` past the end is the
/// user's error naming the last page.
fn nav_of(page: u32, seek: &Seek, keyed: &Keyed, total: i64, size: i64) -> AppResult<PageNav> {
    let pages = ((total + size - 1) / size).max(1) as u32;
    if matches!(seek, Seek::Skip(_)) && page > pages {
        return Err(AppError::invalid(
            "page",
            format!(
                "there {} only {pages}",
                if pages == 1 { "is" } else { "are" }
            ),
        ));
    }
    let page = match seek {
        Seek::First => 1,
        // Rows added or removed meanwhile can shift the count: keep the number within it.
        _ if !keyed.more_before => 1,
        _ if !keyed.more_after => pages,
        _ => page.clamp(1, pages),
    };
    Ok(PageNav {
        page,
        pages,
        total,
        prev: keyed
            .more_before
            .then(|| keyed.first_key().map(PageKey::encode))
            .flatten(),
        next: keyed
            .more_after
            .then(|| keyed.last_key().map(PageKey::encode))
            .flatten(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::page::KeyPart;

    #[test]
    fn a_page_starts_at_the_top_a_skip_or_a_key_of_the_lists_shape() {
        let key = PageKey(vec![KeyPart::Text("PO-1".into()), KeyPart::Int(7)]).encode();
        let at = |page, after, before| {
            seek_of(
                &PageRequest {
                    page,
                    after,
                    before,
                },
                25,
                "ti",
            )
        };
        assert_eq!(at(1, None, None).unwrap(), Seek::First);
        assert_eq!(at(3, None, None).unwrap(), Seek::Skip(50));
        assert!(matches!(at(2, Some(&key), None).unwrap(), Seek::After(_)));
        assert!(matches!(at(2, None, Some(&key)).unwrap(), Seek::Before(_)));
        let refused = |r: AppResult<Seek>| r.unwrap_err().to_string();
        assert_eq!(refused(at(0, None, None)), "page: pages start at 1");
        assert_eq!(
            refused(at(1, Some(&key), Some(&key))),
            "after: give after: or before:, not both"
        );
        let other_list = PageKey(vec![KeyPart::Int(7)]).encode();
        assert_eq!(
            refused(at(1, None, Some(&other_list))),
            "before: is not a key of this list (use the buttons, or page:N)"
        );
    }

    #[test]
    fn a_page_past_the_end_names_the_last_one() {
        let none = Keyed::default();
        let e = nav_of(4, &Seek::Skip(75), &none, 30, 25).unwrap_err();
        assert_eq!(e.to_string(), "page: there are only 2");
        let nav = nav_of(1, &Seek::First, &none, 0, 25).unwrap();
        assert_eq!(
            (nav.page, nav.pages, nav.prev, nav.next),
            (1, 1, None, None)
        );
    }
}
