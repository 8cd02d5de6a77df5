"""Applying and reverting an activation, and the state carried between prompts to do it exactly.

The state travels in one exported variable, ENVR_STATE, so it follows the environment into subshells and
`envr exec`. It records, for every variable envr touched, the value before and the value envr set, and the
PATH entries envr added. Revert uses it to restore prior values, keep values the user changed while inside,
and remove only envr's own PATH entries (entries the user added inside stay).
"""

from __future__ import annotations

from envr.project.templates import valid_name
from envr.prompt.activate import Activation

TYPE_CHECKING = False  # collections.abc and typing cost the prompt ~1-2 ms; annotations only
if TYPE_CHECKING:
    from collections.abc import Mapping

STATE_VAR = "ENVR_STATE"
STATE_VERSION = 2
LONG = 1024  # a value envr set that is longer travels as its digest: ENVR_STATE must fit in execve too


class Digest:
    """What stands in ENVR_STATE for a long value envr set: equal to that value (and to its digest), so
    revert can still tell whether the user changed it, without the state carrying it a second time."""

    __slots__ = ("hex",)

    def __init__(self, hex: str) -> None:
        self.hex = hex

    @classmethod
    def of(cls, value: str) -> Digest:
        from envr.fsutil import sha256

        return cls(sha256(value.encode("utf-8", "surrogateescape")).hexdigest())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Digest):
            return self.hex == other.hex
        if isinstance(other, str):
            return Digest.of(other).hex == self.hex
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.hex)


def _stored(value: str | Digest | None) -> list[object]:
    if isinstance(value, Digest):
        return [None, value.hex]
    if value is not None and len(value) > LONG:
        return [None, Digest.of(value).hex]
    return [value]


class State:
    """What is loaded and how to take it back: the nearest project's layer, on top of the layers of the projects
    it inherits (`parents`, outermost first), each reverted exactly by itself."""

    __slots__ = ("append", "digest", "extra", "file", "parents", "path_was_unset", "prepend", "root", "vars")

    def __init__(
        self,
        root: str,
        file: str,
        digest: str,
        vars: dict[str, tuple[str | None, str | Digest | None]] | None = None,
        prepend: list[str] | None = None,
        append: list[str] | None = None,
        path_was_unset: bool = False,
        extra: dict[str, object] | None = None,
        parents: list[State] | None = None,
    ) -> None:
        self.root = root
        self.file = file
        self.digest = digest
        self.vars = vars if vars is not None else {}  # name -> (value before, value envr set, or its Digest)
        self.prepend = prepend if prepend is not None else []
        self.append = append if append is not None else []
        self.path_was_unset = path_was_unset
        self.extra = extra if extra is not None else {}
        self.parents = parents if parents is not None else []

    def layers(self) -> list[State]:
        """Outermost first, this layer last."""
        return [*self.parents, self]

    def _fields(self) -> dict[str, object]:
        return {
            "root": self.root,
            "file": self.file,
            "digest": self.digest,
            "vars": {k: [v[0], *_stored(v[1])] for k, v in self.vars.items()},
            "pre": self.prepend,
            "app": self.append,
            "nopath": self.path_was_unset,
        }

    def encode(self) -> str:
        fields = self._fields()
        fields.update(v=STATE_VERSION, extra=self.extra, parents=[p._fields() for p in self.parents])
        return pack(fields)

    @classmethod
    def _from(cls, d: dict[str, object]) -> State:
        names, pre, app = d["vars"], d["pre"], d["app"]
        if not (isinstance(names, dict) and isinstance(pre, list) and isinstance(app, list)):
            raise ValueError("not a state envr wrote")
        # The names become shell code in the revert: only names envr.toml could have given (D17).
        if not all(valid_name(k) for k in names) or not all(isinstance(p, str) for p in pre + app):
            raise ValueError("not a state envr wrote")
        if not all(isinstance(v, list) and all(isinstance(x, str | None) for x in v[:3]) for v in names.values()):
            raise ValueError("not a state envr wrote")
        root, file, digest = d["root"], d["file"], d["digest"]
        if not (isinstance(root, str) and isinstance(file, str) and isinstance(digest, str)):
            raise ValueError("not a state envr wrote")
        vars = {k: (v[0], Digest(v[2]) if len(v) > 2 and isinstance(v[2], str) else v[1]) for k, v in names.items()}
        return cls(root, file, digest, vars, list(pre), list(app), bool(d["nopath"]))

    @classmethod
    def decode(cls, text: str | None) -> State | None:
        """The state in ENVR_STATE, or None when absent or unreadable (then there is nothing to revert)."""
        if not text:
            return None
        try:
            d = unpack(text)
            if not isinstance(d, dict) or d.get("v") != STATE_VERSION:
                return None
            state = cls._from(d)
            parents = d.get("parents", [])
            if not isinstance(parents, list) or not all(isinstance(p, dict) for p in parents):
                return None
            state.parents = [cls._from(p) for p in parents]
            extra = d.get("extra", {})
            state.extra = dict(extra) if isinstance(extra, dict) else {}
            return state
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None


def pack(value: object) -> str:
    """A compact, ASCII-only encoding of str/int/bool/None/list/dict, read back by unpack.

    json would do, but importing it drags in re, enum and functools: ~5 ms on every real prompt change.
    Strings are unicode_escape'd (so any character, surrogate escapes included, travels as ASCII) and
    length-prefixed, so no delimiter can ever clash with content.
    """
    out: list[str] = []

    def emit(v: object) -> None:
        if v is None:
            out.append("n")
        elif v is True:
            out.append("t")
        elif v is False:
            out.append("f")
        elif isinstance(v, int):
            out.append(f"i{v};")
        elif isinstance(v, str):
            escaped = v.encode("unicode_escape").decode("ascii")
            out.append(f"s{len(escaped)}:{escaped}")
        elif isinstance(v, list | tuple):
            out.append("l")
            for item in v:
                emit(item)
            out.append("e")
        elif isinstance(v, dict):
            out.append("d")
            for key, item in v.items():
                emit(str(key))
                emit(item)
            out.append("e")
        else:
            raise TypeError(f"cannot pack {type(v).__name__}")

    emit(value)
    return "".join(out)


