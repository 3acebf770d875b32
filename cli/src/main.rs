fn main() {
    keryx_cli::main()
}
