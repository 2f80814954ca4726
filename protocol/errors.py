"""Every error the protocol raises: one root, split into local misuse and remote bad data.

``LocalProtocolError`` means the caller misused the API (a bug on this side).
``RemoteProtocolError`` means bytes or values from outside did not verify; the node
maps these to 4xx answers using :attr:`RemoteProtocolError.code`.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BundleError",
    "DecodeError",
    "Equivocation",
    "InvalidCheckpoint",
    "InvalidIdentity",
    "InvalidProof",
    "InvalidRecord",
    "InvalidSignature",
    "LocalProtocolError",
    "PlatformInputError",
    "PolicyError",
    "ProtocolError",
    "RecordRejected",
    "RemoteProtocolError",
    "TallyError",
]


class ProtocolError(Exception):
    """Root of every error raised by ``coopfed.protocol``."""

    code: str = "protocol_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0])


class LocalProtocolError(ProtocolError):
    """The caller used the API wrongly: a value that can never be encoded or signed."""

    code = "local_error"


class RemoteProtocolError(ProtocolError):
    """Data from outside (a peer, a member, a file) is malformed or does not verify."""

    code = "invalid"


class DecodeError(RemoteProtocolError):
    """Bytes are not canonical coopfed MessagePack; ``offset`` is where the fault is."""

    code = "decode_error"

    def __init__(self, message: str, *, offset: int, code: str | None = None) -> None:
        super().__init__(f"{message} (at byte {offset})", code=code)
        self.offset = offset


class InvalidIdentity(RemoteProtocolError):
    """A DID or public key is malformed or of an unsupported kind."""

    code = "invalid_identity"


class InvalidSignature(RemoteProtocolError):
    """A signature does not verify for the claimed key and message."""

    code = "bad_signature"


class InvalidRecord(RemoteProtocolError):
    """A record's envelope or body breaks the schema of its type."""

    code = "invalid_record"


class RecordRejected(RemoteProtocolError):
    """A well-formed, correctly signed record is not acceptable in its co-op's current state.

    Examples: its author is not a member, it cites a record that does not exist, a ballot
    arrives after its proposal closed.
    """

    code = "rejected"


class PlatformInputError(RemoteProtocolError):
    """What someone typed or pasted names no requester or task coopfed can read.

    Codes (platforms.md §5): ``bad_platform_id``, ``no_id_in_address``,
    ``unknown_address``, ``not_platform_id``. The message says what to do instead.
    """

    code = "bad_platform_id"


class InvalidProof(RemoteProtocolError):
    """A Merkle inclusion or consistency proof does not verify."""

    code = "bad_proof"


class InvalidCheckpoint(RemoteProtocolError):
    """A checkpoint or signed note is malformed or its signature does not verify."""

    code = "bad_checkpoint"


class Equivocation(RemoteProtocolError):
    """Two validly signed checkpoints of one log describe different histories."""

    code = "equivocation"


class TallyError(ProtocolError):
    """A tally cannot be computed (for example an empty electorate): fail closed."""

    code = "tally_error"


class PolicyError(RemoteProtocolError):
    """A federation policy is malformed or would adopt nothing by accident."""

    code = "bad_policy"


class BundleError(RemoteProtocolError):
    """A verification bundle is malformed or one of its checks failed."""

    code = "bad_bundle"


class AuthError(RemoteProtocolError):
    """A members-only read is not signed by a member's key, for this request, recently.

    Codes (spec/deliberation.md §5): ``auth_required``, ``auth_malformed``, ``auth_skew``,
    ``auth_bad_signature``, and the log's ``not_member`` and ``revoked``.
    """

    code = "auth_malformed"
