//! Product search rules: what a query matches, how hits rank, and how close a near miss is.
//!
//! A query is a SKU prefix and/or words. A product matches when its SKU starts with the whole
//! query, or when every word occurs in its SKU or its name (case-insensitive, anywhere). Words
//! of fewer than [`MIN_TERM`] characters narrow a search but cannot start one: the index is
//! made of trigrams, so a query of only such words matches SKU prefixes only.

use super::{ParseError, ProductId};
use std::cmp::Ordering;

/// A product as search shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductHit {
    /// Row id.
    pub id: ProductId,
    /// Shop's spelling.
    pub sku: String,
    /// Name.
    pub name: String,
    /// On hand less allocated.
    pub available: i64,
}

/// Shortest word the trigram index can look up.
pub const MIN_TERM: usize = 3;

/// Most words a query may have.
pub const MAX_TERMS: usize = 8;

/// Longest query accepted, in characters.
pub const MAX_LEN: usize = 100;

/// Lowest [`similarity`] offered as "did you mean".
pub const SUGGEST_AT: f64 = 0.6;

/// A checked search query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The query as typed, trimmed.
    pub text: String,
    /// Upper-case SKU key the query is a prefix of, when it could be one (no spaces).
    pub sku_key: Option<String>,
    /// Lower-case words, in order, without repeats.
    pub terms: Vec<String>,
}

impl SearchQuery {
    /// Checks a query: not empty, at most [`MAX_LEN`] characters and [`MAX_TERMS`] words.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(ParseError::new("cannot be empty"));
        }
        if text.chars().count() > MAX_LEN {
            return Err(ParseError::new(format!(
                "is longer than {MAX_LEN} characters"
            )));
        }
        let mut terms: Vec<String> = Vec::new();
        for w in text.split_whitespace() {
            let w = w.to_lowercase();
            if !terms.contains(&w) {
                terms.push(w);
            }
        }
        if terms.len() > MAX_TERMS {
            return Err(ParseError::new(format!("has more than {MAX_TERMS} words")));
        }
        let sku_key = super::Sku::parse(text).ok().map(|s| s.key());
        Ok(Self {
            text: text.to_string(),
            sku_key,
            terms,
        })
    }

    /// Words the trigram index can look up.
    pub fn long_terms(&self) -> impl Iterator<Item = &str> {
        self.terms
            .iter()
            .filter(|t| t.chars().count() >= MIN_TERM)
            .map(String::as_str)
    }

    /// Words too short for the index: they only filter.
    pub fn short_terms(&self) -> impl Iterator<Item = &str> {
        self.terms
            .iter()
            .filter(|t| t.chars().count() < MIN_TERM)
            .map(String::as_str)
    }

    /// Whether words can match at all (at least one is long enough for the index).
    pub fn searches_words(&self) -> bool {
        self.long_terms().next().is_some()
    }
}

/// How well a product matches, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchRank {
    /// The SKU is the query.
    ExactSku,
    /// The SKU starts with the query.
    SkuPrefix,
    /// Every word starts a word of the name.
    NameWords,
    /// Every word occurs somewhere in the SKU or the name.
    Substring,
}

/// Whether `word` starts a word of `text` (both lower case): at the start or after a character
/// that is not a letter or digit.
fn starts_a_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        text[..i]
            .chars()
            .next_back()
            .map_or(true, |c| !c.is_alphanumeric())
    })
}

/// How a product matches the query, if it does.
pub fn rank(q: &SearchQuery, sku: &str, name: &str) -> Option<MatchRank> {
    if let Some(key) = &q.sku_key {
        let sku_key = sku.to_ascii_uppercase();
        if sku_key == *key {
            return Some(MatchRank::ExactSku);
        }
        if sku_key.starts_with(key.as_str()) {
            return Some(MatchRank::SkuPrefix);
        }
    }
    if !q.searches_words() {
        return None;
    }
    let (sku, name) = (sku.to_lowercase(), name.to_lowercase());
    if !q
        .terms
        .iter()
        .all(|t| name.contains(t.as_str()) || sku.contains(t.as_str()))
    {
        return None;
    }
    if q.terms.iter().all(|t| starts_a_word(&name, t)) {
        Some(MatchRank::NameWords)
    } else {
        Some(MatchRank::Substring)
    }
}

