//! Answers the HTTP layer writes itself, in the seed's JSON shape like every other answer:
//! the refusal of a connection over the cap, and the replacement for hyper's own empty
//! `400`/`414`/`431` to a request it could not parse (it offers no hook to shape them).

use crate::api::REQUEST_ID_HEADER;
use crate::api::error::standalone_error_body;
use crate::domain::codes::ErrorCode;

/// A complete `HTTP/1.1` answer that closes the connection.
fn answer(status: &str, code: ErrorCode, description: &str, extra_headers: &str) -> Vec<u8> {
    let (id, body) = standalone_error_body(code, description);
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         {REQUEST_ID_HEADER}: {id}\r\n{extra_headers}connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Written to a connection accepted while `cap` others are being served, before closing it.
pub fn over_capacity(cap: usize) -> Vec<u8> {
    answer(
        "503 Service Unavailable",
        ErrorCode::TooManyConnections,
        &format!("Herald is serving its maximum of {cap} connections; try again shortly"),
        "retry-after: 1\r\n",
    )
}

/// If `written` is the start of hyper's automatic answer to an unparsable request, the
/// answer to write instead. Hyper's are recognised by their status (400, 414, 431) and by
/// lacking the request-UUID header that every answer from Herald's router carries.
pub fn replacement_for(written: &[u8]) -> Option<Vec<u8>> {
    let status = written.strip_prefix(b"HTTP/1.1 ")?.get(..4)?;
    let (status, code, description) = match status {
        b"400 " => (
            "400 Bad Request",
            ErrorCode::InvalidRequest,
            "the request is not valid HTTP/1.1 (request line or a header could not be read)",
        ),
        b"414 " => (
            "414 URI Too Long",
            ErrorCode::RequestTooLarge,
            "the request's path and query are longer than Herald reads",
        ),
        b"431 " => (
            "431 Request Header Fields Too Large",
            ErrorCode::RequestTooLarge,
            "the request has more headers, or larger ones, than Herald reads (at most 100)",
        ),
        _ => return None,
    };
    let end = written.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = &written[..end];
    let from_router = head.split(|&b| b == b'\n').any(|line| {
        line.len() > REQUEST_ID_HEADER.len()
            && line[..REQUEST_ID_HEADER.len()].eq_ignore_ascii_case(REQUEST_ID_HEADER.as_bytes())
            && line[REQUEST_ID_HEADER.len()] == b':'
    });
    (!from_router).then(|| answer(status, code, description, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(answer: &[u8]) -> serde_json::Value {
        let end = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        serde_json::from_slice(&answer[end..]).unwrap()
    }

    #[test]
    fn hypers_automatic_answers_are_replaced_in_the_seed_shape() {
        let hyper = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 17:00:00 GMT\r\n\r\n";
        let replaced = replacement_for(hyper).expect("hyper's 431 is replaced");
        assert!(replaced.starts_with(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        let body = body_of(&replaced);
        assert_eq!(body["errors"][0]["errorCode"], "REQUEST_TOO_LARGE");
        assert!(body["requestUUID"].is_string());
        assert_eq!(body["warnings"], serde_json::json!([]));

        let uri = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            body_of(&replacement_for(uri).unwrap())["errors"][0]["errorCode"],
            "REQUEST_TOO_LARGE"
        );
        let bad = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            body_of(&replacement_for(bad).unwrap())["errors"][0]["errorCode"],
            "INVALID_REQUEST"
        );
    }

    #[test]
    fn answers_from_the_router_pass_untouched() {
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nx-request-id: 5d3c\r\ncontent-length: 2\r\n\r\n{}";
        assert!(replacement_for(ours).is_none());
        let ours = b"HTTP/1.1 400 Bad Request\r\nX-Request-Id: 5d3c\r\n\r\n";
        assert!(replacement_for(ours).is_none());
        assert!(replacement_for(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(
            replacement_for(b"HTTP/1.1 431").is_none(),
            "an incomplete head is left alone"
        );
        assert!(
            replacement_for(b"{\"a\":1}").is_none(),
            "a body chunk is left alone"
        );
    }

    #[test]
    fn the_over_capacity_answer_says_when_to_come_back() {
        let answer = over_capacity(10);
        assert!(answer.starts_with(b"HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(answer.windows(15).any(|w| w == b"retry-after: 1\r"));
        let body = body_of(&answer);
        assert_eq!(body["errors"][0]["errorCode"], "TOO_MANY_CONNECTIONS");
    }
}
