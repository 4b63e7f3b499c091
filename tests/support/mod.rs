pub mod fake_discord;
pub mod openapi;
