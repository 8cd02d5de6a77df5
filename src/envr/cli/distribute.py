"""Commands that move store paths between machines: envr cache ..., envr bundle, envr image."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from envr.cli.app import app, project_file, say, size
from envr.errors import EnvrError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from envr.project.file import Project
    from envr.store.registry import Entry

PANEL = "Sharing: caches, bundles, images"

cache_app = typer.Typer(help="Signed binary caches on OCI registries and layouts.", no_args_is_help=True)
app.add_typer(cache_app, name="cache", rich_help_panel=PANEL)

KeyOption = Annotated[
    str | None, typer.Option("--key", help="the secret key file to sign with (default: the one under keys/)")
]
ProjectOption = Annotated[str | None, typer.Option("--project", help="envr.toml or its directory")]


def _project_closure(path: str | None) -> tuple[Project, list[Entry]]:
    from envr.distribute.closure import closure, project_paths
    from envr.project.load import load
    from envr.store import store_dir

    project = load(project_file(path))
    store = store_dir()
    return project, list(closure(store, list(project_paths(project, store).values())))


@cache_app.command("keygen")
def cache_keygen(name: Annotated[str, typer.Argument(help="the key's name, e.g. ci.example.org-1")]) -> None:
    """Make a signing key; prints its public key (for trusted-public-keys) last."""
    from envr.distribute.keys import keygen

    secret_file, public = keygen(name)
    say(f"wrote the secret key {secret_file} (mode 0600); keep it secret, give out the public key:")
    typer.echo(public.text())


@cache_app.command("push")
def cache_push(
    url: Annotated[str, typer.Argument(help="oci://HOST[:PORT]/REPOSITORY or file:///DIR")],
    paths: Annotated[list[str] | None, typer.Argument(help="store paths (default: the project's closure)")] = None,
    key: KeyOption = None,
    project: ProjectOption = None,
) -> None:
    """Upload store paths (and what they reference) that the cache lacks, signed."""
    from envr.distribute.cache import push
    from envr.distribute.closure import closure
    from envr.distribute.keys import signing_key
    from envr.progress import Reporter
    from envr.store import store_dir

    secret = signing_key(key)
    entries = closure(store_dir(), paths) if paths else _project_closure(project)[1]
    reporter = Reporter()
    counts = push(url, entries, secret, reporter.say, reporter.transfer)
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    say(f"{url}: {len(entries)} store path{'s' if len(entries) != 1 else ''} ({summary}), signed by {secret.name}")


@cache_app.command("ls")
def cache_ls(url: Annotated[str, typer.Argument(help="oci://..., file:///DIR or https://...")]) -> None:
    """List the store paths a cache holds: name, size, relocatable or not, signers."""
    from envr.distribute.cache import listing

    rows = listing(url)
    for row in rows:
        if row.artifact is None:
            typer.echo(f"{row.tag}\t?\t{row.problem}")
            continue
        f = row.artifact.facts
        where = "relocatable" if f.relocatable else f"fixed:{f.store_dir}"
        typer.echo(f"{f.name}\t{size(f.size)}\t{where}\tsigned by {', '.join(f.signers()) or 'nobody'}")
    say(f"{url}: {len(rows)} store path{'s' if len(rows) != 1 else ''}")


@cache_app.command("verify")
def cache_verify(url: Annotated[str, typer.Argument(help="oci://..., file:///DIR or https://...")]) -> None:
    """Download and check every artifact: a trusted signature, its recipe, layer digest and content hash."""
    from envr.distribute.cache import verify
    from envr.store.cache import settings

    config = settings.load(os.environ)
    for problem in config.problems:
        say(problem)
    if not config.trusted:
        raise EnvrError("no trusted-public-keys (config.toml or ENVR_TRUSTED_PUBLIC_KEYS): nothing can verify")
    checked, bad = verify(url, config.trusted, typer.echo)
    say(f"{url}: verified {checked} store path{'s' if checked != 1 else ''}: {bad} bad")
    if bad:
        raise typer.Exit(1)


@app.command(rich_help_panel=PANEL)
def bundle(
    output: Annotated[str | None, typer.Option("-o", "--output", help="the file to write")] = None,
    import_file: Annotated[
        str | None, typer.Option("--import", help="install a bundle's store paths into this store, offline")
    ] = None,
    trust_it: Annotated[
        bool, typer.Option("--trust", help="with --import: you vouch for the file; skip the signature check")
    ] = False,
    key: KeyOption = None,
    unsigned: Annotated[bool, typer.Option("--unsigned", help="do not sign, even with a key at hand")] = False,
    project: ProjectOption = None,
) -> None:
    """Write the project's closure, envr.toml, envr.lock and an `enter` script as one file (or --import one)."""
    from envr.distribute import bundle as bundles
    from envr.store import store_dir

    if import_file is not None:
        from envr.store.cache import settings

        keys = None
        if not trust_it:
            config = settings.load(os.environ)
            for problem in config.problems:
                say(problem)
            keys = config.trusted
        imported, present = bundles.import_(import_file, store_dir(), keys, say)
        say(f"{import_file}: {imported} store paths imported, {present} already in {store_dir()}")
        return
    from envr.distribute.keys import signing_key
    from envr.project.load import load

    proj = load(project_file(project))
    secret = None
    if not unsigned:
        try:
            secret = signing_key(key)
        except EnvrError as e:
            if key is not None:
                raise
            say(f"unsigned ({e}); importing it will need --trust")
    out = output or f"{os.path.basename(proj.root) or 'project'}.bundle.tar"
    n = bundles.make(proj, store_dir(), out, secret, say)
    signed = f"signed by {secret.name}" if secret else "unsigned"
    say(f"wrote {out}: {n} store path{'s' if n != 1 else ''}, {signed}; unpack it and run ./enter COMMAND,")
    say(f"which puts the store paths in {store_dir()} (where they were built), or envr bundle --import {out}")


