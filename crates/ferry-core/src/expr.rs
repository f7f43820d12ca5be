//! Engine-neutral SQL expressions: the hub that CHECKs, generated columns,
//! index expressions and defaults travel through between dialects.
//!
//! Each engine's dialect parses its own catalog text into an [`Expr`] and
//! renders an [`Expr`] in its own spelling; no code ever translates from one
//! named engine to another. The rule that keeps this safe: **whitelist,
//! refuse anything not understood, never change meaning.** A parser turns
//! into a node only what it knows has the same meaning on every engine that
//! renders the node (columns of the table, literals, a small set of
//! operators, keywords and functions); anything else is an `Err` with the
//! reason, which the schema translator turns into a warning naming the
//! object.
//!
//! The tree is a *token tree*, not an operator tree: calls and parenthesised
//! groups nest, operators stay in the order the source wrote them. Grouping is
//! therefore always the source's own, so rendering never regroups and a
//! precedence difference between engines cannot creep in (the whitelisted
//! operators have the same relative precedence on every engine).
//!
//! The lexer ([`lex`]) is shared, configured per engine by [`LexRules`], because the
//! engines agree on most of SQL's surface and differ in a few switches
//! (backslash escapes, what a double quote means, charset introducers).

mod default;
mod lex;

pub use default::{classify_default, DefaultExpr, DefaultRules};
pub use lex::{lex, LexRules, Token};

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    /// As written in the source (digits, `.`, exponent).
    Num(String),
    Bool(bool),
    Null,
}

/// Keywords whose meaning is the same on every engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    And,
    Or,
    Not,
    Is,
    In,
    Between,
    Like,
    Case,
    When,
    Then,
    Else,
    End,
    Distinct,
    From,
    Escape,
}

impl Keyword {
    const ALL: [(Keyword, &'static str); 15] = [
        (Keyword::And, "AND"),
        (Keyword::Or, "OR"),
        (Keyword::Not, "NOT"),
        (Keyword::Is, "IS"),
        (Keyword::In, "IN"),
        (Keyword::Between, "BETWEEN"),
        (Keyword::Like, "LIKE"),
        (Keyword::Case, "CASE"),
        (Keyword::When, "WHEN"),
        (Keyword::Then, "THEN"),
        (Keyword::Else, "ELSE"),
        (Keyword::End, "END"),
        (Keyword::Distinct, "DISTINCT"),
        (Keyword::From, "FROM"),
        (Keyword::Escape, "ESCAPE"),
    ];

    /// The keyword a lowercase word names.
    pub fn from_lower(word: &str) -> Option<Keyword> {
        Keyword::ALL
            .iter()
            .find(|(_, s)| s.eq_ignore_ascii_case(word))
            .map(|(k, _)| *k)
    }

    /// Standard SQL spelling, upper case.
    pub fn sql(self) -> &'static str {
        Keyword::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("", |(_, s)| s)
    }
}

/// Words that are keywords, not function names, even before `(`
/// (`IN (…)`, `CASE (…)`); literals and niladic values included.
pub fn is_reserved(lower: &str) -> bool {
    Keyword::from_lower(lower).is_some()
        || matches!(
            lower,
            "null" | "true" | "false" | "current_timestamp" | "current_date"
        )
}

/// Binary and unary operators with one meaning everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl Op {
    /// Standard SQL spelling.
    pub fn sql(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Ge => ">=",
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Mod => "%",
        }
    }

    /// The operators every engine spells the standard way.
    pub fn standard(op: &str) -> Option<Op> {
        Some(match op {
            "=" => Op::Eq,
            "<>" | "!=" => Op::Ne,
            "<" => Op::Lt,
            ">" => Op::Gt,
            "<=" => Op::Le,
            ">=" => Op::Ge,
            "+" => Op::Add,
            "-" => Op::Sub,
            "*" => Op::Mul,
            "/" => Op::Div,
            "%" => Op::Mod,
            _ => return None,
        })
    }
}

