"""The cache's formats: keys, facts and their fingerprint, layers, settings; what is refused and why."""

from __future__ import annotations

import base64
import os
import stat
import tarfile
from pathlib import Path

import pytest

from envr.errors import EnvrError
from envr.store.cache import settings
from envr.store.cache.facts import Facts, FactsError, recipe_hash
from envr.store.cache.keys import KeyFormatError, PublicKey, SecretKey
from envr.store.cache.layer import Decompressor, write_layer
from oci_kit import Mate

NAME = "0123456789abcdef0123456789abcdef-tool-1.0"


def facts(**changes: object) -> Facts:
    recipe = {"kind": "path", "source": {"content": "x"}}
    h = recipe_hash(recipe)
    values: dict[str, object] = dict(
        path=f"/s/{h[7:39]}-tool-1.0",
        content_hash="sha256:" + "a" * 64,
        size=10,
        references=(),
        recipe_hash=h,
        relocatable=True,
        recipe=recipe,
        platform="linux-x86_64",
    )
    values.update(changes)
    return Facts(**values)  # type: ignore[arg-type]


def test_keys_are_name_colon_base64_and_a_secret_key_holds_seed_then_public_key() -> None:
    key = SecretKey.generate("ci.example.org-1")
    name, _, b64 = key.text().partition(":")
    raw = base64.b64decode(b64)
    assert name == "ci.example.org-1" and len(raw) == 64
    assert raw[32:] == key.public().raw
    assert SecretKey.parse(key.text()).public() == key.public()
    assert PublicKey.parse(key.public().text()) == key.public()
    for bad in ("nocolon", "a b:AAAA", "k:!!!!", "k:" + base64.b64encode(b"short").decode()):
        with pytest.raises(KeyFormatError):
            PublicKey.parse(bad)


def test_the_fingerprint_is_exactly_the_facts_that_matter() -> None:
    f = facts(references=(NAME,))
    assert f.fingerprint().decode() == (
        f"envr-store-path-1;{f.path};sha256:{'a' * 64};10;{f.recipe_hash};relocatable;{NAME}"
    )
    assert facts(relocatable=False).fingerprint().decode().split(";")[5] == "fixed"


def test_a_signature_covers_every_fact_and_only_a_trusted_key_verifies_it() -> None:
    key = SecretKey.generate("team-1")
    signed = facts().signed(key)
    assert signed.trusted_by([key.public()]) == key.public()
    assert signed.trusted_by([SecretKey.generate("team-1").public()]) is None  # same name, other key
    for change in (
        {"content_hash": "sha256:" + "b" * 64},
        {"size": 11},
        {"relocatable": False},
        {"references": (NAME,)},
        {"path": "/elsewhere/" + os.path.basename(signed.path)},
    ):
        tampered = Facts(**{**signed.__dict__, **change})
        assert tampered.trusted_by([key.public()]) is None, change
    assert Facts.from_json(signed.to_json(), "here") == signed


def test_facts_must_hold_together_with_their_name_and_recipe() -> None:
    facts().check_recipe()
    with pytest.raises(FactsError, match="do not hash"):
        facts(recipe={"kind": "other"}).check_recipe()
    with pytest.raises(FactsError, match="does not match its recipe hash"):
        facts(path="/s/" + NAME).check_recipe()
    good = facts().to_json()
    for old, new in (
        (b'"size": 10', b'"size": -1'),
        (b'"relocatable": true', b'"relocatable": 1'),
        (b'"envr": "store-path/1"', b'"envr": "store-path/9"'),
    ):
        with pytest.raises(FactsError):
            Facts.from_json(good.replace(old, new), "here")
    with pytest.raises(FactsError, match="not a store path name"):
        Facts.from_json(good.replace(b'"references": []', b'"references": ["../../etc"]'), "here")


