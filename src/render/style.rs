//! What the text renderers share: colours (plain ANSI SGR codes, only when
//! asked for), display width (wide CJK characters take two columns), padding,
//! wrapping, the glyph set (box drawing or ASCII) and endpoints. Text that comes from
//! outside (file names) is printed through [`super::printable`].

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// What a piece of text is, for colouring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Heading,
    Step,
    State,
    /// TCP flags; the colour follows the strongest flag (RST, FIN, SYN).
    Flags,
    Error,
    Warning,
    Info,
    Dim,
}

/// Colours text, or leaves it alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct Painter {
    pub enabled: bool,
}

impl Painter {
    pub fn new(enabled: bool) -> Painter {
        Painter { enabled }
    }

    /// The ANSI SGR code of a style (the SVG and HTML views map it to CSS).
    pub(crate) fn code(style: Style, text: &str) -> &'static str {
        match style {
            Style::Heading => "1",
            Style::Step => "1;35",
            Style::State => "36",
            Style::Flags if text.contains("RST") => "1;31",
            Style::Flags if text.contains("FIN") => "1;33",
            Style::Flags if text.contains("SYN") => "1;32",
            Style::Flags => "0",
            Style::Error => "1;31",
            Style::Warning => "33",
            Style::Info => "34",
            Style::Dim => "2",
        }
    }

    pub fn paint(&self, style: Style, text: &str) -> String {
        let code = Self::code(style, text);
        if !self.enabled || text.is_empty() || code == "0" {
            return text.to_string();
        }
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// `text` painted, then padded with spaces to `width` columns.
    pub fn pad(&self, style: Style, text: &str, width: usize) -> String {
        format!(
            "{}{}",
            self.paint(style, text),
            spaces(width.saturating_sub(width_of(text)))
        )
    }

    /// `text` painted, with spaces before it up to `width` columns.
    pub fn pad_left(&self, style: Style, text: &str, width: usize) -> String {
        format!(
            "{}{}",
            spaces(width.saturating_sub(width_of(text))),
            self.paint(style, text)
        )
    }
}

/// Columns `s` takes on a terminal.
pub fn width_of(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

pub fn spaces(n: usize) -> String {
    " ".repeat(n)
}

/// `s` padded with spaces to `width` columns (no colour).
pub fn pad(s: &str, width: usize) -> String {
    format!("{s}{}", spaces(width.saturating_sub(width_of(s))))
}

/// `s` centred in `width` columns (extra space on the right).
pub fn center(s: &str, width: usize) -> String {
    let free = width.saturating_sub(width_of(s));
    format!("{}{s}{}", spaces(free / 2), spaces(free - free / 2))
}

/// Characters that must not end a line.
fn no_line_end(s: &str) -> bool {
    matches!(s, "（" | "《" | "「" | "『" | "“" | "‘" | "(")
}

/// Characters that must not start a line in Chinese text.
fn no_line_start(c: char) -> bool {
    "，。、；：？！）》」』”’,.;:?!)".contains(c)
}

/// Wraps `text` to lines of at most `width` columns: breaks at spaces, and
/// anywhere between wide (CJK) characters, never before closing punctuation.
/// A word longer than the line stays whole.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    // Tokens: a run of non-space narrow characters, one wide character, or a space.
    let mut tokens: Vec<String> = Vec::new();
    for c in text.chars() {
        let wide = c.width().unwrap_or(0) > 1;
        match tokens.last_mut() {
            Some(t)
                if !wide
                    && c != ' '
                    && !t.ends_with(' ')
                    && t.chars()
                        .last()
                        .is_some_and(|l| l.width().unwrap_or(0) <= 1) =>
            {
                t.push(c)
            }
            _ => tokens.push(c.to_string()),
        }
    }
    // Keep arithmetic whole: `x + 1`, `ack = u + 1 = 28`.
    let mut glued: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let is_op = matches!(t.as_str(), "+" | "=" | "→")
            && glued.len() >= 2
            && glued.last().is_some_and(|l| l == " ")
            && tokens.get(i + 1).is_some_and(|n| n == " ")
            && tokens.get(i + 2).is_some_and(|n| n != " ");
        if is_op {
            glued.pop();
            let word = glued.last_mut().expect("a word before the space");
            word.push(' ');
            word.push_str(t);
            word.push(' ');
            word.push_str(&tokens[i + 2]);
            i += 3;
        } else {
            glued.push(t.clone());
            i += 1;
        }
    }
    let tokens = glued;
    let mut lines = Vec::new();
    let mut line = String::new();
    for (i, t) in tokens.iter().enumerate() {
        let next_sticks = no_line_end(t)
            || tokens
                .get(i + 1)
                .and_then(|n| n.chars().next())
                .is_some_and(no_line_start);
        let need = width_of(t)
            + if next_sticks {
                width_of(&tokens[i + 1])
            } else {
                0
            };
        if !line.is_empty() && width_of(&line) + need > width && t != " " {
            lines.push(line.trim_end().to_string());
            line = String::new();
        }
        if line.is_empty() && t == " " {
            continue;
        }
        line.push_str(t);
    }
    if !line.trim().is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// The characters a layout draws with.