/// Functions by neutral name. Most have the same name and meaning on every
/// engine; [`Func::CharLength`] and [`Func::OctetLength`] are the two
/// meanings of the ambiguous `length()`, which each dialect resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Lower,
    Upper,
    CharLength,
    CharacterLength,
    OctetLength,
    Abs,
    Coalesce,
    NullIf,
    Greatest,
    Least,
    Trim,
    Ltrim,
    Rtrim,
    Round,
    Floor,
    Ceil,
    Ceiling,
    Mod,
    Replace,
    /// `concat(…)` that skips NULL arguments (PostgreSQL's).
    Concat,
    /// `concat(…)` that is NULL when an argument is (MySQL's). The two share
    /// a name and differ in meaning, so neither is common: each dialect maps
    /// its own `concat`, and one renders only where the target has it.
    ConcatNullIfAnyNull,
    Left,
    Right,
    /// `now(…)` with arguments.
    Now,
    /// `CURRENT_TIMESTAMP(precision)`.
    CurrentTimestamp,
}

impl Func {
    const ALL: [(Func, &'static str); 25] = [
        (Func::Lower, "lower"),
        (Func::Upper, "upper"),
        (Func::CharLength, "char_length"),
        (Func::CharacterLength, "character_length"),
        (Func::OctetLength, "octet_length"),
        (Func::Abs, "abs"),
        (Func::Coalesce, "coalesce"),
        (Func::NullIf, "nullif"),
        (Func::Greatest, "greatest"),
        (Func::Least, "least"),
        (Func::Trim, "trim"),
        (Func::Ltrim, "ltrim"),
        (Func::Rtrim, "rtrim"),
        (Func::Round, "round"),
        (Func::Floor, "floor"),
        (Func::Ceil, "ceil"),
        (Func::Ceiling, "ceiling"),
        (Func::Mod, "mod"),
        (Func::Replace, "replace"),
        (Func::Concat, "concat"),
        (Func::ConcatNullIfAnyNull, "concat"),
        (Func::Left, "left"),
        (Func::Right, "right"),
        (Func::Now, "now"),
        (Func::CurrentTimestamp, "CURRENT_TIMESTAMP"),
    ];

    /// The function a lowercase name means when it has the same meaning on
    /// every engine (not `length`, whose meaning differs).
    pub fn common(lower: &str) -> Option<Func> {
        Func::ALL
            .iter()
            .find(|(f, s)| {
                *s == lower
                    && !matches!(
                        f,
                        Func::CurrentTimestamp | Func::Concat | Func::ConcatNullIfAnyNull
                    )
            })
            .map(|(f, _)| *f)
    }

    /// Every function a node of `e` calls.
    pub fn calls(e: &Expr) -> Vec<Func> {
        fn walk(nodes: &[Node], out: &mut Vec<Func>) {
            for n in nodes {
                match n {
                    Node::Call(f, args) => {
                        out.push(*f);
                        walk(args, out);
                    }
                    Node::Group(inner) => walk(inner, out),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&e.0, &mut out);
        out
    }

    /// The neutral (and usual) spelling.
    pub fn name(self) -> &'static str {
        Func::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("", |(_, s)| s)
    }
}

/// One node of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A column of the table, by its catalog name.
    Column(String),
    Literal(Literal),
    Keyword(Keyword),
    Op(Op),
    /// The current timestamp (`now()`, `CURRENT_TIMESTAMP`).
    Now,
    /// The current date (`CURRENT_DATE`, `curdate()`).
    Today,
    /// `func(args)`; the arguments are the nodes between the parentheses,
    /// commas included.
    Call(Func, Vec<Node>),
    /// A parenthesised group, as the source wrote it.
    Group(Vec<Node>),
    Comma,
}

/// An engine-neutral expression: its nodes in source order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Expr(pub Vec<Node>);

impl Expr {
    /// `(column, n)` when the whole expression is `left(column, n)`: a
    /// prefix of a column, which prefix indexes express natively.
    pub fn as_left_prefix(&self) -> Option<(String, u32)> {
        match self.0.as_slice() {
            [Node::Call(Func::Left, args)] => match args.as_slice() {
                [Node::Column(c), Node::Comma, Node::Literal(Literal::Num(n))] => {
                    Some((c.clone(), n.parse().ok()?))
                }
                _ => None,
            },
            _ => None,
        }
    }
}

/// What a function name followed by `(` means in one dialect.
pub enum Callee {
    /// A call with arguments.
    Func(Func),
    /// A niladic call whose `()` is part of the name (`now()` → [`Node::Now`]).
    Value(Node),
}

/// An engine's vocabulary, for [`build`].
pub struct Vocabulary<'a> {
    /// The table's columns, by catalog name.
    pub columns: &'a [String],
    /// Whether unquoted column names match without regard to case.
    pub columns_ignore_case: bool,
    /// `name(` (name lowercase; `empty` when `()` follows): its meaning.
    pub function: &'a dyn Fn(&str, bool) -> Result<Callee, String>,
    /// An operator token: its meaning, as one or more nodes.
    pub operator: &'a dyn Fn(&str) -> Result<Vec<Node>, String>,
}