def test_a_layer_is_deterministic_keeps_modes_and_notices_its_own_path(tmp_path: Path) -> None:
    path = tmp_path / "store" / NAME
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "tool").write_text("#!/bin/sh\necho hi\n")
    (path / "bin" / "tool").chmod(0o555)
    (path / "data").write_text("x" * 100_000)
    os.symlink("bin/tool", path / "link")
    first = write_layer(str(path), str(tmp_path / "one"), "zstd")
    second = write_layer(str(path), str(tmp_path / "two"), "zstd")
    assert first.digest == second.digest and not first.mentions_self
    gz = write_layer(str(path), str(tmp_path / "gz"), "gzip")
    assert gz.diff_id == first.diff_id and gz.digest != first.digest
    with tarfile.open(gz.file) as tar:
        members = {m.name: m for m in tar.getmembers()}
    prefix = str(path).lstrip("/")
    assert list(members) == [prefix, f"{prefix}/bin", f"{prefix}/bin/tool", f"{prefix}/data", f"{prefix}/link"]
    assert members[f"{prefix}/bin/tool"].mode == 0o755 and members[f"{prefix}/data"].mode & 0o111 == 0
    assert all(m.mtime == 0 and m.uid == 0 and m.uname == "" for m in members.values())
    (path / "where").write_text(f"I live in {path} and nowhere else")
    assert write_layer(str(path), str(tmp_path / "three"), "zstd").mentions_self


def test_a_decompression_bomb_stops_at_its_limit(tmp_path: Path) -> None:
    path = tmp_path / NAME
    path.mkdir()
    (path / "zeros").write_bytes(bytes(5 << 20))
    layer = write_layer(str(path), str(tmp_path / "l"), "zstd")
    d = Decompressor("zstd", 1 << 20, "here")
    with pytest.raises(EnvrError, match="more than 1,048,576 bytes"):
        d.feed(Path(layer.file).read_bytes(), lambda _b: None)


def test_settings_come_from_config_toml_and_the_environment_replaces_them(isolated: Path) -> None:
    key = SecretKey.generate("k1").public().text()
    cfg = Path(os.environ["XDG_CONFIG_HOME"]) / "envr" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(f'substituters = ["oci://127.0.0.1:1/a", "file:///b"]\ntrusted-public-keys = ["{key}"]\n')
    s = settings.load({})
    assert s.substituters == ["oci://127.0.0.1:1/a", "file:///b"] and [k.text() for k in s.trusted] == [key]
    s = settings.load({"ENVR_SUBSTITUTERS": "", "ENVR_TRUSTED_PUBLIC_KEYS": "bad-key"})
    assert s.substituters == [] and s.trusted == [] and "ENVR_TRUSTED_PUBLIC_KEYS" in s.problems[0]
    s = settings.load({"ENVR_SUBSTITUTERS": "file:///x file:///y"})
    assert s.substituters == ["file:///x", "file:///y"] and len(s.trusted) == 1
    cfg.write_text("substituters = 'not a list'\n")
    with pytest.raises(EnvrError, match="must be an array"):
        settings.load({})


def test_keygen_writes_a_private_key_and_push_refuses_one_others_can_read(tmp_path: Path) -> None:
    m = Mate(tmp_path, "m")
    r = m.envr("cache", "keygen", "team-1")
    public = r.stdout.strip().splitlines()[-1]
    assert PublicKey.parse(public).name == "team-1"
    secret = m.home / "config" / "envr" / "keys" / "team-1.secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret.parent.stat().st_mode) == 0o700
    again = m.envr("cache", "keygen", "team-1", ok=False)
    assert again.returncode == 1 and "is never replaced" in again.stderr
    secret.chmod(0o644)
    r = m.envr("cache", "push", f"file://{tmp_path}/cache", "--key", str(secret), str(m.home), ok=False)
    assert r.returncode == 1 and "readable by others (mode 0644)" in r.stderr and len(r.stderr.splitlines()) == 1


def test_plain_http_is_only_for_loopback_hosts() -> None:
    from envr.store.cache.distribution import Registry
    from envr.store.cache.transport import CacheError, Transport
    from envr.store.cache.urls import open_backend

    reg = open_backend("oci://registry.example.org/team/cache")
    assert isinstance(reg, Registry) and reg.base.startswith("https://registry.example.org/v2/team/cache")
    assert open_backend("oci://127.0.0.1:5000/c").base.startswith("http://")  # type: ignore[attr-defined]
    assert open_backend("oci://localhost:5000/c").base.startswith("http://")  # type: ignore[attr-defined]
    with pytest.raises(CacheError, match="plain http is only for loopback hosts"):
        Transport().request("GET", "http://192.0.2.1/index.json")
    with pytest.raises(CacheError, match="lower case"):
        open_backend("oci://host/Upper")
