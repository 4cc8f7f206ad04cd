//! Segment maps: named rules over (R, F, M) scores, first match wins.
//!
//! A [`SegmentMap`] is a list of [`SegmentRule`]s and a default label. A rule matches a
//! customer when every condition it has holds: inclusive score ranges per axis (an absent axis
//! matches any score) and/or a set of `"RFM"` codes. The first matching rule names the
//! segment; no match gives the default. Maps load from JSON (serde) and are validated before
//! use ([`SegmentMap::validate`]), with errors that name the rule and the field.
//!
//! Presets ([`SegmentMap::preset`]), each from its source:
//!
//! | name | source | scores |
//! |---|---|---|
//! | `rfm` | the R `rfm` package's documented segment map (`rfm_segment` example / README): ten segments by R, F and M score ranges, else `Others` | 1–5 |
//! | `rf-regex` | the R+F regular-expression map widely used in Python RFM tutorials (`hibernating` ... `champions`), as ranges on R and F; else `Others` | 1–5 |
//! | `pymc-quartiles` | pymc-marketing's `rfm_segments` default `segment_config` (code sets over quartile scores), else `Other` | 1–4 |

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One rule: a segment name and the conditions a customer's scores must meet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentRule {
    /// The segment's name.
    pub segment: String,
    /// Inclusive range `[low, high]` of the recency score (absent: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recency: Option<[u8; 2]>,
    /// Inclusive range of the frequency score (absent: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<[u8; 2]>,
    /// Inclusive range of the monetary score (absent: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monetary: Option<[u8; 2]>,
    /// `"RFM"` codes (three digits, such as `"534"`) that match (absent: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codes: Option<Vec<String>>,
}

/// A segment map: rules in order, first match wins, else `default`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentMap {
    /// The map's name.
    pub name: String,
    /// The label of customers no rule matches.
    pub default: String,
    /// The rules, in precedence order.
    pub rules: Vec<SegmentRule>,
}

fn range_rule(segment: &str, r: [u8; 2], f: [u8; 2], m: Option<[u8; 2]>) -> SegmentRule {
    SegmentRule {
        segment: segment.to_string(),
        recency: Some(r),
        frequency: Some(f),
        monetary: m,
        codes: None,
    }
}

fn code_rule(segment: &str, codes: &[&str]) -> SegmentRule {
    SegmentRule {
        segment: segment.to_string(),
        recency: None,
        frequency: None,
        monetary: None,
        codes: Some(codes.iter().map(|c| c.to_string()).collect()),
    }
}