#[derive(Debug, Clone, Copy)]
pub struct Glyphs {
    pub arrow_right: &'static str,
    pub head_right: &'static str,
    pub head_left: &'static str,
    pub line: &'static str,
    pub lifeline: &'static str,
    pub ellipsis: &'static str,
    pub dot: &'static str,
    pub warn: &'static str,
    pub dash: &'static str,
}

impl Glyphs {
    pub const UNICODE: Glyphs = Glyphs {
        arrow_right: "→",
        head_right: "▶",
        head_left: "◀",
        line: "─",
        lifeline: "│",
        ellipsis: "⋮",
        dot: "·",
        warn: "⚠",
        dash: "—",
    };
    pub const ASCII: Glyphs = Glyphs {
        arrow_right: "->",
        head_right: ">",
        head_left: "<",
        line: "-",
        lifeline: "|",
        ellipsis: ":",
        dot: "-",
        warn: "!",
        dash: "-",
    };

    pub fn new(ascii: bool) -> Glyphs {
        if ascii {
            Glyphs::ASCII
        } else {
            Glyphs::UNICODE
        }
    }

    /// Replaces the Unicode punctuation of a sentence with ASCII in ASCII mode.
    pub fn text(&self, s: &str) -> String {
        if self.lifeline == "|" {
            s.replace("·MSL", "*MSL")
                .replace('→', "->")
                .replace(['·', '—', '–'], "-")
                .replace('…', "...")
                .replace('×', "x")
                .replace('≠', "!=")
        } else {
            s.to_string()
        }
    }
}

/// `addr:port`, with brackets around an IPv6 address.
pub fn endpoint(addr: &str, port: u16) -> String {
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_takes_two_columns() {
        assert_eq!(width_of("第一次握手"), 10);
        assert_eq!(width_of("SYN-SENT"), 8);
        assert_eq!(pad("握手", 6), "握手  ");
        assert_eq!(center("ab", 6), "  ab  ");
    }

    #[test]
    fn colour_codes_only_when_enabled() {
        let on = Painter::new(true);
        let off = Painter::new(false);
        assert_eq!(off.paint(Style::State, "LISTEN"), "LISTEN");
        assert_eq!(on.paint(Style::State, "LISTEN"), "\x1b[36mLISTEN\x1b[0m");
        assert_eq!(on.pad(Style::State, "LISTEN", 8), "\x1b[36mLISTEN\x1b[0m  ");
    }

    #[test]
    fn wraps_english_at_spaces_and_chinese_anywhere() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        let zh = wrap("第一次握手：客户端请求建立连接。", 10);
        assert!(zh.iter().all(|l| width_of(l) <= 10), "{zh:?}");
        assert_eq!(zh.concat(), "第一次握手：客户端请求建立连接。");
        // An opening bracket stays with what follows it.
        let b = wrap("确认 FIN（ack = u + 1 = 42），然后", 22);
        assert!(b.iter().all(|l| !l.ends_with('（')), "{b:?}");
        // Arithmetic stays on one line.
        assert_eq!(
            wrap("so ack = x + 1 here", 12),
            ["so", "ack = x + 1", "here"]
        );
        // Closing punctuation never starts a line.
        assert!(zh
            .iter()
            .all(|l| !l.starts_with('：') && !l.starts_with('。')));
    }
}