/// Result order: rank, then in stock before out of stock, then SKU key.
pub fn order(a: (MatchRank, bool, &str), b: (MatchRank, bool, &str)) -> Ordering {
    a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then_with(|| {
        // Compared byte by byte, upper-cased on the way: no copies while sorting.
        let (x, y) = (a.2.bytes(), b.2.bytes());
        x.map(|c| c.to_ascii_uppercase())
            .cmp(y.map(|c| c.to_ascii_uppercase()))
    })
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment).
pub fn typo_distance(a: &str, b: &str) -> usize {
    if a.is_ascii() && b.is_ascii() {
        osa(a.as_bytes(), b.as_bytes())
    } else {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        osa(&a, &b)
    }
}

/// [`typo_distance`] over characters (or bytes of ASCII text), keeping three rows of the table
/// (on the stack for words of up to 47 characters): "did you mean" scores hundreds of products
/// per query.
fn osa<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    const ON_STACK: usize = 48;
    let w = b.len() + 1;
    if w <= ON_STACK {
        let mut rows = [[0usize; ON_STACK]; 3];
        let [before, prev, cur] = &mut rows;
        osa_in(a, b, &mut before[..w], &mut prev[..w], &mut cur[..w])
    } else {
        osa_in(a, b, &mut vec![0; w], &mut vec![0; w], &mut vec![0; w])
    }
}

/// [`osa`] in rows i-2, i-1 and i of the table, each `b.len() + 1` long.
fn osa_in<'r, T: PartialEq>(
    a: &[T],
    b: &[T],
    mut before: &'r mut [usize],
    mut prev: &'r mut [usize],
    mut cur: &'r mut [usize],
) -> usize {
    for (j, p) in prev.iter_mut().enumerate() {
        *p = j;
    }
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(before[j - 2] + 1);
            }
            cur[j] = v;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// 1 for equal strings, towards 0 the more edits they are apart relative to their length.
fn closeness(a: &str, b: &str) -> f64 {
    let len = char_len(a).max(char_len(b));
    if len == 0 {
        return 0.0;
    }
    1.0 - typo_distance(a, b) as f64 / len as f64
}

/// How close a product is to a query that matched nothing, 0..=1: each word against the
/// closest word of the name (or the SKU), averaged; or the whole query against the SKU,
/// whichever is closer.
pub fn similarity(q: &SearchQuery, sku: &str, name: &str) -> f64 {
    Similarity::new(q).of(sku, name)
}

/// [`similarity`] to one query of many products, remembering the closeness of each query word
/// to each word met: the products "did you mean" scores share most of their words
/// ("synthetic", "product", a colour), and the edit distance is most of the work.
#[derive(Debug)]
pub struct Similarity<'q> {
    q: &'q SearchQuery,
    text: String,
    /// By query word: the closeness of each word met.
    memo: Vec<std::collections::HashMap<String, f64>>,
    /// The product being scored, lower-cased, and where its name's words are (kept between
    /// products: no allocation per product).
    sku: String,
    name: String,
    words: Vec<(usize, usize)>,
}

impl<'q> Similarity<'q> {
    /// A scorer for `q`.
    pub fn new(q: &'q SearchQuery) -> Self {
        Self {
            q,
            text: q.text.to_lowercase(),
            memo: vec![Default::default(); q.terms.len()],
            sku: String::new(),
            name: String::new(),
            words: Vec::new(),
        }
    }

