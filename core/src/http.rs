//! HTTP client and retry plumbing. (Stub.)
