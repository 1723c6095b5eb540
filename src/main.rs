fn main() -> std::process::ExitCode {
    webstir::run()
}
