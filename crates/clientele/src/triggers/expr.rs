//! The condition language of trigger rules: comparisons of a column with a literal, combined
//! with `and`, `or`, `not` and parentheses.
//!
//! ```text
//! condition  := or
//! or         := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not" unary | "(" or ")" | comparison
//! comparison := column op literal
//! op         := "<" | "<=" | ">" | ">=" | "==" | "!="
//! literal    := number | "string" | 'string' | true | false
//! column     := [A-Za-z_][A-Za-z0-9_]*
//! ```
//! `and` binds tighter than `or`. Keywords are lower case. A number written as digits only
//! (with an optional sign and `_` separators) is an [`Literal::Integer`], kept exactly; any
//! other number (`0.5`, `1e3`) is a [`Literal::Number`].

use std::fmt;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        })
    }
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A number with a fraction or an exponent (or an integer beyond `i128`).
    Number(f64),
    /// An integer, exactly: compared exactly with integer columns, as `f64` with others.
    Integer(i128),
    /// A string.
    Text(String),
    /// `true` or `false`.
    Bool(bool),
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `column op literal`.
    Compare {
        /// The column.
        column: String,
        /// The operator.
        op: Op,
        /// The value compared with.
        value: Literal,
    },
    /// Both hold.
    And(Box<Expr>, Box<Expr>),
    /// Either holds.
    Or(Box<Expr>, Box<Expr>),
    /// Does not hold.
    Not(Box<Expr>),
}

impl Expr {
    /// The columns the condition reads, in order of appearance.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Expr::Compare { column, .. } => vec![column.as_str()],
            Expr::And(a, b) | Expr::Or(a, b) => {
                let mut v = a.columns();
                v.extend(b.columns());
                v
            }
            Expr::Not(a) => a.columns(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Number(f64),
    Integer(i128),
    Text(String),
    Op(Op),
    Open,
    Close,
}

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Token::Open);
            i += 1;
        } else if c == ')' {
            out.push(Token::Close);
            i += 1;
        } else if "<>=!".contains(c) {
            let next = chars.get(i + 1).copied();
            let (op, len) = match (c, next) {
                ('<', Some('=')) => (Op::Le, 2),
                ('>', Some('=')) => (Op::Ge, 2),
                ('=', Some('=')) => (Op::Eq, 2),
                ('!', Some('=')) => (Op::Ne, 2),
                ('<', _) => (Op::Lt, 1),
                ('>', _) => (Op::Gt, 1),
                _ => return Err(format!("unexpected {c:?} at position {} (use == and !=)", i + 1)),
            };
            out.push(Token::Op(op));
            i += len;
        } else if c == '"' || c == '\'' {
            let start = i + 1;
            let end = chars[start..]
                .iter()
                .position(|&d| d == c)
                .map(|p| start + p)
                .ok_or_else(|| format!("unterminated string starting at position {}", i + 1))?;
            out.push(Token::Text(chars[start..end].iter().collect()));
            i = end + 1;
        } else if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' {
            let start = i;
            i += 1;
            while chars.get(i).is_some_and(|d| {
                d.is_ascii_alphanumeric()
                    || *d == '.'
                    || *d == '_'
                    || ((*d == '-' || *d == '+') && matches!(chars.get(i - 1), Some('e' | 'E')))
            }) {
                i += 1;
            }
            let text: String = chars[start..i].iter().filter(|d| **d != '_').collect();
            let digits = text.strip_prefix(['-', '+']).unwrap_or(&text);
            if !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && let Ok(v) = text.parse::<i128>()
            {
                out.push(Token::Integer(v));
                continue;
            }
            let v = text
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{text:?} is not a number"))?;
            out.push(Token::Number(v));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while chars.get(i).is_some_and(|d| d.is_ascii_alphanumeric() || *d == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            return Err(format!("unexpected {c:?} at position {}", i + 1));
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

/// Nesting (parentheses and `not`) allowed in a condition: deeper input is an error, not a
/// stack overflow.
const MAX_DEPTH: usize = 64;

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn keyword(&mut self, k: &str) -> bool {
        if matches!(self.peek(), Some(Token::Ident(w)) if w == k) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.keyword("or") {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        while self.keyword("and") {
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("the condition nests deeper than {MAX_DEPTH} levels"));
        }
        let e = self.unary_inner();
        self.depth -= 1;
        e
    }

    fn unary_inner(&mut self) -> Result<Expr, String> {
        if self.keyword("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            let e = self.or()?;
            if self.peek() != Some(&Token::Close) {
                return Err("a `(` is not closed".into());
            }
            self.at += 1;
            return Ok(e);
        }
        let column = match self.tokens.get(self.at).cloned() {
            Some(Token::Ident(c)) if !["and", "or", "not", "true", "false"].contains(&c.as_str()) => c,
            Some(t) => return Err(format!("expected a column name, found {}", describe(&t))),
            None => return Err("the condition ends where a column name was expected".into()),
        };
        self.at += 1;
        let op = match self.tokens.get(self.at).cloned() {
            Some(Token::Op(op)) => op,
            Some(t) => {
                return Err(format!(
                    "expected a comparison after `{column}`, found {}",
                    describe(&t)
                ));
            }
            None => return Err(format!("expected a comparison after `{column}`")),
        };
        self.at += 1;
        let value = match self.tokens.get(self.at).cloned() {
            Some(Token::Number(v)) => Literal::Number(v),
            Some(Token::Integer(v)) => Literal::Integer(v),
            Some(Token::Text(s)) => Literal::Text(s),
            Some(Token::Ident(w)) if w == "true" => Literal::Bool(true),
            Some(Token::Ident(w)) if w == "false" => Literal::Bool(false),
            Some(t) => {
                return Err(format!(
                    "expected a number, \"string\", true or false after `{column} {op}`, found {}",
                    describe(&t)
                ));
            }
            None => return Err(format!("expected a value after `{column} {op}`")),
        };
        self.at += 1;
        Ok(Expr::Compare { column, op, value })
    }
}