/// Builds the neutral tree from an engine's tokens (after any
/// engine-specific rewriting), refusing every word it does not know.
pub fn build(tokens: &[Token], vocabulary: &Vocabulary<'_>) -> Result<Expr, String> {
    let mut i = 0;
    let nodes = sequence(tokens, &mut i, vocabulary, false)?;
    Ok(Expr(nodes))
}

fn sequence(
    toks: &[Token],
    i: &mut usize,
    v: &Vocabulary<'_>,
    inside: bool,
) -> Result<Vec<Node>, String> {
    let mut out = Vec::new();
    while *i < toks.len() {
        let next = toks.get(*i + 1);
        match &toks[*i] {
            Token::Word(w) | Token::Ident(w)
                if next == Some(&Token::Open)
                    && (matches!(toks[*i], Token::Ident(_)) || {
                        let lower = w.to_ascii_lowercase();
                        !is_reserved(&lower) || lower == "current_timestamp"
                    }) =>
            {
                let lower = w.to_ascii_lowercase();
                let empty = toks.get(*i + 2) == Some(&Token::Close);
                match (v.function)(&lower, empty)? {
                    Callee::Value(n) if empty => {
                        out.push(n);
                        *i += 3;
                    }
                    Callee::Value(_) => return Err(format!("function {lower}()")),
                    Callee::Func(f) => {
                        *i += 2;
                        let args = sequence(toks, i, v, true)?;
                        out.push(Node::Call(f, args));
                    }
                }
                continue;
            }
            Token::Word(w) => {
                let lower = w.to_ascii_lowercase();
                let column = v.columns.iter().any(|c| {
                    if v.columns_ignore_case {
                        c.eq_ignore_ascii_case(w)
                    } else {
                        c == w
                    }
                });
                if column {
                    let name = v
                        .columns
                        .iter()
                        .find(|c| c.eq_ignore_ascii_case(w))
                        .cloned()
                        .unwrap_or_else(|| w.clone());
                    out.push(Node::Column(name));
                } else if let Some(k) = Keyword::from_lower(&lower) {
                    out.push(Node::Keyword(k));
                } else {
                    out.push(match lower.as_str() {
                        "null" => Node::Literal(Literal::Null),
                        "true" => Node::Literal(Literal::Bool(true)),
                        "false" => Node::Literal(Literal::Bool(false)),
                        "current_timestamp" => Node::Now,
                        "current_date" => Node::Today,
                        "regexp" | "rlike" | "div" | "xor" => return Err(format!("operator {w}")),
                        _ => return Err(format!("unknown name {w}")),
                    });
                }
            }
            Token::Ident(name) => out.push(Node::Column(name.clone())),
            Token::Str(s) => out.push(Node::Literal(Literal::Str(s.clone()))),
            Token::Num(n) => out.push(Node::Literal(Literal::Num(n.clone()))),
            Token::Op(op) => out.extend((v.operator)(op)?),
            Token::Open => {
                *i += 1;
                let inner = sequence(toks, i, v, true)?;
                out.push(Node::Group(inner));
                continue;
            }
            Token::Close if inside => {
                *i += 1;
                return Ok(out);
            }
            Token::Close => return Err("unbalanced parentheses".into()),
            Token::Comma => out.push(Node::Comma),
            Token::LBracket | Token::RBracket => return Err("array syntax".into()),
        }
        *i += 1;
    }
    if inside {
        return Err("unbalanced parentheses".into());
    }
    Ok(out)
}

/// How a dialect spells the parts of a neutral expression.
pub trait Spelling {
    fn ident(&self, name: &str) -> String;
    fn literal(&self, s: &str) -> String;
    fn function(&self, f: Func) -> &'static str {
        f.name()
    }
}

