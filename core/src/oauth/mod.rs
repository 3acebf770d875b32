//! OAuth for installed apps: PKCE, loopback capture, pasted URL, `--code`. (Stub.)
