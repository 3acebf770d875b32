//! Stored OAuth tokens and the locked read–refresh–persist. (Stub: the API is the contract.)
