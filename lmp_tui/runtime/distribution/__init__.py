"""Where programs come from: the built-in Hub, remote Hubs (URLs and OCI registries), stored credentials and the digest-keyed cache."""
