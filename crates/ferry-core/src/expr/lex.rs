//! The shared lexer: one tokenizer for every engine's catalog text,
//! configured by [`LexRules`] where the engines differ.

/// One lexical token of a catalog expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A bare word: keyword, function name or unquoted identifier.
    Word(String),
    /// A quoted identifier, unquoted.
    Ident(String),
    /// A string literal's value (quotes and escapes resolved).
    Str(String),
    /// A numeric literal as written.
    Num(String),
    /// A run of operator characters (`=`, `<>`, `::`, `~~`…).
    Op(String),
    Open,
    Close,
    Comma,
    LBracket,
    RBracket,
}

/// What an engine's lexer accepts.
#[derive(Debug, Clone, Copy, Default)]
pub struct LexRules {
    /// Backslash escapes inside string literals (MySQL's default sql_mode).
    pub backslash_escapes: bool,
    /// A double quote opens a string literal, which ferry refuses, rather
    /// than an identifier (MySQL without ANSI_QUOTES).
    pub double_quote_is_string: bool,
    /// `_charset'…'` introducers, whose literal is what counts (MySQL).
    pub charset_introducers: bool,
}

const OPERATOR_CHARS: &str = "+-*/<>=~!@#%^&|:";

/// Splits `src` into tokens, or says what it does not understand.
pub fn lex(src: &str, rules: LexRules) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | ',' | '[' | ']' => {
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    ',' => Token::Comma,
                    '[' => Token::LBracket,
                    _ => Token::RBracket,
                });
                i += 1;
            }
            '\'' => {
                let (s, next) = string_literal(&chars, i, rules.backslash_escapes)?;
                out.push(Token::Str(s));
                i = next;
            }
            '"' if rules.double_quote_is_string => {
                return Err("double-quoted string".into());
            }
            '"' | '`' => {
                let q = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated identifier".into()),
                        Some(&ch) if ch == q => {
                            if chars.get(i + 1) == Some(&q) {
                                s.push(q);
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Token::Ident(s));
            }
            c if c.is_ascii_digit()
                || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                    i += 1;
                    if i < chars.len() && (chars[i] == '+' || chars[i] == '-') {
                        i += 1;
                    }
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                out.push(Token::Num(chars[start..i].iter().collect()));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if chars.get(i) == Some(&'\'') {
                    if rules.charset_introducers && word.starts_with('_') {
                        continue;
                    }
                    return Err(format!("literal prefix {word}'…'"));
                }
                out.push(Token::Word(word));
            }
            c if OPERATOR_CHARS.contains(c) => {
                let start = i;
                while i < chars.len() && OPERATOR_CHARS.contains(chars[i]) {
                    i += 1;
                }
                let op: String = chars[start..i].iter().collect();
                // `>-1`, `=-1`: a sign glued to a comparison.
                if op.len() > 1 && op.ends_with('-') && !op.starts_with('-') && op != "--" {
                    out.push(Token::Op(op[..op.len() - 1].to_string()));
                    out.push(Token::Op("-".into()));
                } else {
                    out.push(Token::Op(op));
                }
            }
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    Ok(out)
}

fn string_literal(
    chars: &[char],
    start: usize,
    backslash: bool,
) -> Result<(String, usize), String> {
    let mut s = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => return Err("unterminated string".into()),
            Some('\'') => {
                if chars.get(i + 1) == Some(&'\'') {
                    s.push('\'');
                    i += 2;
                } else {
                    return Ok((s, i + 1));
                }
            }
            Some('\\') if backslash => {
                let e = chars.get(i + 1).ok_or("unterminated escape")?;
                s.push(match e {
                    '0' => '\0',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'b' => '\u{8}',
                    'Z' => '\u{1a}',
                    c => *c,
                });
                i += 2;
            }
            Some(&c) => {
                s.push(c);
                i += 1;
            }
        }
    }
}
