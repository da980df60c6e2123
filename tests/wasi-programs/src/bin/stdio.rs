//! stdin, stdout, stderr: reads all of stdin, echoes it upper-cased, counts lines.
use std::io::{Read, Write};

fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    println!(
        "stdin bytes={} lines={}",
        input.len(),
        input.lines().count()
    );
    for line in input.lines() {
        println!("> {}", line.to_uppercase());
    }
    eprintln!("this goes to stderr");
    let mut out = std::io::stdout().lock();
    out.write_all(b"partial line without newline").unwrap();
    out.flush().unwrap();
}