    /// [`similarity`] of a product.
    pub fn of(&mut self, sku: &str, name: &str) -> f64 {
        let Self {
            q,
            text,
            memo,
            sku: sku_lower,
            name: name_lower,
            words: spans,
        } = self;
        lower_into(sku_lower, sku);
        lower_into(name_lower, name);
        spans.clear();
        let mut start = None;
        for (i, c) in name_lower.char_indices() {
            match (c.is_alphanumeric(), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    spans.push((s, i));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            spans.push((s, name_lower.len()));
        }
        // Each word with its length in characters, counted once for every query word.
        let words = spans
            .iter()
            .map(|&(a, b)| &name_lower[a..b])
            .chain(std::iter::once(sku_lower.as_str()))
            .map(|w| (w, char_len(w)));
        let mut sum = 0.0;
        for (t, memo) in q.terms.iter().zip(memo.iter_mut()) {
            let lt = char_len(t);
            sum += words.clone().fold(0.0, |best, (w, lw)| {
                let len = lt.max(lw);
                let beats = |edits: usize| len > 0 && 1.0 - edits as f64 / len as f64 > best;
                if !beats(lt.abs_diff(lw)) {
                    return best;
                }
                let c = match memo.get(w) {
                    Some(c) => *c,
                    // Characters one word has more of than the other each take an edit: when
                    // those alone keep it from beating `best`, the table is not worth filling.
                    None if !beats(bag_distance(t, w)) => return best,
                    None => {
                        let c = closeness(t, w);
                        memo.insert(w.to_string(), c);
                        c
                    }
                };
                best.max(c)
            });
        }
        let per_term = sum / q.terms.len().max(1) as f64;
        closer(text, sku_lower, per_term)
    }
}

/// `s` lower-cased into `buf` (as `str::to_lowercase`).
fn lower_into(buf: &mut String, s: &str) {
    buf.clear();
    if s.is_ascii() {
        buf.push_str(s);
        buf.make_ascii_lowercase();
    } else {
        buf.push_str(&s.to_lowercase());
    }
}

/// Characters in `s` (its length when ASCII).
fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Whether `a` and `b` may be closer than `best`, at least [`bag_distance`] edits apart.
fn may_beat(a: &str, b: &str, best: f64) -> bool {
    let len = char_len(a).max(char_len(b));
    len > 0 && 1.0 - bag_distance(a, b) as f64 / len as f64 > best
}

/// A lower bound of [`typo_distance`]: the larger of the counts of characters one word has
/// more of than the other (an insertion, deletion or substitution evens out at most one on
/// each side, a swap none). For other than ASCII words, the difference of their lengths.
fn bag_distance(a: &str, b: &str) -> usize {
    if !(a.is_ascii() && b.is_ascii()) {
        return char_len(a).abs_diff(char_len(b));
    }
    let mut held = [0i32; 128];
    for c in a.bytes() {
        held[usize::from(c)] += 1;
    }
    for c in b.bytes() {
        held[usize::from(c)] -= 1;
    }
    // Summed over the characters the words hold (each once: taken when met), not all 128.
    let (mut more, mut fewer) = (0, 0);
    for c in a.bytes().chain(b.bytes()) {
        let n = std::mem::take(&mut held[usize::from(c)]);
        if n > 0 {
            more += n;
        } else {
            fewer -= n;
        }
    }
    more.max(fewer) as usize
}

/// The larger of `best` and the [`closeness`] of `a` and `b`, skipping the edit distance when
/// their length or character counts alone keep them from beating `best` ([`may_beat`]).
fn closer(a: &str, b: &str, best: f64) -> f64 {
    if !may_beat(a, b, best) {
        return best;
    }
    best.max(closeness(a, b))
}

/// The trigrams of each word (lower case), where "did you mean" starts looking, and each word's
/// first two characters (to widen the start to trigrams that begin the same way: a swap in a
/// short word changes all of its own trigrams).
pub fn typo_seeds(q: &SearchQuery) -> (Vec<String>, Vec<String>) {
    let mut trigrams = Vec::new();
    let mut prefixes = Vec::new();
    for t in &q.terms {
        let chars: Vec<char> = t.chars().collect();
        for w in chars.windows(3) {
            let tri: String = w.iter().collect();
            if !trigrams.contains(&tri) {
                trigrams.push(tri);
            }
        }
        if chars.len() >= 2 {
            let p: String = chars[..2].iter().collect();
            if !prefixes.contains(&p) {
                prefixes.push(p);
            }
        }
    }
    (trigrams, prefixes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> SearchQuery {
        SearchQuery::parse(s).unwrap()
    }

    #[test]
    fn a_query_is_checked_and_split_into_lower_case_words() {
        let query = q("  Wireless  MOUSE wireless ");
        assert_eq!(query.terms, vec!["wireless", "mouse"]);
        assert_eq!(query.sku_key, None);
        assert_eq!(q("ms-2").sku_key.as_deref(), Some("MS-2"));
        assert!(SearchQuery::parse("   ").is_err());
        assert!(SearchQuery::parse(&"x".repeat(101)).is_err());
        assert!(SearchQuery::parse("a b c d e f g h i").is_err());
    }

    #[test]
    fn ranks_follow_sku_then_name_words_then_substrings() {
        assert_eq!(
            rank(&q("ms-200"), "MS-200", "Mouse"),
            Some(MatchRank::ExactSku)
        );
        assert_eq!(
            rank(&q("ms-2"), "MS-200", "Mouse"),
            Some(MatchRank::SkuPrefix)
        );
        assert_eq!(
            rank(&q("wire mou"), "MS-200", "Wireless Mouse"),
            Some(MatchRank::NameWords)
        );
        assert_eq!(
            rank(&q("less"), "MS-200", "Wireless Mouse"),
            Some(MatchRank::Substring)
        );
        // A word found only in the SKU is a substring match.
        assert_eq!(
            rank(&q("200 mouse"), "MS-200", "Wireless Mouse"),
            Some(MatchRank::Substring)
        );
        assert_eq!(rank(&q("keyboard"), "MS-200", "Wireless Mouse"), None);
    }

    #[test]
    fn short_words_filter_but_never_match_alone() {
        assert_eq!(rank(&q("ms"), "KB-1", "Ms keyboard"), None);
        assert_eq!(
            rank(&q("ms"), "MS-200", "Mouse"),
            Some(MatchRank::SkuPrefix)
        );
        assert_eq!(
            rank(&q("keyboard ms"), "KB-1", "Ms keyboard"),
            Some(MatchRank::NameWords)
        );
        assert_eq!(rank(&q("keyboard zz"), "KB-1", "Ms keyboard"), None);
    }

    #[test]
    fn in_stock_comes_first_within_a_rank_only() {
        let mut v = [
            (MatchRank::Substring, true, "A"),
            (MatchRank::NameWords, false, "C"),
            (MatchRank::NameWords, true, "D"),
            (MatchRank::NameWords, false, "B"),
        ];
        v.sort_by(|a, b| order(*a, *b));
        let skus: Vec<&str> = v.iter().map(|x| x.2).collect();
        assert_eq!(skus, vec!["D", "B", "C", "A"]);
    }

    #[test]
    fn typo_distance_counts_a_swap_as_one_edit() {
        assert_eq!(typo_distance("mosue", "mouse"), 1);
        assert_eq!(typo_distance("mouse", "mouse"), 0);
        assert_eq!(typo_distance("keybord", "keyboard"), 1);
        assert_eq!(typo_distance("", "abc"), 3);
        assert_eq!(typo_distance("ca", "abc"), 3);
        assert_eq!(typo_distance("naïve", "naive"), 1);
    }

    /// The whole table, as the definition reads.
    fn full_table(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()]
    }

    #[test]
    fn typo_distance_keeping_three_rows_equals_the_whole_table() {
        let letters = ['a', 'b', 'c', 'é', '1'];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let word = |seed: &mut u64| -> String {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            let len = (*seed % 7) as usize;
            (0..len)
                .map(|k| letters[((*seed >> (8 + 3 * k)) % 5) as usize])
                .collect()
        };
        for _ in 0..5000 {
            let (a, b) = (word(&mut seed), word(&mut seed));
            let d = typo_distance(&a, &b);
            assert_eq!(d, full_table(&a, &b), "{a:?} {b:?}");
            assert!(bag_distance(&a, &b) <= d, "{a:?} {b:?}");
        }
        // Long enough for the rows to leave the stack (48 entries and more), and around it.
        let long = |n: usize, seed: &mut u64| -> String {
            (0..n)
                .map(|_| letters[((word(seed).len() as u64 + *seed) % 5) as usize])
                .collect()
        };
        for (la, lb) in [
            (47, 47),
            (46, 47),
            (47, 48),
            (48, 47),
            (60, 3),
            (3, 60),
            (52, 49),
        ] {
            for _ in 0..20 {
                let (a, b) = (long(la, &mut seed), long(lb, &mut seed));
                let d = typo_distance(&a, &b);
                assert_eq!(d, full_table(&a, &b), "{a:?} {b:?}");
                assert!(bag_distance(&a, &b) <= d, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn similarity_finds_the_closest_word_or_the_sku() {
        let s = similarity(&q("mosue"), "MS-200", "Wireless Mouse");
        assert!((s - 0.8).abs() < 1e-9, "{s}");
        let s = similarity(&q("ms-20o"), "MS-200", "Wireless Mouse");
        assert!((s - 5.0 / 6.0).abs() < 1e-9, "{s}");
        assert!(similarity(&q("zzzz"), "MS-200", "Wireless Mouse") < SUGGEST_AT);
    }

    #[test]
    fn similarity_skipping_hopeless_lengths_and_remembering_words_equals_scoring_every_word() {
        let naive = |q: &SearchQuery, sku: &str, name: &str| {
            let (sku, name) = (sku.to_lowercase(), name.to_lowercase());
            let words: Vec<&str> = name
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .chain(std::iter::once(sku.as_str()))
                .collect();
            let per_term = q
                .terms
                .iter()
                .map(|t| words.iter().map(|w| closeness(t, w)).fold(0.0, f64::max))
                .sum::<f64>()
                / q.terms.len() as f64;
            per_term.max(closeness(&q.text.to_lowercase(), &sku))
        };
        let names = [
            "Synthetic product 4321 red",
            "Wireless Mouse",
            "Ergonomic mouse pad XL",
            "Café crème",
            "a",
        ];
        let queries = [
            "prodcut 4321",
            "mosue",
            "ms-20o",
            "synthetci",
            "cafe creme",
            "xl",
            "z",
        ];
        for text in queries {
            let query = q(text);
            // One scorer for every product, as "did you mean" scores them: what it remembers
            // of one product changes nothing for the next.
            let mut scorer = Similarity::new(&query);
            for _ in 0..2 {
                for name in names {
                    for sku in ["SYN-0004321", "MS-200", "C"] {
                        let want = naive(&query, sku, name);
                        let got = similarity(&query, sku, name);
                        assert!((got - want).abs() < 1e-12, "{text} / {sku} / {name}");
                        let shared = scorer.of(sku, name);
                        assert!((shared - want).abs() < 1e-12, "{text} / {sku} / {name}");
                    }
                }
            }
        }
    }

    #[test]
    fn typo_seeds_are_the_trigrams_and_first_two_letters_of_each_word() {
        let (tri, pre) = typo_seeds(&q("mosue ab"));
        assert_eq!(tri, vec!["mos", "osu", "sue"]);
        assert_eq!(pre, vec!["mo", "ab"]);
    }
}
