"""Repository, issue and launch buttons that point at the clone the book is built from.

The book names no repository of its own: at build time this extension reads the ``origin``
remote of the git repository that holds the book. When it is a GitHub repository (an
``https://github.com/OWNER/REPO`` or ``git@github.com:OWNER/REPO`` URL), the pages get a
repository button, an issue button, and on each chapter Binder and Colab buttons that open
that chapter from that repository, so whoever publishes the book gets working buttons with
no edit. Otherwise (no git, no ``origin``, another host) the site has none of these buttons
rather than buttons that lead nowhere.

The launch services and the notebook interface come from ``launch_buttons`` in
``_config.yml``; this extension only adds the repository, or removes every launch service.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

# GitHub's rules: an owner is up to 39 letters, digits or single hyphens; a repository name
# is letters, digits, '.', '-' and '_'.
_OWNER = r"(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))"
_REPO = r"(?P<repo>[A-Za-z0-9._-]+?)"
_GITHUB_REMOTE = re.compile(
    r"^(?:https://(?:[^@/\s]+@)?github\.com/"  # https://github.com/o/r, https://token@github.com/o/r
    r"|git@github\.com:"  # git@github.com:o/r.git
    r"|ssh://git@github\.com(?::22)?/)"  # ssh://git@github.com/o/r.git
    + _OWNER + "/" + _REPO + r"(?:\.git)?/?$"
)

#: Launch services a page can link to; all are dropped when there is no GitHub repository.
LAUNCH_SERVICES = ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url", "jupyterlite_url")


@dataclass(frozen=True)
class Repository:
    url: str  #: ``https://github.com/OWNER/REPO``
    path_to_book: str  #: the book's folder inside the repository, e.g. ``book``
    branch: str  #: the branch the buttons link to


def github_repository_url(remote: str) -> str | None:
    """``https://github.com/OWNER/REPO`` for a GitHub remote URL, ``None`` for anything else.

    >>> github_repository_url("git@github.com:someone/book.git")
    'https://github.com/someone/book'
    >>> github_repository_url("/home/someone/book") is None
    True
    """
    if not isinstance(remote, str):
        raise TypeError(f"remote must be a string, not {type(remote).__name__}")
    match = _GITHUB_REMOTE.match(remote.strip())
    if match is None or match["repo"] in {".", ".."}:
        return None
    return f"https://github.com/{match['owner']}/{match['repo']}"


def _git(directory: Path, *args: str) -> str | None:
    try:
        run = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True,
                             timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return run.stdout.strip() if run.returncode == 0 else None


def _branch(directory: Path) -> str:
    """The checked-out branch when the remote has it, else the remote's default branch."""
    current = _git(directory, "symbolic-ref", "--quiet", "--short", "HEAD")
    if current and _git(directory, "rev-parse", "--verify", "--quiet", f"refs/remotes/origin/{current}"):
        return current
    default = _git(directory, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if default and default.startswith("origin/"):
        return default.removeprefix("origin/")
    return current or "main"


def find_repository(book_dir: str | Path) -> Repository | None:
    """The GitHub repository of the clone that holds ``book_dir``, from its ``origin`` remote."""
    book_dir = Path(book_dir)
    remote = _git(book_dir, "remote", "get-url", "origin")
    url = github_repository_url(remote) if remote else None
    if url is None:
        return None
    prefix = _git(book_dir, "rev-parse", "--show-prefix") or ""
    return Repository(url=url, path_to_book=prefix.strip("/"), branch=_branch(book_dir))


def _configure_buttons(app, config):
    options = config.html_theme_options
    launch = dict(options.get("launch_buttons") or {})
    repository = find_repository(app.confdir)
    if repository is None:
        logger.info("[repository_buttons] origin is not a GitHub repository: no repository, "
                    "issue or launch buttons")
        options.update(repository_url="", use_repository_button=False, use_issues_button=False,
                       use_edit_page_button=False, use_source_button=False)
        launch.update({key: "" for key in LAUNCH_SERVICES}, thebe=False)
    else:
        logger.info(f"[repository_buttons] buttons point at {repository.url} "
                    f"(branch {repository.branch}, folder {repository.path_to_book or '.'})")
        options.update(repository_url=repository.url, path_to_docs=repository.path_to_book,
                       repository_branch=repository.branch, repository_provider="github",
                       use_repository_button=True, use_issues_button=True)
    options["launch_buttons"] = launch


def setup(app):
    app.connect("config-inited", _configure_buttons)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
