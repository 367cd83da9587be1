fn main() {
    coffre::logging::init();
    std::process::exit(coffre::cli::run(std::env::args_os()));
}
