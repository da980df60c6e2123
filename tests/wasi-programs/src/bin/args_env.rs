//! Arguments, environment and exit status: prints argv and the environment, then exits
//! with the status given after `--exit`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("argc={}", args.len());
    for (i, a) in args.iter().enumerate() {
        println!("arg[{i}]={a}");
    }
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    env.sort();
    for (k, v) in &env {
        println!("env {k}={v}");
    }
    println!("HOME={:?}", std::env::var("HOME").ok());
    if let Some(i) = args.iter().position(|a| a == "--exit") {
        let code: i32 = args[i + 1].parse().unwrap();
        println!("exiting with {code}");
        std::process::exit(code);
    }
}
