//! Exits with the status given as the first argument, after printing a line.
fn main() {
    let code: i32 = std::env::args()
        .nth(1)
        .unwrap_or_default()
        .parse()
        .unwrap_or(0);
    println!("bye {code}");
    std::process::exit(code);
}