def unpack(text: str) -> object:
    """The value pack encoded; ValueError on anything malformed."""

    def read(i: int) -> tuple[object, int]:
        tag = text[i]
        if tag == "n":
            return None, i + 1
        if tag == "t":
            return True, i + 1
        if tag == "f":
            return False, i + 1
        if tag == "i":
            end = text.index(";", i)
            return int(text[i + 1 : end]), end + 1
        if tag == "s":
            colon = text.index(":", i)
            start = colon + 1
            end = start + int(text[i + 1 : colon])
            if end > len(text):
                raise ValueError("truncated string")
            return text[start:end].encode("ascii").decode("unicode_escape"), end
        if tag in "ld":
            items: list[object] = []
            i += 1
            while text[i] != "e":
                item, i = read(i)
                items.append(item)
            if tag == "l":
                return items, i + 1
            if len(items) % 2:
                raise ValueError("odd dict")
            return {str(items[k]): items[k + 1] for k in range(0, len(items), 2)}, i + 1
        raise ValueError(f"bad tag {tag!r}")

    try:
        value, end = read(0)
    except (IndexError, UnicodeError) as e:
        raise ValueError(str(e)) from None
    if end != len(text):
        raise ValueError("trailing data")
    return value


def split_path(value: str | None) -> list[str]:
    return value.split(":") if value else []


def _remove_first(entries: list[str], item: str) -> None:
    if item in entries:
        entries.remove(item)


def _remove_last(entries: list[str], item: str) -> None:
    for i in range(len(entries) - 1, -1, -1):
        if entries[i] == item:
            del entries[i]
            return


def revert(env: Mapping[str, str], state: State | None, keep: int = 0) -> tuple[dict[str, str], list[str]]:
    """The environment as it was before the state's layers above the first `keep` were applied (all of them
    by default), and the names of variables the user changed inside (kept as the user set them)."""
    out = dict(env)
    out.pop(STATE_VAR, None)
    kept: list[str] = []
    if state is not None:
        for layer in reversed(state.layers()[keep:]):
            kept += _revert_layer(out, layer)
    return out, kept


def _revert_layer(out: dict[str, str], state: State) -> list[str]:
    kept = []
    for name, (before, set_to) in state.vars.items():
        if out.get(name) != set_to:
            kept.append(name)
            continue
        if before is None:
            out.pop(name, None)
        else:
            out[name] = before
    if state.prepend or state.append:
        entries = split_path(out.get("PATH"))
        for item in state.prepend:
            _remove_first(entries, item)
        for item in state.append:
            _remove_last(entries, item)
        if not entries and state.path_was_unset:
            out.pop("PATH", None)
        else:
            out["PATH"] = ":".join(entries)
    return kept


def apply(
    base: Mapping[str, str], act: Activation, file: str, digest: str, parents: list[State] | None = None
) -> tuple[dict[str, str], State]:
    """base (with parents' layers already applied) with act on top, and the state that reverts it."""
    out = dict(base)
    out.pop(STATE_VAR, None)
    state = State(act.root, file, digest, parents=list(parents or []))
    for name, value in act.vars.items():
        state.vars[name] = (base.get(name), value)
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    if act.prepend or act.append:
        state.path_was_unset = "PATH" not in base
        out["PATH"] = ":".join(act.prepend + split_path(base.get("PATH")) + act.append)
        state.prepend = list(act.prepend)
        state.append = list(act.append)
    out[STATE_VAR] = state.encode()
    return out, state


def keep_changed(
    env: Mapping[str, str], old: State | None, new: State, kept: list[str], target: dict[str, str]
) -> None:
    """Within the same project, leave a variable the user changed inside as the user set it, and PATH in the
    user's order.

    A re-run of the core while staying in the project (cd into a subdirectory, a re-check of a just-written file)
    re-applies the project on top of the reverted environment; without this it would overwrite the user's value
    with the project's. Where the project still sets what it set before, target keeps the user's value and the
    state keeps envr's, so the next run and leaving see it as changed by the user too.
    """
    if old is None or old.root != new.root:
        return
    current_path = env.get("PATH")
    # Same entries, another order: the user moved or added their own entries around envr's (a re-run would
    # otherwise push envr's back in front of an entry the user put first).
    if (
        current_path is not None
        and target.get("PATH") != current_path
        and sorted(split_path(target.get("PATH"))) == sorted(split_path(current_path))
    ):
        target["PATH"] = current_path
    changed = False
    for name in kept:
        if name in new.vars and name in old.vars and new.vars[name][1] == old.vars[name][1]:
            value = env.get(name)
            if value is None:
                target.pop(name, None)
            else:
                target[name] = value
            new.vars[name] = (old.vars[name][0], new.vars[name][1])
            changed = True
    if changed:
        target[STATE_VAR] = new.encode()


def changes(current: Mapping[str, str], target: Mapping[str, str]) -> dict[str, str | None]:
    """NAME -> new value (None to unset) turning current into target."""
    delta: dict[str, str | None] = {}
    for name, value in target.items():
        if current.get(name) != value:
            delta[name] = value
    for name in current:
        if name not in target:
            delta[name] = None
    return delta
