"""Local tox plugin: let tox find every Python that pyenv installed.

pyenv's shims only answer for the versions picked with ``pyenv global`` or
``pyenv local``, so ``python3.12`` fails when only 3.11 is picked even though
3.12 is installed. The interpreters live in ``$PYENV_ROOT/versions/*/bin``;
those directories are appended to ``PATH`` before tox looks for interpreters.
Appending keeps whatever is already on ``PATH`` first. Without pyenv this
does nothing.
"""

from __future__ import annotations

import os
import typing as t
from pathlib import Path

from tox.plugin import impl

if t.TYPE_CHECKING:
    from tox.config.sets import ConfigSet
    from tox.session.state import State


def _pyenv_bin_dirs() -> list[str]:
    root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    return sorted(str(p) for p in Path(root).glob("versions/*/bin") if p.is_dir())


@impl
def tox_add_core_config(core_conf: ConfigSet, state: State) -> None:
    path = os.environ.get("PATH", "")
    present = set(path.split(os.pathsep))
    extra = [d for d in _pyenv_bin_dirs() if d not in present]

    if extra:
        os.environ["PATH"] = os.pathsep.join([path, *extra] if path else extra)
