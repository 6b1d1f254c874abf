//! Text from events made safe to show: every renderer passes names, ids and
//! other strings that came from event data through [`visible`], so a
//! service named with terminal escape sequences (`\e[2J`, `\e]0;title\a`)
//! cannot clear a screen, retitle a terminal or hide text; the control
//! character is shown instead, as Rust writes it (`\u{1b}`).
//!
//! ```
//! use dora_core::render::visible;
//!
//! assert_eq!(visible("api"), "api");
//! assert_eq!(visible("x\u{1b}[2Jy"), "x\\u{1b}[2Jy");
//! ```

use std::borrow::Cow;

/// Whether `c` must not reach a terminal or a document raw: C0 and C1
/// control characters (tab and line breaks included: one value, one line),
/// DEL, and the invisible formatting characters that reorder or hide text
/// (bidirectional overrides and isolates, zero-width characters, the byte
/// order mark, line and paragraph separators).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}')
}

/// `s` with each character of [`is_unsafe_char`] written as its escape
/// (`\u{1b}`); borrowed when there is none (the common case costs a scan).
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe_char(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` as Markdown text that shows exactly `s`: control characters made
/// [`visible`], and every character that Markdown (or the HTML inside it)
/// would read as syntax escaped with a backslash.
pub fn markdown_text(s: &str) -> String {
    let s = visible(s);
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        // Inline syntax wherever it stands (line-start syntax such as `-`
        // or `1.` cannot arise: event text never starts a line). With `[`
        // and `]` escaped no link or image can form, so `(`, `)` and `!`
        // stay as they are.
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '&') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` as a Markdown code span: control characters made [`visible`], and a
/// fence of backticks longer than any run of backticks inside (with spaces
/// where `s` starts or ends with one), so nothing in `s` can close it.
pub fn markdown_code(s: &str) -> String {
    let s = visible(s);
    let (mut longest, mut run) = (0, 0);
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || s.is_empty() { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// `s` as HTML text or attribute value: control characters made
/// [`visible`], then `& < > " '` as entities.
pub fn html_text(s: &str) -> String {
    let s = visible(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible_and_the_rest_stays() {
        assert!(matches!(visible("plain ünïcode ✓"), Cow::Borrowed(_)));
        assert_eq!(visible("\u{1b}]0;title\u{7}"), "\\u{1b}]0;title\\u{7}");
        assert_eq!(visible("a\tb\r\nc\u{9b}"), "a\\u{9}b\\u{d}\\u{a}c\\u{9b}");
        assert_eq!(visible("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(visible("\u{7f}"), "\\u{7f}");
    }

    #[test]
    fn markdown_shows_the_text_itself() {
        assert_eq!(markdown_text("<script>alert(1)</script>"), "\\<script\\>alert(1)\\</script\\>");
        assert_eq!(markdown_text("a|b*c_d"), "a\\|b\\*c\\_d");
        assert_eq!(markdown_code("id"), "`id`");
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("`x"), "`` `x ``");
        assert_eq!(markdown_code("\u{1b}[2J"), "`\\u{1b}[2J`");
    }

    #[test]
    fn html_escapes_after_making_controls_visible() {
        assert_eq!(html_text("<b>&\"'\u{1b}"), "&lt;b&gt;&amp;&quot;&#39;\\u{1b}");
    }
}
