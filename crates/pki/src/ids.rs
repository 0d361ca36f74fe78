//! Check characters of Chinese identifiers carried in certificates:
//! GB 32100-2015 unified social credit code (统一社会信用代码) and GB 11643-1999
//! citizen identity number (公民身份号码).

/// The 31 characters of GB 32100 (no I, O, Z, S, V).
const USCC_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Check an 18-character unified social credit code; the error says what is wrong.
pub fn check_uscc(code: &str) -> Result<(), String> {
    let b = code.as_bytes();
    if b.len() != 18 {
        return Err(format!(
            "USCC must be 18 characters, {code:?} has {}",
            code.chars().count()
        ));
    }
    let mut sum = 0u32;
    for (i, c) in b.iter().enumerate() {
        let v = USCC_CHARS.iter().position(|x| x == c).ok_or_else(|| {
            format!(
                "USCC {code:?}: character {} ({:?}) is not allowed",
                i + 1,
                *c as char
            )
        })?;
        if i < 17 {
            sum += USCC_WEIGHTS[i] * v as u32;
        }
    }
    let check = (31 - sum % 31) % 31;
    let want = USCC_CHARS[check as usize] as char;
    if b[17] as char != want {
        return Err(format!(
            "USCC {code:?}: check character is {:?}, expected {want:?}",
            b[17] as char
        ));
    }
    Ok(())
}

/// Check an 18-character citizen identity number (GB 11643, MOD 11-2).
pub fn check_citizen_id(id: &str) -> Result<(), String> {
    let b = id.as_bytes();
    if b.len() != 18 {
        return Err(format!(
            "citizen ID must be 18 characters, {id:?} has {}",
            id.chars().count()
        ));
    }
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let mut sum = 0u32;
    for i in 0..17 {
        if !b[i].is_ascii_digit() {
            return Err(format!(
                "citizen ID {id:?}: character {} is not a digit",
                i + 1
            ));
        }
        sum += W[i] * (b[i] - b'0') as u32;
    }
    let (y, m, d) = (digits(&b[6..10]), digits(&b[10..12]), digits(&b[12..14]));
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    if !(1850..=2100).contains(&y) || d == 0 || d > days_in_month {
        return Err(format!(
            "citizen ID {id:?}: birth date {y:04}-{m:02}-{d:02} is not a real date"
        ));
    }
    let want = b"10X98765432"[(sum % 11) as usize] as char;
    let got = (b[17] as char).to_ascii_uppercase();
    if got != want {
        return Err(format!(
            "citizen ID {id:?}: check character is {got:?}, expected {want:?}"
        ));
    }
    Ok(())
}

fn digits(b: &[u8]) -> u32 {
    b.iter().fold(0, |acc, c| acc * 10 + (c - b'0') as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uscc_samples() {
        check_uscc("91350100M000100Y43").unwrap();
        check_uscc("11100000000013338W").unwrap();
        assert!(check_uscc("91350100M000100Y44").is_err());
        assert!(check_uscc("91350100M000100Y4").is_err());
        assert!(check_uscc("91350100M0001O0Y43").is_err());
    }

    #[test]
    fn citizen_id_samples() {
        check_citizen_id("11010519491231002X").unwrap();
        check_citizen_id("440524188001010014").unwrap();
        assert!(check_citizen_id("110105194912310021").is_err());
        assert!(check_citizen_id("11010519491231002").is_err());
        // Check character right but 1949-02-30 is no date.
        let mut bad = *b"110105194902300000";
        let w = [7u32, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = (0..17).map(|i| w[i] * (bad[i] - b'0') as u32).sum();
        bad[17] = b"10X98765432"[(sum % 11) as usize];
        let err = check_citizen_id(std::str::from_utf8(&bad).unwrap()).unwrap_err();
        assert!(err.contains("not a real date"), "{err}");
    }
}
