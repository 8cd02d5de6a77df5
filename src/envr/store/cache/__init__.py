"""envr's binary cache: store paths as signed OCI artifacts, in registries, layouts or static servers.

    facts.py         the signed facts of one store path, their fingerprint, the recipe hash
    keys.py          ed25519 keys and signatures written NAME:BASE64
    layer.py         a store path's tree as one deterministic tar layer (zstd or gzip), the self-reference scan
    artifact.py      manifest + facts + layer: read one, push one
    backend.py       the storage interface and URL forms; distribution.py (registry API v2), layout.py (OCI
                     layout directory, static https), transport.py (http), auth.py (docker/podman logins)
    install.py       a verified artifact into the store, exactly as a local build ends
    substitute.py    realise's question before it builds: can a trusted cache provide this path?
    settings.py      substituters, trusted-public-keys, and caches that failed a moment ago

Imports stay lazy: realise reaches substitute.py on every build, and with no substituters configured that
costs one small TOML read, no cryptography and no network.
"""
