"""Moving store paths between machines: binary caches, offline bundles and daemonless OCI images.

    cache.py     envr cache push | ls | verify (the store layer's store.cache does the work)
    keys.py      signing keys under the config dir
    closure.py   a project's store paths and everything they reference
    bundle.py    envr bundle: the closure, envr.toml, envr.lock and an `enter` script in one tar; --import
    enter.py     the `enter` script: the environment in POSIX sh, for a machine without envr
    image.py     envr image: base layers + one layer per store path + a config with Env, no daemon
    base.py      base images (oci://, oci-layout:DIR[:TAG]) and OCI archives

A layer above envr.team and below envr.services; the CLI (cli/distribute.py) is a thin layer over it.
"""
