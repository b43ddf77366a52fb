"""One base exception per concern, named for what happened."""

from __future__ import annotations

import enum


class EgressWebhookError(Exception):
    """Base of every error this package raises on purpose."""


class PolicyInvalidError(EgressWebhookError):
    """The policy file could not be read or does not match the schema.

    `problems` holds one line per problem, ``file:line: field.path: what is wrong``.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(
            f"invalid policy {source} ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}):\n" + "\n".join(f"  {p}" for p in problems)
        )

    @classmethod
    def unreadable(cls, source: str, exc: Exception) -> PolicyInvalidError:
        """The file `source` could not be read (or is not UTF-8): `exc` says why."""
        return cls(source, [f"{source}: cannot read the file: {exc}"])


class ManifestError(EgressWebhookError):
    """An input manifest could not be read or parsed (names the file and line)."""


class ReviewInvalidError(EgressWebhookError):
    """An AdmissionReview request is malformed (maps to HTTP 400)."""


class CertificateError(EgressWebhookError):
    """A TLS certificate or key could not be generated, read or loaded."""


class ExitCode(enum.IntEnum):
    """What every command's exit status means; a CI pipeline can rely on these."""

    #: Done: every object allowed (check, audit), every case passed (test), certificates
    #: written, a clean drain.
    OK = 0
    #: At least one object denied (check, audit), a case failed (test); serve could not
    #: listen on its address.
    DENIED = 1
    #: Usage error, unreadable or malformed input, invalid policy or certificate, a
    #: broken test suite.
    ERROR = 2


class ClusterAccessError(EgressWebhookError):
    """The cluster's credentials cannot be loaded (kubeconfig or in-cluster service account)."""
