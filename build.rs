fn main() {
    // The migrations are built into the binary (sqlx::migrate!): a new file must rebuild it.
    println!("cargo:rerun-if-changed=migrations");
}