impl SegmentMap {
    /// The names of the presets.
    pub const PRESETS: [&'static str; 3] = ["rfm", "rf-regex", "pymc-quartiles"];

    /// A preset by name (see the [module docs](self)).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`segments`) for an unknown name.
    pub fn preset(name: &str) -> Result<Self> {
        let rules = match name {
            "rfm" => vec![
                range_rule("Champions", [4, 5], [4, 5], Some([4, 5])),
                range_rule("Loyal Customers", [2, 5], [3, 5], Some([3, 5])),
                range_rule("Potential Loyalist", [3, 5], [1, 3], Some([1, 3])),
                range_rule("New Customers", [4, 5], [1, 1], Some([1, 1])),
                range_rule("Promising", [3, 4], [1, 1], Some([1, 1])),
                range_rule("Need Attention", [2, 3], [2, 3], Some([2, 3])),
                range_rule("About To Sleep", [2, 3], [1, 2], Some([1, 2])),
                range_rule("At Risk", [1, 2], [2, 5], Some([2, 5])),
                range_rule("Can't Lose Them", [1, 1], [4, 5], Some([4, 5])),
                range_rule("Lost", [1, 2], [1, 2], Some([1, 2])),
            ],
            "rf-regex" => vec![
                range_rule("hibernating", [1, 2], [1, 2], None),
                range_rule("at_Risk", [1, 2], [3, 4], None),
                range_rule("cant_loose", [1, 2], [5, 5], None),
                range_rule("about_to_sleep", [3, 3], [1, 2], None),
                range_rule("need_attention", [3, 3], [3, 3], None),
                range_rule("loyal_customers", [3, 4], [4, 5], None),
                range_rule("promising", [4, 4], [1, 1], None),
                range_rule("new_customers", [5, 5], [1, 1], None),
                range_rule("potential_loyalists", [4, 5], [2, 3], None),
                range_rule("champions", [5, 5], [4, 5], None),
            ],
            "pymc-quartiles" => vec![
                code_rule(
                    "Premium Customer",
                    &["334", "443", "444", "344", "434", "433", "343", "333"],
                ),
                code_rule("Repeat Customer", &["244", "234", "232", "332", "143", "233", "243"]),
                code_rule(
                    "Top Spender",
                    &[
                        "424", "414", "144", "314", "324", "124", "224", "423", "413", "133", "323", "313", "134",
                    ],
                ),
                code_rule(
                    "At Risk Customer",
                    &[
                        "422", "223", "212", "122", "222", "132", "322", "312", "412", "123", "214",
                    ],
                ),
                code_rule("Inactive Customer", &["411", "111", "113", "114", "112", "211", "311"]),
            ],
            other => {
                return Err(Error::param(
                    "segments",
                    format!("unknown preset {other:?} (presets: {})", SegmentMap::PRESETS.join(", ")),
                ));
            }
        };
        Ok(SegmentMap {
            name: name.to_string(),
            default: if name == "pymc-quartiles" { "Other" } else { "Others" }.to_string(),
            rules,
        })
    }

    /// Parses a map from JSON and validates it.
    ///
    /// # Errors
    /// [`Error::Json`] for malformed JSON or unknown fields; [`Error::InvalidSegmentRule`] from
    /// [`validate`](Self::validate).
    pub fn from_json(text: &str) -> Result<Self> {
        let map: SegmentMap = serde_json::from_str(text)?;
        map.validate()?;
        Ok(map)
    }

    /// Parses a map from TOML and validates it. The TOML form has the same fields as the JSON
    /// form, with the rules as an array of tables:
    ///
    /// ```toml
    /// name = "mine"
    /// default = "rest"
    ///
    /// [[rules]]
    /// segment = "VIP"
    /// codes = ["555", "554"]
    ///
    /// [[rules]]
    /// segment = "recent"
    /// recency = [4, 5]
    /// ```
    ///
    /// # Errors
    /// [`Error::Toml`] for malformed TOML or unknown fields (the message gives the line);
    /// [`Error::InvalidSegmentRule`] from [`validate`](Self::validate).
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::kernels::rfm::SegmentMap;
    /// let map = SegmentMap::from_toml("name = \"m\"\ndefault = \"rest\"\n[[rules]]\nsegment = \"VIP\"\ncodes = [\"555\"]\n")?;
    /// assert_eq!(map.segment(5, 5, 5), "VIP");
    /// assert_eq!(map.segment(1, 5, 5), "rest");
    /// # Ok(()) }
    /// ```
    pub fn from_toml(text: &str) -> Result<Self> {
        let map: SegmentMap = toml::from_str(text).map_err(|e| Error::Toml {
            message: e.to_string().trim_end().to_string(),
        })?;
        map.validate()?;
        Ok(map)
    }

    /// A preset by name, or else a rule file: TOML when the path ends in `.toml`, JSON
    /// otherwise.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; the errors of [`from_toml`](Self::from_toml)
    /// and [`from_json`](Self::from_json).
    pub fn preset_or_file(name_or_path: &str) -> Result<Self> {
        if Self::PRESETS.contains(&name_or_path) {
            return Self::preset(name_or_path);
        }
        let path = std::path::Path::new(name_or_path);
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
            Self::from_toml(&text)
        } else {
            Self::from_json(&text)
        }
    }

