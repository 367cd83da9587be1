//! Base64 as clients send it: standard alphabet, padding optional, line breaks
//! and spaces ignored (`base64` and `openssl base64` wrap their output).

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroizing;

use crate::error::{AppError, AppResult, ErrorCode};

const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes `text`, refusing anything that would decode to more than
/// `max_bytes` before doing the work.
pub fn decode(field: &str, text: &str, max_bytes: usize) -> AppResult<Zeroizing<Vec<u8>>> {
    let compact: Zeroizing<String> =
        Zeroizing::new(text.chars().filter(|c| !c.is_ascii_whitespace()).collect());
    let max_encoded = max_bytes.div_ceil(3) * 4;
    if compact.len() > max_encoded {
        return Err(too_large(field, max_bytes));
    }
    let bytes = LENIENT.decode(compact.as_bytes()).map(Zeroizing::new).map_err(|_| {
        AppError::new(
            ErrorCode::InvalidBase64,
            format!("{field} is not valid base64: use the standard alphabet (A–Z, a–z, 0–9, +, /), e.g. the output of `base64 -w0 FILE`."),
        )
    })?;
    if bytes.len() > max_bytes {
        return Err(too_large(field, max_bytes));
    }
    Ok(bytes)
}

fn too_large(field: &str, max_bytes: usize) -> AppError {
    AppError::new(
        ErrorCode::TooLarge,
        format!(
            "{field} decodes to more than {} MiB ({max_bytes} bytes), the limit; store a smaller file.",
            max_bytes / (1024 * 1024)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_padding_or_not_and_wrapped_lines() {
        assert_eq!(decode("F", "aGVsbG8=", 10).unwrap().as_slice(), b"hello");
        assert_eq!(decode("F", "aGVsbG8", 10).unwrap().as_slice(), b"hello");
        assert_eq!(
            decode("F", "aGVs\nbG8=\n", 10).unwrap().as_slice(),
            b"hello"
        );
    }

    #[test]
    fn rejects_other_alphabets_and_garbage_and_says_how() {
        let e = decode("FileInfo.Data", "not base64!", 100).unwrap_err();
        assert_eq!(e.code(), "InvalidBase64");
        assert!(e.messages()[0].message.contains("FileInfo.Data"));
        assert_eq!(
            decode("F", "a-b_", 100).unwrap_err().code(),
            "InvalidBase64"
        );
    }

    #[test]
    fn the_limit_is_on_decoded_bytes() {
        let exactly = encode(&vec![7u8; 2 * 1024 * 1024]);
        assert_eq!(
            decode("F", &exactly, 2 * 1024 * 1024).unwrap().len(),
            2 * 1024 * 1024
        );
        let one_more = encode(&vec![7u8; 2 * 1024 * 1024 + 1]);
        let e = decode("FileInfo.Data", &one_more, 2 * 1024 * 1024).unwrap_err();
        assert_eq!(e.code(), "TooLarge");
        assert!(e.messages()[0].message.contains("2 MiB"));
    }
}
