//! Inbound TEXT keywords (SPEC 5.1): the whole message, trimmed, any case, trailing
//! punctuation ignored.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    OptOut,
    OptIn,
    Help,
}

const OPT_OUT: [&str; 10] = [
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "STOP TEXTING",
    "DO NOT TEXT",
];
const OPT_IN: [&str; 3] = ["START", "YES", "UNSTOP"];
const HELP: [&str; 2] = ["HELP", "INFO"];

pub fn classify(body: &str) -> Option<Keyword> {
    let trimmed = body
        .trim()
        .trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace());
    let normalized = trimmed
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase();
    let word = normalized.as_str();
    if OPT_OUT.contains(&word) {
        Some(Keyword::OptOut)
    } else if OPT_IN.contains(&word) {
        Some(Keyword::OptIn)
    } else if HELP.contains(&word) {
        Some(Keyword::Help)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_recognised_however_they_are_typed() {
        for s in [
            "STOP",
            " stop ",
            "Stop.",
            "stop!!",
            "Stop texting",
            "do  not text",
            "UNSUBSCRIBE?",
        ] {
            assert_eq!(classify(s), Some(Keyword::OptOut), "{s:?}");
        }
        for s in ["yes", "Start", "UNSTOP!"] {
            assert_eq!(classify(s), Some(Keyword::OptIn), "{s:?}");
        }
        assert_eq!(classify("help?"), Some(Keyword::Help));
        assert_eq!(classify("info"), Some(Keyword::Help));
    }

    #[test]
    fn a_keyword_inside_a_sentence_is_not_a_keyword() {
        for s in ["please stop by tomorrow", "yes please", "stopping", "", "?"] {
            assert_eq!(classify(s), None, "{s:?}");
        }
    }
}
