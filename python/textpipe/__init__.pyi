"""Type stubs for textpipe (the extension module is textpipe._textpipe)."""

import os
from typing import Any, Callable, Dict, Iterable, Iterator, Mapping, Optional, Union

__version__: str

Document = Union[str, bytes, Mapping[str, Any]]
"""A document to process: its content as str or bytes, or a dict read like a JSONL
record: ``id``, ``text`` (or ``html``), ``url``, ``charset``, ``date``, ``content_type``,
``lang``."""

class ConfigError(ValueError):
    """The config is wrong; the message is the CLI's (``FILE:LINE:COL: what`` and a snippet)."""

    origin: str
    line: Optional[int]
    column: Optional[int]

class DocumentError(RuntimeError):
    """A run failed: a document failed under ``on_error = "raise"``, or output could not be written."""

class PipeIter(Iterator[Dict[str, Any]]):
    """The iterator ``Pipeline.pipe`` returns: dicts in input order."""

    def __iter__(self) -> "PipeIter": ...
    def __next__(self) -> Dict[str, Any]: ...
    def close(self) -> None:
        """Stops the run; the rest of the input is not read."""

class Pipeline:
    """A textpipe pipeline, built from a config.

    ``config`` is a path to a TOML file, TOML text, or a dict of the same tables.
    ``stages`` maps names to Python functions for ``kind = "python"`` stages:
    ``func(doc: dict) -> dict | None`` (None drops the document; an exception fails it).
    ``overrides`` are like the CLI's ``--set``: ``**{"stage.tag.keywords": 5}``.
    Raises ConfigError when the config is wrong.
    """

    def __init__(
        self,
        config: Union[str, "os.PathLike[str]", Mapping[str, Any]],
        stages: Optional[Mapping[str, Callable[[Dict[str, Any]], Optional[Dict[str, Any]]]]] = None,
        **overrides: Any,
    ) -> None: ...
    def pipe(self, docs: Iterable[Document]) -> PipeIter:
        """Runs the stages over ``docs``; yields one dict per document, in input order.

        A failed document comes back as ``{"id", "stage", "error"}`` (or raises
        DocumentError under ``on_error = "raise"``); dropped documents are not yielded.
        Input is read only as output is taken, so memory stays bounded.
        """
    def run(self) -> Dict[str, Any]:
        """Runs the configured source into the configured sink; returns the report."""
    @property
    def report(self) -> Optional[Dict[str, Any]]:
        """The last run's report, as a dict; None before a run has ended."""
    def describe(self) -> str:
        """The resolved pipeline, as ``textpipe check`` prints it."""
