//! Adapters: each translates one outside world into invocations of the command layer or the
//! use cases. They hold no business rules.

pub mod check;
pub mod console;
pub mod discord;
pub mod dispatcher;
pub mod email;
pub mod forecast;
pub mod http;
pub mod portal;
pub mod portal_html;
pub mod scheduler;
pub mod sms;
pub mod stdout;
pub mod webhooks;