    /// Checks every rule: a non-empty name; at least one condition; ranges with
    /// `1 <= low <= high <= 9`; codes of three digits 1–9.
    ///
    /// # Errors
    /// [`Error::InvalidSegmentRule`] naming the rule (1-based) and the field.
    pub fn validate(&self) -> Result<()> {
        for (i, rule) in self.rules.iter().enumerate() {
            let err = |field: &str, message: String| Error::InvalidSegmentRule {
                rule: i + 1,
                segment: rule.segment.clone(),
                field: field.to_string(),
                message,
            };
            if rule.segment.trim().is_empty() {
                return Err(err("segment", "the segment name is empty".into()));
            }
            if rule.recency.is_none() && rule.frequency.is_none() && rule.monetary.is_none() && rule.codes.is_none() {
                return Err(err(
                    "rule",
                    "no condition; use `default` for customers no rule matches".into(),
                ));
            }
            for (field, range) in [
                ("recency", rule.recency),
                ("frequency", rule.frequency),
                ("monetary", rule.monetary),
            ] {
                if let Some([lo, hi]) = range
                    && !(1 <= lo && lo <= hi && hi <= 9)
                {
                    return Err(err(
                        field,
                        format!("range [{lo}, {hi}] must satisfy 1 <= low <= high <= 9"),
                    ));
                }
            }
            if let Some(codes) = &rule.codes {
                if codes.is_empty() {
                    return Err(err("codes", "the list is empty".into()));
                }
                if let Some(bad) = codes
                    .iter()
                    .find(|c| c.len() != 3 || !c.bytes().all(|b| (b'1'..=b'9').contains(&b)))
                {
                    return Err(err("codes", format!("{bad:?} is not three digits 1-9")));
                }
            }
        }
        Ok(())
    }