/// Renders `e` with `spelling`: single spaces between nodes, none inside
/// parentheses, before commas, or between a function and its `(`.
pub fn render(e: &Expr, spelling: &dyn Spelling) -> String {
    let mut parts: Vec<(String, bool)> = Vec::new();
    pieces(&e.0, spelling, &mut parts);
    let mut out = String::new();
    let mut prev: Option<&(String, bool)> = None;
    for part in &parts {
        let p = part.0.as_str();
        let space = match prev {
            None => false,
            Some((q, _)) if q == "(" => false,
            Some((_, is_function)) if p == "(" => !is_function,
            Some(_) => p != ")" && p != ",",
        };
        if space {
            out.push(' ');
        }
        out.push_str(p);
        prev = Some(part);
    }
    out
}

/// Flattens nodes to (text, is a function name before its `(`).
fn pieces(nodes: &[Node], s: &dyn Spelling, out: &mut Vec<(String, bool)>) {
    for n in nodes {
        match n {
            Node::Column(c) => out.push((s.ident(c), false)),
            Node::Literal(Literal::Str(v)) => out.push((s.literal(v), false)),
            Node::Literal(Literal::Num(v)) => out.push((v.clone(), false)),
            Node::Literal(Literal::Bool(b)) => {
                out.push((if *b { "TRUE" } else { "FALSE" }.into(), false))
            }
            Node::Literal(Literal::Null) => out.push(("NULL".into(), false)),
            Node::Keyword(k) => out.push((k.sql().into(), false)),
            Node::Op(o) => out.push((o.sql().into(), false)),
            Node::Now => out.push(("CURRENT_TIMESTAMP".into(), false)),
            Node::Today => out.push(("CURRENT_DATE".into(), false)),
            Node::Call(f, args) => {
                out.push((s.function(*f).into(), true));
                out.push(("(".into(), false));
                pieces(args, s, out);
                out.push((")".into(), false));
            }
            Node::Group(inner) => {
                out.push(("(".into(), false));
                pieces(inner, s, out);
                out.push((")".into(), false));
            }
            Node::Comma => out.push((",".into(), false)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Plain;
    impl Spelling for Plain {
        fn ident(&self, name: &str) -> String {
            format!("[{name}]")
        }
        fn literal(&self, s: &str) -> String {
            format!("'{s}'")
        }
    }

    fn parse(src: &str) -> Result<Expr, String> {
        let cols = vec!["a".to_string(), "B".to_string()];
        let function = |f: &str, _empty: bool| {
            Func::common(f)
                .map(Callee::Func)
                .ok_or_else(|| format!("function {f}()"))
        };
        let operator = |op: &str| {
            Op::standard(op)
                .map(|o| vec![Node::Op(o)])
                .ok_or_else(|| format!("operator {op}"))
        };
        let v = Vocabulary {
            columns: &cols,
            columns_ignore_case: true,
            function: &function,
            operator: &operator,
        };
        build(&lex(src, LexRules::default())?, &v)
    }

    #[test]
    fn groups_and_calls_nest_and_render_as_written() {
        let e = parse("(a in ('x','y')) AND lower(b) = 'z'").unwrap();
        assert_eq!(
            render(&e, &Plain),
            "([a] IN ('x', 'y')) AND lower([B]) = 'z'"
        );
        assert_eq!(
            parse("left(a, 3)").unwrap().as_left_prefix(),
            Some(("a".into(), 3))
        );
        assert_eq!(parse("left(a, 3) + 1").unwrap().as_left_prefix(), None);
        assert!(parse("(a > 1").is_err());
        assert!(parse("a > 1)").is_err());
        assert!(parse("c > 1").is_err());
    }

    #[test]
    fn classifies_common_defaults() {
        use DefaultExpr as D;
        let pg = |s| {
            classify_default(
                s,
                DefaultRules {
                    trailing_casts: true,
                    ..DefaultRules::default()
                },
            )
        };
        assert_eq!(pg("'it''s'::character varying"), D::Str("it's".into()));
        assert_eq!(pg("(-1.5)"), D::Num("-1.5".into()));
        assert_eq!(pg("NULL::text"), D::Null);
        assert!(matches!(pg("lower('X')"), D::Other(_)));
    }
}