@app.command(rich_help_panel=PANEL)
def image(
    base: Annotated[str | None, typer.Option("--base", help="oci://HOST/REPO[:TAG] or oci-layout:DIR[:TAG]")] = None,
    tag: Annotated[
        str | None, typer.Option("--tag", help="NAME:TAG for -o (default: the project's name:latest)")
    ] = None,
    output: Annotated[str | None, typer.Option("-o", "--output", help="write an OCI archive here")] = None,
    push_to: Annotated[str | None, typer.Option("--push", help="push to oci://HOST/REPO:TAG")] = None,
    entrypoint: Annotated[str | None, typer.Option("--entrypoint", help="the image's entrypoint command")] = None,
    project: ProjectOption = None,
) -> None:
    """Build an OCI image of the project's environment without a daemon: base layers + one per store path."""
    import re

    from envr.distribute import image as images
    from envr.project.packages import view
    from envr.store import store_dir

    if (output is None) == (push_to is None):
        raise EnvrError("give exactly one of -o FILE and --push oci://HOST/REPO:TAG")
    proj, entries = _project_closure(project)
    bins = view(proj, os.environ, store=store_dir()).bins
    plan = images.plan(proj, entries, bins, base, entrypoint, say, need_files=output is not None)
    try:
        if output is not None:
            name, _, version = (tag or "").rpartition(":") if tag and ":" in tag else (tag or "", "", "latest")
            name = name or re.sub(r"[^a-z0-9._-]+", "-", os.path.basename(proj.root).lower()).strip("-.") or "envr"
            images.write_archive(plan, output, name, version or "latest")
            say(f"wrote {output}: {len(plan.layers())} layers ({len(entries)} from the store), {name}:{version}")
            return
        from envr.store.cache.backend import parse_oci
        from envr.store.cache.distribution import Registry
        from envr.store.cache.transport import Transport

        assert push_to is not None
        host, repo, ref = parse_oci(push_to)
        dest = Registry(host, repo, Transport())
        try:
            uploaded = images.push(plan, dest, ref or "latest", say, host, lambda _n: None)
        finally:
            dest.close()
        layers = len(plan.layers())
        say(f"pushed {push_to}: uploaded {uploaded} of {layers} layers ({plan.manifest.digest})")
    finally:
        from envr.store.tree import force_remove

        force_remove(plan.work)