    /// The segment of scores `(r, f, m)`.
    pub fn segment(&self, r: u8, f: u8, m: u8) -> &str {
        let inside = |range: Option<[u8; 2]>, v: u8| range.is_none_or(|[lo, hi]| lo <= v && v <= hi);
        let code = [b'0' + r.min(9), b'0' + f.min(9), b'0' + m.min(9)];
        self.rules
            .iter()
            .find(|rule| {
                inside(rule.recency, r)
                    && inside(rule.frequency, f)
                    && inside(rule.monetary, m)
                    && rule
                        .codes
                        .as_ref()
                        .is_none_or(|codes| codes.iter().any(|c| c.as_bytes() == code))
            })
            .map_or(self.default.as_str(), |rule| rule.segment.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_first_match_wins() {
        let rfm = SegmentMap::preset("rfm").unwrap();
        assert_eq!(rfm.segment(5, 5, 5), "Champions");
        assert_eq!(rfm.segment(5, 4, 3), "Loyal Customers"); // not Champions: m = 3
        assert_eq!(rfm.segment(5, 1, 1), "Potential Loyalist"); // listed before New Customers
        assert_eq!(rfm.segment(1, 5, 5), "At Risk"); // listed before Can't Lose Them
        assert_eq!(rfm.segment(1, 1, 5), "Others");
        let rf = SegmentMap::preset("rf-regex").unwrap();
        // The regex map partitions all 25 (R, F) cells.
        for r in 1..=5 {
            for f in 1..=5 {
                assert_ne!(rf.segment(r, f, 1), "Others", "{r}{f}");
            }
        }
        assert_eq!(rf.segment(5, 5, 1), "champions");
        assert_eq!(rf.segment(3, 3, 5), "need_attention");
        let pymc = SegmentMap::preset("pymc-quartiles").unwrap();
        assert_eq!(pymc.segment(4, 4, 4), "Premium Customer");
        assert_eq!(pymc.segment(1, 1, 1), "Inactive Customer");
        assert_eq!(pymc.segment(4, 4, 1), "Other");
        assert!(SegmentMap::preset("nope").is_err());
        for p in SegmentMap::PRESETS {
            SegmentMap::preset(p).unwrap().validate().unwrap();
        }
    }

    #[test]
    fn custom_maps_are_validated_with_the_rule_and_field() {
        let ok = r#"{"name": "mine", "default": "rest", "rules": [
            {"segment": "VIP", "codes": ["555", "554"]},
            {"segment": "recent", "recency": [4, 5]}]}"#;
        let map = SegmentMap::from_json(ok).unwrap();
        assert_eq!(
            (map.segment(5, 5, 4), map.segment(4, 1, 1), map.segment(1, 1, 1)),
            ("VIP", "recent", "rest")
        );
        let bad = r#"{"name": "m", "default": "d", "rules": [
            {"segment": "a", "recency": [1, 2]}, {"segment": "b", "frequency": [4, 2]}]}"#;
        match SegmentMap::from_json(bad).unwrap_err() {
            Error::InvalidSegmentRule {
                rule, segment, field, ..
            } => assert_eq!((rule, segment.as_str(), field.as_str()), (2, "b", "frequency")),
            other => panic!("{other}"),
        }
        let bad = r#"{"name": "m", "default": "d", "rules": [{"segment": "c", "codes": ["5a5"]}]}"#;
        assert!(matches!(
            SegmentMap::from_json(bad).unwrap_err(),
            Error::InvalidSegmentRule { rule: 1, .. }
        ));
        let bad = r#"{"name": "m", "default": "d", "rules": [{"segment": "c"}]}"#;
        assert!(
            matches!(SegmentMap::from_json(bad).unwrap_err(), Error::InvalidSegmentRule { field, .. } if field == "rule")
        );
        let typo = r#"{"name": "m", "default": "d", "rules": [{"segment": "c", "recncy": [1, 2]}]}"#;
        assert!(matches!(SegmentMap::from_json(typo).unwrap_err(), Error::Json(_)));
    }

    #[test]
    fn toml_maps_equal_their_json_form_and_are_validated() {
        let toml = "name = \"mine\"\ndefault = \"rest\"\n\n[[rules]]\nsegment = \"VIP\"\ncodes = [\"555\", \"554\"]\n\n\
                    [[rules]]\nsegment = \"recent\"\nrecency = [4, 5]\n";
        let json = r#"{"name": "mine", "default": "rest", "rules": [
            {"segment": "VIP", "codes": ["555", "554"]},
            {"segment": "recent", "recency": [4, 5]}]}"#;
        assert_eq!(
            SegmentMap::from_toml(toml).unwrap(),
            SegmentMap::from_json(json).unwrap()
        );
        let bad = "name = \"m\"\ndefault = \"d\"\n[[rules]]\nsegment = \"a\"\nrecency = [1, 2]\n\
                   [[rules]]\nsegment = \"b\"\nmonetary = [0, 3]\n";
        match SegmentMap::from_toml(bad).unwrap_err() {
            Error::InvalidSegmentRule {
                rule, segment, field, ..
            } => assert_eq!((rule, segment.as_str(), field.as_str()), (2, "b", "monetary")),
            other => panic!("{other}"),
        }
        let typo = "name = \"m\"\ndefault = \"d\"\n[[rules]]\nsegment = \"c\"\nrecncy = [1, 2]\n";
        match SegmentMap::from_toml(typo).unwrap_err() {
            Error::Toml { message } => assert!(message.contains("recncy"), "{message}"),
            other => panic!("{other}"),
        }
        // Round trip of every preset through TOML text is not needed: presets are code.
        let path = std::env::temp_dir().join(format!("clientele-seg-{}.toml", std::process::id()));
        std::fs::write(&path, toml).unwrap();
        let from_file = SegmentMap::preset_or_file(path.to_str().unwrap()).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(from_file.name, "mine");
        assert_eq!(SegmentMap::preset_or_file("rf-regex").unwrap().name, "rf-regex");
        assert!(matches!(
            SegmentMap::preset_or_file("/nonexistent/rules.toml").unwrap_err(),
            Error::Io { .. }
        ));
    }
}