fn describe(t: &Token) -> String {
    match t {
        Token::Ident(w) => format!("`{w}`"),
        Token::Number(v) => format!("the number {v}"),
        Token::Integer(v) => format!("the number {v}"),
        Token::Text(s) => format!("the string {s:?}"),
        Token::Op(o) => format!("`{o}`"),
        Token::Open => "`(`".into(),
        Token::Close => "`)`".into(),
    }
}

/// Parses a condition.
///
/// # Errors
/// A message saying what was expected where.
pub fn parse(text: &str) -> Result<Expr, String> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err("the condition is empty".into());
    }
    let mut p = Parser {
        tokens,
        at: 0,
        depth: 0,
    };
    let e = p.or()?;
    match p.peek() {
        None => Ok(e),
        Some(t) => Err(format!("unexpected {} after a complete condition", describe(t))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(column: &str, op: Op, value: Literal) -> Expr {
        Expr::Compare {
            column: column.into(),
            op,
            value,
        }
    }

    #[test]
    fn precedence_and_literals() {
        let e = parse("p_alive < 0.3 and clv > 500 or segment == \"Champions\"").unwrap();
        assert_eq!(
            e,
            Expr::Or(
                Box::new(Expr::And(
                    Box::new(cmp("p_alive", Op::Lt, Literal::Number(0.3))),
                    Box::new(cmp("clv", Op::Gt, Literal::Integer(500)))
                )),
                Box::new(cmp("segment", Op::Eq, Literal::Text("Champions".into())))
            )
        );
        let e = parse("not (a >= -1e3 or b != 'x') and flag == true").unwrap();
        assert_eq!(e.columns(), ["a", "b", "flag"]);
        assert!(matches!(e, Expr::And(..)));
    }

    #[test]
    fn integers_are_kept_exactly() {
        let lit = |text: &str| match parse(&format!("x == {text}")).unwrap() {
            Expr::Compare { value, .. } => value,
            other => panic!("{other:?}"),
        };
        // 2^53 + 1 = 9007199254740993 has no f64; as an integer literal it is exact.
        assert_eq!(lit("9007199254740993"), Literal::Integer((1 << 53) + 1));
        assert_eq!(lit("-9_007_199_254_740_993"), Literal::Integer(-(1 << 53) - 1));
        assert_eq!(lit("+18446744073709551615"), Literal::Integer(i128::from(u64::MAX)));
        assert_eq!(lit("0"), Literal::Integer(0));
        assert_eq!(lit("500.0"), Literal::Number(500.0));
        assert_eq!(lit("1e3"), Literal::Number(1000.0));
        assert_eq!(lit("-.5"), Literal::Number(-0.5));
        // Beyond i128 the literal is a float, as before.
        assert_eq!(lit(&"9".repeat(40)), Literal::Number(1e40)); // 40 nines round to 1e40
        assert!(parse("x == -").unwrap_err().contains("not a number"));
    }

    #[test]
    fn errors_say_what_was_expected() {
        assert!(parse("").unwrap_err().contains("empty"));
        assert!(parse("clv >").unwrap_err().contains("expected a value"));
        assert!(parse("clv = 3").unwrap_err().contains("=="));
        assert!(parse("(clv > 3").unwrap_err().contains("not closed"));
        assert!(parse("clv > 3 4").unwrap_err().contains("after a complete condition"));
        assert!(parse("> 3").unwrap_err().contains("column name"));
        assert!(parse("x == \"open").unwrap_err().contains("unterminated"));
        let deep = format!("{}x > 1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&deep).unwrap_err().contains("nests deeper"));
        assert!(
            parse(&format!("{}x > 1", "not ".repeat(10_000)))
                .unwrap_err()
                .contains("nests deeper")
        );
    }
}
