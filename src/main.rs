fn main() {
    std::process::exit(coffre::cli::run(std::env::args_os()));
}
